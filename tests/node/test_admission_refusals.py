"""Refusals at admission, before anything reaches a block: the mempool's limits and a
core's submission path. Each refusal must change nothing."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from typing import Any

import pytest

from ledger.errors import TxRejected
from ledger.payloads import AnchorPayload, IssueBatchPayload
from node.mempool import Mempool, MempoolLimits
from node.metrics import NodeMetrics
from node.service import NodeCore
from storage.kv import MemoryStore
from tests.node.conftest import Consortium, commit, make_tx, snapshot


def _pool(max_txs: int = 10, max_bytes: int = 10_000, per_sender: int = 10) -> Mempool:
    return Mempool(MempoolLimits(max_txs, max_bytes, per_sender))


def _state(pool: Mempool) -> tuple[Any, ...]:
    return len(pool), pool.size_bytes, [t.tx_id for t in pool.take(10**6, 1 << 62)]


def test_mempool_duplicate(net: Consortium) -> None:
    pool = _pool()
    tx = make_tx(net.ministry, AnchorPayload(os.urandom(32)))
    pool.add(tx, 100)
    before = _state(pool)
    with pytest.raises(TxRejected) as info:
        pool.add(tx, 100)
    assert info.value.code == "duplicate"
    assert _state(pool) == before


def test_mempool_full_by_count(net: Consortium) -> None:
    pool = _pool(max_txs=2)
    for _ in range(2):
        pool.add(make_tx(net.ministry, AnchorPayload(os.urandom(32))), 10)
    before = _state(pool)
    with pytest.raises(TxRejected) as info:
        pool.add(make_tx(net.employer, AnchorPayload(os.urandom(32))), 10)
    assert info.value.code == "mempool_full"
    assert _state(pool) == before


def test_mempool_full_by_bytes(net: Consortium) -> None:
    pool = _pool(max_bytes=250)
    pool.add(make_tx(net.ministry, AnchorPayload(os.urandom(32))), 200)
    before = _state(pool)
    with pytest.raises(TxRejected) as info:
        pool.add(make_tx(net.employer, AnchorPayload(os.urandom(32))), 51)
    assert info.value.code == "mempool_full"
    assert _state(pool) == before
    pool.add(make_tx(net.employer, AnchorPayload(os.urandom(32))), 50)  # exactly full is ok


def test_mempool_sender_limit(net: Consortium) -> None:
    pool = _pool(per_sender=2)
    for _ in range(2):
        pool.add(make_tx(net.university, AnchorPayload(os.urandom(32))), 10)
    before = _state(pool)
    with pytest.raises(TxRejected) as info:
        pool.add(make_tx(net.university, AnchorPayload(os.urandom(32))), 10)
    assert info.value.code == "sender_limit"
    assert _state(pool) == before
    pool.add(make_tx(net.employer, AnchorPayload(os.urandom(32))), 10)  # others still may
    pool.remove([before[2][0]])
    pool.add(make_tx(net.university, AnchorPayload(os.urandom(32))), 10)  # room again


@pytest.fixture
async def core(net: Consortium) -> AsyncIterator[NodeCore]:
    node = NodeCore(net.ministry, net.genesis, MemoryStore(),
                    MempoolLimits(max_txs=3, max_bytes=1 << 20, max_per_sender=2),
                    NodeMetrics())
    yield node
    node.worker.shutdown(wait=True)


async def test_submit_malformed_changes_nothing(core: NodeCore) -> None:
    before = snapshot(core.chain.kv)
    results = await core.submit([b"\x93junk", b"", os.urandom(200)])
    assert [(tx_id, r.code if r else None) for tx_id, r in results] == [
        (None, "malformed")] * 3
    assert len(core.mempool) == 0
    assert snapshot(core.chain.kv) == before


async def test_submit_refusals_carry_ledger_codes(core: NodeCore, net: Consortium) -> None:
    refused = make_tx(net.university, IssueBatchPayload("diploma", os.urandom(32), 1))
    unknown = make_tx(net.outsider, AnchorPayload(os.urandom(32)))
    results = await core.submit([refused.encode(), unknown.encode()])
    assert [r.code for _, r in results if r] == ["not_accredited", "unknown_sender"]
    assert len(core.mempool) == 0


async def test_submit_limits_through_the_core(core: NodeCore, net: Consortium) -> None:
    txs = [make_tx(net.university, AnchorPayload(os.urandom(32))) for _ in range(3)]
    results = await core.submit([tx.encode() for tx in txs])
    assert [r.code if r else None for _, r in results] == [None, None, "sender_limit"]
    resubmitted = await core.submit([txs[0].encode()])  # a pending resubmission is harmless
    assert resubmitted == [(txs[0].tx_id, None)]
    others = [make_tx(net.employer, AnchorPayload(os.urandom(32))) for _ in range(2)]
    results = await core.submit([tx.encode() for tx in others])
    assert [r.code if r else None for _, r in results] == [None, "mempool_full"]
    assert len(core.mempool) == 3
    assert core.tx_status(txs[2].tx_id).status == "unknown"
    assert core.tx_status(txs[0].tx_id).status == "pending"


async def test_submit_committed_transaction_is_replayed(core: NodeCore,
                                                        net: Consortium) -> None:
    tx = make_tx(net.ministry, AnchorPayload(os.urandom(32)))
    await asyncio.get_running_loop().run_in_executor(None, commit, core.chain, [tx])
    results = await core.submit([tx.encode()])
    assert results[0][1] is not None and results[0][1].code == "replayed"
