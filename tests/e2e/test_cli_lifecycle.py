"""The whole credential lifecycle through the real `senim` CLI against a real node process.

One validator (the ministry) runs a node; universities and an employer are members
without nodes. Every `senim ...` is a subprocess, as an operator or registrar runs it.
"""

from __future__ import annotations

import csv
import json
import random
import re
import signal
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from registrar.iin import make_iin
from tests.e2e.harness import Consortium, Member, NodeProcess

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

MINISTRY = "Ministry of Science and Higher Education"
ENU = "L.N. Gumilyov Eurasian National University"
KAZNU = "Al-Farabi Kazakh National University"
SATBAYEV = "Satbayev University"
MEMBERS = [
    Member("mshe", MINISTRY, "ministry", validator=True, runs_node=True),
    Member("enu", ENU, "university"),
    Member("kaznu", KAZNU, "university"),
    Member("satbayev", SATBAYEV, "university"),
    Member("kaspi", "Kaspi Bank", "employer"),
]
FIRST = ["Aigerim", "Nurlan", "Dana", "Yerlan", "Madina", "Arman", "Saule", "Daniyar"]
LAST = ["Abenova", "Seitkali", "Zhaksylykova", "Omarov", "Tulegenova", "Bekov"]
PROGRAMS = ["Computer Science", "Philology: Kazakh Language", "Civil Engineering",
            "International Law", "Mathematics"]


def made_up_iin(year: int, month: int, day: int, rng: random.Random) -> str:
    """A well-formed IIN (right date, century digit and check digit) of nobody."""
    century_sex = (5 if year >= 2000 else 3) + rng.randint(0, 1)
    while True:
        iin = make_iin(f"{year % 100:02d}{month:02d}{day:02d}", century_sex,
                       rng.randint(0, 9999))
        if iin is not None:
            return iin


def write_graduates_csv(path: Path, count: int, seed: int) -> list[dict[str, str]]:
    """A made-up registrar export (no real people)."""
    rng = random.Random(seed)
    rows = []
    for number in range(count):
        year, month, day = rng.randint(1998, 2004), rng.randint(1, 12), rng.randint(1, 28)
        rows.append({
            "student_id": f"S-{seed}-{number:04d}",
            "full_name": f"{rng.choice(FIRST)} {rng.choice(LAST)}",
            "iin": made_up_iin(year, month, day, rng),
            "birth_date": f"{year}-{month:02d}-{day:02d}",
            "programme": rng.choice(PROGRAMS),
            "qualification": "Bachelor",
            "gpa": f"{rng.uniform(2.0, 4.0):.2f}",
            "graduation_date": "2026-06-30",
        })
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return rows


@dataclass
class World:
    net: Consortium
    node: NodeProcess
    rows: list[dict[str, str]]
    out: Path  # ENU's issued credentials
    manifest: dict[str, Any]

    def cli(self, *args: str, check: bool = False) -> Any:
        return self.net.cli(*args, node=self.node, check=check)

    def key(self, slug: str) -> str:
        return str(self.net.key_path(slug))

    def credentials(self) -> list[Path]:
        return sorted(self.out.rglob("diploma-*.json"))


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("lifecycle")
    with Consortium(root, MEMBERS, keygen_via_cli=True) as net:
        node = net.start("mshe")
        net.cli("accredit", "--key", str(net.key_path("mshe")), "--issuer",
                net.member_id("enu"), "--types", "diploma,transcript", node=node)
        rows = write_graduates_csv(root / "graduates.csv", 30, seed=2026)
        out = root / "issued-enu"
        done = net.cli("issue", "--key", str(net.key_path("enu")), "--type", "diploma",
                       "--input", str(root / "graduates.csv"), "--out", str(out), node=node)
        assert "issued 30 diploma(s)" in done.stdout, done.stdout
        manifest = json.loads((out / "manifest.json").read_text())
        yield World(net, node, rows, out, manifest)
        code = node.stop()
        assert code == 0, node.log_tail()


