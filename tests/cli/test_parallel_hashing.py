"""Hashing in worker processes gives the batch one process gives, refuses what it
refuses in the same words, and leaves no process behind. Small parts and thresholds
here, so the pool does real work in a fraction of a second."""

from __future__ import annotations

import contextlib
import fcntl
import gc
import hashlib
import json
import multiprocessing
import os
import pickle
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, ClassVar

import pytest

import cli.issuing as issuing
import cli.parallel_hashing as parallel
import node.orphan_guard as orphan_guard
import storage.batch_tree as batch_tree
from bench.registrar_exports import DIPLOMA_HEADER, diploma_rows, write_csv
from cli.client import NodeClient
from cli.issue_checks import ReaderOptions
from cli.parallel_hashing import (
    FREE_CORES_MIN,
    POOL_FROM_RECORDS,
    PooledBatchBuilder,
    hash_part,
    unpack_hashed,
    use_workers,
)
from ledger.credential_documents import parse_document
from ledger.credential_salts import FixedSalts, SaltPool
from ledger.credential_shapes import ShapeBook
from ledger.credentials import DOCUMENT_FORMAT, IssuedBatch, hash_records, make_batch
from ledger.errors import InvalidDocument
from ledger.identity import KeyPair
from node.files import save_key
from storage.batch_tree import BatchTree, subtree_levels, verify_inclusion

ISSUER = b"\x05" * 20
CHAIN_ID = "senim-test"
PART = 25
POOL_FROM = 60
IDLE: Callable[[], float] = lambda: 4.0  # noqa: E731
BUSY: Callable[[], float] = lambda: FREE_CORES_MIN - 0.01  # noqa: E731
PARENT = os.getpid()
# Set by this process once it has hashed a part itself; created before any pool forks,
# so the workers share it.
_HASHED_HERE = multiprocessing.get_context("fork").Event()
HASHED_HERE_WAIT_S = 10.0
_HERE: list[int] = []  # first record numbers of the parts this process hashed


def salts() -> SaltPool:
    counter = [0]

    def source(size: int) -> bytes:
        counter[0] += 1
        return hashlib.shake_256(counter[0].to_bytes(4, "big")).digest(size)

    return SaltPool(source, chunk=4096)  # small chunks: parts straddle them


def records(count: int) -> list[dict[str, str]]:
    return [{"full_name": f"Graduate {n}", "iin": f"{n:012d}", "gpa": "3.50"}
            | ({"honours": "with distinction"} if n % 7 == 0 else {}) for n in range(count)]


def pooled(items: list[Mapping[str, Any]], free: Callable[[], float] = IDLE,
           hash_here: bool | None = None, **limits: int) -> tuple[IssuedBatch, int]:
    with PooledBatchBuilder("diploma", CHAIN_ID, ISSUER, "U", salts=salts(),
                            part_records=limits.get("part", PART),
                            in_flight_max=limits.get("in_flight", 2),
                            pool_from=limits.get("pool_from", POOL_FROM),
                            free_cores=free, hash_here=hash_here) as builder:
        for item in items:
            builder.add(item)
        assert len(builder) == len(items)
        return builder.finish(), builder.workers_used


def single(items: list[Mapping[str, Any]]) -> IssuedBatch:
    return make_batch(items, "diploma", CHAIN_ID, ISSUER, "U", salts=salts())


def same(left: IssuedBatch, right: IssuedBatch) -> None:
    assert left.root == right.root
    assert left.target_hashes == right.target_hashes
    assert left.packed == right.packed
    assert list(left.documents()) == list(right.documents())  # audit paths too


def no_children() -> bool:
    return not multiprocessing.active_children()


@pytest.mark.parametrize("count", [POOL_FROM, 333])
def test_workers_give_the_batch_one_process_gives_in_order(count: int) -> None:
    items: list[Mapping[str, Any]] = list(records(count))
    batch, workers = pooled(items)
    assert workers == parallel.HASHING_WORKERS
    same(batch, single(items))
    names = [document["fields"]["full_name"]["value"] for document in batch.documents()]
    assert names == [f"Graduate {n}" for n in range(count)]
    assert no_children()


