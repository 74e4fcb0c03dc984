"""What a commit leaves of the pending work: expired transactions are refused, evidence
and the oldest are re-checked, and none of it walks every pending transaction when
nothing can have expired (a validator at saturation holds thousands)."""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import ValuesView

from ledger.payloads import AnchorPayload
from ledger.payloads_consortium import KIND_SUBMIT_EVIDENCE
from ledger.transactions import Transaction
from node.evidence_submit import evidence_payload
from node.mempool import Mempool, MempoolLimits
from tests.node.conftest import Consortium, commit_execution, make_tx
from tests.node.test_engine import Clock, engine_for
from tests.node.test_evidence_submit import conflicting_prepares


class WalksCounted(OrderedDict[bytes, tuple[Transaction, int, bytes]]):
    """The mempool's table, counting the walks through every pending transaction."""

    walks = 0

    def values(self) -> ValuesView[tuple[Transaction, int, bytes]]:  # type: ignore[override]
        self.walks += 1
        return super().values()


def counted(mempool: Mempool) -> WalksCounted:
    walked = mempool._txs = WalksCounted(mempool._txs)
    return walked


def anchor(net: Consortium, expires_at: int) -> Transaction:
    return make_tx(net.university, AnchorPayload(os.urandom(32)), expires_at=expires_at)


def filled(txs: list[Transaction]) -> Mempool:
    mempool = Mempool(MempoolLimits(1_000, 1 << 24, 1_000))
    for tx in txs:
        mempool.add(tx, len(tx.encode()))
    return mempool


def test_expired_transactions_leave_oldest_first_and_the_rest_stay(net: Consortium) -> None:
    txs = [anchor(net, expiry) for expiry in (5, 3, 10, 4)]
    mempool = filled(txs)

    assert mempool.take_expired(5) == [txs[1], txs[3]]  # expiring below 5, in their order
    assert mempool.take(10, 1 << 30) == [txs[0], txs[2]]
    assert mempool.take_expired(5) == []
    assert mempool.take_expired(6) == [txs[0]]
    assert mempool.take(10, 1 << 30) == [txs[2]]
    assert (len(mempool), mempool.size_bytes) == (1, len(txs[2].encode()))


def test_a_removed_transaction_leaves_the_floor_a_bound(net: Consortium) -> None:
    soon, later = anchor(net, 3), anchor(net, 8)
    mempool = filled([soon, later])
    mempool.remove([soon.tx_id])  # committed: the floor stays at 3

    assert mempool.take_expired(8) == []
    lowest = anchor(net, 2)
    mempool.add(lowest, len(lowest.encode()))
    assert mempool.take_expired(8) == [lowest]
    assert mempool.take_expired(9) == [later]
    assert len(mempool) == 0


def test_no_walk_when_nothing_can_have_expired(net: Consortium) -> None:
    txs = [anchor(net, 100 + i) for i in range(50)]
    mempool = filled(txs)
    walked = counted(mempool)

    for height in range(1, 101):
        assert mempool.take_expired(height) == []
    assert mempool.oldest_of_kind(KIND_SUBMIT_EVIDENCE, 64) == []
    assert walked.walks == 0
    assert mempool.take_expired(102) == txs[:2]
    assert walked.walks == 2  # one to find them, one for the next floor
    assert mempool.take_expired(102) == []
    assert walked.walks == 2


def test_evidence_pending_is_found_oldest_first_up_to_the_bound(net: Consortium) -> None:
    anchors = [anchor(net, 1_000) for _ in range(3)]
    evidence = make_tx(net.ministry, evidence_payload(conflicting_prepares(net, 1)))
    mempool = filled([anchors[0], evidence, *anchors[1:]])

    assert mempool.oldest_of_kind(KIND_SUBMIT_EVIDENCE, 64) == [evidence]
    assert mempool.oldest_of_kind(KIND_SUBMIT_EVIDENCE, 0) == []
    mempool.remove([evidence.tx_id])
    walked = counted(mempool)
    assert mempool.oldest_of_kind(KIND_SUBMIT_EVIDENCE, 64) == []
    assert walked.walks == 0


def test_a_commit_refuses_what_expired_while_pending(net: Consortium) -> None:
    engine, _ = engine_for(net.ministry, net, Clock(net.genesis.genesis_time_ms + 10_000))
    chain = engine.chain
    expiring, lasting = anchor(net, chain.height + 1), anchor(net, chain.height + 50)
    for tx in (expiring, lasting):
        engine.mempool.add(tx, len(tx.encode()))

    refused = engine._settle_pending(commit_execution(chain, []))
    assert [(tx, exc.code) for tx, exc in refused] == [(expiring, "expired")]
    assert engine.mempool.take(10, 1 << 30) == [lasting]
