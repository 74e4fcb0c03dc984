"""Hashing a large batch in worker processes (`senim issue`, the benchmarks).

`PooledBatchBuilder` takes records one at a time like `ledger.credentials.BatchBuilder`
and gives the same batch, byte for byte, for the same salts: salts are drawn here, in
record order, exactly as the single-process builder draws them, and go to the workers
with their records; the workers (forked, so they inherit the imported code) hash parts
of `PART_RECORDS` with `ledger.credentials.hash_records` and the results are merged in
order. The parts go pickled (one call here for a part), and come back as a few joined
byte strings with the batch tree's levels over the part (a part of `PART_RECORDS`, a
power of two, is a whole subtree), so this process does little per record. While
`PARTS_IN_FLIGHT_MAX` parts are out with the workers, this process waits for the oldest;
on a machine with more cores than workers it hashes the next part itself instead (the
workers have work queued meanwhile), and such a part's results wait, in order, for the
parts sent before it. Where the workers take every core, hashing here too only takes
turns with them, and its long C calls hold the GIL the executor's threads need to feed
them. A refused record raises the same `InvalidDocument` (same record number) as the
single path does, when its part's result is collected: the first refusal in record
order, wherever it was found.

Workers pay only for big batches on a machine with a core to spare: the first
`POOL_FROM_RECORDS` records are held, and a pool starts only when that many arrive
and the 1-minute load average leaves `FREE_CORES_MIN` of a core free; otherwise
everything is hashed here. A worker that dies does not fail the batch: its part and
every part still out are hashed here with the salts they were given.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import pickle
import signal
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import CancelledError, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from itertools import accumulate
from types import TracebackType
from typing import Any

from ledger.credential_salts import FixedSalts, Salts
from ledger.credential_shapes import ShapeBook
from ledger.credentials import (
    DOCUMENT_FORMAT,
    BatchBuilder,
    IssuedBatch,
    hash_records,
    salts_needed_each,
)
from ledger.errors import InvalidDocument
from node.orphan_guard import exit_with
from storage.batch_tree import HASH_BYTES, split_hashes, subtree_levels

HASHING_WORKERS = 2
# A power of two: each part is then a whole subtree of the batch's tree (up to its last
# part), and the workers hash the tree's lower levels too (`subtree_levels`).
PART_RECORDS = 4_096
# Parts sent and not yet collected: enough to keep both workers busy while this
# process reads, few enough that a refused record stops the batch soon.
PARTS_IN_FLIGHT_MAX = 4
# Parts hashed here while the workers were busy, waiting for the sent parts before them
# (each holds its records' results: a few MB).
PARTS_WAITING_HERE_MAX = 4
# Below this many records, forking workers and pickling records costs more than it saves:
# sending, unpickling and sending back take the two processes together about 1.5 times
# one process's CPU for the same records (40,000 diplomas, 2026-12-02), so on two cores
# they pay only past about 20,000 records; 10,000 in one process took 60-64 ms against
# 83-88 with the workers, and the 10,000-credential batches of `bench.run --only single`
# hashed at 86,687/s with the workers against 110,761-122,661/s without (8a7cbc7).
POOL_FROM_RECORDS = 20_000
# Workers only when the 1-minute load average leaves this much of a core free.
FREE_CORES_MIN = 0.75
# The longest a part sent is waited for (a part of 4,096 diplomas takes ~40 ms): Python
# 3.11 can mark a pool broken without failing a part just handed to it, whose result
# then never comes. Past this the pool is given up and the parts out are hashed here.
PART_WAIT_S_MAX = 120.0

TARGET_BYTES = HASH_BYTES  # a target hash is a SHA-256
Batch = tuple[str, str, bytes]  # credential type, chain id, issuer
_WORKER_SHAPES: dict[Batch, ShapeBook] = {}
_WORKER_SHAPES_MAX = 4


def cores_free() -> float:
    """Cores the 1-minute load average leaves free (0 where the system does not say)."""
    try:
        load = os.getloadavg()[0]
    except OSError:
        return 0.0
    return (os.cpu_count() or 1) - load


def use_workers(records: int, free: float, pool_from: int) -> bool:
    """Workers for a batch that has reached `pool_from` records when `free` cores are."""
    return records >= pool_from and free >= FREE_CORES_MIN


def _start_worker(parent: int) -> None:
    # Ctrl-C is the parent's to handle: it closes the pool, and the workers go with it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # What the fork inherited (the parent's records among it) is never collected here:
    # left to the collector, a full collection would write to every inherited object's
    # header and copy the parent's pages into the worker, one by one.
    gc.freeze()
    # Killed (or sent SIGTERM) while hashing, `senim issue` left its workers waiting on
    # their queue for good, holding what the fork gave them, the lock on the issuer key's
    # folder among it: every later `senim issue` with that key waited "for another senim
    # issue" that was none.
    exit_with(parent)


# A part's results as they travel: the target hashes joined, the packed fields joined,
# the length of each packed text, and the part's `subtree_levels`. A few long byte
# strings pickle in a fraction of the time of 2 x PART_RECORDS short ones (each of which
# pickle also memoizes).
Hashed = tuple[bytes, bytes, list[int], list[bytes]]


def tree_height(part_records: int) -> int:
    """The height of the subtrees parts of `part_records` records are: the largest h
    with 2**h dividing it."""
    return (part_records & -part_records).bit_length() - 1


def hash_part(batch: Batch, first_number: int,
              records: Sequence[Mapping[str, Any]] | bytes, salts: bytes,
              height: int) -> Hashed:
    """A worker's job: one part's results (`Hashed`), hashed with its salts, and the
    batch tree's levels up to `height` over them. `records` come pickled from the
    parent: it pickles a part in one call, where a `ProcessPoolExecutor` pickling them
    in its feeder thread fights the parent's main thread for the GIL."""
    shapes = _WORKER_SHAPES.get(batch)
    if shapes is None:
        if len(_WORKER_SHAPES) >= _WORKER_SHAPES_MAX:
            _WORKER_SHAPES.clear()
        shapes = _WORKER_SHAPES[batch] = ShapeBook(*batch, DOCUMENT_FORMAT)
    # pickled by this program's parent (`PooledBatchBuilder._send`)
    part: Sequence[Mapping[str, Any]] = (pickle.loads(records) if isinstance(records, bytes)
                                         else records)
    targets, packed = hash_records(shapes, first_number, part, FixedSalts(salts))
    return (b"".join(targets), b"".join(packed), list(map(len, packed)),
            subtree_levels(targets, height))


