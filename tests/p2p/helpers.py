"""Shared helpers for live p2p tests: deadlines, keys, managers on 127.0.0.1."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from p2p import Channel, Limits, PeerManager
from p2p.handshake import Identity

CHAIN_ID = b"senim-p2p-test"
LOOPBACK = "127.0.0.1"
CONSENSUS = Channel(1, "consensus", max_message_bytes=64 * 1024, queue_capacity=256)
TXS = Channel(2, "txs", max_message_bytes=16 * 1024, queue_capacity=256)
TINY_QUEUE = Channel(3, "tiny", max_message_bytes=1024, queue_capacity=2)
CHANNELS = (CONSENSUS, TXS, TINY_QUEUE)
FAST_LIMITS = Limits(
    io_timeout_s=2.0,
    keepalive_interval_s=0.5,
    keepalive_missed_max=10,
    backoff_base_s=0.05,
    backoff_cap_s=0.5,
)
DEADLINE_S = 10.0


def seed(n: int) -> bytes:
    return bytes([n]) * 32


def public_key(n: int) -> bytes:
    return Identity.from_seed(seed(n)).public_key


async def wait_until(
    condition: Callable[[], bool], what: str, timeout_s: float = DEADLINE_S
) -> None:
    """Poll `condition` until true; fail with `what` when the deadline passes."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for: {what}")
        await asyncio.sleep(0.01)


@dataclass
class Node:
    """A PeerManager plus everything it delivered."""

    number: int
    manager: PeerManager
    received: list[tuple[bytes, int, bytes]] = field(default_factory=list)

    @property
    def key(self) -> bytes:
        return self.manager.public_key

    def payloads(self, channel: int) -> list[bytes]:
        return [payload for _, ch, payload in self.received if ch == channel]


def make_node(
    number: int,
    *,
    dial: Sequence[tuple[str, int]] = (),
    allowed: set[bytes],
    listen_port: int = 0,
    limits: Limits = FAST_LIMITS,
    hold: Mapping[int, asyncio.Event] | None = None,
    describe: Callable[[bytes], str] | None = None,
) -> Node:
    """A node on 127.0.0.1; its handler for a channel in `hold` waits for that event first."""
    holder: list[Node] = []

    async def on_message(peer: bytes, channel: int, payload: bytes) -> None:
        node = holder[0]
        if hold and channel in hold:
            await hold[channel].wait()
        node.received.append((peer, channel, payload))

    manager = PeerManager(
        seed(number),
        CHAIN_ID,
        listen=(LOOPBACK, listen_port),
        dial=list(dial),
        allowed=allowed,
        channels=CHANNELS,
        on_message=on_message,
        rng=random.Random(number),
        limits=limits,
        describe=describe,
    )
    holder.append(Node(number, manager))
    return holder[0]


def address_of(node: Node) -> tuple[str, int]:
    address = node.manager.listen_address
    assert address is not None
    return address


async def start_mesh(numbers: Sequence[int], allowed: set[bytes]) -> list[Node]:
    """Start nodes one by one, each dialling all earlier ones; wait for a full mesh."""
    nodes: list[Node] = []
    for number in numbers:
        node = make_node(
            number, dial=[address_of(n) for n in nodes], allowed=allowed
        )
        await node.manager.start()
        nodes.append(node)
    await wait_for_mesh(nodes)
    return nodes


async def wait_for_mesh(nodes: Sequence[Node]) -> None:
    keys = {n.key for n in nodes}
    await wait_until(
        lambda: all(n.manager.connected() == keys - {n.key} for n in nodes),
        "every node connected to every other",
    )


async def close_all(nodes: Sequence[Node]) -> None:
    await asyncio.gather(*(n.manager.close() for n in nodes))


async def read_until_eof(reader: asyncio.StreamReader, timeout_s: float = DEADLINE_S) -> None:
    """Consume whatever the other side still sends until it closes; fail at the deadline."""
    async with asyncio.timeout(timeout_s):
        for _ in range(1_000_000):  # bounded: each turn reads at least one byte or ends
            if not await reader.read(65536):
                return
    raise AssertionError("peer kept sending without ever closing")
