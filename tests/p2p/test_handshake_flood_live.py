"""Silent sockets against a live PeerManager: they expire, and members still get through."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field

import pytest

from p2p import Limits
from tests.p2p.helpers import (
    FAST_LIMITS,
    LOOPBACK,
    address_of,
    close_all,
    make_node,
    public_key,
    read_until_eof,
    wait_for_mesh,
    wait_until,
)
from tests.p2p.test_attacks_live import logged, rogue_session

pytestmark = pytest.mark.timeout(60)

MEMBERS = {public_key(n) for n in (1, 2, 9)}
FLOOD_SOCKETS = 64  # four times the 16 pending slots a node used to have in all
REOPEN_PAUSE_S = 0.05  # the attacker's pacing between a socket closing and its next one
RECONNECT_WITHIN_S = 5.0
SLACK_S = 1.5  # event-loop lag on a loaded 2-core machine


@dataclass
class SilentFlood:
    """Keeps `sockets` connections open that never say a word, reopening each one closed."""

    target: tuple[str, int]
    source: str
    sockets: int
    lifetimes_s: list[float] = field(default_factory=list)
    opened: int = 0
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._hold_one()) for _ in range(self.sockets)]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _hold_one(self) -> None:
        for _ in range(10_000):  # bounded; the test cancels long before
            reader, writer = await asyncio.open_connection(
                *self.target, local_addr=(self.source, 0)
            )
            self.opened += 1
            started = time.monotonic()
            try:
                await read_until_eof(reader, timeout_s=30.0)  # our HELLO, then the close
                self.lifetimes_s.append(time.monotonic() - started)
            finally:
                writer.close()
            await asyncio.sleep(REOPEN_PAUSE_S)


@pytest.mark.parametrize("attacker_host", ["127.0.0.2", LOOPBACK])
async def test_restarted_member_connects_through_a_silent_socket_flood(
    attacker_host: str,
) -> None:
    limits = FAST_LIMITS
    a = make_node(1, allowed=MEMBERS, limits=limits)
    await a.manager.start()
    b = make_node(2, dial=[address_of(a)], allowed=MEMBERS, limits=limits)
    await b.manager.start()
    nodes = [a, b]
    flood = SilentFlood(address_of(a), attacker_host, FLOOD_SOCKETS)
    try:
        await wait_for_mesh(nodes)
        b_port = address_of(b)[1]
        flood.start()
        await wait_until(lambda: flood.opened >= FLOOD_SOCKETS, "the flood is in place")
        await b.manager.close()
        await wait_until(lambda: not a.manager.connected(), "a noticed b left")

        restarted_at = time.monotonic()
        b = nodes[1] = make_node(
            2, dial=[address_of(a)], allowed=MEMBERS, limits=limits, listen_port=b_port
        )
        await b.manager.start()
        await wait_for_mesh(nodes)
        reconnect_s = time.monotonic() - restarted_at
        assert reconnect_s < RECONNECT_WITHIN_S

        # Every silent socket that ended did so within the handshake deadline.
        await wait_until(
            lambda: len(flood.lifetimes_s) >= FLOOD_SOCKETS, "silent sockets were closed"
        )
        assert max(flood.lifetimes_s) < limits.handshake_timeout_s + SLACK_S
        logging.getLogger(__name__).warning(
            "reconnected through %d silent sockets in %.3f s; longest silent socket %.2f s",
            flood.opened, reconnect_s, max(flood.lifetimes_s),
        )
    finally:
        await flood.stop()
        await close_all(nodes)


async def test_silent_sockets_expire_at_the_deadline_and_the_oldest_is_evicted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="p2p")
    deadline_s = 1.5
    limits = Limits(handshake_timeout_s=deadline_s, max_pending_handshakes_per_ip=2)
    node = make_node(1, allowed=MEMBERS, limits=limits)
    await node.manager.start()
    silent = []
    try:
        for _ in range(3):
            silent.append(await asyncio.open_connection(*address_of(node)))
            await wait_until(
                lambda: len(node.manager.status()) == min(len(silent), 2), "handshake pending"
            )
        # The third took the oldest one's place at once, long before the deadline.
        third_opened = time.monotonic()
        await read_until_eof(silent[0][0], timeout_s=deadline_s / 2)
        evicted_after_s = time.monotonic() - third_opened
        for reader, _ in silent[1:]:
            await read_until_eof(reader, timeout_s=deadline_s + SLACK_S)
        assert evicted_after_s < deadline_s / 2
        assert time.monotonic() - third_opened < deadline_s + SLACK_S
        await wait_until(lambda: not node.manager.status(), "no handshake left pending")
        assert logged(caplog, "handshake", f"within {deadline_s} s")
    finally:
        for _, writer in silent:
            writer.close()
        await node.manager.close()


async def test_an_authenticated_peer_that_goes_silent_is_closed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="p2p")
    limits = Limits(keepalive_interval_s=0.2, keepalive_missed_max=3)
    node = make_node(1, allowed=MEMBERS, limits=limits)
    await node.manager.start()
    try:
        admitted_at = time.monotonic()
        reader, writer, _ = await rogue_session(node)  # handshakes, then never sends a frame
        await read_until_eof(reader, timeout_s=limits.idle_timeout_s + SLACK_S)
        silent_for_s = time.monotonic() - admitted_at
        assert limits.idle_timeout_s * 0.9 <= silent_for_s < limits.idle_timeout_s + SLACK_S
        await wait_until(lambda: not node.manager.connected(), "the silent peer is gone")
        assert logged(caplog, "disconnected", f"within {limits.idle_timeout_s} s")
        writer.close()
    finally:
        await node.manager.close()


async def test_a_quiet_member_that_sends_keepalives_stays_connected() -> None:
    limits = Limits(keepalive_interval_s=0.2, keepalive_missed_max=3)
    a = make_node(1, allowed=MEMBERS, limits=limits)
    await a.manager.start()
    b = make_node(2, dial=[address_of(a)], allowed=MEMBERS, limits=limits)
    await b.manager.start()
    nodes = [a, b]
    try:
        await wait_for_mesh(nodes)
        (before,) = a.manager.status()
        # Observe for three idle timeouts with no messages: keepalives alone keep it open.
        await asyncio.sleep(3 * limits.idle_timeout_s)
        (after,) = a.manager.status()
        assert after.connected_since == before.connected_since
        assert after.frames_in > before.frames_in
    finally:
        await close_all(nodes)


def test_a_single_missed_keepalive_is_not_fatal() -> None:
    with pytest.raises(ValueError):
        Limits(keepalive_missed_max=1)