# ---- identity and genesis ------------------------------------------------------------------
def test_keygen_writes_private_key_and_prints_member_id(world: World, tmp_path: Path) -> None:
    path = tmp_path / "new.key"
    done = world.net.cli("keygen", str(path), "--label", "Test College")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    member_id = json.loads(path.read_text())["member_id"]
    assert f"member id:  {member_id}" in done.stdout
    again = world.net.cli("keygen", str(path), check=False)
    assert again.returncode != 0 and "refusing to overwrite" in again.stderr
    for slug in world.net.members:  # the harness made every key with `senim keygen`
        assert stat.S_IMODE(world.net.key_path(slug).stat().st_mode) == 0o600


def test_consortium_create_reports_members_and_validators(world: World, tmp_path: Path) -> None:
    out = tmp_path / "genesis-copy.json"
    members = str(world.net.root / "members.toml")
    refused = world.net.cli("consortium", "create", "--members", members, "--out", str(out),
                            check=False)
    assert refused.returncode == 2 and "tolerate no faulty validator" in refused.stderr
    assert not out.exists()
    done = world.net.cli("consortium", "create", "--members", members, "--out", str(out),
                         "--allow-no-fault-tolerance")
    assert re.search(r"\b5 members, 1 validators?\b", done.stdout), done.stdout
    genesis = json.loads(out.read_text())
    assert [m["validator"] for m in genesis["members"]].count(True) == 1
    assert {m["member_id"] for m in genesis["members"]} == {
        world.net.member_id(slug) for slug in world.net.members}
    # Reproducible: the same file gives the same genesis, and the fingerprints agree.
    assert out.read_bytes() == world.net.genesis_path.read_bytes()
    printed = next(x for x in done.stdout.splitlines() if x.startswith("fingerprint:"))
    checked = world.net.cli("consortium", "fingerprint", str(world.net.genesis_path))
    assert printed.split()[1:9] == checked.stdout.split()[1:9]
    again = world.net.cli("consortium", "create", "--members", members, "--out", str(out),
                          "--allow-no-fault-tolerance", check=False)
    assert again.returncode == 2 and "--force" in again.stderr


@pytest.mark.parametrize(("edit", "message"), [
    (lambda text: text.replace("genesis_time", "# genesis_time"), "no genesis_time"),
    (lambda text: text + "\n[[members]]\nname = \"X\"\nrole = \"ministry\"\n"
                         "public_key = \"00\"\ncolour = \"red\"\n", "unknown key 'colour'"),
    (lambda text: text.replace('role = "ministry"', 'role = "university"'), "ministry"),
    (lambda text: text.replace("chain_id", "chain_idd"), "unknown key 'chain_idd'"),
])
def test_consortium_create_refuses_a_bad_members_file(world: World, tmp_path: Path,
                                                      edit: Any, message: str) -> None:
    members = tmp_path / "members.toml"
    original = (world.net.root / "members.toml").read_text()
    members.write_text(edit(original.replace('key = "keys/', f'key = "{world.net.root}/keys/')))
    done = world.net.cli("consortium", "create", "--members", str(members), "--out",
                         str(tmp_path / "g.json"), "--allow-no-fault-tolerance", check=False)
    assert done.returncode == 2, done.stdout
    assert message in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "g.json").exists()


# ---- issue and verify ----------------------------------------------------------------------
def test_issue_writes_one_document_per_record_and_a_manifest(world: World) -> None:
    files = world.credentials()
    assert len(files) == len(world.rows) == 30
    assert len(world.manifest["target_hashes"]) == 30
    assert world.manifest["issuer"] == world.net.member_id("enu")
    issued_names = set()
    for path in files:
        document = json.loads(path.read_text())
        assert document["target_hash"] in world.manifest["target_hashes"]
        assert "issuance" not in document  # verification reads the chain, not the file
        issued_names.add(document["fields"]["full_name"]["value"])
    assert issued_names == {row["full_name"] for row in world.rows}
    manifest_text = (world.out / "manifest.json").read_text()
    assert world.rows[0]["iin"] not in manifest_text  # hashes only


