"""A large answer held unread: the node keeps about two pieces of it per connection
(`node.answer_pieces.send_in_pieces`), not a copy of the whole answer each: governance's,
a block's (JSON or raw, one copy shared by every connection sending it), and any other
route's (`answers_in_pieces`, here an evidence page).

The server's socket gets a small send buffer, as a connection to a distant client that
reads nothing keeps (on loopback Linux grows it until it holds the whole answer, which
then sits in the kernel and the test could not tell)."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import time
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from node import api_chain
from node.answer_pieces import ANSWER_PIECE_BYTES
from node.api import make_app
from node.api_chain import BLOCK_ANSWERS, BlockAnswers
from node.governance_answers import GovernanceAnswer
from node.http_server import LimitedAppRunner
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
# aiohttp drains once more than a piece was written since its last drain, and a drain
# returns at once while the transport holds less than asyncio's high-water mark: so a
# connection holds two pieces beyond what may wait under that mark (a CI run saw 2.5).
TRANSPORT_HIGH_WATER_BYTES = 64 * 1024
EVIDENCE = {"height": 7, "filler": "x" * (len(REST) - 13)}


@pytest.fixture
async def runner(net: Consortium, monkeypatch: pytest.MonkeyPatch
                 ) -> AsyncIterator[LimitedAppRunner]:
    monkeypatch.setattr(api_chain, "_governance_answer",
                        lambda core: GovernanceAnswer(b'{"height": 7, ', PARTS))
    monkeypatch.setattr(api_chain, "_block_answer",
                        lambda core, height, raw: b'{"height": 7, ' + REST)
    monkeypatch.setattr(api_chain, "evidence_page", lambda kv, limit, before: EVIDENCE)
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


def _unread(port: int, path: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SEND_BUFFER_BYTES)
    sock.sendall(b"GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path.encode())
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


@pytest.mark.parametrize("path", ["/v1/governance", "/v1/blocks/1", "/v1/blocks/1?format=raw",
                                  "/v1/evidence"])
async def test_connections_reading_nothing_hold_a_piece_each_not_the_answer(
        runner: LimitedAppRunner, path: str) -> None:
    socks = [_unread(_port(runner), path) for _ in range(CONNECTIONS)]
    try:
        assert runner.server is not None
        await _until_all_stalled(runner.server, CONNECTIONS)
        held = [h.transport.get_write_buffer_size() for h in runner.server.connections
                if h.transport is not None]
        # Written whole, each held all the answer its socket had not taken: 1.5 MB each.
        assert max(held) <= 2 * ANSWER_PIECE_BYTES + TRANSPORT_HIGH_WATER_BYTES + SLACK_BYTES, held
        if path.startswith("/v1/blocks/"):
            assert len(runner.app[BLOCK_ANSWERS]) == 1  # one copy, however many send it
        for sock in socks:
            assert sock.recv(15) == b"HTTP/1.1 200 OK"
    finally:
        for sock in socks:
            sock.close()
    # Held by its senders alone: once they are gone, so is the block's answer.
    deadline = time.monotonic() + DEADLINE_S
    while runner.server.connections or len(runner.app[BLOCK_ANSWERS]):
        assert time.monotonic() < deadline, len(runner.app[BLOCK_ANSWERS])
        await asyncio.sleep(0.02)


def test_a_block_worked_out_twice_at_once_is_kept_once() -> None:
    answers = BlockAnswers()
    first = answers.keep(3, False, b"{}")
    assert answers.keep(3, False, b"{}") is first and answers.get(3, False) is first
    assert answers.get(3, True) is None
    del first
    assert answers.get(3, False) is None and not len(answers)


JSON_TYPE = b"application/json; charset=utf-8"
ANSWERS = {  # path: (body, Content-Type)
    "/v1/governance": (b'{"height": 7, ' + REST, JSON_TYPE),
    "/v1/blocks/1": (b'{"height": 7, ' + REST, JSON_TYPE),
    "/v1/blocks/1?format=raw": (b'{"height": 7, ' + REST, b"application/octet-stream"),
    "/v1/evidence": (json.dumps(EVIDENCE).encode(), JSON_TYPE),
}


@pytest.mark.parametrize("path", list(ANSWERS))
async def test_the_whole_answer_arrives_and_a_client_leaving_part_way_logs_nothing(
        runner: LimitedAppRunner, caplog: pytest.LogCaptureFixture, path: str) -> None:
    expected, content_type = ANSWERS[path]
    request = b"GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path.encode()
    reader, writer = await asyncio.open_connection("127.0.0.1", _port(runner))
    # HEAD: the headers alone (the next answer on the connection follows them at once);
    # refused where the answer is worked out in the pool (node.api_schema.HEAD_REFUSED)
    writer.write(b"HEAD" + request[3:] + request)
    async with asyncio.timeout(DEADLINE_S):
        head = await reader.readuntil(b"\r\n\r\n")
        if path == "/v1/evidence":
            assert head.startswith(b"HTTP/1.1 200 OK"), head[:100]
            assert b"Content-Length: %d" % len(expected) in head, head
        else:
            assert head.startswith(b"HTTP/1.1 405 Method Not Allowed"), head[:100]
            assert b"\r\nAllow: GET\r\n" in head, head
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 OK"), head[:100]
        assert b"Content-Length: %d" % len(expected) in head, head
        assert b"Content-Type: " + content_type + b"\r\n" in head, head
        body = await reader.readexactly(len(expected))
    assert body == expected
    writer.write(request)
    async with asyncio.timeout(DEADLINE_S):
        await reader.readexactly(200_000)
    writer.transport.abort()  # gone with most of the answer unsent
    assert runner.server is not None
    deadline = time.monotonic() + DEADLINE_S
    while runner.server.connections:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.02)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text
