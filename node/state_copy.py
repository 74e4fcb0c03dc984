"""Copying the state of the snapshot a join fixed, checked against its certified root.

`node.state_sync` fixes a snapshot once an offer checked out to its certificate; from
then on only the state root of its block is trusted. The tree's nodes come top-down,
NODES_PER_QUESTION positions a question, each hashing to what its parent names; then the
values in key order, each matching its leaf (`storage.state_transfer`). A pass over the
values that ends with a value the tree names left out was served by someone who hid it:
everyone who served that pass is named (`take_values`) and the pass is done again by
others. Once all is in, the snapshot block's own `v:index`, proven by then, must list no
validator-set change the offer's proofs skipped (`hid_a_change`).
"""

from __future__ import annotations

from ledger.chain_layout import STATE_PREFIX, joined_writes
from ledger.genesis import Genesis
from ledger.light_client import UnprovenValidatorSet
from ledger.set_change_records import kept_proof_writes
from ledger.validator_sets import VALIDATOR_SET_INDEX_KEY
from node.state_offer import Snapshot
from node.state_wire import (
    ASK_NODES,
    ASK_VALUES,
    NODES_PER_QUESTION,
    VALUES_PER_QUESTION,
    node_records,
    values_and_done,
)
from storage.state_transfer import Position, StateImport, position_to_wire

Writes = dict[bytes, bytes | None]


class SnapshotCopy:
    """The copy of one fixed snapshot's state: what to ask next, and each answer checked."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self.state = StateImport(STATE_PREFIX, snapshot.decoded.header.state_root)
        self._positions: list[Position] = []  # asked for by the open nodes question
        self._values_after = b""
        self._value_peers: set[bytes] = set()  # who served the current pass over the values
        self._index_at_snapshot: bytes | None = None  # `v:index` once its value came

    def question(self) -> list[object]:
        """The next question: for tree nodes until all are in, then for values."""
        if not self.state.nodes_complete:
            self._positions = self.state.wanted(NODES_PER_QUESTION)
            return [ASK_NODES, self.snapshot.height,
                    [position_to_wire(p) for p in self._positions]]
        return [ASK_VALUES, self.snapshot.height, self._values_after, VALUES_PER_QUESTION]

    def take_nodes(self, answer: list[object]) -> Writes:
        """The writes of an ASK_NODES answer to the open question; ValueError if it does
        not check."""
        return self.state.accept_nodes(self._positions, node_records(answer))

    def take_values(self, peer: bytes, answer: list[object]) -> tuple[Writes, set[bytes] | None]:
        """The writes of `peer`'s ASK_VALUES answer (ValueError if it does not check), and,
        if it ended the pass over the values: the peers that served a pass which left out
        a value the tree names (done again from the start), or an empty set if nothing is
        missing. None while the pass goes on."""
        items, done = values_and_done(answer)
        writes = self.state.accept_values(self._values_after, items)
        self._value_peers.add(peer)
        for key, value in items:  # checked against its leaf by accept_values
            if key == VALIDATOR_SET_INDEX_KEY:
                self._index_at_snapshot = value
        if items:
            self._values_after = items[-1][0]
        if not done:
            return writes, None
        if not self.state.missing_values():
            return writes, set()
        # A value the tree names was left out of some answer of this pass; the pass is
        # done again by others (values already in are passed over).
        hid, self._value_peers = self._value_peers, set()
        self._values_after = b""
        return writes, hid

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
