"""Serving state sync: snapshots of the store held for joining nodes, and their answers.

The state tree is updated in place, so a joining node can only copy the state
of a height while this node holds a store snapshot of it. Honest nodes take one
at the same heights (every SNAPSHOT_INTERVAL_BLOCKS), so a joining node can
carry on with another peer when one goes silent or lies; a node with no such
snapshot yet takes one at its head when first asked. At most SNAPSHOTS_HELD
are held (a LevelDB snapshot pins the table files it reads).

An offer carries, beside the snapshot's block and certificate, the proofs of
every validator-set change from genesis up to its height and the next one
(`ledger.light_client`, kept by the chain as it committed, or as it joined by
state sync: `ledger.set_change_records`), so that a joining node that trusts only
genesis can tell which set must have certified the block. They are encoded as
the chain stores them, with the header and certificate of the block each proves
from, and as many as fit in the answer; the rest come by pages (ASK_SET_CHANGES),
each bounded like the offer. Every proof is checked before it is sent (its
Merkle proofs, and its certificate against the set in force at its height): a
damaged one ends the proofs there, is logged, and the joiner refuses the gap.

`StateSnapshots.answer` reads the store only and runs off the event loop
(`node.network`); it and `block_committed` may run on different threads.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections import deque
from dataclasses import dataclass

from ledger.chain_layout import HEAD_KEY, STATE_PREFIX, block_key, certificate_key, load_base
from ledger.codec import decode, encode
from ledger.errors import MalformedInput
from ledger.light_client import MAX_SET_CHANGE_PROOFS, SET_CHANGE_PROOF_PREFIX, stored_proof_key
from ledger.set_change_records import CertificateCheck, checked_proof, held_block, kept_block
from node.channels import STATE_RESPONSE_BYTES
from node.state_wire import (
    ASK_NODES,
    ASK_OFFER,
    ASK_SET_CHANGES,
    ASK_VALUES,
    NODES_PER_QUESTION,
    NOT_HELD,
    SET_CHANGES_PER_ANSWER,
    VALUE_ANSWER_BYTES,
    VALUES_PER_QUESTION,
    read_question,
)
from node.sync_busy import is_height
from storage.errors import CorruptStateError
from storage.kv import KeyValueReader, KeyValueSnapshot, KeyValueStore
from storage.state_transfer import KEY_BYTES_MAX, StateExport, position_from_wire

SNAPSHOT_INTERVAL_BLOCKS = 100
SNAPSHOTS_HELD = 2
# Room an offer keeps beside its block, certificate and set-change proofs for framing.
OFFER_FRAMING_BYTES = 64 * 1024
# The bytes set-change proofs may take in one answer (an offer or a page).
SET_CHANGES_ANSWER_BYTES = STATE_RESPONSE_BYTES - OFFER_FRAMING_BYTES

log = logging.getLogger("senim.state_sync")


@dataclass
class _Held:
    height: int
    block: bytes
    certificate: bytes
    store: KeyValueSnapshot
    export: StateExport
    # The offer, encoded when first asked for (off the event loop: the proofs in it are
    # checked, signatures and all), then answered as is.
    offer: bytes | None = None


class StateSnapshots:
    def __init__(self, kv: KeyValueStore, certifies: CertificateCheck,
                 interval: int = SNAPSHOT_INTERVAL_BLOCKS) -> None:
        """`certifies`: `node.validators.ValidatorSets.certifies` of the chain in `kv`,
        which checks each set-change proof's certificate before it is sent."""
        self._kv = kv
        self._certifies = certifies
        self.interval = interval  # the engine ends sync runs at these heights too
        self._held: list[_Held] = []  # oldest first
        # Taken at a commit while an answer was being read; held by the next one. At most
        # SNAPSHOTS_HELD: only the newest can be held, and one answer may last while a
        # node catching up passes several snapshot heights.
        self._taken: deque[tuple[int, KeyValueSnapshot]] = deque()
        # Guards `_taken` alone, and is held for no read: the engine thread waits on it
        # for a deque operation at most.
        self._taken_lock = threading.Lock()
        # One answer at a time: a snapshot is never released while it is being read.
        self._lock = threading.Lock()
        self._closed = False

    def block_committed(self, height: int) -> None:
        """Take a snapshot if `height` is one every node holds. The daemon calls it on the
        engine thread before that commits anything more, so the store still stands at
        `height`: the LevelDB snapshot (a cheap call) is taken at once, and held now
        unless an answer is being read, then by the next answer (the engine never waits
        for one). Not called after `close`."""
        if height % self.interval != 0 or self._closed:
            return
        store = self._kv.snapshot()
        with self._taken_lock:
            self._taken.append((height, store))
            superseded = [self._taken.popleft()[1]
                          for _ in range(len(self._taken) - SNAPSHOTS_HELD)]
        for old in superseded:
            old.release()
        if self._lock.acquire(blocking=False):
            try:
                self._hold_taken()
            finally:
                self._lock.release()

    def _hold_taken(self) -> None:
        while True:
            with self._taken_lock:
                if not self._taken:
                    return
                height, store = self._taken.popleft()
            self._hold(store, exact=height)

    def _take(self) -> _Held | None:
        """A snapshot of the store as it stands now, held (on demand, at any height)."""
        return None if self._closed else self._hold(self._kv.snapshot())

    def _hold(self, store: KeyValueSnapshot, exact: int | None = None) -> _Held | None:
        stored_head = store.get(HEAD_KEY)
        height = -1
        with contextlib.suppress(MalformedInput, TypeError, ValueError):
            height, _ = decode(stored_head or b"")
        block = store.get(block_key(height)) if isinstance(height, int) and height > 0 else None
        certificate = store.get(certificate_key(height)) if block is not None else None
        if block is None or certificate is None or (exact is not None and height != exact) or (
                self._held and self._held[-1].height >= height):
            store.release()  # the head moved on meanwhile, or nothing new to hold
            return None
        held = _Held(height, block, certificate, store, StateExport(store, STATE_PREFIX))
        self._held.append(held)
        while len(self._held) > SNAPSHOTS_HELD:
            self._held.pop(0).store.release()
        return held

    def _head_height(self) -> int:
        height = 0
        with contextlib.suppress(MalformedInput, TypeError, ValueError):
            height, _ = decode(self._kv.get(HEAD_KEY) or b"")
        return height if isinstance(height, int) else 0

    def answer(self, payload: bytes) -> bytes | None:
        """The answer to a joining node's question; None if the question is junk."""
        read = read_question(payload)
        if read is None:
            return None
        question, _ = read
        with self._lock:
            self._hold_taken()
            if question == [ASK_OFFER]:
                newest = self._held[-1] if self._held else None
                if newest is None or self._head_height() - newest.height >= self.interval:
                    newest = self._take() or newest  # none held, or a stale one taken on demand
                if newest is None:
                    return encode([ASK_OFFER, 0, b"", b"", []])
                return self._offer(newest)
            if len(question) < 2 or not isinstance(question[1], int):
                return None
            held = next((h for h in self._held if h.height == question[1]), None)
            if question[0] == ASK_NODES and len(question) == 3:
                return self._nodes(held, question[1], question[2])
            if question[0] == ASK_VALUES and len(question) == 4:
                return self._values(held, question[1], question[2], question[3])
            if question[0] == ASK_SET_CHANGES and len(question) == 3:
                return self._set_changes_page(held, question[1], question[2])
        return None

    def _offer(self, held: _Held) -> bytes:
        if held.offer is None:
            set_changes, more = _set_changes(held.store, held.height, 1, self._certifies, (
                SET_CHANGES_ANSWER_BYTES - len(held.block) - len(held.certificate)))
            # `more` only when true: joiners from before pages take five items.
            held.offer = encode([ASK_OFFER, held.height, held.block, held.certificate,
                                 set_changes, *([True] if more else [])])
        return held.offer

    def _set_changes_page(self, held: _Held | None, height: int, after: object
                          ) -> bytes | None:
        if not is_height(after):
            return None
        if held is None:
            return encode([NOT_HELD, height])
        changes, more = _set_changes(held.store, height, after, self._certifies,
                                     SET_CHANGES_ANSWER_BYTES)
        return encode([ASK_SET_CHANGES, height, changes, more])

    def _nodes(self, held: _Held | None, height: int, asked: object) -> bytes | None:
        if not isinstance(asked, list) or len(asked) > NODES_PER_QUESTION:
            return None
        positions = [position_from_wire(item) for item in asked]
        if any(position is None for position in positions):
            return None
        if held is None:
            return encode([NOT_HELD, height])
        return encode([ASK_NODES, height,
                       held.export.nodes([p for p in positions if p is not None])])

    def _values(self, held: _Held | None, height: int, after: object, count: object
                ) -> bytes | None:
        if not (isinstance(after, bytes) and len(after) <= KEY_BYTES_MAX
                and isinstance(count, int) and 0 < count <= VALUES_PER_QUESTION):
            return None
        if held is None:
            return encode([NOT_HELD, height])
        items, done = held.export.values(after, count, VALUE_ANSWER_BYTES)
        return encode([ASK_VALUES, height, [[key, value] for key, value in items], done])

    def close(self) -> None:
        with self._lock:
            self._closed = True
            for held in self._held:
                held.store.release()
            self._held.clear()
            with self._taken_lock:
                while self._taken:
                    self._taken.popleft()[1].release()


