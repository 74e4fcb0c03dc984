"""Admission once a submission's checks return runs to its end even when its caller is
cancelled meanwhile (a gossip frame's handler is, when its peer's connection closes):
the mempool add goes a step of LOOP_STEP_ITEMS at a time with the loop free between,
and a late recheck awaits the public pool. Stopped there, a submission stayed half
added, the engine never told, and what a block committed meanwhile stayed pending."""

from __future__ import annotations

import asyncio
import itertools
import os
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from ledger.errors import TxRejected
from ledger.payloads import AnchorPayload
from ledger.transactions import Transaction
from node.loop_steps import LOOP_STEP_ITEMS
from node.public_work import PublicWorkBusy
from node.service import NodeCore
from tests.node.conftest import Consortium, commit, make_tx

DEADLINE_S = 10.0


async def until(condition: Callable[[], object], what: str, pause_s: float = 0.001) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not condition():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(pause_s)


async def test_a_submission_cancelled_between_its_steps_is_still_added_whole(
        net: Consortium, core: NodeCore) -> None:
    count = 2 * LOOP_STEP_ITEMS + 1
    items = [make_tx(net.university, AnchorPayload(os.urandom(32))).encode()
             for _ in range(count)]
    noticed: list[int] = []
    gossiped: list[bytes] = []
    core.on_work = lambda: noticed.append(len(core.mempool))
    core.on_admitted = gossiped.extend
    submitting = asyncio.create_task(core.submit(items))
    # A turn of its own between every two steps (asyncio runs ready callbacks in order)
    await until(lambda: len(core.mempool) > 0, "no step admitted anything", 0)
    assert len(core.mempool) < count, "admitted in one step: nothing to cancel between"
    submitting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await submitting
    await until(lambda: len(core.mempool) == count and noticed,
                f"left with {len(core.mempool)} of {count} pending, engine told {noticed}")
    assert noticed == [count] and gossiped == items
    await until(lambda: not core._finishing, "the admission's task is still held")


async def test_a_late_recheck_whose_caller_left_still_takes_out_what_was_committed(
        net: Consortium, core: NodeCore, monkeypatch: pytest.MonkeyPatch) -> None:
    """A block commits one of the submission's transactions while it is checked; the
    submitter is cancelled while the recheck is in the public pool."""
    txs = [make_tx(net.university, AnchorPayload(os.urandom(32))) for _ in range(3)]
    check_many, refused_now = core._check_many, core._refused_now
    rechecking, go_on = threading.Event(), threading.Event()

    def checked_then_committed(*args: Any) -> tuple[list[Transaction | TxRejected], int]:
        outcome = check_many(*args)
        commit(core.chain, [txs[0]])  # as the engine would, before the add
        return outcome

    def held_recheck(late: list[Transaction]) -> list[TxRejected | None]:
        rechecking.set()
        assert go_on.wait(DEADLINE_S)
        return refused_now(late)

    monkeypatch.setattr(core, "_check_many", checked_then_committed)
    monkeypatch.setattr(core, "_refused_now", held_recheck)
    noticed: list[int] = []
    core.on_work = lambda: noticed.append(len(core.mempool))
    submitting = asyncio.create_task(core.submit([tx.encode() for tx in txs]))
    await until(rechecking.is_set, "no late recheck")
    submitting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await submitting
    go_on.set()
    await until(lambda: bool(noticed), "the engine was never told")
    assert txs[0].tx_id not in core.mempool
    assert [tx.tx_id in core.mempool for tx in txs[1:]] == [True, True]


async def test_admissions_left_running_end_at_shutdown(
        net: Consortium, core: NodeCore) -> None:
    """The daemon stops them (`stop_admitting`) before it closes the store they read."""
    items = [make_tx(net.university, AnchorPayload(os.urandom(32))).encode()
             for _ in range(4 * LOOP_STEP_ITEMS)]
    submitting = asyncio.create_task(core.submit(items))
    await until(lambda: len(core.mempool) > 0, "no step admitted anything", 0)
    submitting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await submitting
    assert core._finishing
    await core.stop_admitting()
    assert not core._finishing and len(core.mempool) < len(items)


async def test_a_late_recheck_with_the_pool_full_reads_the_index_a_step_at_a_time(
        net: Consortium, core: NodeCore, monkeypatch: pytest.MonkeyPatch) -> None:
    """With the public pool full, the late recheck reads the committed index on the loop
    itself, one read a transaction: LOOP_STEP_ITEMS reads between two turns of another
    task at most, and what the block committed is still taken out."""
    txs = [make_tx(net.university, AnchorPayload(os.urandom(32)))
           for _ in range(4 * LOOP_STEP_ITEMS + 3)]
    check_many, is_committed = core._check_many, core.chain.is_committed
    loop_thread = threading.current_thread()
    reads = [0]

    def checked_then_committed(*args: Any) -> tuple[list[Transaction | TxRejected], int]:
        outcome = check_many(*args)
        commit(core.chain, [txs[0]])
        return outcome

    def pool_full(late: list[Transaction]) -> list[TxRejected | None]:
        raise PublicWorkBusy("full")

    def counted(tx_id: bytes) -> bool:
        if threading.current_thread() is loop_thread:
            reads[0] += 1
        return is_committed(tx_id)

    monkeypatch.setattr(core, "_check_many", checked_then_committed)
    monkeypatch.setattr(core, "_refused_now", pool_full)
    monkeypatch.setattr(core.chain, "is_committed", counted)
    seen: list[int] = []
    done = asyncio.Event()

    async def consensus_consumer() -> None:
        while not done.is_set():
            seen.append(reads[0])
            await asyncio.sleep(0)

    consumer = asyncio.create_task(consensus_consumer())
    results = await core.submit([tx.encode() for tx in txs])
    done.set()
    await consumer
    seen.append(reads[0])
    assert seen[-1] == len(txs)
    assert max(after - before for before, after in itertools.pairwise(seen)) <= LOOP_STEP_ITEMS
    assert txs[0].tx_id not in core.mempool and len(core.mempool) == len(txs) - 1
    assert [refusal for _, refusal in results] == [None] * len(txs)