@pytest.mark.parametrize(("count", "free"), [(POOL_FROM - 1, IDLE), (500, BUSY)])
def test_small_batches_and_a_busy_machine_hash_in_this_process(
        count: int, free: Callable[[], float]) -> None:
    items: list[Mapping[str, Any]] = list(records(count))
    batch, workers = pooled(items, free)
    assert workers == 0
    same(batch, single(items))


def test_the_thresholds() -> None:
    assert parallel.PART_RECORDS == 4_096 and parallel.PARTS_IN_FLIGHT_MAX == 4
    assert parallel.tree_height(4_096) == 12 and parallel.tree_height(25) == 0
    assert parallel.HASHING_WORKERS == 2
    assert not use_workers(POOL_FROM_RECORDS - 1, 2.0, POOL_FROM_RECORDS)
    assert use_workers(POOL_FROM_RECORDS, FREE_CORES_MIN, POOL_FROM_RECORDS)
    assert not use_workers(POOL_FROM_RECORDS, FREE_CORES_MIN - 0.01, POOL_FROM_RECORDS)
    with pytest.raises(ValueError, match="at least 1"):
        PooledBatchBuilder("diploma", CHAIN_ID, ISSUER, "U", part_records=0)


_real_hash_part = parallel.hash_part


def test_the_workers_are_running_inside_the_block_and_gone_after() -> None:
    with PooledBatchBuilder("diploma", CHAIN_ID, ISSUER, "U", part_records=PART,
                            pool_from=POOL_FROM, free_cores=IDLE) as builder:
        for item in records(POOL_FROM + PART):
            builder.add(item)
        children = multiprocessing.active_children()
        assert children and all(child.is_alive() for child in children)
    assert not any(child.is_alive() for child in children)
    assert no_children()


class _Node(NodeClient):
    """What `senim issue` asks a node before it sends: status and members. Every
    NodeClient call goes through `request`, so nothing here reaches the network."""

    def __init__(self, keys: KeyPair) -> None:
        super().__init__("http://stand-in.invalid")
        self.keys = keys

    def status(self) -> dict[str, Any]:
        return {"chain_id": CHAIN_ID, "height": 5}

    def request(self, method: str, path: str, body: object = None) -> dict[str, Any]:
        assert (method, path) == ("GET", "/v1/members")
        return {"members": [{"member_id": self.keys.member_id.hex(), "name": "ENU",
                             "accreditations": [{"types": ["diploma"], "suspended_height": None,
                                                 "from": "2020-01-01 00:00:00 UTC",
                                                 "until": "2099-01-01 00:00:00 UTC"}]}]}


class _CountingPool(ProcessPoolExecutor):
    parts = 0

    def submit(self, *args: Any, **kwargs: Any) -> Any:
        _CountingPool.parts += 1
        return super().submit(*args, **kwargs)


def _refuses_the_last_part(batch: Any, first: int, part: Any, given: bytes,
        height: int) -> Any:
    if first + len(part if isinstance(part, list) else pickle.loads(part)) > 30:  # the last
        raise InvalidDocument(f"record {first}: refused for the test")
    return _real_hash_part(batch, first, part, given, height)


