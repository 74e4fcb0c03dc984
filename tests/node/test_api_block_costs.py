"""GET /v1/blocks/{height} costs the event loop nothing but the answer's sending: a block
is read, decoded and written out in the API's verification pool, under the client's rate.

Before, a block of 5,000 transactions took 50 to 90 ms of the loop per request (a full
one far more), for anyone, at any rate: two addresses asking for one over and over on
two validators of the testnet took anchors' commits from 29 to 347 ms (median)."""

from __future__ import annotations

import os
import threading
from collections.abc import AsyncIterator
from typing import Any

import pytest

from ledger.payloads import AnchorPayload
from node import api_chain, client_limits
from node.api_public import LIMITS
from storage.kv import MemoryStore
from tests.node.api_server import Client, api_core, serving
from tests.node.conftest import Consortium, commit, make_tx


@pytest.fixture
async def served(net: Consortium) -> AsyncIterator[tuple[Client, Any]]:
    core = api_core(net.ministry, net.genesis, MemoryStore())
    commit(core.chain, [make_tx(net.ministry, AnchorPayload(os.urandom(32))) for _ in range(50)])
    async with serving(core, "blocks") as client:
        yield client, core


async def test_a_block_is_read_and_written_out_off_the_event_loop(
        served: tuple[Client, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    client, core = served
    threads: list[int] = []
    block_json, block_bytes = api_chain.block_json, core.chain.get_block_bytes

    def json_recorded(*args: Any) -> Any:
        threads.append(threading.get_ident())
        return block_json(*args)

    def bytes_recorded(height: int) -> Any:
        threads.append(threading.get_ident())
        return block_bytes(height)

    monkeypatch.setattr(api_chain, "block_json", json_recorded)
    monkeypatch.setattr(core.chain, "get_block_bytes", bytes_recorded)
    answer = await client.get("/v1/blocks/1")
    assert answer.status == 200, await answer.text()
    assert len((await answer.json())["transactions"]) == 50
    raw = await client.get("/v1/blocks/1", params={"format": "raw"})
    assert raw.status == 200 and await raw.read() == block_bytes(1)
    assert len(threads) == 2
    assert threading.get_ident() not in threads  # the loop runs this test
    missing = await client.get("/v1/blocks/2", params={"format": "raw"})
    assert missing.status == 404
    assert (await missing.json())["error"]["code"] == "no_such_block"


async def test_blocks_are_under_the_clients_rate(served: tuple[Client, Any],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    client, _ = served
    client.app[LIMITS].exempt = frozenset()  # the test client's 127.0.0.1 is exempt by default
    monkeypatch.setitem(client_limits.RATES, "verify", (0.001, 1.0))
    assert (await client.get("/v1/blocks/1")).status == 200
    refused = await client.get("/v1/blocks/1")
    assert refused.status == 429, await refused.text()
    assert (await refused.json())["error"]["code"] == "rate_limited"
