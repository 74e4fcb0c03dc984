"""How the engine starts from what its validator last signed (node/signed_mark.py).

The replica starts from the later of two copies of its safety state: the chain store's
and the signed mark's beside it. When the mark is of a height the store has not reached
(the store was put back from an older copy, or set aside by --resync), the node does
not validate until its chain, synced from peers, reaches that height: it then starts
its replica from the mark, so that at that height it signs nothing it did not sign
before. A mark of a height the chain has passed is history.
"""

from __future__ import annotations

import logging

from consensus.errors import CorruptSafetyState
from consensus.safety import SafetyState, decode_safety_state
from ledger.blocks import MAX_BLOCK_BYTES
from ledger.chain import Chain
from node.signed_mark import SignedMark
from storage.errors import CorruptStateError

log = logging.getLogger("senim.engine")

REPLICA_STATE_KEY = b"meta:replica"


class KeepsSigningMark:
    chain: Chain
    signed_mark: SignedMark | None
    _held_at: int | None = None  # the height last signed at, while the chain is below it

    def _persisted_state(self) -> bytes | None:
        """The later of the store's and the mark's safety state, for the replica."""
        stored = self.chain.kv.get(REPLICA_STATE_KEY)
        marked = self.signed_mark.load() if self.signed_mark is not None else None
        if marked is None or marked == stored:
            return stored
        order = _order(marked, "mark")
        if order[0] <= self.chain.height:  # a height the chain has passed: history, and
            return stored  # its view no view of the heights to come
        if stored is None or order > _order(stored, "store"):
            return marked
        return stored

    def _holding_back(self) -> bool:
        """Whether the validator waits for its chain to reach the height it last signed at
        (logged once as it starts and once as it ends)."""
        persisted = self._persisted_state()
        height = _decoded(persisted, "store").height if persisted is not None else 0
        behind = height > self.chain.height + 1
        if behind and self._held_at is None:
            log.warning("this validator last signed at height %d, which its chain store "
                        "(at %d) has not reached: it was put back from an older copy or set "
                        "aside; the node follows its peers and validates again from there, "
                        "never signing twice", height, self.chain.height)
            self._held_at = height
        elif not behind and self._held_at is not None:
            log.warning("the chain reached height %d, where this validator last signed: it "
                        "validates again", self._held_at)
            self._held_at = None
        return behind

    def _save_mark(self, state: bytes | None) -> None:
        if state is not None and self.signed_mark is not None:
            self.signed_mark.save(state)


def _decoded(state: bytes, where: str) -> SafetyState:
    try:
        return decode_safety_state(state, MAX_BLOCK_BYTES)
    except CorruptSafetyState as exc:
        place = ("the chain store's safety state" if where == "store"
                 else "the signed mark beside the chain store")
        raise CorruptStateError(f"{place} is damaged: {exc}") from exc


def _order(state: bytes, where: str) -> tuple[int, int, bool, bool]:
    decoded = _decoded(state, where)
    return (decoded.height, decoded.view, decoded.vote is not None,
            decoded.prepared is not None)
