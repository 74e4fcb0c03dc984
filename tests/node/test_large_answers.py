"""A large answer held unread: the node keeps about two pieces of it per connection
(`node.http_limits.send_in_pieces`), not a copy of the whole answer each.

The server's socket gets a small send buffer, as a connection to a distant client that
reads nothing keeps (on loopback Linux grows it until it holds the whole answer, which
then sits in the kernel and the test could not tell)."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from node import api_chain
from node.api import make_app
from node.governance_answers import GovernanceAnswer
from node.http_limits import ANSWER_PIECE_BYTES, LimitedAppRunner
from node.mempool import MempoolLimits
from node.metrics import NodeMetrics
from node.service import NodeCore
from storage.kv import MemoryStore
from tests.node.conftest import Consortium

CONNECTIONS = 6
REST = b'"filler": "' + b"x" * 1_500_000 + b'"}'  # about the size of 32 x 256 proposals
# sent as the answer's parts are: a fragment a proposal, about 46 KB each
PARTS = tuple(REST[start:start + 46_000] for start in range(0, len(REST), 46_000))
SEND_BUFFER_BYTES = 4_096
DEADLINE_S = 20.0
# What one connection may hold beyond its pieces: the head and aiohttp's headers.
SLACK_BYTES = 4_096


@pytest.fixture
async def runner(net: Consortium, monkeypatch: pytest.MonkeyPatch
                 ) -> AsyncIterator[LimitedAppRunner]:
    monkeypatch.setattr(api_chain, "_governance_answer",
                        lambda core: GovernanceAnswer(b'{"height": 7, ', PARTS))
    kv = MemoryStore()
    core = NodeCore(net.ministry, net.genesis, kv, MempoolLimits(100, 1 << 20, 100),
                    NodeMetrics())
    served = LimitedAppRunner(make_app(core, "large"), access_log=None)
    await served.setup()
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER_BYTES)  # inherited
    listener.bind(("127.0.0.1", 0))
    await web.SockSite(served, listener).start()
    try:
        yield served
    finally:
        await served.cleanup()
        core.worker.shutdown(wait=True)


def _unread(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SEND_BUFFER_BYTES)
    sock.sendall(b"GET /v1/governance HTTP/1.1\r\nHost: x\r\n\r\n")
    return sock


def _port(runner: LimitedAppRunner) -> int:
    port: int = runner.addresses[0][1]
    return port


async def _until_all_stalled(server: web.Server, count: int) -> None:
    """Until `count` connections each wait for their client to read on."""
    deadline = time.monotonic() + DEADLINE_S
    while not (len(server.connections) == count
               and all(h.writing_paused for h in server.connections)):
        assert time.monotonic() < deadline, [h.writing_paused for h in server.connections]
        await asyncio.sleep(0.02)


async def test_connections_reading_nothing_hold_a_piece_each_not_the_answer(
        runner: LimitedAppRunner) -> None:
    socks = [_unread(_port(runner)) for _ in range(CONNECTIONS)]
    try:
        assert runner.server is not None
        await _until_all_stalled(runner.server, CONNECTIONS)
        held = [h.transport.get_write_buffer_size() for h in runner.server.connections
                if h.transport is not None]
        # Written whole, each held all the answer its socket had not taken: 1.5 MB each.
        assert max(held) <= 2 * ANSWER_PIECE_BYTES + SLACK_BYTES, held
        for sock in socks:
            assert sock.recv(15) == b"HTTP/1.1 200 OK"
    finally:
        for sock in socks:
            sock.close()


async def test_the_whole_answer_arrives_and_a_client_leaving_part_way_logs_nothing(
        runner: LimitedAppRunner, caplog: pytest.LogCaptureFixture) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", _port(runner))
    # HEAD: the headers alone (the next answer on the connection follows them at once)
    writer.write(b"HEAD /v1/governance HTTP/1.1\r\nHost: x\r\n\r\n"
                 b"GET /v1/governance HTTP/1.1\r\nHost: x\r\n\r\n")
    async with asyncio.timeout(DEADLINE_S):
        assert b"Content-Length: %d" % (len(REST) + 14) in await reader.readuntil(b"\r\n\r\n")
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 OK"), head[:100]
        assert b"Content-Length: %d" % (len(REST) + 14) in head, head
        assert b"Content-Type: application/json; charset=utf-8" in head, head
        body = await reader.readexactly(len(REST) + 14)
    assert body == b'{"height": 7, ' + REST
    writer.write(b"GET /v1/governance HTTP/1.1\r\nHost: x\r\n\r\n")
    async with asyncio.timeout(DEADLINE_S):
        await reader.readexactly(200_000)
    writer.transport.abort()  # gone with most of the answer unsent
    assert runner.server is not None
    deadline = time.monotonic() + DEADLINE_S
    while runner.server.connections:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.02)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text
