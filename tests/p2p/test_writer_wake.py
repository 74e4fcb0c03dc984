"""The peer's writer waits on a bare future and a flag (p2p.peer.Peer._wake_writer), not an
asyncio.Event: a wake-up that comes while it is busy writing must not be lost, as an
Event's, set while nobody waits, is not.

No wall-clock margin: the test counts the keepalive timer's turns. A held drain is let go
from within the turn that wants a keepalive, so the writer, woken while busy, must write
that keepalive before the timer's next turn; a writer that lost the wake-up writes it only
when that next turn wakes it again, which the count shows whatever the machine's load."""

import asyncio
import time
from collections.abc import Callable
from typing import cast

from p2p.connection import SecureConnection
from p2p.peer import Peer
from p2p.policy import KEEPALIVE_CHANNEL, Channel, Direction

KEEPALIVE_S = 0.2
DEADLINE_S = 30.0


class HeldDrains:
    """A connection whose first drain waits until `release`; it records every batch with
    how many keepalive-wanting timer turns had passed when it was written."""

    peer_key = b"k" * 32
    address = ("127.0.0.1", 1)

    def __init__(self) -> None:
        self.batches: list[tuple[int, list[tuple[int, bytes]]]] = []
        self.release = asyncio.Event()
        self.drains = 0
        self.keepalive_turns = 0

    def write(self, frames: list[tuple[int, bytes]]) -> int:
        self.batches.append((self.keepalive_turns, list(frames)))
        return sum(len(payload) for _, payload in frames)

    async def drain(self) -> None:
        self.drains += 1
        if self.drains == 1:
            await self.release.wait()

    async def receive_some(self, idle_timeout_s: float | None = None) -> list[object]:
        await asyncio.Event().wait()  # nothing ever arrives
        return []

    async def close(self) -> None:
        return None


class CountingPeer(Peer):
    """A peer whose keepalive timer counts on its connection each turn that wants a
    keepalive, and lets the connection's held drain go in that turn."""

    def _keepalive_due(self, loop: asyncio.AbstractEventLoop) -> None:
        super()._keepalive_due(loop)
        if self._keepalive_wanted:
            held = cast(HeldDrains, self.connection)
            held.keepalive_turns += 1
            held.release.set()


async def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} within {DEADLINE_S} s")
        await asyncio.sleep(0.01)


async def test_a_keepalive_falling_due_while_the_writer_drains_leaves_once_it_is_done() -> None:
    connection = HeldDrains()
    channel = Channel(1, "test", 1024, 8)
    peer = CountingPeer(cast(SecureConnection, connection), Direction.OUTBOUND, {1: channel},
                        0.0, keepalive_interval_s=KEEPALIVE_S, idle_timeout_s=60.0)

    async def deliver(*_: object) -> None:
        return None

    running = asyncio.create_task(peer.run(deliver))
    try:
        await wait_for(lambda: len(connection.batches) >= 2, "second batch")
        assert connection.batches[0] == (0, [(KEEPALIVE_CHANNEL, b"")])  # the opening one
        # Written in the turn that wanted it, not at the timer's next turn.
        assert connection.batches[1] == (1, [(KEEPALIVE_CHANNEL, b"")])
        assert peer.enqueue(1, b"payload")
        await wait_for(lambda: len(connection.batches) >= 3, "queued message")
        assert connection.batches[2][1] == [(1, b"payload")]
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
