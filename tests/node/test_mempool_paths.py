"""The mempool's way in, `add_many` (which writes its limit checks and writes out for speed,
and which `add` takes too), and its ways out, `remove` and `take_expired`, against a model
of what they should do written plainly here: the same entries, in the same order and
between the same removals, must leave the pool as the model says in every way it answers,
and leave nothing behind of a transaction taken out."""

from __future__ import annotations

import os
import random
from collections import Counter
from dataclasses import dataclass, field

import pytest

from ledger.errors import TxRejected
from ledger.payloads import AnchorPayload, IssueBatchPayload
from ledger.transactions import Transaction
from node.mempool import Mempool, MempoolLimits
from tests.node.conftest import Consortium, make_tx

ROUNDS = 12
LIMITS = MempoolLimits(max_txs=12, max_bytes=900, max_per_sender=5)
# Multiples of STEP, which divides max_bytes: an entry often takes a pool to exactly
# max_bytes, where `>` against `>=` on the byte limit gives another answer, and another
# would take it just STEP past.
STEP = 25
SIZES = tuple(STEP * multiple for multiple in (1, 2, 3, 4, 6))


@dataclass
class Model:
    """What the pool should hold, oldest first, and which limits the entries met."""

    pending: dict[bytes, tuple[Transaction, int]] = field(default_factory=dict)
    met: set[str] = field(default_factory=set)

    def add(self, tx: Transaction, size: int) -> str | None:
        """The refusal's code, or None: admitted, or pending already."""
        if tx.tx_id in self.pending:
            return None
        held = sum(size for _, size in self.pending.values())
        if len(self.pending) >= LIMITS.max_txs:
            self.met.add("refused at max_txs")
            return "mempool_full"
        if held + size > LIMITS.max_bytes:
            if held + size == LIMITS.max_bytes + STEP:
                self.met.add("refused STEP past max_bytes")
            return "mempool_full"
        if sum(1 for held_tx, _ in self.pending.values()
               if held_tx.sender == tx.sender) >= LIMITS.max_per_sender:
            self.met.add("refused at max_per_sender")
            return "sender_limit"
        self.pending[tx.tx_id] = (tx, size)
        if held + size == LIMITS.max_bytes:
            self.met.add("admitted to exactly max_bytes")
        return None

    def remove(self, tx_ids: list[bytes]) -> None:
        for tx_id in tx_ids:
            if self.pending.pop(tx_id, None) is not None:
                self.met.add("removed")

    def take_expired(self, height: int) -> list[Transaction]:
        expired = [tx for tx, _ in self.pending.values() if tx.expires_at < height]
        self.remove([tx.tx_id for tx in expired])
        if expired:
            self.met.add("expired")
        return expired


# What a pool answers about `seen` (every transaction offered to it so far): its count and
# bytes, its pending ids oldest first, those of one kind, each one's pending transaction by
# encoding, the ids it checked, whether each is held; then what it keeps inside, by
# encoding, per sender and per kind, none of which may keep a transaction taken out.
Answers = tuple[int, int, list[bytes], list[bytes], list[Transaction | None], list[bytes],
                list[bool], dict[bytes, bytes], dict[bytes, int], dict[str, int]]


def _answers(pool: Mempool, seen: list[Transaction]) -> Answers:
    return (len(pool), pool.size_bytes, [tx.tx_id for tx in pool.take(10**6, 1 << 62)],
            [tx.tx_id for tx in pool.oldest_of_kind("issue_batch", 10**6)],
            pool.held_encodings([tx.encode() for tx in seen]),
            sorted(pool.already_verified(seen)), pool.held([tx.tx_id for tx in seen]),
            {encoding: tx.tx_id for encoding, tx in pool._by_encoding.items()},
            dict(pool._per_sender), dict(pool._per_kind))


def _modelled(model: Model, seen: list[Transaction]) -> Answers:
    pending = [tx for tx, _ in model.pending.values()]
    return (len(pending), sum(size for _, size in model.pending.values()),
            [tx.tx_id for tx in pending],
            [tx.tx_id for tx in pending if tx.kind == "issue_batch"],
            [tx if tx.tx_id in model.pending else None for tx in seen],
            sorted(tx.tx_id for tx in pending), [tx.tx_id in model.pending for tx in seen],
            {tx.encode(): tx.tx_id for tx in pending},
            dict(Counter(tx.sender for tx in pending)),
            dict(Counter(tx.payload.KIND for tx in pending)))


def _added_one_by_one(pool: Mempool, entries: list[tuple[Transaction, int]]
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


@pytest.mark.parametrize("one_by_one", [False, True], ids=["add_many", "add"])
def test_the_pool_answers_as_the_model_through_every_limit_removal_and_expiry(
        net: Consortium, one_by_one: bool) -> None:
    chooser = random.Random(66)
    senders = [net.ministry, net.university, net.employer]
    pool, model = Mempool(LIMITS), Model()
    seen: list[Transaction] = []
    for _ in range(ROUNDS):
        fresh = [make_tx(chooser.choice(senders),
                         AnchorPayload(os.urandom(32)) if chooser.random() < 0.5
                         else IssueBatchPayload("diploma", os.urandom(32), 1),
                         expires_at=chooser.randint(50, 500)) for _ in range(10)]
        seen += fresh
        # repeats of this round's and earlier ones', pending or taken out since
        entries = [(tx, chooser.choice(SIZES)) for tx in fresh + chooser.sample(seen, 4)]
        chooser.shuffle(entries)
        if one_by_one:
            codes, added = _added_one_by_one(pool, entries)
        else:
            outcomes, added = pool.add_many(entries)
            codes = [refusal.code if refusal else None for refusal in outcomes]
        before = len(model.pending)
        assert codes == [model.add(tx, size) for tx, size in entries]
        assert added == len(model.pending) - before
        assert _answers(pool, seen) == _modelled(model, seen)
        gone = [tx.tx_id for tx in chooser.sample(seen, 6)]
        pool.remove(gone)
        model.remove(gone)
        assert _answers(pool, seen) == _modelled(model, seen)
        height = chooser.randint(50, 200)
        assert pool.take_expired(height) == model.take_expired(height)
        assert _answers(pool, seen) == _modelled(model, seen)
    everything = [tx.tx_id for tx in seen]  # the last of each sender and kind go too
    pool.remove(everything)
    model.remove(everything)
    assert _answers(pool, seen) == _modelled(model, seen)
    # each boundary was met at least once, so each comparison's answer there was checked
    assert model.met == {"refused at max_txs", "refused STEP past max_bytes",
                         "admitted to exactly max_bytes", "refused at max_per_sender",
                         "removed", "expired"}