def test_verify_valid_credential_names_issuer_and_height(world: World) -> None:
    done = world.cli("verify", str(world.credentials()[0]))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "VALID" in done.stdout
    assert ENU in done.stdout
    assert f"height {world.manifest['issuance']['height']}" in done.stdout


def test_verify_json_is_machine_readable(world: World) -> None:
    done = world.cli("verify", "--json", str(world.credentials()[1]))
    assert done.returncode == 0, done.stderr
    verdict = json.loads(done.stdout)
    assert verdict["valid"] is True and verdict["status"] == "valid"
    assert isinstance(verdict["checks"], list) and verdict["checks"]
    assert all(check["ok"] for check in verdict["checks"])
    assert {c["check"] for c in verdict["checks"]} >= {"fields", "batch", "on_chain",
                                                        "accredited", "not_revoked"}
    assert verdict["facts"]["issuer"] == ENU


def test_disclose_hides_values_and_still_verifies(world: World, tmp_path: Path) -> None:
    source = world.credentials()[2]
    fields = json.loads(source.read_text())["fields"]
    hidden_values = [fields["iin"]["value"], fields["birth_date"]["value"]]
    hidden_salts = [fields["iin"]["salt"], fields["birth_date"]["salt"]]
    shared = tmp_path / "shared.json"
    world.net.cli("disclose", str(source), "--hide", "iin,birth_date", "--out", str(shared))
    text = shared.read_text()
    for secret in hidden_values + hidden_salts:
        assert secret not in text
    copy = json.loads(text)
    assert copy["fields"]["full_name"]["value"] == fields["full_name"]["value"]
    done = world.cli("verify", str(shared))
    assert done.returncode == 0, done.stdout
    assert "2 hidden" in done.stdout


def test_tampered_copy_is_reported(world: World, tmp_path: Path) -> None:
    document = json.loads(world.credentials()[3].read_text())
    gpa = document["fields"]["gpa"]["value"]
    document["fields"]["gpa"]["value"] = "4.00" if gpa != "4.00" else "3.99"
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(document, indent=2))
    done = world.cli("verify", str(forged))
    assert done.returncode != 0
    assert "TAMPERED" in done.stdout and "altered" in done.stdout
    as_json = json.loads(world.cli("verify", "--json", str(forged)).stdout)
    assert as_json["valid"] is False and as_json["status"] == "tampered"


# ---- revocation ----------------------------------------------------------------------------
def test_only_the_issuer_may_revoke(world: World) -> None:
    target = world.credentials()[4]
    for intruder in ("kaznu", "mshe"):
        done = world.cli("revoke", "--key", world.key(intruder), str(target),
                         "--reason", "withdrawn_by_issuer")
        assert done.returncode != 0
        assert "refused" in done.stderr and "unknown_batch" in done.stderr
    assert world.cli("verify", str(target)).returncode == 0


def test_revoke_by_file_then_verify_says_revoked_when_and_why(world: World) -> None:
    target = world.credentials()[5]
    note = "degree annulled by academic council decision 17"
    done = world.cli("revoke", "--key", world.key("enu"), str(target), "--reason",
                     "court_decision", "--note", note)
    assert done.returncode == 0, done.stderr
    kept = json.loads((target.parent / "revocation-notes" / f"{target.stem}.json").read_text())
    assert kept["note"] == note
    height = int(done.stdout.split("at height ")[1].split(":")[0])
    verdict = world.cli("verify", str(target))
    assert verdict.returncode != 0
    assert "REVOKED" in verdict.stdout
    assert "a court decision" in verdict.stdout and note not in verdict.stdout
    assert f"revoked at height {height}" in verdict.stdout
    assert "UTC" in verdict.stdout
    as_json = json.loads(world.cli("verify", "--json", str(target)).stdout)
    assert as_json["status"] == "revoked"
    assert as_json["facts"]["revocation_reason"] == "court_decision"
    assert as_json["facts"]["revocation_note_hash"] == kept["note_hash"]
    assert as_json["facts"]["revoked_at"].endswith("UTC")
    again = world.cli("revoke", "--key", world.key("enu"), str(target), "--reason", "fraud")
    assert again.returncode != 0 and "already_revoked" in again.stderr


