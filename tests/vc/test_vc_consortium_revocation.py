"""A retired university's credential revoked by the consortium (a governance proposal and
the vote that approves it, no revoke transaction) shows in its batch's status list, and a
VC of it verifies as revoked by the consortium, whether the proposal named it alone
(`revoke_credential`) or in a list (`revoke_credentials`); an in-process node (real
engine)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from ledger.credentials import IssuedBatch, make_batch
from ledger.genesis import Genesis, GenesisMember
from ledger.identity import KeyPair, MemberId
from ledger.payloads import (
    ACTION_RETIRE_MEMBER,
    AccreditPayload,
    CredentialRef,
    IssueBatchPayload,
    MemberAction,
    ProposePayload,
    RevokeCredentialAction,
    RevokeCredentialsAction,
    VotePayload,
)
from ledger.rules import load_batch
from ledger.rules_version import BULK_REVOCATION_FROM
from ledger.transactions import Transaction
from ledger.vc.export import to_vc
from ledger.vc.status import bit_is_set, decode_list
from node.files import save_key
from node.service import NodeCore
from storage.batch_tree import audit_path
from storage.kv import MemoryStore
from tests.node.api_server import api_core
from tests.node.conftest import CHAIN_ID, YEAR_MS, commit, documents_of, keys_from, make_tx
from tests.vc.conftest import RECORDS, vc_served

DEADLINE_S = 30.0
RETIRED_AT = 7


@dataclass
class Node:
    client: TestClient[Any, Any]
    core: NodeCore
    batch: IssuedBatch


@pytest.fixture(params=[RETIRED_AT])
async def node(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Node]:
    """KazNU issued a batch, then governance retired it from `request.param` (by default
    RETIRED_AT, reached before the node runs; a later height is still ahead)."""
    retired_at = request.param
    ministry, ministry2, kaznu = keys_from("ministry"), keys_from("ministry2"), keys_from("kaznu")
    genesis = Genesis(CHAIN_ID, 0, (
        GenesisMember("Ministry of Science", "ministry", ministry.public_key, True),
        GenesisMember("Ministry of Education", "ministry", ministry2.public_key, False),
        GenesisMember("KazNU", "university", kaznu.public_key, False)), None,
        BULK_REVOCATION_FROM)
    core = api_core(ministry, genesis, MemoryStore())
    chain = core.chain
    batch = make_batch(RECORDS, "diploma", CHAIN_ID, kaznu.member_id, "KazNU")
    commit(chain, [make_tx(ministry, AccreditPayload(
        kaznu.member_id, ("diploma",), 0, int(time.time() * 1000) + YEAR_MS))])
    commit(chain, [make_tx(kaznu, IssueBatchPayload("diploma", batch.root, len(RECORDS)))])
    retire = make_tx(ministry, ProposePayload(MemberAction(
        ACTION_RETIRE_MEMBER, kaznu.member_id), retired_at, retired_at - 2))
    commit(chain, [retire])
    commit(chain, [make_tx(ministry2, VotePayload(retire.tx_id))])
    while chain.height < min(retired_at, RETIRED_AT):
        commit(chain, [])
    save_key(tmp_path / "vc-issuer.json", KeyPair.from_seed(b"\x44" * 32))
    async with vc_served(core, tmp_path, tmp_path / "vc-issuer.json") as (client, _app):
        yield Node(client, core, batch)


async def _committed(node: Node, tx: Transaction) -> None:
    response = await node.client.post("/v1/transactions",
                                      json={"tx": tx.encode().hex()})
    assert response.status == 202, await response.text()
    deadline = time.monotonic() + DEADLINE_S
    while True:
        answer = await (await node.client.get(f"/v1/transactions/{tx.tx_id.hex()}",
                                              params={"wait": "5"})).json()
        if answer["status"] == "committed":
            return
        assert answer["status"] == "pending", answer
        assert time.monotonic() < deadline, f"not committed in {DEADLINE_S} s"


async def _verify_vc(node: Node, index: int) -> tuple[int, dict[str, Any]]:
    """The VC-API's answer to KazNU's VC of the batch's credential `index`: status, body."""
    kaznu = keys_from("kaznu")
    on_chain = load_batch(node.core.chain.state, kaznu.member_id, node.batch.root)
    assert on_chain is not None
    vc = to_vc(documents_of(node.batch)[index], kaznu, "https://node.senim.test",
               on_chain.height, on_chain.time_ms, on_chain.time_ms)
    response = await node.client.post("/credentials/verify",
                                      json={"verifiableCredential": vc})
    body: dict[str, Any] = await response.json()
    return response.status, body


