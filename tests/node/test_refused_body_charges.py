"""What the node reads of a refused body (its drain, `node.http_server`) is charged to the
sender's byte rate, the one a read body is charged to. Before, a drain was bounded per
connection only (REFUSED_BODY_DRAIN_S, REFUSED_BODY_DRAIN_BYTES_MAX): an address opening one
connection after another made the node read up to 1 MiB on each refused body, at will, and
was answered 415 each time. Now an address out of bytes has 429, and nothing more drained,
as for a body the node reads; another address is not touched. Clients send from 127.0.0.2
and 127.0.0.3 (127.0.0.1 is rate-exempt, as the node's own host)."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web

from node.api import make_app
from node.api_public import LIMITS, VERIFY_BODY_MAX
from node.client_limits import DRAINED_BYTES_KIND, RATES, ClientLimits, Decision
from node.http_server import LimitedAppRunner
from node.mempool import MempoolLimits
from node.metrics import REFUSED_BODIES_OVER_RATE, NodeMetrics
from node.service import NodeCore
from storage.kv import MemoryStore
from tests.node.conftest import Consortium
from tests.node.raw_answers import read_to_close, status_headers_body

ATTACKER, BYSTANDER = "127.0.0.2", "127.0.0.3"
RATE, BURST = RATES[DRAINED_BYTES_KIND]
OFFERED_BYTES = 4 * 1024 * 1024
ROUNDS_MAX = 12
DEADLINE_S = 60.0
# The most one read of a socket brings (asyncio's): a drain passes its sender's bytes by
# at most that before it ends.
SOCKET_READ_BYTES = 256 * 1024


@dataclass
class Node:
    port: int
    limits: ClientLimits
    drained: dict[str, int] = field(default_factory=dict)  # bytes charged, by address
    admitted: dict[str, float] = field(default_factory=dict)  # verify_bytes admitted
    metrics: NodeMetrics = field(default_factory=NodeMetrics)

    def refusals_made_429(self) -> float:
        return self.metrics.registry.get_sample_value(
            "senim_public_refusals_total", {"reason": REFUSED_BODIES_OVER_RATE}) or 0.0

    def spend(self, address: str) -> None:
        """Leave `address` no bytes for a second or more, as a flood of drains would."""
        self.limits.drained(address, 4 * int(BURST))
        assert self.limits.spent(address) is not None


@pytest.fixture
async def node(net: Consortium) -> AsyncIterator[Node]:
    core = NodeCore(net.ministry, net.genesis, MemoryStore(), MempoolLimits(100, 1 << 20, 100),
                    NodeMetrics())
    app = make_app(core, "charges")
    limits = app[LIMITS]
    refused_bodies = core.metrics.public_refusals.labels(REFUSED_BODIES_OVER_RATE)
    runner = LimitedAppRunner(app, access_log=None, limits=limits,
                              over_rate_counted=refused_bodies.inc)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    served = Node(runner.addresses[0][1], limits, metrics=core.metrics)
    charge, admit = limits.drained, limits.admit

    def counted(address: str, size: int) -> bool:  # what the drains read, as charged
        served.drained[address] = served.drained.get(address, 0) + size
        return charge(address, size)

    def admitted(address: str, kind: str, cost: float = 1.0) -> Decision:
        if kind == DRAINED_BYTES_KIND:
            served.admitted[address] = served.admitted.get(address, 0) + cost
        return admit(address, kind, cost)

    limits.drained = counted  # type: ignore[method-assign]
    limits.admit = admitted  # type: ignore[method-assign]
    try:
        yield served
    finally:
        await runner.cleanup()
        core.worker.shutdown(wait=True)


def _post(port: int, source: str, path: str, content_type: str, length: int,
          body: bytes | None = None) -> tuple[int, dict[str, str], bytes]:
    """POST from `source`, sending the body (`length` bytes of blanks, or `body`) whole
    before reading, as http.client does, until the node stops it: status, headers, body."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * 1024)
        sock.settimeout(DEADLINE_S)
        sock.bind((source, 0))
        sock.connect(("127.0.0.1", port))
        sock.sendall(f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: {content_type}\r\n"
                     f"Content-Length: {length if body is None else len(body)}\r\n\r\n"
                     .encode())
        try:
            if body is not None:
                sock.sendall(body)
            else:
                piece, sent = b" " * 65536, 0
                while sent < length:
                    sock.sendall(piece)
                    sent += len(piece)
        except (BrokenPipeError, ConnectionResetError):
            pass
        answer = read_to_close(sock)
    return status_headers_body(answer)


def _refused(port: int, source: str) -> tuple[int, dict[str, str], bytes]:
    """A submission whose body is refused unread (its type), 4 MiB of it offered."""
    return _post(port, source, "/v1/transactions", "text/plain", OFFERED_BYTES)


