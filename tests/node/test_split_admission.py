"""A large submission is checked in slices side by side (both cores: signature checks
release the GIL) and admitted under few mempool locks, with the same answers, in the
same order, and the same forged-submission allowance as one slice would give."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import AsyncIterator
from typing import Any

import pytest

from ledger import rules
from ledger.errors import TxRejected
from ledger.identity import verify_signature as real_verify
from ledger.payloads import AnchorPayload
from node import mempool as mempool_module
from node.mempool import Mempool, MempoolLimits
from node.metrics import NodeMetrics
from node.public_work import (
    INVALID_SIGNATURES_PER_SUBMISSION_MAX,
    PUBLIC_WORKERS,
    ForgedSubmission,
    PublicWork,
    PublicWorkBusy,
)
from node.service import SPLIT_CHECK_MIN, NodeCore
from storage.kv import MemoryStore
from tests.node.conftest import Consortium, commit, make_tx

DEADLINE_S = 20.0


@pytest.fixture
async def core(net: Consortium) -> AsyncIterator[NodeCore]:
    node = NodeCore(net.ministry, net.genesis, MemoryStore(),
                    MempoolLimits(max_txs=10_000, max_bytes=64 << 20, max_per_sender=10_000),
                    NodeMetrics())
    yield node
    node.worker.shutdown(wait=True)
    node.public_work.close()


def _slices_seen(core: NodeCore, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record the length of each slice the core checks."""
    seen: list[int] = []
    check = core._check_many

    def recording(items: list[bytes], *rest: Any) -> Any:
        seen.append(len(items))
        return check(items, *rest)

    monkeypatch.setattr(core, "_check_many", recording)
    return seen


def _anchors(net: Consortium, count: int) -> list[bytes]:
    return [make_tx(net.employer, AnchorPayload(os.urandom(32))).encode()
            for _ in range(count)]


def _forge(data: bytes) -> bytes:
    return data[:-64] + os.urandom(64)  # the signature replaced


async def test_a_large_submission_is_split_and_answered_in_order(
        core: NodeCore, net: Consortium, monkeypatch: pytest.MonkeyPatch) -> None:
    seen = _slices_seen(core, monkeypatch)
    items = _anchors(net, SPLIT_CHECK_MIN + 11)
    malformed_at = len(items) - 3  # in the last slice
    items[malformed_at] = b"\x93junk"
    results = await core.submit(items)
    assert len(seen) == PUBLIC_WORKERS and sum(seen) == len(items)
    codes = [refusal.code if refusal else None for _, refusal in results]
    assert codes == [None] * malformed_at + ["malformed"] + [None] * 2
    admitted = [tx_id for tx_id, refusal in results if refusal is None]
    assert admitted == [tx.tx_id for tx in core.mempool.take(10**6, 1 << 62)]  # in order
    assert len(core.mempool) == len(items) - 1


