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
        self._txs: OrderedDict[bytes, tuple[Transaction, int]] = OrderedDict()
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
        """Admit an already-checked transaction, or raise TxRejected when full."""
        with self._lock:
            if tx.tx_id in self._txs:
                raise TxRejected("duplicate", "transaction is already pending")
            self._add_locked(tx, size)

    def add_many(self, entries: list[tuple[Transaction, int]]
                 ) -> tuple[list[TxRejected | None], int]:
        """Admit already-checked transactions in order under one lock: per entry None
        (admitted, or pending already: a harmless resubmission) or why it was refused,
        and how many were added."""
        outcomes: list[TxRejected | None] = []
        added = 0
        for start in range(0, len(entries), ADD_PER_LOCK_MAX):
            with self._lock:
                for tx, size in entries[start:start + ADD_PER_LOCK_MAX]:
                    if tx.tx_id in self._txs:
                        outcomes.append(None)
                        continue
                    try:
                        self._add_locked(tx, size)
                    except TxRejected as exc:
                        outcomes.append(exc)
                        continue
                    outcomes.append(None)
                    added += 1
        return outcomes, added

    def _add_locked(self, tx: Transaction, size: int) -> None:
        if len(self._txs) >= self.limits.max_txs:
            raise TxRejected("mempool_full", f"mempool holds {self.limits.max_txs} "
                             "transactions; retry later")
        if self._bytes + size > self.limits.max_bytes:
            raise TxRejected("mempool_full", "mempool byte limit reached; retry later")
        if self._per_sender.get(tx.sender, 0) >= self.limits.max_per_sender:
            raise TxRejected("sender_limit", f"sender has {self.limits.max_per_sender} "
                             "pending transactions; wait for some to commit")
        encoding, kind = tx.encode(), tx.kind  # before the first write: nothing after it raises
        self._txs[tx.tx_id] = (tx, size)
        self._by_encoding[encoding] = tx
        self._bytes += size
        self._per_sender[tx.sender] = self._per_sender.get(tx.sender, 0) + 1
        self._per_kind[kind] = self._per_kind.get(kind, 0) + 1
        if tx.expires_at < self._expiry_floor:
            self._expiry_floor = tx.expires_at

    def take(self, max_txs: int, max_bytes: int) -> list[Transaction]:
        """The oldest pending transactions, without removing them."""
        with self._lock:
            picked: list[Transaction] = []
            total = 0
            for tx, size in self._txs.values():
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
            return list(islice((tx for tx, _ in self._txs.values() if tx.kind == kind),
                               max_txs))

    def take_expired(self, height: int) -> list[Transaction]:
        """Remove and return, oldest first, the pending transactions that expire below
        `height` (they can no longer commit at it)."""
        with self._lock:
            if height <= self._expiry_floor:
                return []
            expired = [tx for tx, _ in self._txs.values() if tx.expires_at < height]
            self._remove_locked([tx.tx_id for tx in expired])
            self._expiry_floor = min((tx.expires_at for tx, _ in self._txs.values()),
                                     default=_NO_EXPIRY)
            return expired

    def remove(self, tx_ids: list[bytes]) -> None:
        with self._lock:
            self._remove_locked(tx_ids)

    def _remove_locked(self, tx_ids: list[bytes]) -> None:
        for tx_id in tx_ids:
            entry = self._txs.pop(tx_id, None)
            if entry is None:
                continue
            tx, size = entry
            del self._by_encoding[tx.encode()]
            self._bytes -= size
            left = self._per_sender[tx.sender] - 1
            if left:
                self._per_sender[tx.sender] = left
            else:
                del self._per_sender[tx.sender]
            left = self._per_kind[tx.kind] - 1
            if left:
                self._per_kind[tx.kind] = left
            else:
                del self._per_kind[tx.kind]
