"""Copying the state of the snapshot a join fixed, checked against its certified root.

`node.state_sync` fixes a snapshot once an offer checked out to its certificate; from
then on only the state root of its block is trusted. The tree's nodes come top-down,
NODES_PER_QUESTION positions a question, each hashing to what its parent names; then the
values in key order by ranges of keys, each matching its leaf (`storage.state_transfer`).
Several peers are asked at once (`node.state_pieces`: the questions open, and the pass
over the values, whose end with a value the tree names left out is the caller's to
judge). Once all is in, the snapshot block's own `v:index`, proven by then, must list no
validator-set change the offer's proofs skipped (`hid_a_change`).
"""

from __future__ import annotations

from collections.abc import Callable

from ledger.chain_layout import STATE_PREFIX, joined_writes
from ledger.genesis import Genesis
from ledger.light_client import UnprovenValidatorSet
from ledger.set_change_records import kept_proof_writes
from ledger.validator_sets import VALIDATOR_SET_INDEX_KEY
from node.state_offer import Snapshot
from node.state_pieces import Piece, StatePieces
from node.state_wire import NODES_PER_QUESTION, VALUES_PER_QUESTION
from storage.state_transfer import StateImport

Writes = dict[bytes, bytes | None]


class SnapshotCopy:
    """The copy of one fixed snapshot's state: its questions open, and each answer checked."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self.state = StateImport(STATE_PREFIX, snapshot.decoded.header.state_root)
        self.pieces = StatePieces(self.state, snapshot.height)
        self._index_at_snapshot: bytes | None = None  # `v:index` once its value came

    def questions(self, askable: list[bytes], now_ms: int,
                  timed_from: Callable[[bytes, int], tuple[int, None]]
                  ) -> list[tuple[bytes, bytes]]:
        """The questions for new pieces of the `askable` peers, best first, within the
        limits (`StatePieces.questions`): for tree nodes until all are in, then values."""
        return self.pieces.questions(askable, now_ms, timed_from,
                                     NODES_PER_QUESTION, VALUES_PER_QUESTION)

    def take_nodes(self, piece: Piece, answer: list[object]) -> Writes:
        """The writes of an ASK_NODES answer to `piece`; ValueError if it does not check."""
        return self.pieces.take_nodes(piece, answer)

    def take_values(self, piece: Piece, answer: list[object]) -> Writes:
        """The writes of an ASK_VALUES answer to `piece`; ValueError if it does not check.
        Whether it ended the pass over the values is `pieces.values_pass_over`."""
        writes, checked = self.pieces.take_values(piece, answer)
        for key, value in checked:  # a copy sent again, unchecked, is not among them
            if key == VALIDATOR_SET_INDEX_KEY:
                self._index_at_snapshot = value
        return writes

    def hid_a_change(self) -> bool:
        """Whether the snapshot's own `v:index`, proven once all values are in, lists a
        validator-set change the offer's proofs skipped."""
        try:
            self.snapshot.history.check_index(self.snapshot.height, self._index_at_snapshot)
        except UnprovenValidatorSet:
            return True
        return False

    def final_writes(self, genesis: Genesis) -> Writes:
        """The root pointer, block, certificate, head and base: the last batch of the join."""
        writes = self.state.finish()
        writes.update(joined_writes(genesis, self.snapshot.decoded, self.snapshot.certificate))
        writes.update(kept_proof_writes(self.snapshot.set_changes, self.snapshot.height))
        return writes
