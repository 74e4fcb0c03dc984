"""The P2P layer's own cost of a small message: two peer managers in this process pass
one 300-byte message back and forth over loopback, each sent only when the last has
arrived, as consensus votes go at low load. CPU a round trip is both ends' work on two
messages: queueing, sealing, writing, reading, opening and handing up."""

from __future__ import annotations

import asyncio
import random
import time

from p2p import Channel, PeerManager
from p2p.handshake import Identity
from p2p.peers import OnMessage

ROUND_TRIPS = 5_000
ROUNDS = 3
PAYLOAD_BYTES = 300  # about a signed consensus vote
CONNECT_DEADLINE_S = 10.0
RUN_DEADLINE_S = 120.0
_CHANNEL = Channel(1, "votes", max_message_bytes=64 * 1024, queue_capacity=256)
_CHAIN_ID = b"senim-bench-round-trip"


async def _one_run(round_trips: int) -> float:
    seeds = {side: bytes([side]) * 32 for side in (1, 2)}
    keys = {side: Identity.from_seed(seed).public_key for side, seed in seeds.items()}
    managers: dict[int, PeerManager] = {}
    answered = 0
    done = asyncio.Event()
    payload = bytes(PAYLOAD_BYTES)

    async def at_first(peer: bytes, channel: int, message: bytes) -> None:
        nonlocal answered
        answered += 1
        if answered >= round_trips:
            done.set()
        else:
            managers[1].send(keys[2], _CHANNEL.id, payload)

    async def at_second(peer: bytes, channel: int, message: bytes) -> None:
        managers[2].send(keys[1], _CHANNEL.id, payload)

    def manager(side: int, dial: list[tuple[str, int]], on_message: OnMessage) -> PeerManager:
        return PeerManager(seeds[side], _CHAIN_ID, listen=("127.0.0.1", 0), dial=dial,
                           allowed=set(keys.values()), channels=[_CHANNEL],
                           on_message=on_message,
                           rng=random.Random(side))

    managers[2] = manager(2, [], at_second)
    await managers[2].start()
    assert managers[2].listen_address is not None
    managers[1] = manager(1, [managers[2].listen_address], at_first)
    await managers[1].start()
    try:
        deadline = time.monotonic() + CONNECT_DEADLINE_S
        while keys[2] not in managers[1].connected() or keys[1] not in managers[2].connected():
            if time.monotonic() > deadline:
                raise RuntimeError("the two managers did not connect")
            await asyncio.sleep(0.01)
        cpu_before = time.process_time()
        managers[1].send(keys[2], _CHANNEL.id, payload)
        await asyncio.wait_for(done.wait(), RUN_DEADLINE_S)
        return (time.process_time() - cpu_before) / round_trips
    finally:
        for side in (1, 2):
            await managers[side].close()


def p2p_round_trip(round_trips: int = ROUND_TRIPS, rounds: int = ROUNDS) -> dict[str, float]:
    """The best of `rounds` runs: the least disturbed by the machine's other load."""
    per_trip = min(asyncio.run(_one_run(round_trips)) for _ in range(rounds))
    return {"round_trips": round_trips, "cpu_us_per_round_trip": per_trip * 1e6}
