"""A node stops at once though a client waits on a transaction's commit (`senim anchor`
and `senim issue` long-poll its status for up to a minute): the API's shutdown waits for
the requests in hand, and a poll held a SIGTERM'd node, or one whose disk had filled, up
to a minute, past `scripts/testnet down`'s ten seconds (which then used kill -9)."""

from __future__ import annotations

import asyncio
import os
import time

import aiohttp
from aiohttp import web

from ledger.payloads import AnchorPayload
from node.api import make_app
from node.api_public import LONG_POLLS
from node.service import NodeCore
from tests.node.conftest import Consortium, make_tx

DEADLINE_S = 10.0  # far below the minute a poll may wait


async def test_a_waiting_poll_is_answered_and_does_not_hold_the_stop(
        core: NodeCore, net: Consortium) -> None:
    app = make_app(core, "test-node")
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    tx = make_tx(net.employer, AnchorPayload(os.urandom(32)), expires_at=10_000)
    async with aiohttp.ClientSession(f"http://127.0.0.1:{port}") as session:
        async with session.post("/v1/transactions", json={"tx": tx.encode().hex()}) as sent:
            assert sent.status == 202, await sent.text()  # pending: no engine commits it

        async def poll() -> tuple[int, str]:
            async with session.get(f"/v1/transactions/{tx.tx_id.hex()}",
                                   params={"wait": "60"}) as answer:
                return answer.status, (await answer.json())["status"]

        polling = asyncio.create_task(poll())
        deadline = time.monotonic() + DEADLINE_S
        while app[LONG_POLLS].count == 0:
            assert time.monotonic() < deadline, "the poll never started waiting"
            await asyncio.sleep(0.01)
        started = time.monotonic()
        await asyncio.wait_for(runner.cleanup(), DEADLINE_S)
        assert time.monotonic() - started < DEADLINE_S
        assert await asyncio.wait_for(polling, DEADLINE_S) == (200, "pending")
