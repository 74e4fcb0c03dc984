"""What an outsider can make a real node write to its log, however many addresses or keys
it uses: each kind of line is said once a window per source, and at most
STRANGER_LINES_MAX a window from all sources together (p2p.policy.LineBudget).

Before, sources cost nothing and each made a line: a fresh key per handshake (one
address, 400 WARNING lines a second, measured), or any of 127.0.0.0/8 for malformed HTTP
heads and junk on the P2P port (1,500 lines a second each), again and again once the
node's memory of the sources said (1,024) was full. And one address may start only so
many handshakes a second (p2p.admission.HandshakeRates)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
from collections.abc import Iterator

import pytest

from p2p import connection as conn
from p2p import handshake
from p2p.errors import P2PError
from p2p.policy import STRANGER_LINES_MAX, Limits
from tests.e2e.harness import HOST, Consortium, Member, NodeProcess, http

pytestmark = [pytest.mark.slow, pytest.mark.timeout(60)]

MEMBERS = [Member("mshe", "Ministry", "ministry", validator=True, runs_node=True),
           Member("enu", "ENU", "university")]
SOURCES = 4 * STRANGER_LINES_MAX  # addresses (or keys) the outsider uses, each once
NOISE_S = 2.0  # how long the node gets to write what it would of the last ones


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Consortium]:
    with Consortium(tmp_path_factory.mktemp("strangers"), MEMBERS,
                    genesis_via_cli=False) as consortium:
        consortium.start("mshe")
        yield consortium
        assert consortium.node("mshe").stop() == 0


def _source(number: int) -> str:
    return f"127.77.{number // 250}.{number % 250 + 1}"


def _send_from(source: str, port: int, raw: bytes) -> None:
    with socket.socket() as sock:
        sock.settimeout(5)
        sock.bind((source, 0))
        with contextlib.suppress(OSError):  # reset, past the unlisted addresses' budget
            sock.connect((HOST, port))
            sock.sendall(raw)
            sock.recv(4096)  # the node answers or closes


def _unlisted_budget_full() -> None:
    """Wait until the budget all unlisted addresses share (p2p.admission.
    UnlistedConnections) is full again, whatever an earlier test of this node spent: a
    token bucket unused for burst / rate seconds is full (its arithmetic, not a guess)."""
    limits = Limits()
    time.sleep(limits.unlisted_connections_burst / limits.unlisted_connections_s + 0.2)


def _lines(node: NodeProcess, start: int, said: str) -> list[str]:
    return [line for line in node.log_text().splitlines()[start:] if said in line]


def _wait_settled(node: NodeProcess, start: int, said: str) -> list[str]:
    """The matching lines once none has been added for NOISE_S (bounded)."""
    seen = -1
    for _ in range(10):
        lines = _lines(node, start, said)
        if len(lines) == seen:
            return lines
        seen = len(lines)
        time.sleep(NOISE_S)
    return _lines(node, start, said)


def test_malformed_http_heads_from_many_addresses(net: Consortium) -> None:
    node = net.node("mshe")
    start = len(node.log_text().splitlines())
    for number in range(SOURCES):
        _send_from(_source(number), node.api_port,
                   b"POST /v1/verify HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n")
    lines = _wait_settled(node, start, "Error handling request from 127.77.")
    assert len(lines) <= STRANGER_LINES_MAX, len(lines)  # (fewer when another test spent some)


def test_junk_on_the_p2p_port_from_many_addresses(net: Consortium) -> None:
    node = net.node("mshe")
    _unlisted_budget_full()
    start = len(node.log_text().splitlines())
    for number in range(SOURCES):
        _send_from(_source(number), node.p2p_port, bytes(64))
    lines = _wait_settled(node, start, "inbound handshake with 127.77.")
    assert len(lines) <= STRANGER_LINES_MAX, len(lines)  # (fewer when another test spent some)


async def _stranger_handshake(source: str, port: int, chain_id: bytes) -> bool:
    """A handshake completed with a fresh key from `source`; False if the node closed the
    connection first."""
    try:
        reader, writer = await asyncio.open_connection(HOST, port, local_addr=(source, 0))
    except OSError:  # reset as it was accepted, past the unlisted addresses' budget
        return False
    try:
        secured = await conn.secure_connection(
            reader, writer, identity=handshake.Identity.from_seed(os.urandom(32)),
            chain_id=chain_id, role=handshake.Role.INITIATOR, is_allowed=lambda key: True,
            handshake_timeout_s=5)
    except P2PError:
        return False
    finally:
        writer.close()
    await secured.close()
    return True


def test_a_fresh_key_for_each_handshake(net: Consortium) -> None:
    node = net.node("mshe")
    _unlisted_budget_full()
    start = len(node.log_text().splitlines())
    chain_id = net.genesis().network_id

    async def dial_as_strangers() -> list[bool]:
        return [await _stranger_handshake(_source(n), node.p2p_port, chain_id)
                for n in range(SOURCES)]

    # As many as the budget all unlisted addresses share lets in (Limits().
    # unlisted_connections_burst, what it refilled): more than the lines said of them.
    assert asyncio.run(dial_as_strangers()).count(True) > STRANGER_LINES_MAX
    lines = _wait_settled(node, start, "is not an allowed member")
    assert len(lines) <= STRANGER_LINES_MAX, len(lines)  # (fewer when another test spent some)
    assert node.status()["height"] >= 0  # and it still answers


def test_one_address_starts_handshakes_at_its_rate(net: Consortium) -> None:
    """Each handshake a stranger completes costs the node 0.65 ms of its event loop, where
    the consensus frames are read: one process made 1,000 a second (measured). Past its
    burst, an address's next ones are closed unread."""
    node = net.node("mshe")
    chain_id = net.genesis().network_id
    burst = Limits().handshakes_burst_per_ip
    _unlisted_budget_full()

    async def dial_from_one_address() -> list[bool]:
        return [await _stranger_handshake("127.78.0.1", node.p2p_port, chain_id)
                for _ in range(3 * burst)]

    refused_before = _refused_shown(node)
    done = asyncio.run(dial_from_one_address())
    # the burst, and what the rate refilled while they ran
    assert burst <= done.count(True) < 2 * burst, done
    assert done[-1] is False
    # and the operator sees them in /metrics, within its refresh
    deadline, shown = time.monotonic() + 15, 0.0
    while shown < done.count(False) and time.monotonic() < deadline:
        shown = _refused_shown(node) - refused_before
        time.sleep(0.2)
    # (a handshake failed for another reason, a timeout say, is not counted)
    assert 1 <= shown <= done.count(False), shown


def _refused_shown(node: NodeProcess) -> float:
    """The connections /metrics says were refused since the node started: closed at the
    HELLO over their address's rate, or reset at the accept over the budget all unlisted
    addresses share (which earlier tests of this node spent too)."""
    _, _, body = http("GET", node.url + "/metrics")
    return sum(float(line.split()[1]) for line in body.decode().splitlines()
               if line.startswith(("senim_p2p_handshakes_over_rate ",
                                   "senim_p2p_connections_over_budget ")))
