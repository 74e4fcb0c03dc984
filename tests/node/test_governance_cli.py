"""`senim governance propose | vote | list` and `GET /v1/governance`, `/v1/members`.

The CLI talks to a stand-in client that commits on a real chain (a lone validator);
the API is the real aiohttp app over a NodeCore.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from click.testing import CliRunner

import cli.governance
import cli.governance_vote
import cli.node_info
from cli.client import ClientError
from cli.governance_words import describe
from cli.main import main
from ledger.chain import Chain
from ledger.errors import TxRejected
from ledger.identity import KeyPair, MemberId
from ledger.key_events import prove_possession
from ledger.payloads import (
    ACTION_RETIRE_MEMBER,
    ConfirmAdmissionAction,
    MemberAction,
    Payload,
    ProposePayload,
    ReplaceKeyAction,
    RotateKeyPayload,
    VotePayload,
)
from ledger.rules import all_members
from ledger.transactions import Transaction
from node.files import save_key
from node.governance_view import governance_json
from node.service import NodeCore
from storage.kv import LevelDBStore, MemoryStore
from tests.node.api_server import api_core, served_on_disk, serving
from tests.node.conftest import admission_action, commit, make_tx
from tests.node.test_governance import Council, make_council

Client = TestClient[web.Request, web.Application]


class _ChainClient:
    """Stands in for NodeClient: each submitted transaction is committed in its own block."""

    chain: Chain

    def __init__(self, _url: str, timeout_s: float = 70.0) -> None:
        del timeout_s

    def status(self) -> dict[str, Any]:
        return {"height": self.chain.height}

    def request(self, method: str, path: str) -> dict[str, Any]:
        assert method == "GET" and path in ("/v1/governance", "/v1/members")
        if path == "/v1/members":
            return {"members": [{"member_id": member_id.hex(), "name": m.name,
                                 "public_key": m.public_key.hex()}
                                for member_id, m in all_members(self.chain.state)]}
        return governance_json(self.chain.state, self.chain.height)

    def make_tx(self, keys: KeyPair, payload: Payload) -> Transaction:
        return make_tx(keys, payload)

    def submit_and_wait(self, tx: Transaction, timeout_s: float = 60.0) -> dict[str, Any]:
        try:
            self.chain.check_pending(tx, self.chain.head_header.time_ms + 1000)
        except TxRejected as exc:
            raise ClientError(exc.message, exc.code, 400) from exc
        commit(self.chain, [tx])
        return {"status": "committed", "height": self.chain.height, "tx_id": tx.tx_id.hex()}


@pytest.fixture
def council() -> Council:
    return make_council()


@pytest.fixture
def chain_client(council: Council, monkeypatch: pytest.MonkeyPatch) -> type[_ChainClient]:
    _ChainClient.chain = Chain(MemoryStore(), council.genesis)
    for module in (cli.governance, cli.governance_vote):  # propose; vote and list
        monkeypatch.setattr(module, "NodeClient", _ChainClient)
    return _ChainClient


def _key(tmp_path: Path, keys: KeyPair, name: str) -> str:
    path = tmp_path / f"{name}.key"
    save_key(path, keys)
    return str(path)


def test_propose_vote_list(tmp_path: Path, council: Council,
                           chain_client: type[_ChainClient]) -> None:
    runner = CliRunner()
    first, second = _key(tmp_path, council.ministry, "m1"), _key(tmp_path, council.ministry2,
                                                                 "m2")
    uni = council.university.member_id.hex()
    proposed = runner.invoke(main, ["governance", "propose", "--key", first, "--action",
                                    "add-validator", "--member", uni,
                                    "--effective-height", "10"])
    assert proposed.exit_code == 0, proposed.output
    proposal_id = proposed.output.split("proposal id: ")[1].split()[0]
    listed = runner.invoke(main, ["governance", "list"])
    assert listed.exit_code == 0, listed.output
    assert "a change needs the votes of 2 of the 3 governance voters" in listed.output
    assert (f"Proposal {proposal_id}: add KazNU to the validators from height 10. Open, "
            "voted by Ministry of Science: it needs 1 more vote by height 8; not yet voted: "
            "Ministry of Education and Ministry of Justice.\n") in listed.output

    voted = runner.invoke(main, ["governance", "vote", "--key", second, proposal_id])
    assert voted.exit_code == 0, voted.output
    # The approving vote says so: it printed only 'vote: committed at height 2'.
    assert voted.output.endswith(
        f"proposal {proposal_id[:16]}…: add KazNU to the validators from height 10. Approved "
        "at height 2 by Ministry of Science and Ministry of Education; it takes effect at "
        "height 10, in 8 block(s).\n"), voted.output
    answer = json.loads(runner.invoke(main, ["governance", "list", "--json"]).output)
    proposal = answer["proposals"][0]
    assert proposal["status"] == "approved" and proposal["votes_needed"] == 0
    assert [v["name"] for v in proposal["votes"]] == ["Ministry of Science",
                                                      "Ministry of Education"]
    assert [r["from_height"] for r in answer["validator_sets"]] == [1, 10]
    assert "KazNU" in [v["name"] for v in answer["validator_sets"][1]["validators"]]

    again = runner.invoke(main, ["governance", "vote", "--key", second, proposal_id])
    assert again.exit_code == 1 and again.output.count("\n") == 1
    assert "proposal_closed" in again.output
    shown = runner.invoke(main, ["governance", "list"]).output
    assert (f"Proposal {proposal_id}: add KazNU to the validators from height 10. Approved at "
            "height 2 by Ministry of Science and Ministry of Education; it takes effect at "
            "height 10, in 8 block(s).\n") in shown
    while chain_client.chain.height < 10:
        commit(chain_client.chain, [])
    shown = runner.invoke(main, ["governance", "list"]).output
    assert "Validators from height 10: " in shown
    assert (f"Proposal {proposal_id}: add KazNU to the validators from height 10. In force "
            "since height 10; approved at height 2 by Ministry of Science and Ministry of "
            "Education.\n") in shown


def test_a_voter_proposing_what_is_open_is_sent_to_vote_for_it(
        tmp_path: Path, council: Council, chain_client: type[_ChainClient]) -> None:
    """The second ministry, asked to support a change, proposes it again with the default
    height: two proposals would split the votes, so it is told to vote instead."""
    runner = CliRunner()
    uni = council.university.member_id.hex()
    args = ["governance", "propose", "--action", "retire-member", "--member", uni]
    first = runner.invoke(main, [*args, "--key", _key(tmp_path, council.ministry, "m1")])
    assert first.exit_code == 0, first.output
    proposal_id = first.output.split("proposal id: ")[1].split()[0]
    second = _key(tmp_path, council.ministry2, "m2")
    again = runner.invoke(main, [*args, "--key", second])
    assert again.exit_code == 1 and again.output.count("\n") == 1, again.output
    assert (f"proposal {proposal_id} already proposes to retire KazNU from height 100, open "
            f"until height 98: vote for it (senim governance vote --key {second} "
            f"{proposal_id})") in again.output
    assert chain_client.chain.height == 1
    # a height of its own is a deliberate choice (a sooner retirement, say)
    sooner = runner.invoke(main, [*args, "--key", second, "--effective-height", "20"])
    assert sooner.exit_code == 0, sooner.output
    sooner_id = sooner.output.split("proposal id: ")[1].split()[0]
    later = runner.invoke(main, [*args, "--key", second, "--effective-height", "200"])
    assert later.exit_code == 0, later.output
    third = runner.invoke(main, [*args, "--key", _key(tmp_path, council.ministry3, "m3")])
    assert f"proposal {sooner_id} already proposes to retire KazNU from height 20" in (
        third.output)  # of the three open, the one that takes effect first, not the newest


@pytest.mark.parametrize("args,message", [
    (["--action", "add-member", "--name", "X"], "add-member needs"),
    (["--action", "retire-member"], "retire-member needs --member"),
    (["--action", "retire-member", "--member", "zz"], "--member 'zz' is neither a member id"),
    (["--action", "retire-member", "--member", "00" * 20, "--effective-height", "5",
      "--expiry-height", "4"], "--expiry-height 4 is too late for --effective-height 5: "
     "votes close 2 blocks before a change, so at height 3 at the latest"),
    # the chain is at height 0: heights it has passed, or too close to reach, are named
    # as given, not as the expiry height computed from them
    (["--action", "retire-member", "--member", "00" * 20, "--effective-height", "3"],
     "--effective-height 3 is too soon: the chain is at height 0, and after a minute without "
     "blocks the next block is an empty one, so the proposal may land only at height 2; "
     "votes close 2 blocks before a change, so the earliest is 4; 6 or later leaves the 1 "
     "more vote it needs time to land"),
    (["--action", "retire-member", "--member", "00" * 20, "--effective-height", "9",
      "--expiry-height", "1"],
     "--expiry-height 1 is too soon: the chain is at height 0, and after a minute without "
     "blocks the next block is an empty one, so the proposal may land only at height 2"),
    (["--action", "retire-member", "--member", "00" * 20, "--effective-height", "0"],
     "--effective-height 0 is too soon"),
    (["--action", "retire-member", "--member", "00" * 20, "--effective-height", "9",
      "--expiry-height", "0"], "--expiry-height 0 has passed: the chain is at height 0"),
    (["--action", "set-rules-version"], "set-rules-version needs --rules-version"),
    (["--action", "set-rules-version", "--rules-version", "2", "--member", "00" * 20],
     "set-rules-version needs --rules-version (and no --member"),
    (["--action", "retire-member", "--member", "00" * 20, "--rules-version", "2"],
     "--rules-version is for set-rules-version only"),
])
def test_bad_input_is_one_line_and_sends_nothing(tmp_path: Path, council: Council,
                                                 chain_client: type[_ChainClient],
                                                 args: list[str], message: str) -> None:
    key = _key(tmp_path, council.ministry, "m1")
    result = CliRunner().invoke(main, ["governance", "propose", "--key", key, *args])
    assert result.exit_code == 2 and message in result.output, result.output
    assert result.output.count("\n") == 1
    assert chain_client.chain.height == 0


@pytest.fixture
async def api(tmp_path: Path, council: Council) -> AsyncIterator[tuple[Client, NodeCore]]:
    async with served_on_disk(council.ministry, council.genesis, tmp_path) as node:
        yield node


async def test_api_lists_governance_and_added_members(
        api: tuple[Client, NodeCore], council: Council) -> None:
    client, core = api
    newcomer = KeyPair.generate()
    propose = make_tx(council.ministry, ProposePayload(
        admission_action(newcomer, "Satbayev University", "university"), 5, 3))
    commit(core.chain, [propose])
    commit(core.chain, [make_tx(council.ministry3, VotePayload(propose.tx_id))])
    response = await client.get("/v1/governance")
    assert response.status == 200
    body = await response.json()
    assert body["policy"] == {"threshold": 2, "voters": "ministries", "min_validators": 4}
    assert body["proposals"][0]["status"] == "approved"
    assert body["proposals"][0]["name"] == "Satbayev University"
    assert str(describe(body["proposals"][0])) == (
        "admit Satbayev University as a university member from height 5")
    assert str(describe({**body["proposals"][0], "role": "employer"})) == (
        "admit Satbayev University as an employer member from height 5")
    members = (await (await client.get("/v1/members")).json())["members"]
    added = [m for m in members if m["name"] == "Satbayev University"]
    assert added and added[0]["added_height"] == 5 and added[0]["validator"] is False
    assert sum(m["validator"] for m in members) == 4
    spec = await (await client.get("/openapi.json")).json()
    assert "/v1/governance" in spec["paths"]


async def test_api_names_a_rotated_validator_as_its_member(tmp_path: Path,
                                                           council: Council) -> None:
    """A set record names a validator by its key's id, which after a rotation is no
    member's: /v1/status, /v1/members and /v1/governance still name the ministry, and
    the node running the new key is a validator."""
    fresh = KeyPair.generate()
    new = KeyPair.from_seed(fresh.seed, council.ministry.member_id)
    kv = LevelDBStore(str(tmp_path / "chain.ldb"))
    core = api_core(new, council.genesis, kv)
    try:
        proof = prove_possession(new, core.chain.chain_id, council.ministry.member_id)
        commit(core.chain, [make_tx(council.ministry, RotateKeyPayload(new.public_key, proof))])
        ministry = {"member_id": council.ministry.member_id.hex(),
                    "name": "Ministry of Science"}
        async with serving(core) as client:
            # the next block is still certified by the old key, the one after by the new
            members = (await (await client.get("/v1/members")).json())["members"]
            assert [m["validator"] for m in members if m["name"] == "Ministry of Science"
                    ] == [True]
            commit(core.chain, [], proposer=council.ministry)
            status = await (await client.get("/v1/status")).json()
            assert status["validator"] is True and ministry in status["validators"]
            sets = (await (await client.get("/v1/governance")).json())["validator_sets"]
            rotation = {"height": 1, "by": "rotation", "distrusted_from": None,
                        "proposal_id": None}
            assert {**ministry, "public_key": new.public_key.hex(),
                    "key_change": rotation} in sets[-1]["validators"]
            assert "Ministry of Science" in [v["name"] for v in sets[0]["validators"]]
    finally:
        kv.close()


async def test_members_say_who_is_retired_and_what_governance_scheduled(
        api: tuple[Client, NodeCore], council: Council) -> None:
    """`senim members` once printed a retired university as any member, and nothing of
    a retirement or an admission scheduled for a later height."""
    client, core = api
    newcomer = KeyPair.generate()
    retire = make_tx(council.ministry, ProposePayload(
        MemberAction(ACTION_RETIRE_MEMBER, council.university.member_id), 6, 3))
    admit = make_tx(council.ministry, ProposePayload(
        admission_action(newcomer, "Satbayev University", "university"), 8, 3))
    commit(core.chain, [retire, admit])
    commit(core.chain, [make_tx(council.ministry2, VotePayload(retire.tx_id)),
                        make_tx(council.ministry2, VotePayload(admit.tx_id))])

    async def lines() -> dict[str, str]:
        answer = await (await client.get("/v1/members")).json()
        printed = [str(line) for line in cli.node_info.member_lines(answer)]
        assert printed[0] == f"Members as of height {core.chain.height}:"
        return {line.split("  ", 1)[1].split(" (")[0]: line for line in printed[1:]}

    before = await lines()
    assert before["KazNU"].endswith("(university): a member; retires at height 6, signing "
                                    "nothing from then on")
    assert before["Satbayev University"].endswith(
        "(university): a member from height 8; it signs nothing before then")
    assert before["Ministry of Science"].endswith("(ministry): a validator")
    while core.chain.height < 8:
        commit(core.chain, [])
    after = await lines()
    assert after["KazNU"].endswith("(university): retired at height 6; it signs nothing "
                                   "from then on")
    assert after["Satbayev University"].endswith("(university): a member")


def test_a_vote_signed_with_a_rotated_away_key_says_so(tmp_path: Path, council: Council,
                                                      chain_client: type[_ChainClient]
                                                      ) -> None:
    """The node can only say the signature does not match (a transaction names its member,
    not its key); the command says the key file is one its member moved away from."""
    chain = chain_client.chain
    old_key = _key(tmp_path, council.ministry2, "m2-old")
    propose = make_tx(council.ministry, ProposePayload(
        MemberAction(ACTION_RETIRE_MEMBER, council.university.member_id), 20, 10))
    commit(chain, [propose])
    fresh = KeyPair.generate()
    new = KeyPair.from_seed(fresh.seed, council.ministry2.member_id)
    proof = prove_possession(new, chain.chain_id, council.ministry2.member_id)
    commit(chain, [make_tx(council.ministry2, RotateKeyPayload(new.public_key, proof))])
    result = CliRunner().invoke(main, ["governance", "vote", "--key", old_key,
                                       propose.tx_id.hex()])
    assert result.exit_code == 1 and result.output.count("\n") == 1, result.output
    assert "(bad_signature); this key (" in result.output
    assert (f"is no longer the member's: since a key rotation the member signs with "
            f"{new.public_key.hex()[:16]}…, so use that key's file") in result.output
    assert chain.height == 2
    voted = CliRunner().invoke(main, ["governance", "vote", "--key",
                                      _key(tmp_path, new, "m2-new"), propose.tx_id.hex()])
    assert voted.exit_code == 0, voted.output


@pytest.mark.parametrize("reachable,consequence", [
    (4, "start its node before then"),
    (3, "the chain stops at that height until enough validators run")])
def test_adding_a_validator_whose_node_is_not_running_is_warned_of(
        tmp_path: Path, council: Council, chain_client: type[_ChainClient],
        monkeypatch: pytest.MonkeyPatch, reachable: int, consequence: str) -> None:
    """Five validators need four votes: with the newcomer's node not running, one more
    down stops the chain at the height it joins."""
    class _Seeing(chain_client):  # type: ignore[valid-type,misc]
        def status(self) -> dict[str, Any]:
            return {**super().status(), "consensus": {
                "validators": 4, "reachable": [f"v{i}" for i in range(reachable)]},
                    "peers": [], "member_id": council.ministry.member_id.hex()}

    for module in (cli.governance, cli.governance_vote):
        monkeypatch.setattr(module, "NodeClient", _Seeing)
    result = CliRunner().invoke(main, [
        "governance", "propose", "--key", _key(tmp_path, council.ministry, "m1"), "--action",
        "add-validator", "--member", council.university.member_id.hex(),
        "--effective-height", "10"])
    assert result.exit_code == 0, result.output
    assert (f"warning: KazNU's node is not connected to this node: from height 10 every "
            f"block needs the votes of 4 of 5 validators, and {reachable} are reachable now "
            f"without it; {consequence}\n") in result.output
    assert chain_client.chain.height == 1



def test_a_voting_window_too_short_for_the_other_voters_is_warned_of(
        tmp_path: Path, council: Council, chain_client: type[_ChainClient]) -> None:
    """Two votes needed: a proposal landing at height 2 after an idle spell, and a vote
    sent after another, at 4, so votes closing at 3 may miss it (cli/proposal_heights.py
    says how this was measured)."""
    runner = CliRunner()
    args = ["governance", "propose", "--key", _key(tmp_path, council.ministry, "m1"),
            "--action", "retire-member", "--member", council.university.member_id.hex()]
    short = runner.invoke(main, [*args, "--effective-height", "5"])
    assert short.exit_code == 0, short.output
    assert ("warning: votes close at height 3, and after a minute without blocks the next "
            "block is an empty one: each vote sent after such a pause lands two blocks on, so "
            "the 1 more vote it needs may land too late (an effective height of 6 or later "
            "leaves them time)\n") in short.output
    roomy = runner.invoke(main, [*args, "--effective-height", "7"])  # the head is at 1 now
    assert roomy.exit_code == 0 and "warning" not in roomy.output, roomy.output


def test_a_replacement_of_another_key_is_no_proposal_of_the_same_change() -> None:
    """Two requests to replace one member's key, one a thief's proposed first: the ministry
    proposing the member's own was told "proposal … already proposes to make <the
    thief's key> the key of …: vote for it"."""
    member = MemberId(b"\x07" * 20)
    mine, thiefs = b"\x01" * 32, b"\x02" * 32
    open_one = {"action": "replace_key", "member_id": member.hex(), "public_key": thiefs.hex(),
                "compromised_from": None}
    assert not cli.governance._same_action(
        open_one, ReplaceKeyAction(member, mine, b"\x00" * 64, None))
    assert cli.governance._same_action(
        open_one, ReplaceKeyAction(member, thiefs, b"\x00" * 64, None))
    assert not cli.governance._same_action(
        open_one, ReplaceKeyAction(member, thiefs, b"\x00" * 64, 40))  # distrusts more
    confirm = {"action": "confirm_admission", "member_id": member.hex(),
               "public_key": thiefs.hex()}
    assert not cli.governance._same_action(confirm, ConfirmAdmissionAction(member, mine))
    assert cli.governance._same_action(confirm, ConfirmAdmissionAction(member, thiefs))