def _issue_prepared(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    keys = KeyPair.generate()
    save_key(tmp_path / "issuer.key", keys)
    export = tmp_path / "graduates.csv"
    write_csv(export, DIPLOMA_HEADER, diploma_rows(30))
    monkeypatch.setattr(parallel, "POOL_FROM_RECORDS", 10)
    monkeypatch.setattr(parallel, "PART_RECORDS", 4)
    monkeypatch.setattr(parallel, "cores_free", IDLE)
    monkeypatch.setattr(parallel, "ProcessPoolExecutor", _CountingPool)
    _CountingPool.parts = 0
    out = tmp_path / "job"
    issuing._prepare(tmp_path / "issuer.key", "diploma", export, out,
                     _Node(keys), ReaderOptions(registry=str(tmp_path / "registry.db")))
    return out


def _counts_parts_hashed_here(batch: Any, first: int, part: Any, given: bytes,
        height: int) -> Any:
    if os.getpid() == PARENT:
        _HERE.append(first)
    return _real_hash_part(batch, first, part, given, height)


def test_senim_issue_hashes_a_big_export_in_workers(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "hash_part", _counts_parts_hashed_here)
    _HERE.clear()
    out = _issue_prepared(tmp_path, monkeypatch)
    # 30 records in parts of 4: sent to the workers, or hashed here while they were busy
    assert _CountingPool.parts >= 1 and _CountingPool.parts + len(_HERE) == 8
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["count"] == 30 and manifest["state"] == "prepared"
    files = sorted((out / "credentials").rglob("*.json"))
    assert len(files) == 30
    names = set()
    for path in files:
        document = json.loads(path.read_text())
        parsed = parse_document(document)
        assert parsed.batch_root.hex() == manifest["batch_root"]
        assert verify_inclusion(parsed.target_hash, parsed.batch_index, parsed.batch_size,
                                parsed.batch_path, parsed.batch_root)
        assert manifest["target_hashes"][parsed.batch_index] == parsed.target_hash.hex()
        names.add((parsed.batch_index, document["fields"]["student_id"]["value"]))
    assert sorted(names) == [(n, f"S{n:07d}") for n in range(30)]  # rows in batch order
    assert no_children()


def test_senim_issue_says_which_record_a_worker_refused(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
        ) -> None:
    monkeypatch.setattr(parallel, "hash_part", _refuses_the_last_part)
    with pytest.raises(SystemExit) as stop:
        _issue_prepared(tmp_path, monkeypatch)
    assert stop.value.code == 2
    export = tmp_path / "graduates.csv"
    assert capsys.readouterr().err.strip() == (
        f"error: {export}: record 29: refused for the test; nothing was issued")
    assert not (tmp_path / "job" / "credentials").exists()
    assert no_children()


def test_salts_given_in_advance_are_used_in_the_same_order() -> None:
    items: list[Mapping[str, Any]] = list(records(200))
    given = hashlib.shake_256(b"given").digest(16 * sum(len(item) for item in items))
    with PooledBatchBuilder("diploma", CHAIN_ID, ISSUER, "U", salts=FixedSalts(given),
                            part_records=PART, pool_from=POOL_FROM,
                            free_cores=IDLE) as builder:
        for item in items:
            builder.add(item)
        batch = builder.finish()
        assert builder.workers_used == parallel.HASHING_WORKERS
    same(batch, make_batch(items, "diploma", CHAIN_ID, ISSUER, "U", salts=FixedSalts(given)))
    first_salt = json.loads(batch.packed[0])["full_name"]["salt"]
    assert first_salt == given[:16].hex()


def _workers_wait_for_this_process(batch: Any, first: int, part: Any, given: bytes,
        height: int) -> Any:
    """Workers start on a part only once this process has hashed one: the parts it
    hashes itself are then certain, not a matter of timing."""
    if os.getpid() != PARENT:
        _HASHED_HERE.wait(HASHED_HERE_WAIT_S)
        return _real_hash_part(batch, first, part, given, height)
    _HERE.append(first)
    try:
        return _real_hash_part(batch, first, part, given, height)
    finally:
        _HASHED_HERE.set()


def workers_wait_for_this_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """From now on, workers start on a part only once this process has hashed one."""
    monkeypatch.setattr(parallel, "hash_part", _workers_wait_for_this_process)
    _HASHED_HERE.clear()
    _HERE.clear()


def test_this_process_hashes_parts_while_the_workers_are_busy(
        monkeypatch: pytest.MonkeyPatch) -> None:
    workers_wait_for_this_process(monkeypatch)
    items: list[Mapping[str, Any]] = list(records(200))
    batch, workers = pooled(items, hash_here=True, in_flight=1)
    assert workers == parallel.HASHING_WORKERS
    # part 1 went out; with it not back, part 2 was hashed here (record numbers from 1)
    assert _HERE[0] == PART + 1
    assert len(_HERE) < 200 // PART  # and the workers hashed the rest
    same(batch, single(items))
    assert no_children()


def test_without_a_core_to_spare_this_process_waits_for_the_workers(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "hash_part", _counts_parts_hashed_here)
    _HERE.clear()
    items: list[Mapping[str, Any]] = list(records(200))
    batch, workers = pooled(items, hash_here=False, in_flight=1)
    assert workers == parallel.HASHING_WORKERS
    assert _HERE == []  # every part went to a worker, one at a time
    same(batch, single(items))
    assert no_children()


def _freeze_count_of_a_worker(out: Any) -> None:
    parallel._start_worker(os.getppid())
    out.put(gc.get_freeze_count())


class _InitializedPool(ProcessPoolExecutor):
    initializers: ClassVar[list[Any]] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        _InitializedPool.initializers.append(kwargs.get("initializer"))
        super().__init__(*args, **kwargs)


def test_a_worker_leaves_what_it_inherited_out_of_collections(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "ProcessPoolExecutor", _InitializedPool)
    _InitializedPool.initializers.clear()
    pooled(list(records(POOL_FROM)))
    assert _InitializedPool.initializers == [parallel._start_worker]
    context = multiprocessing.get_context("fork")
    queue: Any = context.SimpleQueue()
    child = context.Process(target=_freeze_count_of_a_worker, args=(queue,))
    child.start()
    child.join(30)
    assert child.exitcode == 0
    assert queue.get() > max(1000, gc.get_freeze_count())  # everything it inherited


def test_a_parts_results_travel_joined_and_come_back_as_they_were() -> None:
    items: list[Mapping[str, Any]] = list(records(40))
    given = hashlib.shake_256(b"part").digest(16 * sum(len(item) for item in items))
    batch = ("diploma", CHAIN_ID, ISSUER)
    expected = hash_records(ShapeBook(*batch, DOCUMENT_FORMAT), 3, items,
                            FixedSalts(given))
    hashed = hash_part(batch, 3, items, given, 2)
    assert hashed[0] == b"".join(expected[0]) and hashed[1] == b"".join(expected[1])
    assert hashed[3] == subtree_levels(expected[0], 2)
    assert hash_part(batch, 3, pickle.dumps(items), given, 2) == hashed  # as sent
    assert unpack_hashed(hashed) == (*expected, hashed[3])
    assert unpack_hashed((b"", b"", [], [])) == ([], [], [])
    with pytest.raises(ValueError, match="do not add up"):
        unpack_hashed((hashed[0][:-1], hashed[1], hashed[2], hashed[3]))
    with pytest.raises(ValueError, match="do not add up"):
        unpack_hashed((hashed[0], hashed[1] + b"x", hashed[2], hashed[3]))
    with pytest.raises(ValueError, match="do not add up"):
        unpack_hashed((hashed[0], hashed[1], hashed[2], [hashed[3][0][32:], *hashed[3][1:]]))


def _no_whole_tree(*args: Any) -> None:
    raise AssertionError("the tree was hashed from its leaves, not joined from its parts")


# the last of the parts of 32: whole (64), one leaf (65), one short of whole (95), 13 (333)
@pytest.mark.parametrize("count", [64, 65, 95, 333])
@pytest.mark.parametrize("hash_here", [True, False])
def test_the_workers_tree_is_the_tree_of_the_batch(monkeypatch: pytest.MonkeyPatch,
                                                   count: int, hash_here: bool) -> None:
    items: list[Mapping[str, Any]] = list(records(count))
    expected = single(items)
    monkeypatch.setattr(batch_tree.BatchTree, "__init__", _no_whole_tree)
    # subtrees of 32 leaves from the workers (or hashed here, with the same levels)
    batch, workers = pooled(items, part=32, hash_here=hash_here)
    monkeypatch.undo()
    assert workers == parallel.HASHING_WORKERS
    same(batch, expected)
    whole = BatchTree(batch.target_hashes)
    assert batch.tree.root == whole.root
    assert [batch.tree.path(index) for index in range(count)] == [
        whole.path(index) for index in range(count)]


def test_records_added_after_a_drain_join_the_batch() -> None:
    items: list[Mapping[str, Any]] = list(records(333))
    with PooledBatchBuilder("diploma", CHAIN_ID, ISSUER, "U", salts=salts(), part_records=32,
                            pool_from=POOL_FROM, free_cores=IDLE) as builder:
        for item in items[:100]:
            builder.add(item)
        builder.drain()  # a short part: the parts after it start inside a subtree
        for item in items[100:]:
            builder.add(item)
        batch = builder.finish()
        assert builder.workers_used == parallel.HASHING_WORKERS
    same(batch, single(items))
    assert no_children()


KILLED_MIDWAY = """
import fcntl, multiprocessing, os, sys, time
from cli.parallel_hashing import PooledBatchBuilder
from tests.cli.test_parallel_hashing import CHAIN_ID, IDLE, ISSUER, PART, POOL_FROM, records

held = os.open(sys.argv[1], os.O_RDONLY)  # as senim issue locks the issuer key's folder
fcntl.flock(held, fcntl.LOCK_EX)
with PooledBatchBuilder("diploma", CHAIN_ID, ISSUER, "U", part_records=PART,
                        pool_from=POOL_FROM, free_cores=IDLE) as builder:
    for item in records(POOL_FROM + PART):
        builder.add(item)
    print(" ".join(str(child.pid) for child in multiprocessing.active_children()), flush=True)
    time.sleep(120)
"""


def test_workers_end_with_a_parent_killed_midway_and_free_what_it_locked(
        tmp_path: Path) -> None:
    """`senim issue` killed (or sent SIGTERM) while its workers hashed left them running
    for good, holding the lock on the issuer key's folder the fork gave them: every later
    `senim issue` with that key waited "for another senim issue" that was none."""
    folder = tmp_path / "keys"
    folder.mkdir()
    parent = subprocess.Popen([sys.executable, "-c", KILLED_MIDWAY, str(folder)],
                              stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parents[2])
    try:
        assert parent.stdout is not None
        workers = [int(pid) for pid in parent.stdout.readline().split()]
        assert len(workers) == parallel.HASHING_WORKERS
    finally:
        parent.kill()
        parent.wait(30)
    deadline = time.monotonic() + 10 * orphan_guard.PARENT_CHECK_S + 5
    try:
        while not all(orphan_guard.gone(pid) for pid in workers):
            assert time.monotonic() < deadline, "a worker outlived its parent"
            time.sleep(0.05)
    finally:  # none is left behind by a failing run
        for pid in workers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    lock = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # BlockingIOError while held
    finally:
        os.close(lock)


@pytest.mark.parametrize("proc", [True, False])
def test_a_process_ended_is_told_from_one_running_with_or_without_proc(
        proc: bool, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Read without /proc (a registrar's Mac) as ended, every hashing worker ended as it
    started, and the batch was hashed in one process."""
    if not proc:
        monkeypatch.setattr(orphan_guard, "_PROC", tmp_path / "no-proc")
        monkeypatch.setattr(orphan_guard, "Path", lambda _text: tmp_path / "no-proc" / "x")
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait(30)
    assert not orphan_guard.gone(os.getpid())
    assert orphan_guard.gone(ended.pid)