async def test_an_address_sending_refused_bodies_is_held_to_its_byte_rate(node: Node) -> None:
    started = time.monotonic()
    statuses: list[int] = []
    while (len(statuses) < ROUNDS_MAX and statuses[-2:] != [429, 429]
           and time.monotonic() - started < DEADLINE_S):
        status, headers, body = await asyncio.to_thread(_refused, node.port, ATTACKER)
        statuses.append(status)
    elapsed = time.monotonic() - started
    assert statuses[0] == 415, statuses
    assert statuses[-2:] == [429, 429], statuses  # the node's refusal for a rate, and again
    error = json.loads(body)["error"]
    assert error["code"] == "rate_limited", body
    # Said for what was refused, not by the node's name for its bucket.
    assert "request bodies" in error["message"] and "refused" in error["message"], error
    assert DRAINED_BYTES_KIND not in error["message"], error
    assert node.refusals_made_429() == statuses.count(429), statuses
    assert headers["connection"] == "close", headers
    # All its connections' drains together, within its rate (each passing it by a read at
    # most): not a mebibyte each.
    drained = node.drained.get(ATTACKER, 0)
    assert drained <= BURST + RATE * elapsed + SOCKET_READ_BYTES * len(statuses), (
        drained, statuses, elapsed)
    # A body the node would read is refused for its rate too, as when bodies read spent it.
    status, _, body = await asyncio.to_thread(
        _post, node.port, ATTACKER, "/v1/verify", "application/json", 0, b'{"format": "x"}')
    assert status == 429, body
    # Another address is not touched: its refused body is answered, and drained.
    status, _, body = await asyncio.to_thread(_refused, node.port, BYSTANDER)
    assert status == 415, body
    assert node.drained.get(BYSTANDER, 0) > 0


async def test_an_exempt_address_is_never_held_to_a_byte_rate(node: Node) -> None:
    for _ in range(4):  # 4 MiB offered each: twice the burst in all
        status, _, body = await asyncio.to_thread(_refused, node.port, "127.0.0.1")
        assert status == 415, body
    assert node.drained.get("127.0.0.1", 0) > BURST


def test_drained_bytes_are_owed_until_the_rate_pays_them_back() -> None:
    now = [0.0]
    limits = ClientLimits(clock=lambda: now[0])
    assert limits.spent(ATTACKER) is None
    assert limits.drained(ATTACKER, int(BURST) - 1)
    assert not limits.drained(ATTACKER, int(RATE) + 1)  # into debt: a second's worth
    spent = limits.spent(ATTACKER)
    assert spent is not None and spent.retry_after_s == 1, spent
    assert f"more than {RATE:.0f} bytes a second of request bodies" in spent.reason
    assert limits.spent(BYSTANDER) is None
    now[0] += 1.5
    assert limits.spent(ATTACKER) is None  # paid back, and more
    assert limits.spent("127.0.0.1") is None and limits.drained("127.0.0.1", 10 * int(BURST))


def test_a_floods_debt_is_held_to_one_burst() -> None:
    """Honest clients sharing the flooder's address (a NAT's) are held a burst's worth of
    seconds after the flood ends, not for all the flood sent."""
    now = [0.0]
    limits = ClientLimits(clock=lambda: now[0])
    for _ in range(20):  # 20 drains of a MiB: ten bursts
        limits.drained(ATTACKER, 1024 * 1024)
    spent = limits.spent(ATTACKER)
    assert spent is not None and spent.retry_after_s == round(BURST / RATE), spent
    now[0] += BURST / RATE + 0.5
    assert limits.spent(ATTACKER) is None


def _exchange(port: int, source: str, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """`request` sent from `source` whole, and the answer read to the connection's end:
    status (the final one, past a 100 Continue), headers, body."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(DEADLINE_S)
        sock.bind((source, 0))
        sock.connect(("127.0.0.1", port))
        sock.sendall(request)
        answer = read_to_close(sock)
    while answer.startswith(b"HTTP/1.1 100 "):
        answer = answer.partition(b"\r\n\r\n")[2]
    return status_headers_body(answer)


async def test_an_answer_that_is_no_refusal_stands_for_a_spent_address(node: Node) -> None:
    """The work is done: a status asked with a body nobody reads is answered, not made 429
    (the connection still closes, undrained)."""
    node.spend(ATTACKER)
    status, headers, body = await asyncio.to_thread(
        _exchange, node.port, ATTACKER,
        b"GET /v1/status HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")
    assert status == 200, body
    assert "height" in json.loads(body), body
    assert headers["connection"] == "close", headers
    assert node.refusals_made_429() == 0


@pytest.mark.parametrize(("path", "content_type", "length", "refused"), [
    ("/v1/transactions", "text/plain", 1024, 415),
    ("/v1/verify", "application/json", VERIFY_BODY_MAX + 1, 413),
])
async def test_a_body_never_invited_costs_nothing_and_keeps_its_refusal(
        node: Node, path: str, content_type: str, length: int, refused: int) -> None:
    """A client waiting for 100 Continue is refused before its body is asked for: it sends
    none, so the node has nothing to drain and its refusal is not made 429."""
    node.spend(ATTACKER)
    status, headers, body = await asyncio.to_thread(
        _exchange, node.port, ATTACKER,
        f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {length}\r\nExpect: 100-continue\r\n\r\n".encode())
    assert status == refused, body
    assert headers["connection"] == "close", headers
    assert node.refusals_made_429() == 0
    assert node.drained.get(ATTACKER, 0) == 4 * int(BURST)  # the spend alone


async def test_a_body_declared_past_the_limit_is_refused_before_it_is_charged(
        node: Node) -> None:
    """Its bytes are charged once, as its refusal drains: before, the route's limit of them
    was charged first (admitted by its declared length) and again as the body drained."""
    status, _, body = await asyncio.to_thread(
        _post, node.port, BYSTANDER, "/v1/verify", "application/json", VERIFY_BODY_MAX + 1)
    assert status == 413, body
    assert json.loads(body)["error"]["params"] == {"limit": VERIFY_BODY_MAX}, body
    assert node.admitted.get(BYSTANDER, 0) == 0, node.admitted
    assert node.drained.get(BYSTANDER, 0) > 0
