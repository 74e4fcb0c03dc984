"""`senim status` says when governance has scheduled the node's own member to join or
leave the validators. On a loopback network Satbayev University's operator started its
node for a validator-to-be and read only 'consensus follower (not a validator)' until
height 20, with nothing saying the node was the one expected; a validator to be removed
read as any validator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import click
import pytest
from aiohttp.test_utils import TestClient

from cli.node_status import _status_lines
from ledger.payloads import AnchorPayload, MemberAction, ProposePayload, VotePayload
from ledger.payloads_consortium import (
    ACTION_ADD_VALIDATOR,
    ACTION_REMOVE_VALIDATOR,
    ACTION_RETIRE_MEMBER,
)
from node.service import NodeCore
from tests.node.api_server import served_on_disk
from tests.node.conftest import commit, make_tx
from tests.node.test_governance import Council, make_council
from tests.node.test_stolen_key_records import rotated

Client = TestClient[Any, Any]


@pytest.fixture
def council() -> Council:
    return make_council()


@pytest.fixture
async def kaznu_node(tmp_path: Path, council: Council
                     ) -> AsyncIterator[tuple[Client, NodeCore]]:
    """KazNU's node, a follower: KazNU is a member, not a validator, at genesis."""
    async with served_on_disk(council.university, council.genesis, tmp_path) as node:
        yield node


async def _said(client: Client) -> list[str]:
    status = await (await client.get("/v1/status")).json()
    sets = (await (await client.get("/v1/governance")).json())["validator_sets"]
    return [click.unstyle(line) for line in _status_lines(status, "http://node", sets)
            if line.startswith("scheduled")]


def _approve(council: Council, core: NodeCore, action: str, effective: int) -> None:
    propose = make_tx(council.ministry, ProposePayload(
        MemberAction(action, council.university.member_id), effective, effective - 2))
    commit(core.chain, [propose])
    commit(core.chain, [make_tx(council.ministry2, VotePayload(propose.tx_id))])


async def test_a_member_scheduled_to_validate_is_told_from_when(
        kaznu_node: tuple[Client, NodeCore], council: Council) -> None:
    client, core = kaznu_node
    assert await _said(client) == []
    _approve(council, core, ACTION_ADD_VALIDATOR, 8)
    assert await _said(client) == ["scheduled KazNU joins the validators at height 8, in 6 "
                                   "block(s); keep this node running then"]
    while core.chain.height < 8:
        commit(core.chain, [])
    assert await _said(client) == []  # done: it validates now, as the consensus line says
    _approve(council, core, ACTION_REMOVE_VALIDATOR, 16)
    assert await _said(client) == ["scheduled KazNU leaves the validators at height 16, in 6 "
                                   "block(s)"]


def test_a_governance_answer_of_another_shape_leaves_the_status_as_it_is() -> None:
    """The sets are asked for best effort, after the status was read whole: a record of
    another shape (a node of another release, a proxy) drops the schedule line only,
    not the status with 'sent a malformed status answer'."""
    info = {"node": "n", "member": "KazNU", "member_id": "ab" * 20, "chain_id": "t",
            "height": 5, "head_hash": "00" * 32, "head_time": "2026-12-03 12:00:00 UTC",
            "mempool": {"transactions": 0, "bytes": 0}, "validator": False,
            "consensus": {"mode": "follower"}}
    plain = _status_lines(info, "http://127.0.0.1:1")
    for sets in ([{"from_height": "soon"}], [{"from_height": 9}], [{"from_height": 9,
                                                                    "validators": [1]}]):
        assert _status_lines(info, "http://127.0.0.1:1", sets) == plain


async def test_a_member_governance_retires_is_told_its_node_follows_no_further(
        kaznu_node: tuple[Client, NodeCore], council: Council) -> None:
    """Its peers drop a retired member's node, which then read 'no quorum: 0 of 4
    validators reachable; nothing commits until enough of them return', as an outage."""
    client, core = kaznu_node

    async def said() -> list[str]:
        status = await (await client.get("/v1/status")).json()
        listed = (await (await client.get("/v1/members")).json())["members"]
        lines = [click.unstyle(line) for line in _status_lines(status, "http://node", [],
                                                               listed)]
        return [line for line in lines if line.startswith("retired")]

    assert await said() == []
    _approve(council, core, ACTION_RETIRE_MEMBER, 8)
    told = await said()
    assert len(told) == 1 and told[0].startswith(
        "retired   KazNU retires from the consortium at block 8, in 6 block(s): from block 7 "
        "on, the other nodes no longer connect to this one"), told
    while core.chain.height < 6:  # its peers drop it from block 7, which it never gets
        commit(core.chain, [])
    assert (await said())[0].startswith(
        "retired   KazNU is retired from the consortium from block 8: from block 7 on")
    # and no "nothing commits until enough of them return": they will not return to it
    status = await (await client.get("/v1/status")).json()
    status["consensus"] = {"mode": "follower", "reachable": [], "quorum": 3,
                           "unreachable": ["Ministry", "Ministry 2", "Ministry 3", "KBTU"]}
    listed = (await (await client.get("/v1/members")).json())["members"]
    lines = [click.unstyle(line) for line in _status_lines(status, "http://node", [], listed)]
    assert any(line.startswith("validators 0 of 4 reachable") for line in lines), lines
    assert not any(line.startswith("no quorum") for line in lines), lines


async def test_a_node_signing_with_a_key_its_member_rotated_away_from_is_told(
        kaznu_node: tuple[Client, NodeCore]) -> None:
    """Its status read "scheduled KazNU joins the validators at height 21; keep this node
    running then" (the rotation's own set change), then "no quorum … until enough of them
    return", though the others refuse its key for good."""
    client, core = kaznu_node
    new = rotated(core.chain, core.keys)
    status = await (await client.get("/v1/status")).json()
    status["consensus"] = {"mode": "follower", "reachable": [], "quorum": 3,
                           "unreachable": ["Ministry", "Ministry 2", "Ministry 3", "KBTU"]}
    listed = (await (await client.get("/v1/members")).json())["members"]
    lines = [click.unstyle(line) for line in _status_lines(status, "http://node", [], listed)]
    assert any(line.startswith(f"old key   this node signs with "
                               f"{core.keys.public_key.hex()[:16]}…, which is no longer "
                               "KazNU's key") for line in lines), lines
    assert f"restart this node with the member's current key ({new.public_key.hex()[:16]}…)" \
        in "\n".join(lines)
    assert not any(line.startswith(("no quorum", "scheduled")) for line in lines), lines
    for _ in range(3):  # past the two blocks its old key may still certify (a validator's)
        commit(core.chain, [])
    # nothing sent through it reaches the others: refused, not left pending for good
    anchor = make_tx(new, AnchorPayload(b"\x07" * 32))
    sent = await client.post("/v1/transactions", json={"tx": anchor.encode().hex()})
    refused = await sent.json()
    assert sent.status == 409 and refused["error"]["code"] == "node_key_replaced", refused
