"""A tiny driver for hand-written replica scenarios: perfect network under test control."""

import hashlib
from dataclasses import dataclass, field

from consensus import (
    Action,
    BlockExecuted,
    BlockProposed,
    Broadcast,
    CommitBlock,
    Digest,
    Event,
    ExecuteBlock,
    Height,
    MessageReceived,
    Persist,
    ProposeBlock,
    Replica,
    ReplicaConfig,
    Send,
    SignedMessage,
    Tick,
    ValidatorId,
    View,
    decode_signed,
)
from tests.sim.keys import make_signer, validator_ids, verify

CHAIN = b"unit-chain"


def block_for(height: int, view: int, tag: bytes = b"") -> tuple[bytes, Digest]:
    block = b"block-%d-%d-" % (height, view) + tag
    return block, Digest(hashlib.sha256(block).digest())


@dataclass
class Driven:
    """One replica plus what its node recorded."""

    replica: Replica
    config: ReplicaConfig
    persisted: bytes | None = None
    committed: list[CommitBlock] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)


class Cluster:
    """n replicas; messages queue up in `wire` until the test delivers them."""

    def __init__(self, n: int, execute_valid: bool = True) -> None:
        self.ids = validator_ids(n)
        self.execute_valid = execute_valid
        self.clock_ms = 1_700_000_000_000  # the wall clock, set by the test
        self.clock_offsets: dict[ValidatorId, int] = {}  # how far off each replica's clock is
        self.wire: list[tuple[ValidatorId, ValidatorId, bytes]] = []  # (from, to, data)
        self.nodes = {v: self._make(v, 0, None) for v in self.ids}

    def _make(self, me: ValidatorId, committed: int, persisted: bytes | None) -> Driven:
        config = ReplicaConfig(CHAIN, self.ids, me, base_timeout_ticks=10, max_timeout_ticks=80)
        replica = Replica(config, make_signer(me), verify, committed, persisted,
                          clock_ms=lambda: self.clock_ms + self.clock_offsets.get(me, 0))
        return Driven(replica, config, persisted)

    def restart(self, me: ValidatorId) -> None:
        old = self.nodes[me]
        self.nodes[me] = self._make(me, len(old.committed), old.persisted)
        self.nodes[me].committed = old.committed

    def step(self, me: ValidatorId, event: Event) -> list[Action]:
        """Step one replica; returns its actions, including those of the node's answers."""
        node = self.nodes[me]
        start = len(node.actions)
        actions = node.replica.step(event)
        node.actions.extend(actions)
        for action in actions:
            self._perform(me, node, action)
        return node.actions[start:]

    def _perform(self, me: ValidatorId, node: Driven, action: Action) -> None:
        match action:
            case Persist():
                node.persisted = action.data
            case Broadcast():
                self.wire.extend((me, peer, action.data) for peer in self.ids if peer != me)
            case Send():
                self.wire.append((me, action.to, action.data))
            case ProposeBlock():
                block, digest = block_for(action.height, action.view)
                self.step(me, BlockProposed(action.height, action.view, digest, block))
            case ExecuteBlock():
                self.step(me, BlockExecuted(action.height, action.view, action.digest,
                                            self.execute_valid))
            case CommitBlock():
                node.committed.append(action)

    def deliver_all(self, max_messages: int = 10_000, drop_to: set[ValidatorId] | None = None
                    ) -> None:
        for _ in range(max_messages):
            if not self.wire:
                return
            sender, to, data = self.wire.pop(0)
            if drop_to is None or to not in drop_to:
                self.step(to, MessageReceived(sender, data))
        raise AssertionError("messages kept flowing: livelock in a hand-written scenario")

    def deliver_batch(self) -> None:
        """Deliver what is on the wire now; new messages wait for the next batch."""
        batch, self.wire = self.wire, []
        for sender, to, data in batch:
            self.step(to, MessageReceived(sender, data))

    def tick(self, ticks: int, only: list[ValidatorId] | None = None) -> None:
        for _ in range(ticks):
            for me in only or self.ids:
                self.step(me, Tick())

    def primary(self, height: int = 1, view: int = 0) -> ValidatorId:
        return self.ids[(view + height) % len(self.ids)]


def sent(actions: list[Action]) -> list[SignedMessage]:
    out = []
    for action in actions:
        if isinstance(action, Broadcast | Send):
            out.append(decode_signed(action.data))
    return out


__all__ = ["CHAIN", "Cluster", "Driven", "Height", "View", "block_for", "sent"]
