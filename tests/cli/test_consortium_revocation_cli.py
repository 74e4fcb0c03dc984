"""`senim governance revoke` as a ministry officer uses it, against an in-process node (the
real engine on its thread, a lone validator, its API on loopback), and `senim verify` on
what it did: a retired university's diploma revoked by the consortium, and its other
diplomas still genuine, saying when it left.

Refused unsent, in words: an issuer not retired, a credential never issued here, one
revoked already, one an open proposal already revokes, a chain under rules version 2.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from cli.main import main
from cli.remote import RemoteFacts, UntrustedAnswer
from ledger.chain import Chain
from ledger.credentials import IssuedBatch, make_batch
from ledger.genesis import Genesis, GenesisMember
from ledger.payloads import (
    ACTION_RETIRE_MEMBER,
    AccreditPayload,
    IssueBatchPayload,
    MemberAction,
    ProposePayload,
    VotePayload,
)
from ledger.records import member_key
from ledger.rules import load_batch
from ledger.vc.export import to_vc
from ledger.verification import when
from node.files import save_key
from node.validators import certifies_by_keys
from storage.kv import MemoryStore
from tests.node.api_server import api_core, serving_url
from tests.node.conftest import CHAIN_ID, GENESIS_TIME_MS, commit, documents_of, keys_from, make_tx
from tests.node.engine_node import running_engine

YEAR_MS = 365 * 24 * 3600 * 1000
RETIRED_AT = 8


@dataclass
class Officer:
    url: str
    folder: Path
    chain: Chain
    kaznu: IssuedBatch  # two diplomas of the retired KazNU
    kbtu: IssuedBatch  # one of KBTU, still a member

    def file(self, batch: IssuedBatch, index: int, name: str) -> str:
        path = self.folder / f"{name}.json"
        path.write_text(json.dumps(documents_of(batch)[index]), encoding="utf-8")
        return str(path)

    def key(self, name: str) -> str:
        path = self.folder / f"{name}.key"
        if not path.exists():
            save_key(path, keys_from(name))
        return str(path)


async def senim(*args: str | Path) -> Result:
    """The CLI blocks on HTTP: it runs on a thread while the loop serves the node."""
    runner = CliRunner()
    return await asyncio.get_running_loop().run_in_executor(
        None, lambda: runner.invoke(main, [str(a) for a in args]))


def consortium_genesis(rules_version: int) -> Genesis:
    return Genesis(CHAIN_ID, GENESIS_TIME_MS, (
        GenesisMember("Ministry of Science", "ministry", keys_from("ministry").public_key, True),
        GenesisMember("Ministry of Education", "ministry", keys_from("ministry2").public_key,
                      False),
        GenesisMember("Ministry of Justice", "ministry", keys_from("ministry3").public_key,
                      False),
        GenesisMember("KazNU", "university", keys_from("kaznu").public_key, False),
        GenesisMember("KBTU", "university", keys_from("kbtu").public_key, False)),
        None, rules_version)


def issue_diplomas(chain: Chain, who: str, names: list[str]) -> IssuedBatch:
    keys = keys_from(who)
    batch = make_batch([{"full_name": n} for n in names], "diploma", CHAIN_ID, keys.member_id,
                       who)
    commit(chain, [make_tx(keys, IssueBatchPayload("diploma", batch.root, len(names)))])
    return batch


def kaznu_retired(chain: Chain, kaznu_names: list[str]) -> tuple[IssuedBatch, IssuedBatch]:
    """KazNU and KBTU accredited; KazNU issues a diploma to each of `kaznu_names`, KBTU
    one; KazNU retired from RETIRED_AT (Ministry of Science proposed, Ministry of
    Education voted). Its two batches."""
    commit(chain, [make_tx(keys_from("ministry"), AccreditPayload(
        keys_from(u).member_id, ("diploma",), GENESIS_TIME_MS, GENESIS_TIME_MS + 100 * YEAR_MS))
        for u in ("kaznu", "kbtu")])
    kaznu, kbtu = issue_diplomas(chain, "kaznu", kaznu_names), issue_diplomas(chain, "kbtu",
                                                                             ["Yerlan"])
    retire = make_tx(keys_from("ministry"), ProposePayload(
        MemberAction(ACTION_RETIRE_MEMBER, keys_from("kaznu").member_id), RETIRED_AT,
        RETIRED_AT - 2))
    commit(chain, [retire])
    commit(chain, [make_tx(keys_from("ministry2"), VotePayload(retire.tx_id))])
    while chain.height < RETIRED_AT:
        commit(chain, [])
    return kaznu, kbtu


@pytest.fixture(params=[3])
async def officer(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Officer]:
    """KazNU and KBTU accredited and each issued diplomas; KazNU retired from RETIRED_AT
    (Ministry of Science proposed, Ministry of Education voted). The node then runs."""
    core = api_core(keys_from("ministry"), consortium_genesis(request.param), MemoryStore())
    chain = core.chain
    kaznu, kbtu = kaznu_retired(chain, ["Aigerim", "Daniyar"])
    async with running_engine(core), serving_url(core) as url:
        yield Officer(url, tmp_path, chain, kaznu, kbtu)


async def test_the_officer_revokes_a_retired_universitys_diploma(officer: Officer) -> None:
    fraud = officer.file(officer.kaznu, 0, "fraud")
    proposed = await senim("governance", "revoke", "--key", officer.key("ministry"), fraud,
                           "--reason", "fraud", "--node", officer.url)
    assert proposed.exit_code == 0, proposed.output
    proposal_id = proposed.output.split("proposal id: ")[1].split(";")[0]
    assert "revoked once 1 more voter(s) vote for it" in proposed.output

    # another ministry, unaware, is pointed to the open proposal, nothing sent
    again = await senim("governance", "revoke", "--key", officer.key("ministry3"), fraud,
                        "--reason", "court_decision", "--node", officer.url)
    assert again.exit_code == 1
    assert f"proposal {proposal_id} already proposes to revoke this credential" in again.output
    assert f"senim governance vote --key {officer.key('ministry3')} {proposal_id}" \
        in again.output
    # its proposer is told it waits for the others, not to vote for it (a vote refused)
    mine = await senim("governance", "revoke", "--key", officer.key("ministry"), fraud,
                       "--reason", "fraud", "--node", officer.url, "--dry-run")
    assert (f"proposal {proposal_id}, which you voted for, already proposes to revoke this "
            "credential") in mine.output, mine.output
    assert "governance vote" not in mine.output
    listed = await senim("governance", "list", "--node", officer.url)
    assert (f"Proposal {proposal_id}: revoke credential "
            f"{officer.kaznu.target_hashes[0].hex()[:16]}… of KazNU") in listed.output
    before = await senim("verify", fraud, "--node", officer.url)
    assert before.exit_code == 0 and "left the consortium" in before.output

    voted = await senim("governance", "vote", "--key", officer.key("ministry2"), proposal_id,
                        "--node", officer.url)
    assert voted.exit_code == 0, voted.output
    assert "Revoked at height" in voted.output

    checked = await senim("verify", fraud, "--node", officer.url, "--json")
    assert checked.exit_code == 1, checked.output
    verdict = json.loads(checked.output)
    assert verdict["status"] == "revoked" and verdict["facts"]["revoked_by"] == "consortium"
    assert verdict["facts"]["revoked_by_proposal"] == proposal_id
    assert verdict["facts"]["revoked_by_proposer"] == "Ministry of Science"
    said = await senim("verify", fraud, "--node", officer.url)
    assert f"revoked by the consortium, by governance proposal {proposal_id}" in said.output
    for lang, words in (("kk", "Консорциум күшін жойған"), ("ru", "Отозван консорциумом")):
        said = await senim("verify", fraud, "--node", officer.url, "--lang", lang)
        assert said.output.startswith(words), said.output

    # done once: a second time is refused, and said how it was revoked
    twice = await senim("governance", "revoke", "--key", officer.key("ministry3"), fraud,
                        "--reason", "fraud", "--node", officer.url)
    assert twice.exit_code == 1
    assert f"already revoked by the consortium (proposal {proposal_id})" in twice.output
    # its neighbour is untouched, and says its university left
    other = await senim("verify", officer.file(officer.kaznu, 1, "other"), "--node",
                        officer.url, "--lang", "en")
    assert other.exit_code == 0, other.output
    block = officer.chain.get_block(RETIRED_AT)
    assert block is not None
    left = when(block.header.time_ms)[:10]
    assert f"KazNU left the consortium on {left} (height {RETIRED_AT})" in other.output
    # the date of leaving is a certified block's, as the verdict's own block is
    genesis = officer.folder / "genesis.json"
    genesis.write_text(json.dumps(officer.chain.genesis.to_json()), encoding="utf-8")
    for lang, words in (("en", f"KazNU left the consortium on {left}"),
                        ("kk", "«KazNU» консорциумнан шықты (күні — "),
                        ("ru", "Организация «KazNU» вышла из консорциума ")):
        certified = await senim("verify", officer.file(officer.kaznu, 1, "other"), "--node",
                                officer.url, "--genesis", str(genesis), "--lang", lang)
        assert certified.exit_code == 0, certified.output
        assert words in certified.output.splitlines()[0], certified.output
        if lang == "en":  # the source line is said in the reader's language too
            assert "certified by the genesis validators" in certified.output
        else:
            assert "certified by the genesis validators" not in certified.output


async def test_refusals_say_why_and_send_nothing(officer: Officer) -> None:
    head = officer.chain.height
    member = await senim("governance", "revoke", "--key", officer.key("ministry"),
                         officer.file(officer.kbtu, 0, "kbtu"), "--reason", "fraud",
                         "--node", officer.url)
    assert member.exit_code == 1
    assert "not proposed: KBTU is not retired: it revokes its own credentials" in member.output
    batch = load_batch(officer.chain.state, keys_from("kbtu").member_id, officer.kbtu.root)
    assert batch is not None
    vc = officer.folder / "kbtu.vc.json"  # a Senim VC of it reads as the credential it is
    vc.write_text(json.dumps(to_vc(documents_of(officer.kbtu)[0], keys_from("kbtu"),
                                   "https://node.senim.test", batch.height, batch.time_ms,
                                   batch.time_ms)), encoding="utf-8")
    as_vc = await senim("governance", "revoke", "--key", officer.key("ministry"), str(vc),
                        "--reason", "fraud", "--node", officer.url)
    assert as_vc.exit_code == 1 and "KBTU is not retired" in as_vc.output, as_vc.output
    never = make_batch([{"full_name": "Nobody"}], "diploma", CHAIN_ID,
                       keys_from("kaznu").member_id, "kaznu")
    unknown = await senim("governance", "revoke", "--key", officer.key("ministry"),
                          officer.file(never, 0, "never"), "--reason", "fraud",
                          "--node", officer.url)
    assert unknown.exit_code == 1
    assert "not proposed: unknown credential: KazNU has no batch" in unknown.output
    garbage = officer.folder / "garbage.json"
    garbage.write_text("{\"not\": \"a credential\"}", encoding="utf-8")
    bad = await senim("governance", "revoke", "--key", officer.key("ministry"), str(garbage),
                      "--reason", "fraud", "--node", officer.url)
    assert bad.exit_code == 2 and "is not a Senim credential file" in bad.output
    superseded = await senim("governance", "revoke", "--key", officer.key("ministry"),
                             officer.file(officer.kaznu, 0, "k"), "--reason", "superseded",
                             "--node", officer.url)
    assert superseded.exit_code == 2
    # the retired university itself is refused by the ledger, and told who revokes now
    own = await senim("revoke", "--key", officer.key("kaznu"), officer.file(officer.kaznu, 0, "k"),
                      "--reason", "other", "--node", officer.url)
    assert own.exit_code == 1 and "(member_retired)" in own.output, own.output
    assert "a ministry proposes it with `senim governance revoke" in own.output
    for result in (member, unknown, bad, superseded, own):
        assert "Traceback" not in result.output
    assert officer.chain.height == head  # nothing was sent


@pytest.mark.parametrize("officer", [2], indirect=True)
async def test_under_rules_version_2_it_says_what_to_propose_first(officer: Officer) -> None:
    refused = await senim("governance", "revoke", "--key", officer.key("ministry"),
                          officer.file(officer.kaznu, 0, "fraud"), "--reason", "fraud",
                          "--node", officer.url)
    assert refused.exit_code == 1
    assert "the chain runs ledger rules version 2" in refused.output
    assert "--action set-rules-version --rules-version 3" in refused.output


async def test_a_node_that_lies_about_the_retirement_blocks_time_is_not_trusted(
        officer: Officer) -> None:
    """The date a verifier reads for the retirement is a certified block's: a node that
    sends another block, or a certificate that is not that block's, is not trusted."""
    genesis = officer.chain.genesis
    issuer = keys_from("kaznu").member_id

    def left_at(swap: Callable[[str], str]) -> int | None:
        facts = RemoteFacts(officer.url, certified=certifies_by_keys(genesis.chain_id),
                            genesis=genesis)
        facts.get(member_key(issuer))  # pins a certified block, as a verification does
        fetch = facts._fetch
        facts._fetch = lambda path: fetch(swap(path))  # type: ignore[method-assign]
        return facts.block_time(RETIRED_AT)

    loop = asyncio.get_running_loop()
    honest = await loop.run_in_executor(None, left_at, lambda path: path)
    block = officer.chain.get_block(RETIRED_AT)
    assert block is not None and honest == block.header.time_ms
    other = f"/v1/blocks/{RETIRED_AT - 1}"
    for swap in (lambda path: path.replace(f"/v1/blocks/{RETIRED_AT}?", other + "?"),
                 lambda path: other if path == f"/v1/blocks/{RETIRED_AT}" else path):
        with pytest.raises(UntrustedAnswer):
            await loop.run_in_executor(None, left_at, swap)