def test_revoke_by_id_with_manifest(world: World) -> None:
    target = world.credentials()[6]
    target_id = json.loads(target.read_text())["target_hash"]
    done = world.cli("revoke", "--key", world.key("enu"), target_id, "--reason",
                     "issued_in_error", "--manifest", str(world.out / "manifest.json"))
    assert done.returncode == 0, done.stderr
    verdict = world.cli("verify", str(target))
    assert verdict.returncode != 0 and "issued in error" in verdict.stdout
    assert world.cli("verify", str(world.credentials()[7])).returncode == 0  # neighbour
    without = world.cli("revoke", "--key", world.key("enu"), target_id, "--reason", "other")
    assert without.returncode != 0 and "--manifest" in without.stderr


# ---- anchors, accreditation, status --------------------------------------------------------
def test_anchor_then_verify_reports_when_and_by_whom(world: World, tmp_path: Path) -> None:
    material = tmp_path / "syllabus-2026.txt"
    material.write_text("Course: Distributed Ledgers, 5 ECTS, ENU 2026\n")
    done = world.cli("anchor", "--key", world.key("enu"), str(material))
    assert done.returncode == 0, done.stderr
    verdict = world.cli("verify", str(material))
    assert verdict.returncode == 0, verdict.stdout
    assert f"recorded by {ENU}" in verdict.stdout and "UTC" in verdict.stdout
    other = tmp_path / "never-anchored.txt"
    other.write_text("not on chain\n")
    unknown = world.cli("verify", str(other))
    assert unknown.returncode != 0 and "no record" in unknown.stdout


def test_unaccredited_member_cannot_issue(world: World, tmp_path: Path) -> None:
    write_graduates_csv(tmp_path / "sat.csv", 5, seed=7)
    out = tmp_path / "sat-out"
    done = world.cli("issue", "--key", world.key("satbayev"), "--type", "diploma",
                     "--input", str(tmp_path / "sat.csv"), "--out", str(out))
    assert done.returncode != 0
    assert "not accredited" in done.stderr and "not_accredited" in done.stderr
    assert not out.exists()  # nothing handed out for a refused batch
    wrong_type = world.cli("issue", "--key", world.key("enu"), "--type", "attestat",
                           "--input", str(tmp_path / "sat.csv"), "--out", str(out))
    assert wrong_type.returncode != 0 and "type_not_accredited" in wrong_type.stderr
    assert "(accredited for: diploma, transcript)" in wrong_type.stderr


