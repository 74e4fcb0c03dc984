"""The peer's writer waits on a bare future and a flag (p2p.peer.Peer._wake_writer), not an
asyncio.Event: a wake-up that comes while it is busy writing must not be lost, as an
Event's, set while nobody waits, is not."""

import asyncio
import time
from collections.abc import Callable
from typing import cast

from p2p.connection import SecureConnection
from p2p.peer import Peer
from p2p.policy import KEEPALIVE_CHANNEL, Channel, Direction

KEEPALIVE_S = 1.0
DEADLINE_S = 10.0


class HeldDrains:
    """A connection whose first drain waits until `release`; it records every batch."""

    peer_key = b"k" * 32
    address = ("127.0.0.1", 1)

    def __init__(self) -> None:
        self.batches: list[tuple[float, list[tuple[int, bytes]]]] = []
        self.release = asyncio.Event()
        self.drains = 0

    def write(self, frames: list[tuple[int, bytes]]) -> int:
        self.batches.append((time.monotonic(), list(frames)))
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


async def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} within {DEADLINE_S} s")
        await asyncio.sleep(0.01)


async def test_a_keepalive_falling_due_while_the_writer_drains_leaves_once_it_is_done() -> None:
    connection = HeldDrains()
    channel = Channel(1, "test", 1024, 8)
    peer = Peer(cast(SecureConnection, connection), Direction.OUTBOUND, {1: channel}, 0.0,
                keepalive_interval_s=KEEPALIVE_S, idle_timeout_s=60.0)

    async def deliver(*_: object) -> None:
        return None

    running = asyncio.create_task(peer.run(deliver))
    try:
        await wait_for(lambda: connection.drains == 1, "first drain")
        # The keepalive timer fires while the first batch is still draining.
        await asyncio.sleep(KEEPALIVE_S * 1.3)
        released_at = time.monotonic()
        connection.release.set()
        await wait_for(lambda: len(connection.batches) >= 2, "second batch")
        at, batch = connection.batches[1]
        assert batch == [(KEEPALIVE_CHANNEL, b"")]
        # At once, not at the timer's next turn a whole interval later.
        assert at - released_at < KEEPALIVE_S * 0.6
        assert peer.enqueue(1, b"payload")
        await wait_for(lambda: len(connection.batches) >= 3, "queued message")
        assert connection.batches[2][1] == [(1, b"payload")]
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