def unpack_hashed(hashed: Hashed) -> tuple[list[bytes], list[bytes], list[bytes]]:
    """(target hashes, packed fields, tree levels) of a part, as `hash_part` made them."""
    targets, packed, sizes, levels = hashed
    if len(targets) != TARGET_BYTES * len(sizes) or sum(sizes) != len(packed) or (
            levels and len(levels[0]) != len(targets)):
        raise ValueError("a part's results do not add up")
    ends = list(accumulate(sizes))
    return (split_hashes(targets),
            list(map(packed.__getitem__, map(slice, [0, *ends[:-1]], ends))), levels)


class _Part:
    """Consecutive records on their way into the batch: sent to a worker (`future`), or
    hashed here while the workers were busy (`result`, or the `refusal` to raise when
    the parts before it are in)."""

    __slots__ = ("count", "first_number", "future", "records", "refusal", "result", "salts")

    def __init__(self, first_number: int, records: list[Mapping[str, Any]] | bytes,
                 count: int, salts: bytes, future: Future[Hashed] | None) -> None:
        self.first_number = first_number
        self.records = records  # pickled once sent: a fraction of the records' memory
        self.count = count
        self.salts = salts
        self.future = future
        self.result: Hashed | None = None
        self.refusal: InvalidDocument | None = None

    def ready(self) -> bool:
        return self.future is None or self.future.done()