def test_suspension_stops_new_issuing_but_keeps_earlier_credentials(world: World,
                                                                    tmp_path: Path) -> None:
    mshe, kaznu = world.key("mshe"), world.key("kaznu")
    world.cli("accredit", "--key", mshe, "--issuer", world.net.member_id("kaznu"),
              "--types", "diploma", check=True)
    write_graduates_csv(tmp_path / "kaznu.csv", 3, seed=11)
    before = tmp_path / "before"
    world.cli("issue", "--key", kaznu, "--type", "diploma", "--input",
              str(tmp_path / "kaznu.csv"), "--out", str(before), check=True)
    earlier = sorted(before.rglob("diploma-*.json"))[0]
    not_ministry = world.cli("suspend", "--key", world.key("enu"), "--issuer",
                             world.net.member_id("kaznu"), "--reason", "other")
    assert not_ministry.returncode != 0 and "not_a_ministry" in not_ministry.stderr
    world.cli("suspend", "--key", mshe, "--issuer", world.net.member_id("kaznu"),
              "--reason", "investigation", check=True)
    after = world.cli("issue", "--key", kaznu, "--type", "diploma", "--input",
                      str(tmp_path / "kaznu.csv"), "--out", str(tmp_path / "after"))
    assert after.returncode != 0 and "issuer_suspended" in after.stderr
    assert "suspended since height" in after.stderr and "under investigation" in after.stderr
    still = world.cli("verify", str(earlier))
    assert still.returncode == 0, still.stdout
    assert "VALID" in still.stdout and KAZNU in still.stdout
    members = world.cli("members", check=True).stdout
    assert "suspended from height" in members


def test_status_prints_height(world: World) -> None:
    height = world.node.height()
    done = world.cli("status", check=True)
    line = next(x for x in done.stdout.splitlines() if x.startswith("height"))
    assert int(line.split()[1]) >= height >= 1
    unreachable = world.net.cli("status", node="http://127.0.0.1:9", check=False)
    assert unreachable.returncode != 0 and "cannot reach" in unreachable.stderr


# ---- the node process: bad config and signals ----------------------------------------------
@pytest.mark.parametrize(("section", "line", "field"), [
    ("api", 'listen = "localhost"', "api.listen"),
    ("consensus", "view_timeout_ms = -5", "consensus.view_timeout_ms"),
    ("p2p", 'peer = ["127.0.0.1:1"]', "p2p.peer"),
    ("log", 'level = "loud"', "log.level"),
])
def test_node_with_bad_config_exits_non_zero_naming_the_field(
        world: World, tmp_path: Path, section: str, line: str, field: str) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(f'[node]\nname = "bad"\nkey = "k.key"\ngenesis = "g.json"\n'
                   f'data_dir = "d"\n\n[{section}]\n{line}\n')
    done = world.net.cli("node", "--config", str(bad), check=False, timeout_s=30)
    assert done.returncode != 0
    assert field in done.stderr, done.stderr
    assert not (tmp_path / "d").exists()


def test_node_with_missing_config_exits_non_zero(world: World, tmp_path: Path) -> None:
    done = world.net.cli("node", "--config", str(tmp_path / "absent.toml"), check=False,
                         timeout_s=30)
    assert done.returncode != 0 and "file not found" in done.stderr


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP],
                         ids=["SIGTERM", "SIGINT", "SIGHUP"])
def test_node_stops_cleanly_on_signal(tmp_path: Path, sig: int) -> None:
    """SIGHUP (the terminal or SSH session of a node in the foreground closed) ended the
    node at once, exit 129, with no line in its log."""
    # Started as from a terminal, SIGHUP not ignored: a node started under nohup keeps
    # ignoring it (node.stop_signals), and so would these if the tests ran under nohup.
    previous = signal.signal(signal.SIGHUP, signal.SIG_DFL)
    try:
        _stop_on_signal(tmp_path, sig)
    finally:
        signal.signal(signal.SIGHUP, previous)


def _stop_on_signal(tmp_path: Path, sig: int) -> None:
    with Consortium(tmp_path, MEMBERS[:2]) as net:
        node = net.start("mshe")
        net.cli("accredit", "--key", str(net.key_path("mshe")), "--issuer",
                net.member_id("enu"), node=node)
        height = node.height()
        assert node.stop(sig) == 0, node.log_tail()
        log = node.log_text()
        assert f"stopping: {signal.Signals(sig).name}" in log, log
        assert f"stopped cleanly at height {height}" in log
        assert "Traceback" not in log
        node.start()  # the data dir reopens at the same height
        assert node.height() == height
        assert node.stop(sig) == 0
