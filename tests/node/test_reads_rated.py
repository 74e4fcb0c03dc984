"""Every read of the public API is under the client's rate, as its description says
(a transaction's status too: 1,681 a second from one address took a testnet's commit
p50 from 43 to 205 ms). Unrated, 450
requests a second for /openapi.json (66 KB worked out again for each) from four
loopback addresses slowed a testnet's commits from 40 to 24 a second, p50 46 ms to
1.4 s; /v1/status, /v1/members and /metrics were as open."""

from __future__ import annotations

import asyncio
import os
import re

import pytest

from cli import client as cli_client
from cli.client import ClientError, NodeClient
from ledger.payloads import AnchorPayload
from node import api_public, client_limits
from node.api_public import LIMITS
from storage.kv import MemoryStore
from tests.node.api_server import api_core, serving
from tests.node.conftest import Consortium, commit, make_tx

# A value for each path parameter that the route reads (a real one or not: a refusal
# after the rate's check shows the check came first)
PARAMETERS = {"height": "1", "key": "00", "issuer": "11" * 20, "root": "22" * 32,
              "target": "33" * 32, "tx_id": "44" * 32, "list_id": "55" * (20 + 32)}


async def test_every_read_is_rated(
        net: Consortium, monkeypatch: pytest.MonkeyPatch) -> None:
    core = api_core(net.ministry, net.genesis, MemoryStore())
    commit(core.chain, [make_tx(net.ministry, AnchorPayload(os.urandom(32)))])
    async with serving(core) as client:
        described = (await (await client.get("/openapi.json")).json())["paths"]
        reads = {path: route["get"] for path, route in described.items() if "get" in route}
        assert {"/openapi.json", "/metrics", "/v1/status", "/v1/members"} <= set(reads)
        client.app[LIMITS].exempt = frozenset()  # the test client's 127.0.0.1 is exempt
        monkeypatch.setitem(client_limits.RATES, "verify", (0.001, 1.0))
        monkeypatch.setattr(api_public, "REFUSAL_PAUSE_S", 0.0)  # a second a refusal
        assert (await client.get("/v1/status")).status == 200  # the one request it may make
        for path, read in sorted(reads.items()):
            answer = await client.get(re.sub(r"\{(\w+)\}",
                                             lambda m: PARAMETERS[m.group(1)], path))
            assert answer.status == 429, (path, answer.status, await answer.text())
            assert "429" in read["responses"], path


async def test_the_cli_asks_a_read_again_once_the_rate_has_refilled(
        net: Consortium, monkeypatch: pytest.MonkeyPatch) -> None:
    """`senim governance revoke` of 256 files reads 515 answers in a row: from an address
    not exempt, the 211th was refused, 429, and ended the whole proposal."""
    core = api_core(net.ministry, net.genesis, MemoryStore())
    async with serving(core) as client:
        client.app[LIMITS].exempt = frozenset()
        monkeypatch.setitem(client_limits.RATES, "verify", (20.0, 5.0))
        monkeypatch.setattr(api_public, "REFUSAL_PAUSE_S", 0.0)
        monkeypatch.setattr(cli_client, "READ_RETRY_AFTER_S", 0.3)
        url = str(client.make_url("")).rstrip("/")

        def reads(count: int) -> list[int]:
            node = NodeClient(url, timeout_s=30)
            return [node.request("GET", "/v1/status")["height"] for _ in range(count)]

        loop = asyncio.get_running_loop()
        assert await loop.run_in_executor(None, reads, 30) == [0] * 30
        monkeypatch.setattr(cli_client, "READ_RETRIES_MAX", 0)  # as before: the first 429 ends it
        with pytest.raises(ClientError) as refused:
            await loop.run_in_executor(None, reads, 30)
        assert refused.value.status == 429
