"""What executing blocks yields before it is committed: one block's `Execution`, and a
`ChainRun` of certified blocks executed in turn on one overlay (block sync), each
committed by `ledger.chain.Chain`."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field

from ledger.blocks import Block, Header
from ledger.errors import TxRejected
from ledger.rules_version import RULES_VERSION_KEY, rules_version_at
from ledger.transactions import Transaction
from ledger.validator_sets import VALIDATOR_SET_INDEX_KEY
from storage.state_tree import StateOverlay, StateTree

# Blocks one ChainRun may hold: its overlay keeps every state value and tree node the
# run writes until the run commits (a sync answer holds at most 64 blocks anyway).
CHAIN_RUN_BLOCKS_MAX = 64


@dataclass
class ChainRun:
    """Certified blocks executed in turn on one overlay, to be committed in one batch
    (`Chain.commit_run`): catch-up by sync writes the state tree's nodes and the
    store once per run instead of once per block. Each block is checked as alone
    (`Chain.validate`) but for its state root: only the last block's is checked, when
    the run commits. The caller commits a run only once a quorum's certificate of its
    last block vouches for the headers before it, state roots included (an honest
    validator signs a block only on top of its own committed parent, whose state root
    it checked: node.engine_runs); a run whose state is not its last header's is
    refused by `Chain.commit_run`, and its blocks can then be applied one by one to
    find the one that differs.

    A run ends at a block after which a validator set takes effect or is scheduled:
    that block's set-change proof, and the sets that check the next certificates,
    are read from the state as it stands after it."""

    overlay: StateOverlay
    parent: Header  # the header the next block must extend
    parent_hash: bytes
    change_heights: frozenset[int]  # heights at which a committed set takes effect
    committed: StateTree  # the state the run started from, unchanged while it lives
    seen: set[bytes] = field(default_factory=set)  # transaction ids in the run
    executions: list[Execution] = field(default_factory=list)
    # The hash of each set that certifies its blocks, by the height it took effect.
    set_hashes: dict[int, bytes] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._set_heights = sorted(self.change_heights)

    def validator_set_hash_at(self, height: int, read: Callable[[int], bytes]) -> bytes:
        """`read(height)` (`Chain.validator_set_hash_at`), read once per set in the run."""
        position = bisect_right(self._set_heights, height)
        if position == 0:
            return read(height)  # no set: it says so
        took_effect = self._set_heights[position - 1]
        if took_effect not in self.set_hashes:
            self.set_hashes[took_effect] = read(height)
        return self.set_hashes[took_effect]

    @property
    def height(self) -> int:
        return self.parent.height

    @property
    def ended(self) -> bool:
        """No further block may join: the run is full, a set takes effect at the height
        after its last block, one of its blocks scheduled a set (every set change
        writes the index), or the rules version changes at the next height (a release
        that does not know the new one stops there with the blocks before it committed).
        An empty run takes any block."""
        return bool(self.executions) and (
            len(self.executions) >= CHAIN_RUN_BLOCKS_MAX
            or self.height + 1 in self.change_heights
            or self.overlay.has_staged(VALIDATOR_SET_INDEX_KEY)
            or (rules_version_at(rules := rules_source(self.overlay, self.committed),
                                 self.height + 1) != rules_version_at(rules, self.height)))


@dataclass
class Execution:
    """The outcome of executing transactions on top of the head, not yet committed."""

    header: Header
    overlay: StateOverlay
    accepted: list[Transaction]
    rejected: list[tuple[Transaction, TxRejected]] = field(default_factory=list)
    last_commit: bytes = b""

    @property
    def block(self) -> Block:
        return Block(self.header, tuple(self.accepted), self.last_commit)


def rules_source(overlay: StateOverlay, committed: StateTree) -> StateOverlay | StateTree:
    """Where a block's rules versions are read: the overlay if it staged them, else the
    committed state (the same value), which remembers what it checked, where an overlay
    deferring absences would check an absent record again in every root."""
    return overlay if overlay.has_staged(RULES_VERSION_KEY) else committed