async def _bits(node: Node) -> bytes:
    path = "/credentials/status/" + (keys_from("kaznu").member_id + node.batch.root).hex()
    listed = await (await node.client.get(path)).json()
    return decode_list(listed["credentialSubject"]["encodedList"])


async def test_the_consortiums_revocation_is_in_the_list_and_the_vc_verdict(
        node: Node) -> None:
    targets, kaznu = node.batch.target_hashes, keys_from("kaznu")
    assert not bit_is_set(await _bits(node), 2)
    propose = make_tx(keys_from("ministry"), ProposePayload(RevokeCredentialAction(
        MemberId(kaznu.member_id), CredentialRef(node.batch.root, targets[2], 2,
                                                 tuple(audit_path(targets, 2))), "fraud"),
        node.core.chain.height + 50, node.core.chain.height + 48))
    await _committed(node, propose)
    assert not bit_is_set(await _bits(node), 2)  # one vote of the two it needs
    await _committed(node, make_tx(keys_from("ministry2"), VotePayload(propose.tx_id)))
    bits = await _bits(node)
    assert bit_is_set(bits, 2) and not bit_is_set(bits, 1)

    status, refused = await _verify_vc(node, 2)
    assert status == 400 and refused["errors"][0]["title"] == "revoked", refused
    facts = refused["verdict"]["facts"]
    assert facts["revoked_by"] == "consortium"
    assert facts["revoked_by_proposal"] == propose.tx_id.hex()


async def test_a_list_revoked_by_the_consortium_is_in_the_list_and_each_vc_verdict(
        node: Node) -> None:
    targets, kaznu = node.batch.target_hashes, keys_from("kaznu")
    refs = tuple(CredentialRef(node.batch.root, targets[i], i, tuple(audit_path(targets, i)))
                 for i in (0, 3, 4))
    propose = make_tx(keys_from("ministry"), ProposePayload(RevokeCredentialsAction(
        MemberId(kaznu.member_id), refs, "fraud"), node.core.chain.height + 50,
        node.core.chain.height + 48))
    await _committed(node, propose)
    before = await _bits(node)
    assert not any(bit_is_set(before, i) for i in range(5))  # one vote of the two needed
    await _committed(node, make_tx(keys_from("ministry2"), VotePayload(propose.tx_id)))
    bits = await _bits(node)
    assert [bit_is_set(bits, i) for i in range(5)] == [True, False, False, True, True]
    for index in (0, 4):
        status, refused = await _verify_vc(node, index)
        assert status == 400 and refused["errors"][0]["title"] == "revoked", refused
        assert refused["verdict"]["facts"]["revoked_by_proposal"] == propose.tx_id.hex()
    status, fine = await _verify_vc(node, 1)
    assert status == 200, fine


@pytest.mark.parametrize("node", [RETIRED_AT + 100], indirect=True)
async def test_a_vc_of_a_university_still_leaving_is_not_said_to_have_left(node: Node) -> None:
    """Its retirement approved but ahead: the VC-API's verdict says it leaves, as
    `/v1/verify` does, not that it left at a block the chain has not reached."""
    status, result = await _verify_vc(node, 0)
    assert status == 200, result
    verdict = result["verdict"]
    assert verdict["facts"]["issuer_retired_height"] == RETIRED_AT + 100
    assert verdict["facts"].get("issuer_leaves") is True, verdict
    membership = next(c for c in verdict["checks"] if c["check"] == "membership")
    assert "leaves the consortium" in membership["detail"], membership
