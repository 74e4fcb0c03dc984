"""HTTP limits on a real socket: slow-loris heads closed, a connection cap, body timeouts,
CORS on read-only routes only, and a cap on long-polls."""

from __future__ import annotations

import asyncio
import gc
import os
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from aiohttp import ClientSession, web

from ledger.payloads import AnchorPayload
from node import api_public
from node.api import make_app
from node.gauges import refresh_connection_metrics
from node.http_server import LimitedAppRunner
from node.mempool import MempoolLimits
from node.metrics import NodeMetrics
from node.service import NodeCore
from storage.kv import MemoryStore
from tests.node.conftest import Consortium, make_tx

HEADER_TIMEOUT_S = 0.5
CONNECTIONS_MAX = 8
DEADLINE_S = 20.0
# A loaded CI machine may be seconds late; a missing timeout shows as never closing.
SLACK_S = 8.0


@dataclass
class Served:
    core: NodeCore
    runner: LimitedAppRunner
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture
async def served(net: Consortium) -> AsyncIterator[Served]:
    kv = MemoryStore()
    core = NodeCore(net.ministry, net.genesis, kv, MempoolLimits(100, 1 << 20, 100),
                    NodeMetrics())
    runner = LimitedAppRunner(make_app(core, "limits"), connections_max=CONNECTIONS_MAX,
                              header_timeout_s=HEADER_TIMEOUT_S, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield Served(core, runner, port)
    finally:
        await runner.cleanup()
        core.worker.shutdown(wait=True)


async def _closed_within(reader: asyncio.StreamReader, limit_s: float) -> float:
    """Seconds until the server closes the connection, failing past limit. Closed means
    reads return EOF, or a reset when the close met bytes still arriving."""
    started = time.monotonic()
    async with asyncio.timeout(limit_s):
        try:
            while await reader.read(4096):
                pass
        except ConnectionResetError:
            pass
    return time.monotonic() - started


async def test_a_slow_loris_head_is_closed_within_the_header_timeout(served: Served) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", served.port)
    started = time.monotonic()
    writer.write(b"GET /v1/status HTTP/1.1\r\nHost: x\r\n")
    await writer.drain()

    async def trickle() -> None:  # one header byte at a time, never the blank line
        for _ in range(int(DEADLINE_S / 0.05)):
            await asyncio.sleep(0.05)
            if writer.is_closing():
                return
            writer.write(b"X")

    trickling = asyncio.create_task(trickle())
    try:
        await _closed_within(reader, DEADLINE_S)
    finally:
        trickling.cancel()
        writer.close()
    # Closed by the header timeout, not merely at our own deadline.
    assert time.monotonic() - started < HEADER_TIMEOUT_S + SLACK_S


async def test_an_idle_connection_is_closed_and_an_honest_one_is_served(served: Served) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", served.port)
    await _closed_within(reader, HEADER_TIMEOUT_S + SLACK_S)
    writer.close()
    async with ClientSession() as session, session.get(f"{served.url}/v1/status") as response:
        assert response.status == 200


async def test_connections_beyond_the_cap_are_closed(served: Served) -> None:
    opened = [await asyncio.open_connection("127.0.0.1", served.port)
              for _ in range(CONNECTIONS_MAX + 3)]
    try:
        # The extra ones are closed at once, long before the header timeout.
        closed = 0
        for reader, _ in opened[CONNECTIONS_MAX:]:
            await _closed_within(reader, HEADER_TIMEOUT_S / 2 + 1.0)
            closed += 1
        assert closed == 3
    finally:
        for _, writer in opened:
            writer.close()


def _errors_logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    gc.collect()  # a task that failed unretrieved is reported when it is collected
    return [r.getMessage() for r in caplog.records
            if r.levelname in ("ERROR", "CRITICAL") or r.exc_info]


async def _until_connections(served: Served, count: int) -> None:
    """Wait until the server holds `count` connections (a handler done counts as gone)."""
    async with asyncio.timeout(DEADLINE_S):
        while len(served.runner.server.connections) != count:  # type: ignore[union-attr]
            await asyncio.sleep(0.01)


async def test_connections_beyond_the_cap_log_nothing(
        served: Served, caplog: pytest.LogCaptureFixture) -> None:
    """A crowd past the cap is the client's doing: each refused connection once logged
    an ERROR with a traceback (aiohttp's handler started on a connection already lost),
    7 lines per connection, 10 MB of log in 40 s of a reconnecting crowd."""
    opened = [await asyncio.open_connection("127.0.0.1", served.port)
              for _ in range(CONNECTIONS_MAX + 5)]
    try:
        for reader, _ in opened[CONNECTIONS_MAX:]:
            await _closed_within(reader, HEADER_TIMEOUT_S / 2 + 1.0)
        await _until_connections(served, CONNECTIONS_MAX)
    finally:
        for _, writer in opened:
            writer.close()
    assert not _errors_logged(caplog)


async def test_a_client_gone_mid_body_logs_nothing(
        served: Served, caplog: pytest.LogCaptureFixture) -> None:
    """A client that closes its connection part-way through a body: nobody to answer,
    and nothing wrong with the node (it was a 500 with a traceback in the log)."""
    for path in ("/v1/transactions", "/v1/verify", "/credentials/verify"):
        _, writer = await asyncio.open_connection("127.0.0.1", served.port)
        writer.write(f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                     "\r\nContent-Length: 1000\r\n\r\n{\"a\":".encode())
        await writer.drain()
        async with asyncio.timeout(DEADLINE_S):  # until its handler reads the body
            while not any(h._current_request for h in served.runner.server.connections):  # type: ignore[union-attr]
                await asyncio.sleep(0.01)
        writer.close()
        await _until_connections(served, 0)
    assert not _errors_logged(caplog)


async def test_one_address_cannot_hold_every_connection(
        net: Consortium, caplog: pytest.LogCaptureFixture) -> None:
    """Past its own cap, an address's new connections are closed; another address is
    still served, and an exempt one (the node's own host) is not counted."""
    core = NodeCore(net.ministry, net.genesis, MemoryStore(), MempoolLimits(100, 1 << 20, 100),
                    NodeMetrics())
    runner = LimitedAppRunner(make_app(core, "limits"), connections_max=100, per_source_max=3,
                              exempt=frozenset({"127.0.0.4"}), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    opened: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    try:
        for source in ("127.0.0.2",) * 5 + ("127.0.0.4",) * 5:
            opened.append(await asyncio.open_connection("127.0.0.1", port,
                                                        local_addr=(source, 0)))
        for reader, _ in opened[3:5]:
            await _closed_within(reader, 5.0)
        assert connection_metrics(runner) == {"refused": 2, "evicted": 0}
        async with ClientSession() as session, session.get(
                f"http://127.0.0.1:{port}/v1/status") as response:  # from 127.0.0.1
            assert response.status == 200
        for _, writer in opened[:3] + opened[5:]:  # still open: they can ask
            writer.write(b"GET /v1/status HTTP/1.1\r\nHost: x\r\n\r\n")
        for reader, _ in opened[:3] + opened[5:]:
            async with asyncio.timeout(DEADLINE_S):
                assert (await reader.readuntil(b"\r\n")).startswith(b"HTTP/1.1 200")
    finally:
        for _, writer in opened:
            writer.close()
        await runner.cleanup()
        core.worker.shutdown(wait=True)
    assert not _errors_logged(caplog)


@pytest.mark.parametrize("path", ["/v1/verify", "/credentials/verify",
                                  "/presentations/verify"])
async def test_a_stalled_body_is_a_408(served: Served, monkeypatch: pytest.MonkeyPatch,
                                       path: str) -> None:
    """The VC-API's body read had no deadline: a client that sent its headers and then
    nothing held its connection for ever (70 s and counting, on a running node)."""
    monkeypatch.setattr("node.http_limits.BODY_READ_TIMEOUT_S", 0.3)
    monkeypatch.setattr("node.vc_common.BODY_READ_TIMEOUT_S", 0.3)
    reader, writer = await asyncio.open_connection("127.0.0.1", served.port)
    writer.write(f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 "Content-Length: 1000\r\n\r\n{\"a\":".encode())
    await writer.drain()
    async with asyncio.timeout(DEADLINE_S):
        head = await reader.readuntil(b"\r\n")
    writer.close()
    assert b" 408 " in head


async def test_cors_on_read_only_routes_only(served: Served) -> None:
    async with ClientSession() as session:
        async with session.options(f"{served.url}/v1/verify", headers={
                "Origin": "https://example.org", "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "Content-Type"}) as response:
            assert response.status == 204
            assert response.headers["Access-Control-Allow-Origin"] == "*"
            assert "POST" in response.headers["Access-Control-Allow-Methods"]
            assert "Content-Type" in response.headers["Access-Control-Allow-Headers"]
        async with session.post(f"{served.url}/v1/verify", json={"format": "x"}) as response:
            assert response.status == 200
            assert response.headers["Access-Control-Allow-Origin"] == "*"
        async with session.get(f"{served.url}/v1/status") as response:
            assert response.headers["Access-Control-Allow-Origin"] == "*"
        async with session.get(f"{served.url}/v1/blocks/999") as response:  # errors too
            assert response.status == 404
            assert response.headers["Access-Control-Allow-Origin"] == "*"
        tx = make_tx(served.core.keys, AnchorPayload(os.urandom(32)))
        async with session.post(f"{served.url}/v1/transactions",
                                json={"tx": tx.encode().hex()}) as response:
            assert response.status == 202
            assert "Access-Control-Allow-Origin" not in response.headers
        async with session.options(f"{served.url}/v1/transactions", headers={
                "Origin": "https://example.org",
                "Access-Control-Request-Method": "POST"}) as response:
            assert response.status == 405
            assert "Access-Control-Allow-Origin" not in response.headers


async def test_long_polls_beyond_the_cap_register_no_waiter(
        served: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(api_public, "LONG_POLLS_MAX", 2)
    monkeypatch.setattr(api_public, "OVERFLOW_POLL_PAUSE_S", 0.1)
    tx = make_tx(served.core.keys, AnchorPayload(os.urandom(32)))
    async with ClientSession() as session:
        async with session.post(f"{served.url}/v1/transactions",
                                json={"tx": tx.encode().hex()}) as response:
            assert response.status == 202
        url = f"{served.url}/v1/transactions/{tx.tx_id.hex()}?wait=30"
        polls = [asyncio.create_task(session.get(url)) for _ in range(2)]
        async with asyncio.timeout(DEADLINE_S):
            while len(served.core._waiters.get(tx.tx_id, [])) < 2:
                await asyncio.sleep(0.01)
        started = time.monotonic()
        async with session.get(url) as response:  # the third is answered without waiting
            assert response.status == 200 and (await response.json())["status"] == "pending"
        assert time.monotonic() - started < 5.0
        assert len(served.core._waiters[tx.tx_id]) == 2
        served.core._settle(tx.tx_id)  # wake the two waiting polls
        for response in await asyncio.gather(*polls):
            assert response.status == 200
            response.release()


@pytest.mark.parametrize("raw", [
    b"GET /v1/status HTTP/1.1\r\nHost: x\r\nX-Bad: a\x00b\r\n\r\n",
    b"GET /v1/status HTTP/1.1\r\nHo\x00st: x\r\n\r\n",
    b"\x00\xff\xfe garbage \r\n\r\n",
    b"GET /v1/st\x00atus HTTP/1.1\r\nHost: x\r\n\r\n",
    b"POST /v1/verify HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
    b"GET /v1/status HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
])
async def test_garbage_requests_get_a_4xx_and_no_error_log(
        served: Served, raw: bytes, caplog: pytest.LogCaptureFixture) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", served.port)
    writer.write(raw)
    await writer.drain()
    async with asyncio.timeout(DEADLINE_S):
        head = await reader.read(4096)
    writer.close()
    assert re.match(rb"HTTP/1\.[01] 4\d\d ", head) or head == b"", head[:80]
    errors = [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]
    assert not errors, [r.getMessage() for r in errors]
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"


@pytest.mark.parametrize("path", ["/v1/verify", "/v1/proofs", "/v1/transactions",
                                  "/credentials/verify", "/presentations/verify"])
@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
async def test_a_body_that_is_not_its_content_encoding_is_a_400(
        served: Served, path: str, encoding: str, caplog: pytest.LogCaptureFixture) -> None:
    async with ClientSession() as session, session.post(
            served.url + path, data=b'{"not": "compressed"}',
            headers={"Content-Encoding": encoding,
                     "Content-Type": "application/json"}) as response:
        # The handler's JSON error, or the same from the node's connection handler when
        # aiohttp's parser meets the bad body before the handler runs (node.http_limits).
        assert response.status == 400, await response.text()
        assert response.content_type == "application/json"
        message = (await response.json())["error"]["message"]
        assert message.startswith("the request body cannot be read: Can not decode "
                                  f"content-encoding: {encoding}"), message
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"


async def test_a_crowd_of_addresses_at_the_cap_gives_way_to_a_newcomer(
        net: Consortium, caplog: pytest.LogCaptureFixture) -> None:
    """With the total cap full of a few addresses' connections, a newcomer address takes
    the place of an idle connection of the address holding the most (node.fair_share);
    before, CONNECTIONS_MAX / CONNECTIONS_PER_SOURCE_MAX addresses shut everyone else out.
    A connection in the middle of a request is not the one that gives way."""
    core = NodeCore(net.ministry, net.genesis, MemoryStore(), MempoolLimits(100, 1 << 20, 100),
                    NodeMetrics())
    runner = LimitedAppRunner(make_app(core, "limits"), connections_max=8, per_source_max=4,
                              access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    server = runner.server
    assert server is not None
    opened: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    try:
        for source in ("127.0.0.2",) * 4 + ("127.0.0.3",) * 4:
            opened.append(await asyncio.open_connection("127.0.0.1", port,
                                                        local_addr=(source, 0)))
            if len(opened) == 1:  # the oldest of 127.0.0.2 is busy with a request
                opened[0][1].write(b"POST /v1/transactions HTTP/1.1\r\nHost: x\r\n"
                                   b"Content-Type: application/json\r\n"
                                   b"Content-Length: 11\r\n\r\n{\"tx\":")
                async with asyncio.timeout(DEADLINE_S):
                    while not any(h._current_request for h in server.connections):
                        await asyncio.sleep(0.01)
        await _until_connections_of(server, 8)
        async with ClientSession() as session, session.get(
                f"http://127.0.0.1:{port}/v1/status") as response:
            assert response.status == 200  # from 127.0.0.1, over a full cap
        await _closed_within(opened[1][0], DEADLINE_S)  # 127.0.0.2's oldest idle one
        assert connection_metrics(runner) == {"refused": 0, "evicted": 1}
        opened[0][1].write(b'"00"}')  # the busy one was left to finish
        async with asyncio.timeout(DEADLINE_S):
            assert (await opened[0][0].readuntil(b"\r\n")).startswith(b"HTTP/1.1 4")
        for reader, writer in opened[4:]:  # 127.0.0.3, holding no more, kept all of its own
            writer.write(b"GET /v1/status HTTP/1.1\r\nHost: x\r\n\r\n")
            async with asyncio.timeout(DEADLINE_S):
                assert (await reader.readuntil(b"\r\n")).startswith(b"HTTP/1.1 200")
    finally:
        for _, writer in opened:
            writer.close()
        await runner.cleanup()
        core.worker.shutdown(wait=True)
    assert not _errors_logged(caplog)


async def _until_connections_of(server: web.Server, count: int) -> None:
    async with asyncio.timeout(DEADLINE_S):
        while len(server.connections) != count:
            await asyncio.sleep(0.01)


def connection_metrics(runner: LimitedAppRunner) -> dict[str, float | None]:
    """What an operator's /metrics shows of the connection caps' work."""
    metrics = NodeMetrics()
    refresh_connection_metrics(metrics, runner)
    return {what: metrics.registry.get_sample_value(f"senim_http_connections_{what}")
            for what in ("refused", "evicted")}
