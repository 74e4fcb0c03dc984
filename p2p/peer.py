"""One authenticated peer: bounded outgoing queues, a reader and a writer task.

Backpressure: the reader awaits the delivery callback before reading the next
frame, so a slow consumer slows that peer's socket (TCP flow control) instead of
growing a buffer. Outgoing messages wait in one bounded queue per channel; a full
queue refuses the message and counts it. The writer takes frames round-robin
across channels (so a busy channel cannot starve the others), seals a batch and
drains once per batch.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from p2p.connection import Address, SecureConnection
from p2p.errors import MalformedFrame, P2PError
from p2p.frames import FRAME_OVERHEAD_BYTES, LENGTH_PREFIX_BYTES, Frame
from p2p.policy import KEEPALIVE_CHANNEL, Channel, Direction

WRITE_BATCH_FRAMES_MAX = 64
WRITE_BATCH_BYTES_MAX = 1024 * 1024


@dataclass(frozen=True)
class PeerStatus:
    """A snapshot of one connection, for operators and metrics."""

    public_key: bytes | None  # None while the handshake is still running
    address: Address
    direction: Direction
    authenticated: bool
    connected_since: float
    frames_in: int = 0
    bytes_in: int = 0
    frames_out: int = 0
    bytes_out: int = 0
    dropped: int = 0


class Peer:
    """A live, authenticated connection and its outgoing queues."""

    def __init__(
        self,
        connection: SecureConnection,
        direction: Direction,
        channels: Mapping[int, Channel],
        connected_since: float,
        *,
        keepalive_interval_s: float,
        idle_timeout_s: float,
    ) -> None:
        self.connection = connection
        self.key = connection.peer_key
        self.address = connection.address
        self.direction = direction
        self.connected_since = connected_since
        self.closed = asyncio.Event()
        self._channels = channels
        self._queues: dict[int, deque[bytes]] = {cid: deque() for cid in channels}
        self._wake = asyncio.Event()
        self._keepalive_interval_s = keepalive_interval_s
        self._idle_timeout_s = idle_timeout_s
        self.frames_in = self.bytes_in = self.frames_out = self.bytes_out = 0
        self.dropped = 0

    def enqueue(self, channel_id: int, payload: bytes) -> bool:
        """Queue a message without waiting; False (and counted) if the queue is full."""
        queue = self._queues[channel_id]
        if self.closed.is_set() or len(queue) >= self._channels[channel_id].queue_capacity:
            self.dropped += 1
            return False
        queue.append(payload)
        self._wake.set()
        return True

    def status(self) -> PeerStatus:
        return PeerStatus(
            public_key=self.key,
            address=self.address,
            direction=self.direction,
            authenticated=True,
            connected_since=self.connected_since,
            frames_in=self.frames_in,
            bytes_in=self.bytes_in,
            frames_out=self.frames_out,
            bytes_out=self.bytes_out,
            dropped=self.dropped,
        )

    async def run(self, deliver: Callable[[Peer, Frame], Awaitable[None]]) -> P2PError:
        """Pump frames both ways until either direction fails; returns why it ended.

        The connection is closed on return and on cancellation.
        """
        reader = asyncio.create_task(self._read_loop(deliver))
        writer = asyncio.create_task(self._write_loop())
        try:
            done, _ = await asyncio.wait((reader, writer), return_when=asyncio.FIRST_COMPLETED)
            failure = next(iter(done)).exception()
            if isinstance(failure, P2PError):
                return failure
            if failure is not None:
                raise failure
            raise AssertionError("peer loops only end by raising")
        finally:
            self.closed.set()
            for task in (reader, writer):
                task.cancel()
            for task in (reader, writer):
                with contextlib.suppress(BaseException):
                    await task
            await self.connection.close()

    async def _read_loop(self, deliver: Callable[[Peer, Frame], Awaitable[None]]) -> None:
        while True:
            frame = await self.connection.receive(self._idle_timeout_s)
            self.frames_in += 1
            self.bytes_in += LENGTH_PREFIX_BYTES + FRAME_OVERHEAD_BYTES + len(frame.payload)
            self._check_frame(frame)
            if frame.channel != KEEPALIVE_CHANNEL:
                await deliver(self, frame)

    def _check_frame(self, frame: Frame) -> None:
        if frame.channel == KEEPALIVE_CHANNEL:
            if frame.payload:
                raise MalformedFrame("keepalive frame carries a payload")
            return
        channel = self._channels.get(frame.channel)
        if channel is None:
            raise MalformedFrame(f"frame on undeclared channel {frame.channel}")
        if len(frame.payload) > channel.max_message_bytes:
            raise MalformedFrame(
                f"{len(frame.payload)}-byte message on channel {channel.name} exceeds "
                f"its maximum {channel.max_message_bytes}"
            )

    async def _write_loop(self) -> None:
        # Open with a keepalive: it tells the peer's dialler we accepted it.
        batch: list[tuple[int, bytes]] = [(KEEPALIVE_CHANNEL, b"")]
        while True:
            self.bytes_out += self.connection.write(batch)
            self.frames_out += len(batch)
            await self.connection.drain()
            batch = self._take_batch()
            while not batch:  # each turn awaits new work or the keepalive interval
                woken = await self._wait_for_work()
                batch = self._take_batch() if woken else [(KEEPALIVE_CHANNEL, b"")]

    async def _wait_for_work(self) -> bool:
        """Wait for queued messages; False if the keepalive interval passed first."""
        try:
            async with asyncio.timeout(self._keepalive_interval_s):
                await self._wake.wait()
        except TimeoutError:
            return False
        self._wake.clear()
        return True

    def _take_batch(self) -> list[tuple[int, bytes]]:
        batch: list[tuple[int, bytes]] = []
        batch_bytes = 0
        while len(batch) < WRITE_BATCH_FRAMES_MAX and batch_bytes < WRITE_BATCH_BYTES_MAX:
            took = False
            for channel_id, queue in self._queues.items():
                if queue:
                    payload = queue.popleft()
                    batch.append((channel_id, payload))
                    batch_bytes += len(payload)
                    took = True
            if not took:
                break
        return batch
