"""The mempool's two ways in: `add_many`, which admission takes for every transaction and
which writes its checks and writes out for speed, and `add`, which goes through
`_refusal_locked` and `_add_locked` one by one. The same entries, in the same order and
between the same removals, must leave both pools alike in every way they answer."""

from __future__ import annotations

import os
import random
from typing import Any

from ledger.errors import TxRejected
from ledger.payloads import AnchorPayload, IssueBatchPayload
from ledger.transactions import Transaction
from node.mempool import Mempool, MempoolLimits
from tests.node.conftest import Consortium, make_tx

ROUNDS = 6


def _one_by_one(pool: Mempool, entries: list[tuple[Transaction, int]]
                ) -> tuple[list[str | None], int]:
    """`add_many`'s answer, made with `add`: a transaction pending already is no refusal."""
    codes: list[str | None] = []
    added = 0
    for tx, size in entries:
        try:
            pool.add(tx, size)
        except TxRejected as refusal:
            codes.append(None if refusal.code == "duplicate" else refusal.code)
        else:
            codes.append(None)
            added += 1
    return codes, added


def _answers(pool: Mempool, txs: list[Transaction]) -> tuple[Any, ...]:
    return (len(pool), pool.size_bytes, [tx.tx_id for tx in pool.take(10**6, 1 << 62)],
            [tx.tx_id for tx in pool.oldest_of_kind("issue_batch", 10**6)],
            pool.held_encodings([tx.encode() for tx in txs]),
            sorted(pool.already_verified(txs)), pool.held([tx.tx_id for tx in txs]))


def test_add_many_leaves_the_pool_as_adding_one_by_one_does(net: Consortium) -> None:
    chooser = random.Random(66)
    senders = [net.ministry, net.university, net.employer]
    limits = MempoolLimits(max_txs=12, max_bytes=900, max_per_sender=5)
    fast, plain = Mempool(limits), Mempool(limits)
    seen: list[Transaction] = []
    refusals: set[str] = set()
    for _ in range(ROUNDS):
        fresh = [make_tx(chooser.choice(senders),
                         AnchorPayload(os.urandom(32)) if chooser.random() < 0.5
                         else IssueBatchPayload("diploma", os.urandom(32), 1),
                         expires_at=chooser.randint(50, 500)) for _ in range(10)]
        seen += fresh
        # repeats of this round's and earlier ones', pending or taken out since
        entries = [(tx, chooser.randint(20, 120)) for tx in fresh + chooser.sample(seen, 4)]
        chooser.shuffle(entries)
        outcomes, added = fast.add_many(entries)
        codes = [refusal.code if refusal else None for refusal in outcomes]
        assert (codes, added) == _one_by_one(plain, entries)
        refusals.update(code for code in codes if code)
        assert _answers(fast, seen) == _answers(plain, seen)
        gone = [tx.tx_id for tx in chooser.sample(seen, 6)]
        fast.remove(gone)
        plain.remove(gone)
        assert _answers(fast, seen) == _answers(plain, seen)
        height = chooser.randint(50, 200)
        assert fast.take_expired(height) == plain.take_expired(height)
        assert _answers(fast, seen) == _answers(plain, seen)
    # every limit was reached at least once, so each refusal's path was compared
    assert refusals == {"mempool_full", "sender_limit"}
