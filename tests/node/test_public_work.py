"""Public work apart from consensus: store snapshots, consistent committed views while the
ledger worker commits, a bounded pool, and the ledger worker free while the pool is full."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger.chain import Chain
from ledger.payloads import AnchorPayload
from node.evidence import record_evidence
from node.mempool import MempoolLimits
from node.metrics import NodeMetrics
from node.public_work import CommittedView, PublicWork, PublicWorkBusy
from node.service import NodeCore
from storage.kv import KeyValueStore, LevelDBStore, MemoryStore
from tests.node.api_server import api_core, serving
from tests.node.conftest import Consortium, commit, make_tx

DEADLINE_S = 20.0


@pytest.fixture(params=["memory", "leveldb"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[KeyValueStore]:
    opened: KeyValueStore = (
        MemoryStore() if request.param == "memory" else LevelDBStore(str(tmp_path / "db")))
    yield opened
    opened.close()


def test_a_snapshot_never_sees_later_writes(store: KeyValueStore) -> None:
    store.write({b"a": b"1", b"b": b"2"})
    snapshot = store.snapshot()
    store.write({b"a": b"changed", b"b": None, b"c": b"3"})
    assert (snapshot.get(b"a"), snapshot.get(b"b"), snapshot.get(b"c")) == (b"1", b"2", None)
    assert list(snapshot.iterate_prefix(b"")) == [(b"a", b"1"), (b"b", b"2")]
    assert (store.get(b"a"), store.get(b"b"), store.get(b"c")) == (b"changed", None, b"3")
    snapshot.release()


def test_committed_views_are_whole_blocks_while_another_thread_commits(
        store: KeyValueStore, net: Consortium) -> None:
    chain = Chain(store, net.genesis)
    stop = threading.Event()
    seen: set[int] = set()
    problems: list[str] = []

    def read_views() -> None:
        while not stop.is_set():
            with CommittedView(chain) as view:
                block = chain.get_block(view.height)  # blocks never change once stored
                assert block is not None
                if view.state.root != block.header.state_root:
                    problems.append(f"state root of height {view.height} is torn")
                seen.add(view.height)
            # Give the GIL back: a reader that only ever computes keeps it for whole
            # switch intervals, and every call by which the committer releases it (a
            # signature) then costs the committer an interval (minutes, with the
            # in-memory store, whose reads never release it).
            time.sleep(0)

    reader = threading.Thread(target=read_views)
    reader.start()
    try:
        for _ in range(40):
            commit(chain, [make_tx(net.ministry, AnchorPayload(os.urandom(32)))
                           for _ in range(20)])
    finally:
        stop.set()
        reader.join()
    assert not problems, problems[:3]
    assert len(seen) > 1  # the reader really ran during the commits


async def test_the_pool_is_bounded_and_a_slot_outlives_a_client_gone_away() -> None:
    pool = PublicWork(workers=1, jobs_max=2)
    release = threading.Event()
    try:
        first = asyncio.create_task(pool.run(release.wait, DEADLINE_S))
        second = asyncio.create_task(pool.run(release.wait, DEADLINE_S))
        await asyncio.sleep(0)
        with pytest.raises(PublicWorkBusy):
            await pool.run(time.sleep, 0)
        first.cancel()  # the client went away; its job still runs, so still counts
        await asyncio.sleep(0.05)
        assert pool.jobs == 2
        with pytest.raises(PublicWorkBusy):
            await pool.run(time.sleep, 0)
        release.set()
        assert await second is True
        async with asyncio.timeout(DEADLINE_S):
            while pool.jobs:
                await asyncio.sleep(0.01)
        assert await pool.run(sum, [1, 2]) == 3
    finally:
        release.set()
        pool.close()


async def test_the_ledger_worker_is_free_while_public_work_is_saturated(
        net: Consortium) -> None:
    core = NodeCore(net.ministry, net.genesis, MemoryStore(),
                    MempoolLimits(100, 1 << 20, 100), NodeMetrics())
    release = threading.Event()
    public = core.public_work
    try:
        blockers = [asyncio.create_task(public.run(release.wait, DEADLINE_S))
                    for _ in range(public.jobs_max)]
        await asyncio.sleep(0.05)
        started = time.monotonic()
        # Consensus work (here: a commit of a block) goes straight through.
        async with asyncio.timeout(5.0):
            await core.in_worker(commit, core.chain,
                                 [make_tx(net.ministry, AnchorPayload(os.urandom(32)))])
        assert time.monotonic() - started < 5.0
        assert core.chain.height == 1
        # Admission meanwhile is refused `busy`, nothing admitted.
        tx = make_tx(net.ministry, AnchorPayload(os.urandom(32)))
        [(tx_id, refusal)] = await core.submit([tx.encode()])
        assert tx_id is None and refusal is not None and refusal.code == "busy"
        assert tx.tx_id not in core.mempool
        release.set()
        await asyncio.gather(*blockers)
        [(tx_id, refusal)] = await core.submit([tx.encode()])
        assert refusal is None and tx_id == tx.tx_id
    finally:
        release.set()
        core.worker.shutdown(wait=True)


async def test_evidence_api_pages(net: Consortium) -> None:
    kv = MemoryStore()
    core = api_core(net.ministry, net.genesis, kv)
    for number in range(5):
        record_evidence(kv, "invalid-view-change", bytes([number]) * 20, b"junk", b"")
    async with serving(core, "evidence") as client:
        page = await (await client.get("/v1/evidence", params={"limit": "2"})).json()
        assert [row["validator"][:2] for row in page["evidence"]] == ["04", "03"]
        assert page["total"] == 5 and page["next"] == 3
        page = await (await client.get("/v1/evidence",
                                       params={"limit": "9", "before": "3"})).json()
        assert [row["validator"][:2] for row in page["evidence"]] == ["02", "01", "00"]
        for query in ({"limit": "x"}, {"limit": "0"}, {"before": "-1"}):
            response = await client.get("/v1/evidence", params=query)
            assert response.status == 400


async def test_a_paced_pool_rests_its_thread_in_proportion_to_the_work() -> None:
    pool = PublicWork(workers=1, jobs_max=1, cpu_share=0.5)

    def burn() -> float:
        started = time.thread_time()
        while time.thread_time() - started < 0.05:
            pass
        return time.thread_time() - started

    try:
        started = time.monotonic()
        spent = await pool.run(burn)
        # The answer waits for the rest too (the slot is held): at least twice the CPU.
        assert time.monotonic() - started >= 2 * spent
        with pytest.raises(ValueError):
            PublicWork(cpu_share=0)
    finally:
        pool.close()


async def test_a_failed_jobs_arguments_are_freed_without_a_gc_pass() -> None:
    """A job that raised kept its arguments in a reference cycle (its exception's
    traceback, PublicWork.run's frame, the future holding the exception) until a full
    GC pass, which the daemon's thresholds make rare: a client posting 16 MiB bodies
    that are no submission grew a node by 16 MiB per request, 4 GB in 15 s."""
    import gc
    import weakref

    class Body:
        pass

    def refuse(body: Body) -> None:
        raise ValueError("not a submission")

    pool = PublicWork(workers=1, jobs_max=2)
    body = Body()
    freed = weakref.ref(body)
    gc.disable()
    try:
        with pytest.raises(ValueError):
            await pool.run(refuse, body)
        del body
        for _ in range(100):  # the loop's turns that hand the exception on, no more
            if freed() is None:
                break
            await asyncio.sleep(0)
        assert freed() is None
    finally:
        gc.enable()
        pool.close()
