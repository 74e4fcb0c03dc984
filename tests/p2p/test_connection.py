"""The asyncio stream layer over a real loopback socket pair."""

from __future__ import annotations

import asyncio
import contextlib
import struct
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from p2p import connection as conn
from p2p.errors import (
    ConnectionClosed,
    FrameTooLarge,
    HandshakeFailed,
    PeerNotAllowed,
    PeerTimeout,
)
from p2p.frames import Frame
from p2p.handshake import Identity, Role
from tests.p2p.helpers import CHAIN_ID, LOOPBACK, seed

pytestmark = pytest.mark.timeout(30)

ALICE, BOB = Identity.from_seed(seed(1)), Identity.from_seed(seed(2))
MAX_FRAME_BYTES = 64 * 1024


@dataclass
class RawPair:
    """Two raw stream ends connected over loopback."""

    client: tuple[asyncio.StreamReader, asyncio.StreamWriter]
    server: tuple[asyncio.StreamReader, asyncio.StreamWriter]


@pytest.fixture
async def raw_pair() -> AsyncIterator[RawPair]:
    accepted: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue(1)

    async def on_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await accepted.put((reader, writer))

    server = await asyncio.start_server(on_client, LOOPBACK, 0)
    port = server.sockets[0].getsockname()[1]
    client = await asyncio.open_connection(LOOPBACK, port)
    async with asyncio.timeout(5):
        server_side = await accepted.get()
    yield RawPair(client, server_side)
    for _, writer in (client, server_side):
        await conn.close_writer(writer)
    server.close()


async def secure_both(
    pair: RawPair, *, server_allows: bytes = ALICE.public_key, timeout_s: float = 2.0
) -> tuple[conn.SecureConnection, conn.SecureConnection]:
    def secure(
        ends: tuple[asyncio.StreamReader, asyncio.StreamWriter],
        me: Identity,
        role: Role,
        allowed: bytes,
    ) -> asyncio.Task[conn.SecureConnection]:
        return asyncio.ensure_future(
            conn.secure_connection(
                *ends,
                identity=me,
                chain_id=CHAIN_ID,
                role=role,
                is_allowed=lambda key: key == allowed,
                handshake_timeout_s=timeout_s,
                max_frame_bytes=MAX_FRAME_BYTES,
                io_timeout_s=timeout_s,
            )
        )

    client = secure(pair.client, ALICE, Role.INITIATOR, BOB.public_key)
    server = secure(pair.server, BOB, Role.RESPONDER, server_allows)
    return await client, await server


async def test_frames_flow_both_ways(raw_pair: RawPair) -> None:
    client, server = await secure_both(raw_pair)
    assert client.peer_key == BOB.public_key and server.peer_key == ALICE.public_key
    client.write([(1, b"ping")])
    await client.drain()
    assert await server.receive(idle_timeout_s=2) == Frame(1, b"ping")
    server.write([(2, b"a"), (3, bytes(60_000))])
    await server.drain()
    assert await client.receive(2) == Frame(2, b"a")
    assert await client.receive(2) == Frame(3, bytes(60_000))


async def test_oversized_prefix_refused_without_waiting_for_the_body(raw_pair: RawPair) -> None:
    _, server = await secure_both(raw_pair)
    _, client_writer = raw_pair.client
    client_writer.write(struct.pack(">I", MAX_FRAME_BYTES + 1))  # the prefix, no body ever
    await client_writer.drain()
    # The body deadline is 2 s; refusing within 0.5 s shows the body was never awaited.
    with pytest.raises(FrameTooLarge):
        async with asyncio.timeout(0.5):
            await server.receive(idle_timeout_s=2)


async def test_idle_and_truncated_reads_time_out(raw_pair: RawPair) -> None:
    _, server = await secure_both(raw_pair, timeout_s=0.2)
    with pytest.raises(PeerTimeout):
        await server.receive(idle_timeout_s=0.05)
    _, client_writer = raw_pair.client
    client_writer.write(struct.pack(">I", 100) + bytes(10))  # a body that never completes
    with pytest.raises(PeerTimeout):
        await server.receive(idle_timeout_s=2)


async def test_a_body_deadline_shorter_than_the_idle_one_is_kept(raw_pair: RawPair) -> None:
    """One timer keeps a connection's read deadlines (p2p.read_deadline): armed for the
    idle wait, it must come forward when a frame begins and its body has less time."""
    _, server = await secure_both(raw_pair, timeout_s=0.2)
    _, client_writer = raw_pair.client
    receiving = asyncio.ensure_future(server.receive(idle_timeout_s=20))
    await asyncio.sleep(0.05)  # the idle wait has begun, its timer 20 s away
    client_writer.write(struct.pack(">I", 100) + bytes(10))  # a body that never completes
    started = asyncio.get_running_loop().time()
    with pytest.raises(PeerTimeout, match=r"14 bytes of a frame and not the rest within 0\.2 s"):
        async with asyncio.timeout(5):
            await receiving
    assert asyncio.get_running_loop().time() - started < 2


