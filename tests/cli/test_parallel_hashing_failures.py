"""Hashing in worker processes when something goes wrong: a record refused (in a worker
or here), a worker dead mid-batch or between parts. The registrar gets the refusal the
single process gives, word for word, or the batch hashed here; never another batch, and
no process is left behind. Helpers and small limits: tests/cli/test_parallel_hashing.py."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

import pytest

import cli.parallel_hashing as parallel
from cli.parallel_hashing import PooledBatchBuilder
from ledger.errors import InvalidDocument
from tests.cli.test_parallel_hashing import (
    _HERE,
    BUSY,
    CHAIN_ID,
    IDLE,
    ISSUER,
    PARENT,
    PART,
    POOL_FROM,
    _real_hash_part,
    no_children,
    pooled,
    records,
    same,
    single,
    workers_wait_for_this_process,
)


@pytest.mark.parametrize("free", [IDLE, BUSY])  # busy: hashed here, a part at a time
@pytest.mark.parametrize("bad_at", [3, POOL_FROM + 7, 290])
@pytest.mark.parametrize("bad", [
    {"full_name": "A", " full_name ": "B"},
    {"full_name": "A", "iin": "\ud800", "gpa": "3.50"},  # not valid Unicode: hashed in a run
])
def test_a_record_a_worker_refuses_reads_as_in_one_process(
        bad: dict[str, str], bad_at: int, free: Callable[[], float]) -> None:
    items: list[Mapping[str, Any]] = list(records(300))
    items[bad_at] = bad
    with pytest.raises(InvalidDocument) as expected:
        single(items)
    assert f"record {bad_at + 1}:" in str(expected.value)
    with pytest.raises(InvalidDocument) as got:
        pooled(items, free)
    assert str(got.value) == str(expected.value)
    assert no_children()


def test_a_refusal_raised_while_adding_closes_the_pool() -> None:
    items: list[Mapping[str, Any]] = list(records(400))
    items[POOL_FROM + 1] = {"gpa": "x" * 10_001}
    with pytest.raises(InvalidDocument, match=f"record {POOL_FROM + 2}: field 'gpa'"), \
            PooledBatchBuilder("diploma", CHAIN_ID, ISSUER, "U", part_records=PART,
                               in_flight_max=1, pool_from=POOL_FROM,
                               free_cores=IDLE) as builder:
        for item in items:  # one part in flight: the refusal comes back during add
            builder.add(item)
        pytest.fail("every record was taken")
    assert len(builder) < len(items)
    assert no_children()


def _dies_in_a_worker(batch: Any, first: int, part: Any, given: bytes,
        height: int) -> Any:
    if os.getpid() != PARENT:
        os._exit(3)
    return _real_hash_part(batch, first, part, given, height)


def test_a_dead_worker_costs_time_not_the_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "hash_part", _dies_in_a_worker)
    items: list[Mapping[str, Any]] = list(records(300))
    batch, workers = pooled(items)
    assert workers == 0  # it went on without the pool
    same(batch, single(items))
    assert no_children()


BROKEN_WAIT_S = 30.0


class _LosesAWorkerBetweenParts(ProcessPoolExecutor):
    """Before its third part, one of its workers is killed with none of that worker's
    parts out, as the kernel's OOM killer may while the registrar's file is read: the
    pool refuses the part (`submit` raises), and no future out has failed to say so."""

    submits = 0

    def submit(self, *args: Any, **kwargs: Any) -> Any:
        _LosesAWorkerBetweenParts.submits += 1
        if _LosesAWorkerBetweenParts.submits == 3:
            for future in list(self._pending_work_items.values()):
                future.future.result()  # the parts out are back: nothing to fail
            os.kill(next(iter(self._processes)), signal.SIGKILL)
            deadline = time.monotonic() + BROKEN_WAIT_S
            while not self._broken and time.monotonic() < deadline:
                time.sleep(0.01)  # until the executor's thread has seen the death
            assert self._broken
        return super().submit(*args, **kwargs)


def test_a_worker_dead_between_parts_costs_time_not_the_batch(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "ProcessPoolExecutor", _LosesAWorkerBetweenParts)
    _LosesAWorkerBetweenParts.submits = 0
    items: list[Mapping[str, Any]] = list(records(300))
    batch, workers = pooled(items, hash_here=False, part=32)
    assert _LosesAWorkerBetweenParts.submits == 3
    assert workers == 0  # it went on without the pool
    same(batch, single(items))
    assert no_children()


def test_a_refusal_in_the_part_a_broken_pool_refused_reads_as_in_one_process(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "ProcessPoolExecutor", _LosesAWorkerBetweenParts)
    _LosesAWorkerBetweenParts.submits = 0
    items: list[Mapping[str, Any]] = list(records(300))
    items[2 * 32 + 5] = {"full_name": "A", " full_name ": "B"}  # in the third part
    with pytest.raises(InvalidDocument) as expected:
        single(items)
    with pytest.raises(InvalidDocument) as got:
        pooled(items, hash_here=False, part=32)
    assert _LosesAWorkerBetweenParts.submits == 3
    assert str(got.value) == str(expected.value)
    assert no_children()


def test_a_refusal_hashed_here_waits_for_an_earlier_one_sent(
        monkeypatch: pytest.MonkeyPatch) -> None:
    workers_wait_for_this_process(monkeypatch)
    items: list[Mapping[str, Any]] = list(records(200))
    items[10] = {"full_name": "A", " full_name ": "B"}  # in part 1, sent
    items[PART + 5] = {"gpa": "x" * 10_001}  # in part 2, hashed here
    with pytest.raises(InvalidDocument) as expected:
        single(items)
    assert "record 11:" in str(expected.value)
    with pytest.raises(InvalidDocument) as got:
        pooled(items, hash_here=True, in_flight=1)
    assert _HERE == [PART + 1]
    assert str(got.value) == str(expected.value)
    assert no_children()


class _OrphansAPart(ProcessPoolExecutor):
    """Its third part gets a future that never finishes, as Python 3.11's pool may give
    a part handed to it just as it breaks."""

    submits = 0

    def submit(self, *args: Any, **kwargs: Any) -> Any:
        _OrphansAPart.submits += 1
        if _OrphansAPart.submits == 3:
            return Future()
        return super().submit(*args, **kwargs)


def test_a_part_whose_result_never_comes_costs_time_not_a_hang(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "ProcessPoolExecutor", _OrphansAPart)
    monkeypatch.setattr(parallel, "PART_WAIT_S_MAX", 0.5)
    _OrphansAPart.submits = 0
    items: list[Mapping[str, Any]] = list(records(300))
    started = time.monotonic()
    batch, workers = pooled(items, hash_here=False, part=32)
    assert time.monotonic() - started < BROKEN_WAIT_S
    assert _OrphansAPart.submits >= 3  # the orphan was sent
    assert workers == 0  # it went on without the pool
    same(batch, single(items))
    assert no_children()
