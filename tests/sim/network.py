"""In-memory network with seeded faults: loss, delay, duplication, reordering, partitions."""

import heapq
import random
from dataclasses import dataclass, field

from consensus import ValidatorId


@dataclass(frozen=True)
class NetworkFaults:
    loss: float = 0.0
    duplicate: float = 0.0
    delay_ticks_max: int = 3
    commit_loss: float = 0.0
    """Extra loss for Commit messages only: replicas end up split between having
    committed and merely prepared, the situation view changes must get right."""


@dataclass(order=True)
class Packet:
    due: int
    seq: int
    dest: int = field(compare=False)
    origin: int = field(compare=False)
    source: ValidatorId = field(compare=False)
    data: bytes = field(compare=False)


class Network:
    """Endpoints are node indexes (a twin is a second index with the same validator id)."""

    def __init__(self, rng: random.Random, faults: NetworkFaults) -> None:
        self._rng = rng
        self.faults = faults
        self._queue: list[Packet] = []
        self._seq = 0
        self._group: dict[int, int] = {}  # node -> partition group; empty = fully connected
        self.partition_version = 0  # changes whenever who-reaches-whom changes

    def send(self, now: int, source_node: int, source: ValidatorId, dests: list[int],
             data: bytes, is_commit: bool = False) -> None:
        loss = self.faults.loss + (self.faults.commit_loss if is_commit else 0.0)
        for dest in dests:
            if self._rng.random() < loss:
                continue
            copies = 2 if self._rng.random() < self.faults.duplicate else 1
            for _ in range(copies):
                # Independent delays per copy also reorder messages.
                delay = self._rng.randint(1, self.faults.delay_ticks_max)
                self._seq += 1
                packet = Packet(now + delay, self._seq, dest, source_node, source, data)
                heapq.heappush(self._queue, packet)

    def due(self, now: int) -> list[Packet]:
        packets: list[Packet] = []
        while self._queue and self._queue[0].due <= now:
            packets.append(heapq.heappop(self._queue))
        return packets

    def partition(self, groups: dict[int, int]) -> None:
        self._group = dict(groups)
        self.partition_version += 1

    def heal(self) -> None:
        self._group = {}
        self.partition_version += 1

    def connected(self, a: int, b: int) -> bool:
        return self._group.get(a, 0) == self._group.get(b, 0)

    @property
    def in_flight(self) -> int:
        return len(self._queue)