class PooledBatchBuilder:
    """`BatchBuilder`'s `add`, `len` and `finish`, hashing big batches in worker
    processes. Use it in a `with` block (or call `close`): the pool ends there."""

    def __init__(self, credential_type: str, chain_id: str, issuer: bytes, issuer_name: str,
                 *, salts: Salts | None = None, workers: int | None = None,
                 part_records: int | None = None, in_flight_max: int | None = None,
                 pool_from: int | None = None,
                 free_cores: Callable[[], float] | None = None,
                 hash_here: bool | None = None) -> None:
        # None: this module's limits, read now (so a test may lower them)
        self._workers = HASHING_WORKERS if workers is None else workers
        self._part_records = PART_RECORDS if part_records is None else part_records
        self._in_flight_max = PARTS_IN_FLIGHT_MAX if in_flight_max is None else in_flight_max
        self._pool_from = POOL_FROM_RECORDS if pool_from is None else pool_from
        self._free_cores = cores_free if free_cores is None else free_cores
        # None: while the workers are busy, hash here only with a core beyond theirs
        self._hash_while_busy = ((os.cpu_count() or 1) > self._workers if hash_here is None
                                 else hash_here)
        if min(self._workers, self._part_records, self._in_flight_max) < 1:
            raise ValueError("workers, part size and parts in flight must be at least 1")
        self._builder = BatchBuilder(credential_type, chain_id, issuer, issuer_name,
                                     salts=salts)
        self._batch: Batch = (credential_type, chain_id, issuer)
        self._height = tree_height(self._part_records)
        self._taken = 0  # records no longer held: hashed or sent
        self._held: list[Mapping[str, Any]] = []  # records not yet hashed or sent
        # held records at which `add` has something to do: deciding on a pool, then
        # hashing or sending a part (one comparison a record, not a few steps)
        self._act_from = max(1, self._pool_from)
        self._decided = False
        self._executor: ProcessPoolExecutor | None = None
        self._out: deque[_Part] = deque()
        self.workers_used = 0  # worker processes that hashed (0: all in this process)

    def __len__(self) -> int:
        return self._taken + len(self._held)

    def __enter__(self) -> PooledBatchBuilder:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()

    def add(self, record: Mapping[str, Any]) -> None:
        """Take the next record (it may be hashed later: it must not change after this)."""
        self._held.append(record)
        if len(self._held) >= self._act_from:
            self._act()

    def _act(self) -> None:
        if not self._decided:
            self._decide()
        if self._executor is None:
            if len(self._held) >= self._part_records:
                self._hash_held()  # nothing is out then: order is kept
            return
        while self._executor is not None and len(self._held) >= self._part_records:
            self._send()

    def _decide(self) -> None:
        self._decided = True
        self._act_from = self._part_records
        if use_workers(len(self), self._free_cores(), self._pool_from):
            self._executor = ProcessPoolExecutor(
                self._workers, mp_context=multiprocessing.get_context("fork"),
                initializer=_start_worker, initargs=(os.getpid(),))
            self.workers_used = self._workers
        else:
            self._hash_held()

    def _hash_held(self) -> None:
        held, self._held = self._held, []
        if held:  # (none: the tree's spans from the workers stay whole)
            self._taken += len(held)
            self._builder.add_records(held)

    def _send(self) -> None:
        """The next part on its way, with its salts drawn now, in record order: to a
        worker while fewer than `in_flight_max` parts are out with the workers; else,
        with a core to spare (`hash_here`), hashed here, so this process works instead
        of waiting for them, or sent once the oldest part is back."""
        self._collect_ready()
        while (self._executor is not None and not self._hash_while_busy
               and self._parts_sent() >= self._in_flight_max):
            self._collect()  # the oldest part, waited for
        if self._executor is None:
            return  # the pool broke: everything was hashed here
        part, self._held = self._held[:self._part_records], self._held[self._part_records:]
        self._taken += len(part)
        joined = self._builder.salts.take_each(salts_needed_each(part))
        first = len(self._builder) + sum(p.count for p in self._out) + 1
        if self._parts_sent() < self._in_flight_max:
            payload = pickle.dumps(part, pickle.HIGHEST_PROTOCOL)
            try:
                future = self._executor.submit(hash_part, self._batch, first, payload,
                                               joined, self._height)
            except BrokenProcessPool:
                # A worker died between parts (no future out failed to say so yet), and
                # the pool takes no more: this part joins the parts out, hashed here.
                lost = _Part(first, payload, len(part), joined, None)
                self._hash_here(lost)
                self._out.append(lost)
                self._without_pool()
                return
            self._out.append(_Part(first, payload, len(part), joined, future))
        else:
            here = _Part(first, part, len(part), joined, None)
            self._hash_here(here)
            self._out.append(here)
            if here.refusal is not None:
                self._collect_all()  # raises the first refusal in record order
        # Parts hashed here wait for the sent parts before them: a bounded number.
        while len(self._out) > self._in_flight_max + PARTS_WAITING_HERE_MAX:
            self._collect()

    def _parts_sent(self) -> int:
        return sum(p.future is not None for p in self._out)

    def _hash_here(self, part: _Part) -> None:
        try:
            part.result = hash_part(self._batch, part.first_number, part.records, part.salts,
                                    self._height)
        except InvalidDocument as refusal:
            part.refusal = refusal  # raised when the parts before it are in

    def _collect_ready(self) -> None:
        """The parts at the front whose results are in (nothing is waited for)."""
        while self._out and self._out[0].ready():
            self._collect()

    def _collect_all(self) -> None:
        while self._out:
            self._collect()

    def _collect(self) -> None:
        """The oldest part's results into the batch (a refusal of its records raised
        here, the worker's own or the one this process kept)."""
        part = self._out.popleft()
        if part.future is not None:
            try:
                part.result = part.future.result(timeout=PART_WAIT_S_MAX)
            except (BrokenProcessPool, CancelledError, TimeoutError):
                self._out.appendleft(part)
                self._without_pool()
                return
        if part.refusal is not None:
            raise part.refusal
        assert part.result is not None
        targets, packed, levels = unpack_hashed(part.result)
        # After a short part (`drain` with more records to come) the parts start where no
        # subtree of their height does, and their levels do not join: the batch's tree is
        # then hashed whole from its leaves.
        joins = (part.first_number - 1) % (1 << self._height) == 0
        self._builder.add_hashed(targets, packed, levels if joins else None)

    def _without_pool(self) -> None:
        """A worker died: every part out is hashed here, with the salts it was given,
        then what is held; from now on records are hashed as they come."""
        self._close_pool()
        self.workers_used = 0
        for part in self._out:
            if part.future is not None:
                part.future = None
                self._hash_here(part)
        self._collect_all()
        self._hash_held()

    def drain(self) -> None:
        """Hash and collect everything added so far; a refused record raises here."""
        while self._executor is not None and self._held:
            self._send()
        self._collect_all()
        self._hash_held()

    def finish(self) -> IssuedBatch:
        self.drain()
        return self._builder.finish()

    def close(self) -> None:
        """End the pool (idempotent); parts still out are dropped."""
        self._close_pool()
        self._out.clear()

    def _close_pool(self) -> None:
        executor, self._executor = self._executor, None
        if executor is not None:
            # Waits for the parts being hashed (a part is a fraction of a second), then
            # for the workers to exit: the executor's own thread joins them, and only it
            # may (two threads reaping one child see it as alive forever).
            executor.shutdown(wait=True, cancel_futures=True)
