"""The mempool: transactions admitted but not yet committed.

Bounded in count, in bytes and per sender, so no client can make the node hold
more than the operator allowed. Signatures are checked once, at admission; the
block producer is told which ids were verified so it does not check them again.

The API admits on the event loop while the engine takes and removes on its own
thread, so every method holds one lock (each is short and never calls out).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import islice

from ledger.errors import TxRejected
from ledger.transactions import Transaction

_NO_EXPIRY = 1 << 64  # above any height: the floor of an empty mempool

# Transactions one `add_many` admits per hold of the lock, so the engine thread taking
# a block waits for at most this many adds (about a millisecond), not a whole submission.
ADD_PER_LOCK_MAX = 1_000


@dataclass(frozen=True)
class MempoolLimits:
    max_txs: int
    max_bytes: int
    max_per_sender: int


class Mempool:
    def __init__(self, limits: MempoolLimits) -> None:
        self.limits = limits
        # Each with its size and its encoding, so that taking it out again reads neither
        # from the transaction (the engine removes every transaction a block commits).
        self._txs: OrderedDict[bytes, tuple[Transaction, int, bytes]] = OrderedDict()
        # The same transactions by their encoding (signature included; the key is the
        # transaction's own bytes, not a copy): a proposal's are found by their bytes,
        # where finding them by id hashed each one (0.6-0.85 µs a transaction on every
        # validator that checks a proposal, BENCHMARKS.md, session 47).
        self._by_encoding: dict[bytes, Transaction] = {}
        self._bytes = 0
        self._per_sender: dict[bytes, int] = {}
        self._per_kind: dict[str, int] = {}
        # No pending transaction expires below this height (a bound, not always the
        # least: removals do not raise it), so that a commit finds none expired without
        # a walk through every pending transaction.
        self._expiry_floor = _NO_EXPIRY
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._txs)

    @property
    def size_bytes(self) -> int:
        with self._lock:
            return self._bytes

    def __contains__(self, tx_id: bytes) -> bool:
        with self._lock:
            return tx_id in self._txs

    def held(self, tx_ids: Iterable[bytes | None]) -> list[bool]:
        """For each id, whether it is pending: one lock for many (a gossip frame's)."""
        with self._lock:
            txs = self._txs
            return [tx_id in txs for tx_id in tx_ids]

    def already_verified(self, txs: tuple[Transaction, ...] | list[Transaction]
                         ) -> frozenset[bytes]:
        """Ids of `txs` whose signature we checked at admission: same id AND the same
        signature bytes (the id does not cover the signature)."""
        with self._lock:
            held = self._txs
            return frozenset(tx.tx_id for tx in txs
                             if (entry := held.get(tx.tx_id)) is not None
                             and entry[0].signature == tx.signature)

    def held_encodings(self, encodings: list[bytes]) -> list[Transaction | None]:
        """For each encoded transaction, the pending one whose encoding is exactly those
        bytes (signature included), else None: a proposal's transactions need not be
        decoded again, and keep the ids and encodings already worked out."""
        with self._lock:
            held = self._by_encoding
            return [held.get(data) for data in encodings]

    def add(self, tx: Transaction, size: int) -> None:
        """Admit one already-checked transaction, or raise TxRejected: "duplicate" when it
        is pending already, else the limit that refuses it (`add_many`'s answer)."""
        (refusal,), added = self.add_many([(tx, size)])
        if refusal is not None:
            raise refusal
        if not added:  # neither refused nor added: pending already, found under the lock
            raise TxRejected("duplicate", "transaction is already pending")

    def add_many(self, entries: list[tuple[Transaction, int]]
                 ) -> tuple[list[TxRejected | None], int]:
        """Admit already-checked transactions in order under one lock: per entry None
        (admitted, or pending already: a harmless resubmission) or why it was refused,
        and how many were added."""
        outcomes: list[TxRejected | None] = []
        added = 0
        max_txs, max_bytes, max_per_sender = (self.limits.max_txs, self.limits.max_bytes,
                                              self.limits.max_per_sender)
        for start in range(0, len(entries), ADD_PER_LOCK_MAX):
            with self._lock:
                # One entry's checks and writes written out, not a call an entry: every
                # node adds every transaction here, on the event loop, and a call and its
                # attribute reads were about a fifth of an entry's cost (1.6-1.9 against
                # 1.3-1.4 µs, measured at 256 an add). `_refusal_locked` says why only
                # once a limit refuses, so the limits' comparisons are these.
                txs, by_encoding = self._txs, self._by_encoding
                per_sender, per_kind = self._per_sender, self._per_kind
                for tx, size in entries[start:start + ADD_PER_LOCK_MAX]:
                    tx_id = tx.tx_id
                    if tx_id in txs:
                        outcomes.append(None)
                        continue
                    sender = tx.sender
                    held_by_sender = per_sender.get(sender, 0)
                    if (len(txs) >= max_txs or self._bytes + size > max_bytes
                            or held_by_sender >= max_per_sender):
                        outcomes.append(self._refusal_locked(tx, size))
                        continue
                    encoding, kind = tx.encoded, tx.payload.KIND  # nothing after raises
                    txs[tx_id] = (tx, size, encoding)
                    by_encoding[encoding] = tx
                    self._bytes += size
                    per_sender[sender] = held_by_sender + 1
                    per_kind[kind] = per_kind.get(kind, 0) + 1
                    if tx.expires_at < self._expiry_floor:
                        self._expiry_floor = tx.expires_at
                    outcomes.append(None)
                    added += 1
        return outcomes, added

    def _refusal_locked(self, tx: Transaction, size: int) -> TxRejected | None:
        """Why a limit refuses `tx` now, if one does."""
        if len(self._txs) >= self.limits.max_txs:
            return TxRejected("mempool_full", f"mempool holds {self.limits.max_txs} "
                              "transactions; retry later")
        if self._bytes + size > self.limits.max_bytes:
            return TxRejected("mempool_full", "mempool byte limit reached; retry later")
        if self._per_sender.get(tx.sender, 0) >= self.limits.max_per_sender:
            return TxRejected("sender_limit", f"sender has {self.limits.max_per_sender} "
                              "pending transactions; wait for some to commit")
        return None

    def take(self, max_txs: int, max_bytes: int) -> list[Transaction]:
        """The oldest pending transactions, without removing them."""
        with self._lock:
            picked: list[Transaction] = []
            total = 0
            for tx, size, _ in self._txs.values():
                if len(picked) >= max_txs or total + size > max_bytes:
                    break
                picked.append(tx)
                total += size
            return picked

    def oldest_of_kind(self, kind: str, max_txs: int) -> list[Transaction]:
        """The oldest pending transactions of `kind`, at most `max_txs`, without removing
        them; no walk when none is pending."""
        with self._lock:
            if not self._per_kind.get(kind):
                return []
            return list(islice((tx for tx, _, _ in self._txs.values() if tx.kind == kind),
                               max_txs))

    def take_expired(self, height: int) -> list[Transaction]:
        """Remove and return, oldest first, the pending transactions that expire below
        `height` (they can no longer commit at it)."""
        with self._lock:
            if height <= self._expiry_floor:
                return []
            expired = [tx for tx, _, _ in self._txs.values() if tx.expires_at < height]
            self._remove_locked([tx.tx_id for tx in expired])
            self._expiry_floor = min((tx.expires_at for tx, _, _ in self._txs.values()),
                                     default=_NO_EXPIRY)
            return expired

    def remove(self, tx_ids: list[bytes]) -> None:
        with self._lock:
            self._remove_locked(tx_ids)

    def _remove_locked(self, tx_ids: list[bytes]) -> None:
        txs, by_encoding = self._txs, self._by_encoding
        per_sender, per_kind = self._per_sender, self._per_kind
        for tx_id in tx_ids:
            entry = txs.pop(tx_id, None)
            if entry is None:
                continue
            tx, size, encoding = entry
            del by_encoding[encoding]
            self._bytes -= size
            sender, kind = tx.sender, tx.payload.KIND
            left = per_sender[sender] - 1
            if left:
                per_sender[sender] = left
            else:
                del per_sender[sender]
            left = per_kind[kind] - 1
            if left:
                per_kind[kind] = left
            else:
                del per_kind[kind]