async def test_a_small_submission_is_one_slice(core: NodeCore, net: Consortium,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    seen = _slices_seen(core, monkeypatch)
    await core.submit(_anchors(net, SPLIT_CHECK_MIN - 1))
    assert seen == [SPLIT_CHECK_MIN - 1]


async def test_the_forged_allowance_counts_over_all_slices(
        core: NodeCore, net: Consortium, monkeypatch: pytest.MonkeyPatch) -> None:
    seen = _slices_seen(core, monkeypatch)
    items = _anchors(net, SPLIT_CHECK_MIN * 2)
    half = len(items) // 2
    per_slice = INVALID_SIGNATURES_PER_SUBMISSION_MAX // 2
    for index in [*range(per_slice), *range(half, half + per_slice)]:
        items[index] = _forge(items[index])
    # Neither slice alone reaches the allowance; the submission does.
    with pytest.raises(ForgedSubmission) as info:
        await core.submit(items)
    assert len(seen) == PUBLIC_WORKERS
    assert info.value.items == len(items)
    assert f"{INVALID_SIGNATURES_PER_SUBMISSION_MAX} of the first" in info.value.message
    assert len(core.mempool) == 0
    # One fewer is an honest mistake: the valid ones are admitted.
    items[0] = _anchors(net, 1)[0]
    results = await core.submit(items)
    refused = [refusal.code for _, refusal in results if refusal is not None]
    assert refused == ["bad_signature"] * (INVALID_SIGNATURES_PER_SUBMISSION_MAX - 1)
    assert len(core.mempool) == len(items) - len(refused)


async def test_a_split_uses_only_free_slots_and_busy_only_when_none(
        core: NodeCore, net: Consortium, monkeypatch: pytest.MonkeyPatch) -> None:
    seen = _slices_seen(core, monkeypatch)
    core.public_work.close()
    pool = core.public_work = PublicWork(workers=4, jobs_max=3)  # a thread for every job
    release = threading.Event()
    blockers = [asyncio.ensure_future(pool.run(release.wait, DEADLINE_S))
                for _ in range(pool.jobs_max - 1)]
    await asyncio.sleep(0)
    try:
        assert pool.free == 1
        results = await core.submit(_anchors(net, SPLIT_CHECK_MIN))
        assert seen == [SPLIT_CHECK_MIN] and all(r is None for _, r in results)
        last = asyncio.ensure_future(pool.run(release.wait, DEADLINE_S))
        await asyncio.sleep(0)
        assert pool.free == 0
        busy = await core.submit(_anchors(net, SPLIT_CHECK_MIN))
        assert {refusal.code for _, refusal in busy if refusal} == {"busy"}
        assert len(seen) == 1  # nothing checked
        blockers.append(last)
    finally:
        release.set()
        await asyncio.wait_for(asyncio.gather(*blockers), DEADLINE_S)


async def test_run_each_starts_all_or_nothing() -> None:
    pool = PublicWork(workers=2, jobs_max=3)
    release = threading.Event()
    try:
        blocker = asyncio.ensure_future(pool.run(release.wait, DEADLINE_S))
        await asyncio.sleep(0)
        with pytest.raises(PublicWorkBusy):
            await pool.run_each(len, [("ab",), ("c",), ("",)])
        assert pool.jobs == 1  # the refused calls took no slot
        assert await pool.run_each(len, [("ab",), ("c",)]) == [2, 1]
        with pytest.raises(ZeroDivisionError):  # a call's error reaches the caller
            await pool.run_each(divmod, [(1, 1), (1, 0)])
        release.set()
        await asyncio.wait_for(blocker, DEADLINE_S)
        assert pool.jobs == 0
    finally:
        release.set()
        pool.close()


def test_add_many_admits_in_order_across_lock_holds(
        net: Consortium, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mempool_module, "ADD_PER_LOCK_MAX", 2)
    pool = Mempool(MempoolLimits(max_txs=4, max_bytes=1 << 20, max_per_sender=3))
    ministry = [make_tx(net.ministry, AnchorPayload(os.urandom(32))) for _ in range(4)]
    employer = make_tx(net.employer, AnchorPayload(os.urandom(32)))
    entries = [(ministry[0], 10), (ministry[0], 10), (ministry[1], 10), (ministry[2], 10),
               (ministry[3], 10), (employer, 10), (employer, 10)]
    outcomes, added = pool.add_many(entries)
    codes = [refusal.code if refusal else None for refusal in outcomes]
    # a repeat is a harmless resubmission; the fourth of one sender is over its limit;
    # the pool is then full at 4.
    assert codes == [None, None, None, None, "sender_limit", None, None]
    assert added == 4
    assert [tx.tx_id for tx in pool.take(10, 1 << 20)] == [
        ministry[0].tx_id, ministry[1].tx_id, ministry[2].tx_id, employer.tx_id]
    more, added = pool.add_many([(make_tx(net.employer, AnchorPayload(os.urandom(32))), 10)])
    assert [refusal.code if refusal else None for refusal in more] == ["mempool_full"]
    assert added == 0 and len(pool) == 4 and pool.size_bytes == 40


async def test_the_gossip_prefilter_reads_no_store_and_admission_refuses_a_replay_unsigned(
        core: NodeCore, net: Consortium, monkeypatch: pytest.MonkeyPatch) -> None:
    committed, pending, refused = (make_tx(net.employer, AnchorPayload(os.urandom(32)))
                                   for _ in range(3))
    await asyncio.get_running_loop().run_in_executor(None, commit, core.chain, [committed])
    assert (await core.submit([pending.encode()]))[0][1] is None
    core.remember_rejected(refused, TxRejected("expired", "expired while pending"))

    def no_store_read(tx_id: bytes) -> bool:
        raise AssertionError("the gossip pre-filter read the store")

    monkeypatch.setattr(core.chain, "is_committed", no_store_read)
    assert [core.knows(tx.encode()) for tx in (committed, pending, refused)] == [
        False, True, True]
    monkeypatch.undo()
    # What the pre-filter lets through is refused as a replay before its signature is
    # checked, so a peer re-gossiping old transactions costs no signature checks.
    checks: list[bytes] = []

    def counting_verify(public_key: bytes, message: bytes, signature: bytes) -> bool:
        checks.append(signature)
        return real_verify(public_key, message, signature)

    monkeypatch.setattr(rules, "verify_signature", counting_verify)
    results = await core.submit([committed.encode()], gossip=False)
    assert [refusal.code if refusal else None for _, refusal in results] == ["replayed"]
    assert checks == [] and committed.tx_id not in core.mempool
