"""One authenticated peer: bounded queues per channel both ways, and their tasks.

Incoming: the reader never waits for a handler. It puts each message in its
channel's bounded inbox, and one consumer task per channel awaits the handler,
so a slow handler on one channel (transaction checks, sync) delays only that
channel; a full inbox drops the new message and counts it for that channel.
Outgoing messages wait in one bounded queue per channel; a full queue refuses
the message and counts it. The writer takes frames round-robin across channels
(so a busy channel cannot starve the others), seals a batch and drains once per
batch.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from p2p.connection import Address, SecureConnection
from p2p.errors import MalformedFrame, P2PError
from p2p.frames import FRAME_OVERHEAD_BYTES, LENGTH_PREFIX_BYTES, Frame
from p2p.policy import KEEPALIVE_CHANNEL, Channel, Direction

WRITE_BATCH_FRAMES_MAX = 64
WRITE_BATCH_BYTES_MAX = 1024 * 1024
# Per peer and channel: bytes of received messages waiting for their handler. One
# message always fits, whatever its size, so a channel's largest message is never refused.
INBOX_BYTES_MAX = 32 * 1024 * 1024
# How long a peer no longer allowed is given to take what was queued for it before the
# drop (`Peer.leave`): the block that dropped it, a few MiB at most. A peer reading
# slowly, or not at all, is closed when it runs out.
LEAVING_WRITE_S = 5.0
Deliver = Callable[["Peer", Frame], Awaitable[None]]


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
    dropped: int = 0  # outgoing messages refused because their queue was full
    # Per channel id: received messages dropped because that channel's inbox was full.
    inbound_dropped: Mapping[int, int] = field(default_factory=dict)


class _Inbox:
    """Received messages of one channel waiting for its handler; bounded in count and bytes."""

    def __init__(self, capacity: int, bytes_max: int) -> None:
        self._capacity = capacity
        self._bytes_max = bytes_max
        self._messages: deque[bytes] = deque()
        self._bytes = 0
        # The consumer's wait while the inbox is empty. A bare future, not an
        # asyncio.Event: its set, clear and wait were four calls a message.
        self._waiter: asyncio.Future[None] | None = None
        self.dropped = 0

    def offer(self, payload: bytes) -> bool:
        """Queue without waiting; False (and counted) if the inbox is full."""
        full = len(self._messages) >= self._capacity or (
            self._messages and self._bytes + len(payload) > self._bytes_max
        )
        if full:
            self.dropped += 1
            return False
        self._messages.append(payload)
        self._bytes += len(payload)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        return True

    async def take(self) -> bytes:
        while not self._messages:
            self._waiter = asyncio.get_running_loop().create_future()
            await self._waiter
        payload = self._messages.popleft()
        self._bytes -= len(payload)
        return payload


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
        self._inboxes = {
            cid: _Inbox(channel.queue_capacity, INBOX_BYTES_MAX)
            for cid, channel in channels.items()
        }
        # The writer's wait for work or a keepalive: a bare future and a flag, as the
        # inbox's (`_Inbox._waiter`), which an asyncio.Event made three calls more a frame.
        self._wake_waiter: asyncio.Future[None] | None = None
        self._woken = False
        self._keepalive_interval_s = keepalive_interval_s
        self._keepalive_timer: asyncio.TimerHandle | None = None
        self._keepalive_wanted = False
        self._written_at = 0.0  # the loop's time of the last batch written
        self._idle_timeout_s = idle_timeout_s
        self.frames_in = self.bytes_in = self.frames_out = self.bytes_out = 0
        # `frames_in` when a new connection for this key last found this one open
        # (PeerManager counts it as a sign of two nodes only if it has spoken since).
        self.frames_in_at_conflict: int | None = None
        self.dropped = 0
        self.leaving = False  # `leave`: nothing more is taken from it or queued for it
        self._written_all = asyncio.Event()  # every queued frame written and drained

    def leave(self) -> Awaitable[None]:
        """Drop this peer once what was queued for it so far is written (at most
        LEAVING_WRITE_S): nothing it sends from now on is delivered, nothing new is queued.

        A node dropped because a block changed who may connect (its member rotated its
        key, say) has that block's announcement queued for it just before the drop
        (`node.engine`); a plain close discarded what was still queued, so it never learnt
        of the block, nor so of why its peers left (a rotation sent through it read
        "pending" for good). What it takes here was queued while it was still allowed."""
        self.leaving = True  # at once: the caller may send or deliver next
        return self._close_when_written()

    async def _close_when_written(self) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(LEAVING_WRITE_S):
                await self._written_all.wait()
        await self.connection.close()

    def enqueue(self, channel_id: int, payload: bytes) -> bool:
        """Queue a message without waiting; False if the queue is full (counted in
        `dropped`) or the peer is closed or being dropped (not counted: that is no
        sign of a slow reader)."""
        if self.closed.is_set() or self.leaving:
            return False
        queue = self._queues[channel_id]
        if len(queue) >= self._channels[channel_id].queue_capacity:
            self.dropped += 1
            return False
        queue.append(payload)
        self._written_all.clear()
        self._wake_writer()
        return True

    def _wake_writer(self) -> None:
        self._woken = True
        waiter = self._wake_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

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
            inbound_dropped={cid: inbox.dropped for cid, inbox in self._inboxes.items()},
        )

    async def run(self, deliver: Deliver) -> P2PError:
        """Pump frames both ways until either direction fails; returns why it ended.

        The connection is closed on return and on cancellation. `deliver` must not
        raise: a consumer that fails ends the connection with that exception.
        """
        consumers = [
            asyncio.create_task(self._consume(channel_id, inbox, deliver))
            for channel_id, inbox in self._inboxes.items()
        ]
        tasks = [asyncio.create_task(self._read_loop()), asyncio.create_task(self._write_loop())]
        tasks += consumers
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            failure = next(iter(done)).exception()
            if isinstance(failure, P2PError):
                return failure
            if failure is not None:
                raise failure
            raise AssertionError("peer loops only end by raising")
        finally:
            self.closed.set()
            self._written_all.set()  # nothing more is written: a `leave` waits no longer
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(BaseException):
                    await task
            await self.connection.close()

    async def _read_loop(self) -> None:
        while True:
            for frame in await self.connection.receive_some(self._idle_timeout_s):
                self.frames_in += 1
                self.bytes_in += LENGTH_PREFIX_BYTES + FRAME_OVERHEAD_BYTES + len(frame.payload)
                self._check_frame(frame)
                if frame.channel != KEEPALIVE_CHANNEL:
                    self._inboxes[frame.channel].offer(frame.payload)

    async def _consume(self, channel_id: int, inbox: _Inbox, deliver: Deliver) -> None:
        while True:
            payload = await inbox.take()
            if not self.leaving:  # a peer being dropped is heard no more
                await deliver(self, Frame(channel_id, payload))

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
        loop = asyncio.get_running_loop()
        self._keepalive_timer = loop.call_later(self._keepalive_interval_s,
                                                self._keepalive_due, loop)
        try:
            # Open with a keepalive: it tells the peer's dialler we accepted it.
            batch: list[tuple[int, bytes]] = [(KEEPALIVE_CHANNEL, b"")]
            while True:
                self.bytes_out += self.connection.write(batch)
                self.frames_out += len(batch)
                self._written_at = loop.time()
                await self.connection.drain()
                batch = self._take_batch()
                while not batch:  # each turn awaits new work or a keepalive falling due
                    self._written_all.set()
                    if not self._woken:
                        self._wake_waiter = loop.create_future()
                        await self._wake_waiter
                    self._woken = False
                    batch = self._take_batch()
                    if not batch and self._keepalive_wanted:
                        batch = [(KEEPALIVE_CHANNEL, b"")]
                self._keepalive_wanted = False
        finally:
            if self._keepalive_timer is not None:
                self._keepalive_timer.cancel()

    def _keepalive_due(self, loop: asyncio.AbstractEventLoop) -> None:
        """A keepalive is wanted once nothing was written for its interval. One timer a
        peer, moved when it fires rather than armed and cancelled at every write."""
        quiet_s = loop.time() - self._written_at
        if quiet_s >= self._keepalive_interval_s:
            self._keepalive_wanted = True
            self._wake_writer()
            quiet_s = 0.0
        self._keepalive_timer = loop.call_later(self._keepalive_interval_s - quiet_s,
                                                self._keepalive_due, loop)

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
