"""A body the node refused before reading it is read on after the answer only so far:
REFUSED_BODY_DRAIN_BYTES_MAX and REFUSED_BODY_DRAIN_S (`node.http_server`), and never
parsed; the connection is then closed, so that is all one connection can make the node
read after a refusal. aiohttp alone read and threw away whatever the client sent for
10 s, however much (64 MB went in within 0.05 s of a 413 on loopback), inflating a gzip
body as it went, and kept the connection for the next refused body. Each test uses the
app on a real socket whose receive buffer is small, so that the kernel holds little the
node never read, and a blocking client socket, as a client that sends its whole body
before reading (http.client, urllib) does: the kernel keeps the answer that arrived
before a reset readable, which asyncio's streams would not hand over."""

from __future__ import annotations

import asyncio
import gc
import gzip
import http.client
import json
import socket
import time
from collections.abc import AsyncIterator, Callable

import pytest
from aiohttp import web

from node import http_server
from node.api import make_app
from node.api_public import VERIFY_BODY_MAX
from node.http_limits import REFUSED_BODY_DRAIN_BYTES_MAX, REFUSED_BODY_DRAIN_S
from node.http_server import LimitedAppRunner
from node.mempool import MempoolLimits
from node.metrics import NodeMetrics
from node.service import NodeCore
from storage.kv import MemoryStore
from tests.node.conftest import Consortium
from tests.node.raw_answers import read_to_close

VERIFY = "/v1/verify"  # VERIFY_BODY_MAX: a larger Content-Length is refused 413 unread
OFFERED_BYTES = 64 * 1024 * 1024
PIECE_BYTES = 64 * 1024
CLIENT_SEND_BUFFER_BYTES = 64 * 1024
DEADLINE_S = 30.0
# A loaded CI machine may be seconds late (as in test_http_limits.py).
SLACK_S = 8.0
# Short, so that a drain still going at aiohttp's own 10 s is told from one ended by it.
SHORT_DRAIN_S = 0.5


# The listening socket's receive buffer, which its connections take: without it Linux
# tunes each up to tcp_rmem's maximum (6 MiB here) of bytes the node never read.
SERVER_RECEIVE_BUFFER_BYTES = 64 * 1024
# What aiohttp's parser takes in before the handler answers: a body's buffer pauses the
# socket past twice its read_bufsize (64 KiB).
PARSED_BEFORE_THE_ANSWER_BYTES = 2 * 64 * 1024
# What may go in beyond the drain's cap: the kernels' buffers (Linux doubles what is
# asked), what was parsed before the answer, a chunked body's bytes the handler read up
# to the route's limit before it refused, and a piece in flight.
BEYOND_THE_CAP_BYTES = (2 * SERVER_RECEIVE_BUFFER_BYTES + 2 * CLIENT_SEND_BUFFER_BYTES
                        + PARSED_BEFORE_THE_ANSWER_BYTES + VERIFY_BODY_MAX + PIECE_BYTES)


async def _serve(net: Consortium) -> AsyncIterator[int]:
    core = NodeCore(net.ministry, net.genesis, MemoryStore(),
                    MempoolLimits(100, 1 << 20, 100), NodeMetrics())
    runner = LimitedAppRunner(make_app(core, "drain"), access_log=None)
    await runner.setup()
    listening = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SERVER_RECEIVE_BUFFER_BYTES)
    listening.bind(("127.0.0.1", 0))
    await web.SockSite(runner, listening).start()
    try:
        yield listening.getsockname()[1]
    finally:
        await runner.cleanup()
        listening.close()
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
        answer = read_to_close(sock)
        return sent, time.monotonic() - started, answer


def _error_code(answer: bytes) -> str:
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith((b"HTTP/1.1 413 ", b"HTTP/1.0 413 ")), answer[:200]
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
    assert sent <= REFUSED_BODY_DRAIN_BYTES_MAX + BEYOND_THE_CAP_BYTES, sent
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
                       ) -> tuple[list[tuple[int, str | None]], int]:
    """Each of `sends` in turn through one HTTPConnection, which opens a new connection
    when the last was closed, then GET /v1/status: every answer's status and Connection
    header, and how many connections they took."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=DEADLINE_S)
    answers: list[tuple[int, str | None]] = []
    local_ports: set[int] = set()
    try:
        for send in [*sends, _status]:
            send(connection)
            assert connection.sock is not None
            local_ports.add(connection.sock.getsockname()[1])
            answer = connection.getresponse()
            answer.read()
            answers.append((answer.status, answer.getheader("Connection")))
        return answers, len(local_ports)
    finally:
        connection.close()


async def test_refused_requests_without_a_body_keep_their_connection(port: int) -> None:
    def no_body(connection: http.client.HTTPConnection) -> None:
        connection.request("POST", VERIFY, body=b"",
                           headers={"Content-Type": "application/json"})

    def no_route(connection: http.client.HTTPConnection) -> None:
        connection.request("GET", "/v1/nowhere")

    assert await asyncio.to_thread(_on_one_connection, port, [no_body, no_route]) == (
        [(400, None), (404, None), (200, None)], 1)


async def test_a_refused_body_ends_its_connection(port: int) -> None:
    """However little of it there is: each refused body ends its connection (413 with
    Connection: close), so three of half the cap take three connections, and the fourth
    request goes on a new one."""
    def over_the_limit(connection: http.client.HTTPConnection) -> None:
        connection.request("POST", VERIFY, body=b" " * (REFUSED_BODY_DRAIN_BYTES_MAX // 2),
                           headers={"Content-Type": "application/json"})

    assert await asyncio.to_thread(_on_one_connection, port, [over_the_limit] * 3) == (
        [(413, "close")] * 3 + [(200, None)], 4)


def _send_all_then_read(port: int, data: bytes) -> tuple[int, bytes]:
    """Send `data` in one go until the server stops taking it, then read all it answers
    to the connection's end: the bytes it took, and the answer."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, CLIENT_SEND_BUFFER_BYTES)
        sock.settimeout(DEADLINE_S)
        sock.connect(("127.0.0.1", port))
        sent = 0
        try:
            while sent < len(data):
                sent += sock.send(data[sent:sent + PIECE_BYTES])
        except (BrokenPipeError, ConnectionResetError):
            pass
        answer = b""
        try:
            while piece := sock.recv(65536):
                answer += piece
        except ConnectionResetError:
            pass
        return sent, answer


