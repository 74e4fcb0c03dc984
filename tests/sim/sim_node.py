"""One node of the node simulator: a real engine over a store that can die at any write,
sending through an outbox that can die between two frames."""

import random
from dataclasses import dataclass, field
from functools import cached_property

from consensus import ReportEvidence, ValidatorId
from ledger.identity import KeyPair
from node.channels import CH_TXS
from node.engine import Engine
from node.engine_types import CommitReport, Refusals
from storage.kv import MemoryStore
from tests.sim.node_byzantine import ByzantineNode

CRASH_PER_IO = 0.0015  # chance that a store write or frame send is where a node dies


class SimulatedCrash(Exception):
    """Raised inside a node's IO: the process dies there, memory lost, store kept."""


class CrashingStore(MemoryStore):
    """The node's disk. A write either happens whole or the node dies just before it; a
    write not synced (LevelDB's `sync=False`: in the OS, not yet on the disk) survives
    the process being killed but not a power cut, unless a synced write came after it
    (`storage.kv.LevelDBStore` makes it so: LevelDB alone syncs only its newest log
    file, and unsynced writes before it may be in an older one). A power cut keeps
    some first ones of the unsynced writes, in order: LevelDB's log is appended to."""

    def __init__(self) -> None:
        super().__init__()
        self.crash: SimNode | None = None
        # for each write since the last synced one, in order: what its keys held before
        self._undo: list[dict[bytes, bytes | None]] = []

    @property
    def unsynced_writes(self) -> int:
        return len(self._undo)

    def write(self, puts: dict[bytes, bytes | None], sync: bool = True) -> None:
        if self.crash is not None:
            self.crash.maybe_crash()
        if sync:
            self._undo.clear()
        else:
            self._undo.append({key: self.get(key) for key in puts})
        super().write(puts, sync)

    def cut_power(self, kept: int = 0) -> None:
        """Lose the writes made since the last synced one, but for the first `kept`."""
        for before in reversed(self._undo[kept:]):
            super().write(before)
        self._undo.clear()


@dataclass
class SimNode:
    index: int
    keys: KeyPair
    honest: bool
    rng: random.Random
    store: CrashingStore = field(default_factory=CrashingStore)
    engine: Engine | None = None
    byzantine: ByzantineNode | None = None
    incarnation: int = 0
    down_until: int = 0
    crashes_enabled: bool = False
    outgoing: list[tuple[bytes, int, bytes]] = field(default_factory=list)
    committed: list[CommitReport] = field(default_factory=list)
    found_evidence: list[ReportEvidence] = field(default_factory=list)
    # (peer key, answer) taken for the engine when it looked (tests.sim.answer_ahead)
    answers_ahead: list[tuple[bytes, bytes]] = field(default_factory=list)

    @cached_property  # a tagged hash of the key, asked for on every frame sent
    def validator(self) -> ValidatorId:
        return ValidatorId(self.keys.member_id)

    @property
    def up(self) -> bool:
        return self.engine is not None

    def stop(self) -> None:
        self.found_evidence.clear()  # not yet handed to the event loop: lost with it
        self.answers_ahead.clear()  # its inbox, lost with it too
        self.engine = None

    def maybe_crash(self) -> None:
        if self.crashes_enabled and self.honest and self.rng.random() < CRASH_PER_IO:
            raise SimulatedCrash

    # Outbox: frames go out at once (a crash can fall between two of them). Transaction
    # frames are dropped by the simulation (it hands every transaction to every node),
    # so they are no crash points either: forwarding leaves every seed's run as it was.
    def send(self, peer_key: bytes, channel: int, payload: bytes) -> None:
        if channel != CH_TXS:
            self.maybe_crash()
        self.outgoing.append((peer_key, channel, payload))

    def committed_block(self, report: CommitReport) -> None:
        self.committed.append(report)

    def refused(self, refusals: Refusals) -> None:
        del refusals


class Outbox:
    def __init__(self, node: SimNode) -> None:
        self._node = node

    def send(self, peer_key: bytes, channel: int, payload: bytes) -> None:
        self._node.send(peer_key, channel, payload)

    def committed(self, report: CommitReport) -> None:
        self._node.committed_block(report)

    def refused(self, refusals: Refusals) -> None:
        self._node.refused(refusals)
