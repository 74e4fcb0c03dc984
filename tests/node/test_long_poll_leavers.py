"""A long-poll whose client has left ends then, freeing its place: aiohttp cancels no
handler, so 1,000 polls opened and dropped at once held every place for their whole wait
(up to a minute), and each honest poll meanwhile was answered after a second."""

from __future__ import annotations

import asyncio
import logging
import os
import time

import pytest
from aiohttp import ClientSession

from ledger.payloads import AnchorPayload
from node.api_public import LONG_POLLS
from tests.node.conftest import make_tx
from tests.node.test_http_limits import DEADLINE_S, Served, served

__all__ = ["served"]  # the fixture, shared with test_http_limits
LEAVERS = 3


async def test_a_long_poll_ends_when_its_client_leaves(
        served: Served, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    tx = make_tx(served.core.keys, AnchorPayload(os.urandom(32)))
    async with ClientSession() as session, session.post(
            f"{served.url}/v1/transactions", json={"tx": tx.encode().hex()}) as response:
        assert response.status == 202
    polls = served.runner.app[LONG_POLLS]
    writers = []
    for _ in range(LEAVERS):
        _, writer = await asyncio.open_connection("127.0.0.1", served.port)
        writer.write(f"GET /v1/transactions/{tx.tx_id.hex()}?wait=60 HTTP/1.1\r\n"
                     "Host: x\r\n\r\n".encode())
        await writer.drain()
        writers.append(writer)
    async with asyncio.timeout(DEADLINE_S):
        while len(served.core._waiters.get(tx.tx_id, [])) < LEAVERS:
            await asyncio.sleep(0.01)
    assert polls.count == LEAVERS
    left = time.monotonic()
    for writer in writers:
        writer.close()
    async with asyncio.timeout(DEADLINE_S):  # not the minute they asked to wait
        while polls.count or served.core._waiters.get(tx.tx_id):
            await asyncio.sleep(0.01)
    assert time.monotonic() - left < DEADLINE_S
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info]