def _refused_post(body: bytes, *headers: str, version: str = "1.1") -> bytes:
    return ("".join(f"{header}\r\n" for header in (
        f"POST {VERIFY} HTTP/{version}", "Host: x", "Content-Type: application/json",
        f"Content-Length: {len(body)}", *headers)) + "\r\n").encode() + body


async def test_one_connection_drains_one_refused_body(port: int) -> None:
    """Refused bodies sent one after another on a connection are read as far as the cap
    in all, not each: eight of three quarters of it were all read (6 MiB)."""
    one = _refused_post(b" " * (REFUSED_BODY_DRAIN_BYTES_MAX * 3 // 4))
    sent, answer = await asyncio.to_thread(_send_all_then_read, port, one * 8)
    assert sent <= REFUSED_BODY_DRAIN_BYTES_MAX + BEYOND_THE_CAP_BYTES, sent
    assert answer.count(b"HTTP/1.1 ") == 1, answer[:400]
    assert _error_code(answer) == "body_too_large"
    assert b"\r\nConnection: close\r\n" in answer.partition(b"\r\n\r\n")[0]


async def test_the_refusal_is_whole_before_the_connection_ends(port: int) -> None:
    """A body of exactly the cap and a request after it in one write: the refusal comes
    whole, saying the connection closes, and nothing follows it (the request after was
    dropped unanswered on a connection the client was not told would close)."""
    data = _refused_post(b" " * REFUSED_BODY_DRAIN_BYTES_MAX) + (
        b"GET /v1/status HTTP/1.1\r\nHost: x\r\n\r\n")
    _, answer = await asyncio.to_thread(_send_all_then_read, port, data)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert b"\r\nConnection: close\r\n" in head, answer[:400]
    assert _error_code(answer) == "body_too_large"
    length = int(next(line.split(b":", 1)[1] for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length:")))
    assert len(body) == length, answer  # nothing after the refusal


async def test_an_http_1_0_body_expecting_100_is_drained(port: int) -> None:
    """An HTTP/1.0 client is never told 100 Continue (it cannot wait for one), so it
    sends its body regardless: a refused one is drained as any other, and the client,
    having sent it all, reads the refusal. The node closed such a connection at once, as
    if the body had never been asked for, and reset the client in the midst of it."""
    body = b" " * (REFUSED_BODY_DRAIN_BYTES_MAX // 2)  # over the route's limit, under the cap
    data = _refused_post(body, "Expect: 100-continue", version="1.0")
    sent, answer = await asyncio.to_thread(_send_all_then_read, port, data)
    assert sent == len(data), (sent, len(data))
    assert _error_code(answer) == "body_too_large", answer[:400]


def _bomb_members(inflated_mib: int) -> bytes:
    """gzip that inflates to `inflated_mib` MiB of zeros, at about a thousandth of that:
    one member of a MiB of zeros, repeated (a gzip stream may hold several)."""
    return gzip.compress(bytes(1 << 20), compresslevel=9) * inflated_mib


async def test_a_refused_gzip_body_is_not_inflated(port: int) -> None:
    """Its bytes are thrown away as they come: aiohttp's drain inflated them, a second of
    CPU per 400 KB or so here, the event loop held all the while."""
    body = _bomb_members(512)  # about 520 KB: over the route's limit, under the cap
    data = _refused_post(body, "Content-Encoding: gzip")
    cpu_before = time.thread_time()  # the loop's thread, which the node runs on
    sent, answer = await asyncio.to_thread(_send_all_then_read, port, data)
    cpu_s = time.thread_time() - cpu_before
    assert sent == len(data)
    assert _error_code(answer) == "body_too_large"
    assert cpu_s < 0.25, cpu_s
