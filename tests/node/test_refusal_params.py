"""A refusal's specifics in the API's answers, by name: the error JSON's `params` beside
its `code` and English `message` (the member, a height; what is wrong with a field), the
same in a rejected transaction's status, and /openapi.json saying so. What was there
before is unchanged: a client that reads only `code` and `message` reads the same."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from typing import Any

import pytest

from ledger.errors import TxRejected
from ledger.payloads import AnchorPayload
from ledger.transactions import Transaction
from node.api_public import PROOFS_BODY_MAX
from node.service import NodeCore
from storage.kv import MemoryStore
from tests.node.api_server import Client, api_core, serving
from tests.node.conftest import Consortium, commit, make_tx
from tests.node.engine_node import running_engine


@pytest.fixture
async def served(net: Consortium) -> AsyncIterator[tuple[Client, NodeCore]]:
    core = api_core(net.ministry, net.genesis, MemoryStore())
    async with running_engine(core), serving(core) as client:
        yield client, core


async def error_of(client: Client, tx: bytes) -> dict[str, Any]:
    response = await client.post("/v1/transactions", json={"tx": tx.hex()})
    assert response.status == 400, await response.text()
    error: dict[str, Any] = (await response.json())["error"]
    return error


async def test_a_refusal_names_its_member_and_height(
        served: tuple[Client, NodeCore], net: Consortium) -> None:
    client, core = served
    document = os.urandom(32)
    commit(core.chain, [make_tx(net.university, AnchorPayload(document))])
    anchored_at = core.chain.height
    error = await error_of(client, make_tx(net.employer, AnchorPayload(document)).encode())
    assert error == {
        "code": "already_anchored",
        "message": f"document already anchored by {net.university.member_id.hex()} at "
                   f"height {anchored_at}",
        "params": {"member": "KazNU", "member_id": net.university.member_id.hex(),
                   "height": anchored_at}}


async def test_a_field_the_ledger_refuses_is_named_with_what_is_wrong(
        served: tuple[Client, NodeCore], net: Consortium) -> None:
    client, _ = served
    # A hash one byte short: a transaction no client of this release would build.
    short = Transaction(net.university.member_id, os.urandom(16), 50,
                        AnchorPayload(os.urandom(31)), b"\x00" * 64)
    error = await error_of(client, short.encode())
    assert error == {"code": "malformed", "message": "document hash must be 32 bytes",
                     "params": {"problem": "field_bytes", "field": "document hash",
                                "size": 32}}


async def test_a_refusal_that_names_nothing_has_no_params(
        served: tuple[Client, NodeCore], net: Consortium) -> None:
    client, _ = served
    # A resubmitted transaction, which this test first used, is answered 202 (pending
    # or committed, it is on its way), so no refusal: a forged signature names nothing.
    encoded = bytearray(make_tx(net.university, AnchorPayload(os.urandom(32))).encode())
    encoded[-1] ^= 1
    refused = await error_of(client, bytes(encoded))
    assert refused["code"] == "bad_signature" and set(refused) == {"code", "message"}, refused


async def test_a_rejected_transaction_s_status_names_them_too(
        served: tuple[Client, NodeCore], net: Consortium) -> None:
    client, core = served
    tx = make_tx(net.university, AnchorPayload(os.urandom(32)))
    core.remember_rejected(tx, TxRejected("expired", "transaction expired at height 7",
                                          height=7))
    response = await client.get(f"/v1/transactions/{tx.tx_id.hex()}")
    assert await response.json() == {"tx_id": tx.tx_id.hex(), "status": "rejected",
                                     "code": "expired",
                                     "reason": "transaction expired at height 7",
                                     "params": {"height": 7}}


async def test_the_openapi_document_describes_the_params(
        served: tuple[Client, NodeCore]) -> None:
    client, _ = served
    document = json.loads(await (await client.get("/openapi.json")).text())
    schemas = document["components"]["schemas"]
    error = schemas["Error"]["properties"]["error"]
    assert error["required"] == ["code", "message"]  # params is optional
    assert error["properties"]["params"]["additionalProperties"] == {
        "type": ["string", "integer"]}


async def test_a_missing_block_and_a_body_over_its_limit_name_their_numbers(
        served: tuple[Client, NodeCore]) -> None:
    client, core = served
    response = await client.get("/v1/blocks/99")
    assert response.status == 404
    assert (await response.json())["error"]["params"] == {"height": 99,
                                                          "head": core.chain.height}
    response = await client.post("/v1/proofs", data=b"{" + b" " * PROOFS_BODY_MAX + b"}",
                                 headers={"Content-Type": "application/json"})
    assert response.status == 413
    assert (await response.json())["error"]["params"] == {"limit": PROOFS_BODY_MAX}
