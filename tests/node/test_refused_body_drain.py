"""A body the node refused before reading it is read on after the answer only so far:
REFUSED_BODY_DRAIN_BYTES_MAX and REFUSED_BODY_DRAIN_S (`node.http_limits`), then the
connection is closed. aiohttp alone read and threw away whatever the client sent for
10 s, however much: 64 MB went in within 0.05 s of a 413 on loopback. Each test uses
the app on a real socket and a blocking client socket, as a client that sends its whole
body before reading (http.client, urllib) does: the kernel keeps the answer that arrived
before a reset readable, which asyncio's streams would not hand over."""

from __future__ import annotations

import asyncio
import gc
import http.client
import json
import socket
import time
from collections.abc import AsyncIterator, Callable

import pytest
from aiohttp import web

from node import http_server
from node.api import make_app
from node.http_limits import REFUSED_BODY_DRAIN_BYTES_MAX, REFUSED_BODY_DRAIN_S
from node.http_server import LimitedAppRunner
from node.mempool import MempoolLimits
from node.metrics import NodeMetrics
from node.service import NodeCore
from storage.kv import MemoryStore
from tests.node.conftest import Consortium

VERIFY = "/v1/verify"  # its limit is 256 KiB: a larger Content-Length is refused 413 unread
OFFERED_BYTES = 64 * 1024 * 1024
PIECE_BYTES = 64 * 1024
CLIENT_SEND_BUFFER_BYTES = 64 * 1024
DEADLINE_S = 30.0
# A loaded CI machine may be seconds late (as in test_http_limits.py).
SLACK_S = 8.0
# Short, so that a drain still going at aiohttp's own 10 s is told from one ended by it.
SHORT_DRAIN_S = 0.5


def _kernel_buffers_bytes() -> int:
    """What the kernels may hold of a body the node never reads: its socket's receive
    buffer (autotuned up to tcp_rmem's maximum) and the client's send buffer."""
    try:
        with open("/proc/sys/net/ipv4/tcp_rmem") as limits:
            receive_max = int(limits.read().split()[2])
    except (OSError, ValueError, IndexError):
        receive_max = 6 * 1024 * 1024
    return receive_max + 4 * CLIENT_SEND_BUFFER_BYTES  # Linux doubles what is asked