async def test_a_frame_trickled_in_a_byte_at_a_time_still_times_out(raw_pair: RawPair) -> None:
    """The deadline of a frame runs from its first byte: each byte arriving in time for
    the read it wakes does not give the rest of the frame a new deadline."""
    _, server = await secure_both(raw_pair, timeout_s=0.3)
    _, client_writer = raw_pair.client
    receiving = asyncio.ensure_future(server.receive(idle_timeout_s=20))
    started = asyncio.get_running_loop().time()
    try:
        for byte in struct.pack(">I", 40) + bytes(40):  # a whole frame would take 6.6 s
            client_writer.write(bytes([byte]))
            await asyncio.sleep(0.15)
            if receiving.done():
                break
        with pytest.raises(PeerTimeout, match=r"not the rest within 0\.3 s"):
            await receiving
        assert asyncio.get_running_loop().time() - started < 2
    finally:
        receiving.cancel()


async def test_a_deadline_passed_between_reads_ends_nothing(raw_pair: RawPair) -> None:
    """A timer left from a read that ended in time fires later and must not cancel the
    next read, nor a task that only awaits something else."""
    client, server = await secure_both(raw_pair)
    client.write([(1, b"first")])
    await client.drain()
    assert await server.receive(idle_timeout_s=0.1) == Frame(1, b"first")
    await asyncio.sleep(0.3)  # the 0.1 s deadline's timer fires with no read waiting
    client.write([(2, b"second")])
    await client.drain()
    assert await server.receive(idle_timeout_s=2) == Frame(2, b"second")


async def test_cancelling_a_receive_is_not_a_timeout(raw_pair: RawPair) -> None:
    _, server = await secure_both(raw_pair)
    receiving = asyncio.ensure_future(server.receive(idle_timeout_s=0.2))
    await asyncio.sleep(0.05)
    receiving.cancel()
    with pytest.raises(asyncio.CancelledError):
        await receiving
    with pytest.raises(PeerTimeout):  # the connection's next read still keeps its deadline
        await server.receive(idle_timeout_s=0.1)


async def test_an_owner_cancelling_as_the_deadline_passes_is_a_cancellation(
        raw_pair: RawPair) -> None:
    """Both land before the reading task runs again (the loop held past both): the
    cancellation is the owner's, and must not come out as a timeout."""
    _, server = await secure_both(raw_pair)
    loop = asyncio.get_running_loop()
    receiving = asyncio.ensure_future(server.receive(idle_timeout_s=0.1))
    await asyncio.sleep(0)  # the read has begun, its deadline 0.1 s away
    loop.call_later(0.05, time.sleep, 0.3)  # holds the loop until both are due
    loop.call_later(0.11, receiving.cancel)  # runs just after the deadline's timer
    with pytest.raises(asyncio.CancelledError):
        await receiving


async def test_a_deadline_in_a_task_that_kept_an_earlier_cancellation_is_a_timeout(
        raw_pair: RawPair) -> None:
    """A task may catch a cancellation and go on without uncancelling it: a deadline
    passing later in that task is still a timeout."""
    _, server = await secure_both(raw_pair)

    async def cancelled_once_then_reading() -> Frame:
        task = asyncio.current_task()
        assert task is not None
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(1)
        assert task.cancelling() == 1
        return await server.receive(idle_timeout_s=0.1)

    with pytest.raises(PeerTimeout, match=r"sent nothing within 0\.1 s"):
        await asyncio.ensure_future(cancelled_once_then_reading())


async def test_a_peer_that_reads_nothing_times_out_the_drain(raw_pair: RawPair) -> None:
    client, _ = await secure_both(raw_pair, timeout_s=0.2)
    payload = bytes(60_000)
    with pytest.raises(PeerTimeout, match=r"did not accept data within 0\.2 s"):
        for _ in range(400):  # 24 MB: more than the kernel's buffers on a loopback socket
            client.write([(1, payload)])
            await client.drain()


async def test_frames_read_together_come_out_one_by_one_in_order(raw_pair: RawPair) -> None:
    client, server = await secure_both(raw_pair)
    sent = [(1 + n % 3, bytes([n]) * (n * 997 % 70_000 // 2 + 1)) for n in range(40)]
    for n in range(0, len(sent), 8):
        client.write(sent[n:n + 8])
    await client.drain()
    got: list[Frame] = []
    while len(got) < len(sent):
        got += await server.receive_some(idle_timeout_s=2)
    assert got == [Frame(channel, payload) for channel, payload in sent]


async def test_peer_closing_mid_stream_is_connection_closed(raw_pair: RawPair) -> None:
    client, server = await secure_both(raw_pair)
    await client.close()
    with pytest.raises(ConnectionClosed):
        await server.receive(idle_timeout_s=2)


async def test_silent_peer_fails_the_handshake_deadline(raw_pair: RawPair) -> None:
    with pytest.raises(PeerTimeout):
        await conn.secure_connection(
            *raw_pair.server,
            identity=BOB,
            chain_id=CHAIN_ID,
            role=Role.RESPONDER,
            is_allowed=lambda key: True,
            handshake_timeout_s=0.1,
        )


async def test_garbage_instead_of_hello_fails_the_handshake(raw_pair: RawPair) -> None:
    _, client_writer = raw_pair.client
    client_writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" + bytes(64))
    with pytest.raises(HandshakeFailed, match="magic"):
        await conn.secure_connection(
            *raw_pair.server,
            identity=BOB,
            chain_id=CHAIN_ID,
            role=Role.RESPONDER,
            is_allowed=lambda key: True,
        )


async def test_unknown_key_refused_before_any_frame(raw_pair: RawPair) -> None:
    with pytest.raises(PeerNotAllowed):
        await secure_both(raw_pair, server_allows=b"someone else")
