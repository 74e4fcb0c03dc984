"""Throughput over one loopback connection: `python -m tests.p2p.bench_throughput`.

Not collected by pytest (the name does not start with test_). Reports frames/s and
MB/s for 1 KiB and 64 KiB payloads, through the bare SecureConnection and through
two PeerManagers (queues, writer batching, delivery callback).
"""

from __future__ import annotations

import asyncio
import random
import time

from p2p import Channel, PeerManager
from p2p import connection as conn
from p2p.handshake import Identity
from p2p.listener import listen
from p2p.peer import INBOX_BYTES_MAX
from p2p.peers import OnMessage
from tests.p2p.helpers import CHAIN_ID, FAST_LIMITS, LOOPBACK, public_key, seed, wait_until

BULK = Channel(1, "bulk", max_message_bytes=64 * 1024, queue_capacity=4096)
IN_FLIGHT_MAX = 2048
SIZES_TOTAL = [(1024, 64 * 1024 * 1024 // 1024 // 4), (64 * 1024, 4096)]  # (payload, count)


def report(layer: str, size: int, count: int, elapsed_s: float) -> None:
    frames_per_s = count / elapsed_s
    mb_per_s = count * size / elapsed_s / 1e6
    print(f"{layer:10s} {size // 1024:3d} KiB x {count:6d}: "
          f"{frames_per_s:10.0f} frames/s {mb_per_s:8.1f} MB/s")


async def bench_connection(size: int, count: int) -> None:
    params_for = {
        n: conn.HandshakeParams(Identity.from_seed(seed(n)), CHAIN_ID, lambda key: True)
        for n in (1, 2)
    }
    accepted: asyncio.Queue[conn.SecureConnection] = asyncio.Queue(1)

    async def on_incoming(incoming: conn.Incoming) -> None:
        await accepted.put(await incoming.secure(params_for[2]))

    listener = await listen((LOOPBACK, 0), on_incoming)
    sender = await conn.dial(listener.address, params_for[1])
    receiver = await asyncio.wait_for(accepted.get(), 5)
    payload = bytes(size)

    async def produce() -> None:
        batch = 64
        for start in range(0, count, batch):
            sender.write([(1, payload)] * min(batch, count - start))
            await sender.drain()

    started = time.perf_counter()
    producer = asyncio.create_task(produce())
    for _ in range(count):
        await receiver.receive(idle_timeout_s=10)
    elapsed_s = time.perf_counter() - started
    await producer
    report("connection", size, count, elapsed_s)
    await sender.close()
    await receiver.close()
    await listener.close()


async def bench_manager(size: int, count: int) -> None:
    received = 0
    progress = asyncio.Event()

    async def on_message(peer: bytes, channel: int, payload: bytes) -> None:
        nonlocal received
        received += 1
        if received % 256 == 0 or received == count:  # wake the producer in steps
            progress.set()

    async def ignore(peer: bytes, channel: int, payload: bytes) -> None:
        return None

    allowed = {public_key(1), public_key(2)}

    def make(n: int, dial: list[conn.Address], cb: OnMessage) -> PeerManager:
        return PeerManager(
            seed(n), CHAIN_ID, listen=(LOOPBACK, 0), dial=dial, allowed=allowed,
            channels=[BULK], on_message=cb, rng=random.Random(n), limits=FAST_LIMITS,
        )

    receiver = make(2, [], on_message)
    await receiver.start()
    assert receiver.listen_address is not None
    sender = make(1, [receiver.listen_address], ignore)
    await sender.start()
    await wait_until(lambda: public_key(2) in sender.connected(), "connected")
    payload = bytes(size)
    receiver_key = public_key(2)
    in_flight_max = min(IN_FLIGHT_MAX, INBOX_BYTES_MAX // size)  # the receiver never drops
    started = time.perf_counter()
    sent = 0
    while received < count:
        while sent < count and sent - received < in_flight_max:
            if not sender.send(receiver_key, BULK.id, payload):
                break
            sent += 1
        progress.clear()
        await asyncio.wait_for(progress.wait(), 10)
    elapsed_s = time.perf_counter() - started
    report("manager", size, count, elapsed_s)
    await sender.close()
    await receiver.close()


async def main() -> None:
    for size, count in SIZES_TOTAL:
        await bench_connection(size, count)
        await bench_manager(size, count)


if __name__ == "__main__":
    asyncio.run(main())
