"""`senim governance revoke` with many files, as a ministry officer uses it after a closed
university is found to have sold a cohort's diplomas: against an in-process node (the
real engine on its thread, a lone validator, its API and VC routes on loopback).

302 diplomas of the retired KazNU; 300 are revoked in two proposals (a folder, then the
files one by one), each voted by its id's first digits; `senim verify` then names a
diploma and its VC as revoked by the consortium, by its proposal. Refused unsent, each
file named with its reason: not a credential, a tampered audit path, a duplicate, a
credential of a university still a member, one revoked already, a list past the cap or
the byte bound, several files under rules version 3.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import Result

from ledger.chain import Chain
from ledger.credentials import IssuedBatch
from ledger.identity import KeyPair
from ledger.payloads_consortium import MAX_REVOKED_PER_PROPOSAL
from ledger.rules import load_batch, load_revocation
from ledger.vc.export import to_vc
from node.files import save_key
from storage.kv import MemoryStore
from tests.cli.test_consortium_revocation_cli import (
    consortium_genesis,
    kaznu_retired,
    senim,
)
from tests.node.api_server import api_core
from tests.node.conftest import documents_of, keys_from
from tests.vc.conftest import vc_served

COHORT = 302


@dataclass
class Officer:
    url: str
    folder: Path
    chain: Chain
    kaznu: IssuedBatch  # the retired KazNU's cohort
    kbtu: IssuedBatch  # one diploma of KBTU, still a member

    def file(self, batch: IssuedBatch, index: int, folder: str = "files") -> Path:
        path = self.folder / folder / f"diploma-{index:03d}.json"
        path.parent.mkdir(exist_ok=True)
        path.write_text(json.dumps(documents_of(batch)[index]), encoding="utf-8")
        return path

    def key(self, name: str) -> str:
        path = self.folder / f"{name}.key"
        if not path.exists():
            save_key(path, keys_from(name))
        return str(path)


@pytest.fixture(params=[4])
async def officer(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Officer]:
    """KazNU issued COHORT diplomas and KBTU one; KazNU retired from RETIRED_AT. The node
    (rules version `request.param`) then runs, with its VC routes."""
    core = api_core(keys_from("ministry"), consortium_genesis(request.param), MemoryStore())
    chain = core.chain
    kaznu, kbtu = kaznu_retired(chain, [f"Graduate {i}" for i in range(COHORT)])
    save_key(tmp_path / "vc-issuer.json", KeyPair.from_seed(b"\x44" * 32))
    async with vc_served(core, tmp_path, tmp_path / "vc-issuer.json") as (client, _app):
        yield Officer(str(client.make_url("")).rstrip("/"), tmp_path, chain, kaznu, kbtu)


def _proposal_id(result: Result) -> str:
    assert result.exit_code == 0, result.output
    return result.output.split("proposal id: ")[1].split(";")[0]


async def test_the_officer_revokes_300_diplomas_in_two_proposals(officer: Officer) -> None:
    first = [officer.file(officer.kaznu, i, "first") for i in range(150)]
    rest = [officer.file(officer.kaznu, i, "rest") for i in range(150, 300)]
    head = officer.chain.height
    dry = await senim("governance", "revoke", "--key", officer.key("ministry"),
                      officer.folder / "first", "--reason", "fraud", "--dry-run",
                      "--node", officer.url)
    assert dry.exit_code == 0, dry.output
    assert "Would revoke 150 credential(s) of KazNU for fraud:" in dry.output
    assert f"  {first[7]}: credential {officer.kaznu.target_hashes[7].hex()[:16]}…, leaf 7"\
        in dry.output
    assert "Nothing sent (--dry-run): 150 of 150 file(s) could be revoked." in dry.output
    assert officer.chain.height == head

    one = _proposal_id(await senim("governance", "revoke", "--key", officer.key("ministry"),
                                   officer.folder / "first", "--reason", "fraud",
                                   "--node", officer.url))
    two = _proposal_id(await senim("governance", "revoke", "--key", officer.key("ministry3"),
                                   *rest, "--reason", "fraud", "--node", officer.url))
    listed = await senim("governance", "list", "--node", officer.url)
    assert f"Proposal {one}: revoke 150 credential(s) of KazNU (in 1 batch(es)) for fraud" \
        in listed.output
    # the same diploma again is pointed to the open proposal that revokes it
    again = await senim("governance", "revoke", "--key", officer.key("ministry2"), first[3],
                        rest[0], "--reason", "fraud", "--node", officer.url)
    assert again.exit_code == 1
    assert f"{first[3]}: proposal {one} already proposes to revoke this credential" \
        in again.output
    assert f"{rest[0]}: proposal {two} already proposes" in again.output

    for proposal_id in (one, two):
        voted = await senim("governance", "vote", "--key", officer.key("ministry2"),
                            proposal_id[:8], "--node", officer.url)
        assert voted.exit_code == 0, voted.output
        assert f"proposal {proposal_id}: revoke 150 credential(s) of KazNU" in voted.output
        assert "Revoked at height" in voted.output
    kaznu = keys_from("kaznu").member_id
    revoked = [load_revocation(officer.chain.state, kaznu, officer.kaznu.root, t)
               for t in officer.kaznu.target_hashes]
    assert all(r is not None for r in revoked[:300]) and revoked[300:] == [None, None]

    checked = await senim("verify", rest[42], "--node", officer.url, "--json")
    assert checked.exit_code == 1, checked.output
    verdict = json.loads(checked.output)
    assert verdict["status"] == "revoked" and verdict["facts"]["revoked_by"] == "consortium"
    assert verdict["facts"]["revoked_by_proposal"] == two
    said = await senim("verify", first[0], "--node", officer.url)
    assert f"revoked by the consortium, by governance proposal {one}" in said.output
    kept = await senim("verify", officer.file(officer.kaznu, 301), "--node", officer.url)
    assert kept.exit_code == 0, kept.output
    # no offline proof of it, as of one revoked alone
    proved = await senim("prove", rest[42], "--out", officer.folder / "p.json", "--node",
                         officer.url)
    assert proved.exit_code == 1 and "revoked by the consortium" in proved.output

    # its VC, checked against the batch's status list that the node serves
    batch = load_batch(officer.chain.state, kaznu, officer.kaznu.root)
    assert batch is not None
    for index, status in ((192, 1), (300, 0)):
        vc = officer.folder / f"diploma-{index}.vc.json"
        vc.write_text(json.dumps(to_vc(documents_of(officer.kaznu)[index], keys_from("kaznu"),
                                       officer.url, batch.height, batch.time_ms,
                                       batch.time_ms)), encoding="utf-8")
        verified = await senim("verify", vc, "--node", officer.url, "--json")
        assert verified.exit_code == status, verified.output
        if status:
            assert json.loads(verified.output)["status"] == "revoked", verified.output


async def test_hostile_lists_are_refused_by_file_and_send_nothing(officer: Officer) -> None:
    good = [officer.file(officer.kaznu, i, "hostile") for i in range(5)]
    tampered = json.loads(good[2].read_text(encoding="utf-8"))
    tampered["batch"]["path"][0] = "00" * 32
    good[2].write_text(json.dumps(tampered), encoding="utf-8")
    duplicate = officer.folder / "hostile" / "copy-of-1.json"
    shutil.copy(good[1], duplicate)
    member = officer.folder / "hostile" / "a-kbtu.json"  # read first: the stray is named
    member.write_text(json.dumps(documents_of(officer.kbtu)[0]), encoding="utf-8")
    garbage = officer.folder / "hostile" / "notes.json"
    garbage.write_text("{\"not\": \"a credential\"}", encoding="utf-8")
    (officer.folder / "hostile" / "readme.txt").write_text("not read", encoding="utf-8")
    head = officer.chain.height

    refused = await senim("governance", "revoke", "--key", officer.key("ministry"),
                          officer.folder / "hostile", "--reason", "fraud",
                          "--node", officer.url)
    assert refused.exit_code == 1, refused.output
    assert "not proposed: 4 of the 8 files cannot be revoked" in refused.output
    assert (f"{good[2]}: unknown credential: it is not in the batch it names (the file was "
            "altered)") in refused.output
    assert f"{good[1]}: the same credential as {duplicate}" in refused.output \
        or f"{duplicate}: the same credential as {good[1]}" in refused.output
    assert f"{member}: another issuer: KBTU (most files are KazNU's)" in refused.output
    assert f"{garbage}: not a Senim credential file" in refused.output
    assert "Traceback" not in refused.output
    dry = await senim("governance", "revoke", "--key", officer.key("ministry"),
                      officer.folder / "hostile", "--reason", "fraud", "--dry-run",
                      "--node", officer.url)
    assert dry.exit_code == 1
    assert "Would revoke 4 credential(s) of KazNU" in dry.output
    assert f"cannot revoke {good[2]}: unknown credential" in dry.output
    assert "4 of 8 file(s) could be revoked; the rest must be fixed" in dry.output

    # a university still a member: each of its files says so
    alone = await senim("governance", "revoke", "--key", officer.key("ministry"), member,
                        "--reason", "fraud", "--node", officer.url)
    assert "not proposed: KBTU is not retired" in alone.output
    # past the cap, by count; past the byte bound, with how many fit
    many = [officer.file(officer.kaznu, i, "many") for i in range(MAX_REVOKED_PER_PROPOSAL + 1)]
    huge = await senim("governance", "revoke", "--key", officer.key("ministry"),
                       officer.folder / "many", "--reason", "fraud", "--node", officer.url)
    assert huge.exit_code == 2
    assert ("257 credential files given: one proposal revokes at most 256; give them in 2 or "
            "more proposals") in huge.output
    deep = await senim("governance", "revoke", "--key", officer.key("ministry"), *many[:200],
                       "--reason", "fraud", "--node", officer.url)
    assert deep.exit_code == 2
    assert "these 200 credentials with their audit paths take 71,200 bytes" in deep.output
    assert "give at most 178 of these files in one proposal" in deep.output
    assert officer.chain.height == head  # nothing was sent

    # one revoked since: a list holding it names it
    proposal_id = _proposal_id(await senim(
        "governance", "revoke", "--key", officer.key("ministry"), many[10], "--reason",
        "court_decision", "--node", officer.url))
    voted = await senim("governance", "vote", "--key", officer.key("ministry2"),
                        proposal_id[:6], "--node", officer.url)
    assert voted.exit_code == 0, voted.output
    later = await senim("governance", "revoke", "--key", officer.key("ministry"),
                        *many[8:12], "--reason", "fraud", "--node", officer.url)
    assert later.exit_code == 1
    assert f"{many[10]}: already revoked by the consortium (proposal {proposal_id})" \
        in later.output


@pytest.mark.parametrize("officer", [3], indirect=True)
async def test_under_rules_version_3_several_files_say_to_propose_version_4(
        officer: Officer) -> None:
    files = [officer.file(officer.kaznu, i) for i in range(3)]
    refused = await senim("governance", "revoke", "--key", officer.key("ministry"), *files,
                          "--reason", "fraud", "--node", officer.url)
    assert refused.exit_code == 1
    assert ("the chain runs ledger rules version 3; revoking 3 credentials of a retired "
            "member in one proposal needs version 4") in refused.output
    assert "--action set-rules-version --rules-version 4" in refused.output
    assert "or give one file at a time" in refused.output
    alone = await senim("governance", "revoke", "--key", officer.key("ministry"), files[0],
                        "--reason", "fraud", "--node", officer.url)
    assert "the credential is revoked once 1 more voter(s) vote" in alone.output, alone.output