def _set_changes(store: KeyValueSnapshot, height: int, after: int,
                 certifies: CertificateCheck, budget: int) -> tuple[list[list[bytes]], bool]:
    """The stored proofs of the changes above `after` up to the one that takes effect
    right after block `height`, in order, each checked, while they fit in `budget` bytes
    and SET_CHANGES_PER_ANSWER; and whether more are left. Stops at the first this store
    lacks a piece of or holds damaged (the joiner sees a gap and asks another peer)."""
    changes: list[list[bytes]] = []
    try:
        base = load_base(store)
    except CorruptStateError as exc:
        log.error("state sync: not serving set-change proofs: %s", exc)
        return changes, False
    for key, stored in store.iterate_prefix(SET_CHANGE_PROOF_PREFIX):
        from_height = int.from_bytes(key[len(SET_CHANGE_PROOF_PREFIX):], "big")
        if len(key) != len(stored_proof_key(0)) or not 1 < from_height <= height + 1:
            break
        if from_height <= after:
            continue
        if len(changes) >= min(SET_CHANGES_PER_ANSWER, MAX_SET_CHANGE_PROOFS):
            return changes, True
        try:
            piece = _checked_piece(store, from_height, base, stored, certifies)
        except CorruptStateError as exc:
            log.error("state sync: not serving set-change proofs from block %d on: %s",
                      from_height, exc)
            break
        if piece is None:
            break
        budget -= sum(len(part) for part in piece) + 16
        if budget < 0:
            return changes, True
        changes.append(piece)
    return changes, False


def _checked_piece(store: KeyValueReader, from_height: int, base: int, stored: bytes,
                   certifies: CertificateCheck) -> list[bytes] | None:
    """[header, certificate, stored proof] of one change, checked; None if not held."""
    held = (held_block(store, from_height) if from_height - 1 >= base
            else kept_block(store, from_height))
    if held is None:
        return None
    header, certificate = held
    checked_proof(from_height, header, certificate, stored, certifies)
    return [header.encode(), certificate, stored]