async def _serve(net: Consortium) -> AsyncIterator[int]:
    core = NodeCore(net.ministry, net.genesis, MemoryStore(),
                    MempoolLimits(100, 1 << 20, 100), NodeMetrics())
    runner = LimitedAppRunner(make_app(core, "drain"), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield runner.addresses[0][1]
    finally:
        await runner.cleanup()
        core.worker.shutdown(wait=True)


@pytest.fixture
async def port(net: Consortium) -> AsyncIterator[int]:
    async for bound in _serve(net):
        yield bound


@pytest.fixture
async def port_short_drain(net: Consortium,
                           monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[int]:
    monkeypatch.setattr(http_server, "REFUSED_BODY_DRAIN_S", SHORT_DRAIN_S)
    async for bound in _serve(net):
        yield bound


def _head(framing: str, length: int) -> bytes:
    framed = ("Transfer-Encoding: chunked" if framing == "chunked"
              else f"Content-Length: {length}")
    return (f"POST {VERIFY} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"{framed}\r\n\r\n").encode()


def _piece(framing: str, size: int) -> bytes:
    data = b" " * size
    return b"%x\r\n%s\r\n" % (size, data) if framing == "chunked" else data


def _send_until_cut_off(port: int, framing: str, pause_s: float,
                        piece_bytes: int) -> tuple[int, float, bytes]:
    """Send a body of OFFERED_BYTES, `piece_bytes` every `pause_s`, until the server
    stops it; then read what it answered. Returns the body's bytes sent, the seconds
    from the first to the connection's end, and the answer."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, CLIENT_SEND_BUFFER_BYTES)
        sock.settimeout(DEADLINE_S)
        sock.connect(("127.0.0.1", port))
        sock.sendall(_head(framing, OFFERED_BYTES))
        piece = _piece(framing, piece_bytes)
        sent = 0
        started = time.monotonic()
        try:
            while sent < OFFERED_BYTES and time.monotonic() - started < DEADLINE_S:
                sock.sendall(piece)
                sent += len(piece)
                if pause_s:
                    time.sleep(pause_s)
        except (BrokenPipeError, ConnectionResetError):
            pass
        answer = b""
        try:
            while data := sock.recv(65536):
                answer += data
        except (ConnectionResetError, TimeoutError):
            pass
        return sent, time.monotonic() - started, answer


def _error_code(answer: bytes) -> str:
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413 "), answer[:200]
    length = int(next(line.split(b":", 1)[1] for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length:")))
    return str(json.loads(body[:length])["error"]["code"])


def _errors_logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    gc.collect()  # a task that failed unretrieved is reported when it is collected
    return [r.getMessage() for r in caplog.records
            if r.levelname in ("ERROR", "CRITICAL") or r.exc_info]


@pytest.mark.parametrize("framing", ["length", "chunked"])
async def test_a_client_sending_on_after_a_413_is_cut_off_and_reads_it(
        port: int, framing: str, caplog: pytest.LogCaptureFixture) -> None:
    sent, _, answer = await asyncio.to_thread(_send_until_cut_off, port, framing, 0.0,
                                              PIECE_BYTES)
    assert _error_code(answer) == "body_too_large"
    # Before the cap every byte offered went in, at well over a gigabyte a second.
    assert sent < OFFERED_BYTES
    assert sent <= REFUSED_BODY_DRAIN_BYTES_MAX + _kernel_buffers_bytes() + PIECE_BYTES, sent
    assert _errors_logged(caplog) == []


def _connection_tasks() -> int:
    return sum(1 for task in asyncio.all_tasks()
               if getattr(task.get_coro(), "__qualname__", "") == "RequestHandler.start")


async def test_a_cut_off_connection_leaves_no_draining_task(port: int) -> None:
    """Closed past the byte cap, the connection's task ends then: aiohttp's draining read
    would otherwise wait out REFUSED_BODY_DRAIN_S on a connection already gone."""
    await asyncio.to_thread(_send_until_cut_off, port, "length", 0.0, PIECE_BYTES)
    async with asyncio.timeout(REFUSED_BODY_DRAIN_S / 2):
        while _connection_tasks():
            await asyncio.sleep(0.01)


async def test_a_trickled_refused_body_is_cut_off_at_the_drain_time(
        port_short_drain: int) -> None:
    # 50 KB a second: far under the byte cap in the time the test allows.
    _, lasted_s, answer = await asyncio.to_thread(
        _send_until_cut_off, port_short_drain, "length", 0.02, 1024)
    assert _error_code(answer) == "body_too_large"
    # Before REFUSED_BODY_DRAIN_S governed it, aiohttp read on for its own 10 s.
    assert lasted_s < SHORT_DRAIN_S + SLACK_S


def _status(connection: http.client.HTTPConnection) -> None:
    connection.request("GET", "/v1/status")


def _on_one_connection(port: int, sends: list[Callable[[http.client.HTTPConnection], None]]
                       ) -> tuple[list[int], bool]:
    """Each of `sends` in turn on one connection, then GET /v1/status: every answer's
    status, and whether they all went on the same connection."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=DEADLINE_S)
    statuses: list[int] = []
    socks: set[int] = set()
    try:
        for send in [*sends, _status]:
            send(connection)
            answer = connection.getresponse()
            answer.read()
            statuses.append(answer.status)
            socks.add(id(connection.sock))
        return statuses, len(socks) == 1 and id(None) not in socks
    finally:
        connection.close()


async def test_refused_requests_without_a_body_keep_their_connection(port: int) -> None:
    def no_body(connection: http.client.HTTPConnection) -> None:
        connection.request("POST", VERIFY, body=b"",
                           headers={"Content-Type": "application/json"})

    def no_route(connection: http.client.HTTPConnection) -> None:
        connection.request("GET", "/v1/nowhere")

    assert await asyncio.to_thread(_on_one_connection, port, [no_body, no_route]) == (
        [400, 404, 200], True)


async def test_refused_bodies_sent_whole_within_the_cap_keep_their_connection(
        port: int) -> None:
    """Each refused body is drained to its end under the cap, counted afresh: three of
    half the cap on one connection are three 413s, and it then serves a fourth request."""
    def over_the_limit(connection: http.client.HTTPConnection) -> None:
        connection.request("POST", VERIFY, body=b" " * (REFUSED_BODY_DRAIN_BYTES_MAX // 2),
                           headers={"Content-Type": "application/json"})

    assert await asyncio.to_thread(_on_one_connection, port, [over_the_limit] * 3) == (
        [413, 413, 413, 200], True)
