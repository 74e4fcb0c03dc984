"""A closed university's diploma revoked by the consortium, on real processes.

A ministry validator and an employer's follower node; a second ministry and the
university run no node (their commands go to the ministry's). The university issues
diplomas with `senim issue`, the ministries retire it (its licence withdrawn), and later
one of its diplomas turns out fraudulent: the officer proposes its revocation with
`senim governance revoke`, the second ministry votes, and on the employer's node
`senim verify --genesis` says it was revoked by the consortium while the university's
other diplomas stay genuine and say when it left; the batch's status list marks it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from ledger.vc.status import bit_is_set, decode_list
from tests.e2e.harness import Consortium, Member, NodeProcess, wait_until

pytestmark = pytest.mark.slow

MEMBERS = [Member("mshe", "Ministry of Science", "ministry", validator=True, runs_node=True),
           Member("moe", "Ministry of Enlightenment", "ministry"),
           Member("turan", "Turan-Astana University", "university"),
           Member("kaspi", "Kaspi", "employer", runs_node=True)]
LEAD = 5  # blocks between a proposal and its effect (see test_governance_validators)
GRADUATES = ("student_id,full_name,iin,birth_date,programme_code,programme,qualification,"
             "graduation_date,gpa,honours\n"
             "TAU-1,Aruzhan Abenova,001220612597,2000-12-20,6B02301,Philology,"
             "Bachelor of Humanities,2021-06-30,3.80,\n"
             "TAU-2,Olzhas Tulegenov,001212511485,2000-12-12,6B02301,Philology,"
             "Bachelor of Humanities,2021-06-30,3.19,\n")


def height_after(net: Consortium, node: NodeProcess, height: int, tmp_path: Path) -> None:
    """Anchor documents until the chain is past `height` (blocks come with work)."""
    for n in range(LEAD * 4):
        if node.height() > height:
            return
        net.anchor_document(node, tmp_path / f"doc-{height}-{n}.txt", signer="mshe")
    raise AssertionError(f"the chain did not pass height {height}")


def proposal_id(stdout: str) -> str:
    """The id `senim governance propose` or `revoke` printed."""
    return stdout.split("proposal id: ")[1].split(";")[0].split()[0]


@contextmanager
def retired_university(tmp_path: Path, graduates: str, vote_with: int = 64
                       ) -> Iterator[tuple[Consortium, NodeProcess, NodeProcess, dict[str, str]]]:
    """MEMBERS on a chain of rules version 3 (as one made before the consortium could
    revoke many at once): Turan-Astana University accredited, `graduates` (a CSV) issued
    into tmp_path/issued, then retired by the two ministries (the vote naming the
    proposal by its first `vote_with` hex digits). Yields the consortium, the ministry's
    and the employer's nodes, and the key files by slug."""
    with Consortium(tmp_path, MEMBERS) as net:
        genesis = json.loads(net.genesis_path.read_text())
        genesis["governance"] = {"threshold": 2, "min_validators": 1}
        genesis["rules_version"] = 3
        net.genesis_path.write_text(json.dumps(genesis))
        ministry, kaspi = net.start_all()
        key = {slug: str(net.key_path(slug)) for slug in ("mshe", "moe", "turan")}
        net.cli("accredit", "--key", key["mshe"], "--issuer", "Turan-Astana University",
                "--types", "diploma", "--from", "2020-01-01", "--until", "2040-01-01",
                node=ministry)
        (tmp_path / "graduates.csv").write_text(graduates)
        net.cli("issue", "--key", key["turan"], "--type", "diploma", "--input",
                "graduates.csv", "--out", "issued", node=ministry)
        retired_at = ministry.height() + LEAD
        proposed = net.cli("governance", "propose", "--key", key["mshe"], "--action",
                           "retire-member", "--member", "Turan-Astana University",
                           "--effective-height", str(retired_at), node=ministry)
        net.cli("governance", "vote", "--key", key["moe"],
                proposal_id(proposed.stdout)[:vote_with], node=ministry)
        height_after(net, ministry, retired_at, tmp_path)
        yield net, ministry, kaspi, key


def test_the_consortium_revokes_a_closed_universitys_diploma(tmp_path: Path) -> None:
    with retired_university(tmp_path, GRADUATES) as (net, ministry, kaspi, key):
        fraud, honest = sorted((tmp_path / "issued" / "credentials").rglob("diploma-*.json"))
        revoke = net.cli("governance", "revoke", "--key", key["mshe"], str(fraud), "--reason",
                         "fraud", node=ministry)
        proposal = revoke.stdout.split("proposal id: ")[1].split(";")[0]
        voted = net.cli("governance", "vote", "--key", key["moe"], proposal, node=ministry)
        assert "Revoked at height" in voted.stdout, voted.stdout
        head = ministry.height()
        wait_until(lambda: kaspi.height() >= head, 30, "the follower to catch up")

        checked = net.cli("verify", str(fraud), "--genesis", str(net.genesis_path), "--json",
                          node=kaspi, check=False)
        assert checked.returncode == 1, checked.stderr
        verdict = json.loads(checked.stdout)
        assert verdict["status"] == "revoked" and verdict["facts"]["revoked_by"] == "consortium"
        assert verdict["facts"]["revoked_by_proposal"] == proposal
        still = net.cli("verify", str(honest), "--genesis", str(net.genesis_path), "--lang",
                        "ru", node=kaspi)
        assert "вышла из консорциума" in still.stdout.splitlines()[0], still.stdout

        again = net.cli("governance", "revoke", "--key", key["moe"], str(fraud), "--reason",
                        "fraud", node=kaspi, check=False)
        assert again.returncode == 1 and "already revoked by the consortium" in again.stderr

        document = json.loads(fraud.read_text())
        issuer, root = document["issuer"]["member_id"], document["batch"]["root"]
        listed = kaspi.get_json(f"/credentials/status/{issuer}{root}")
        bits = decode_list(listed["credentialSubject"]["encodedList"])
        index = int(document["batch"]["index"])
        assert bit_is_set(bits, index) and not bit_is_set(bits, 1 - index)
