"""CPU per single-credential issue transaction in each ledger stage as the state grows
under load, in one process.

`--only consortium-growth` shows the node processes' CPU a transaction growing with the
state, but four nodes and their load share two cores, and its rounds differ by more than
the growth between two of them. This runs the same kind of work on one store, in one
process, where CPU time moves less (runs minutes apart still differ by up to a tenth, so
compare alternated): rounds of `round_txs` issues, each admitted as a
daemon admits a gossiped submission (`SubmissionChecks._check_many`, signatures taken as
good: their cost is the signature workers', which does not grow), then built and
committed in blocks of `block_txs` (3,300: the mean block of the saturation runs, 20,000
transactions in about six blocks). The store is never compacted by hand, so its
memtable, flushes and compactions are a running node's.

Per round, per transaction: admission, block build and commit on this thread (its own
CPU clock; the blocks' transactions are decoded outside those windows); LevelDB's own
threads, its flushes and compactions, from the round's start to the next round's (so
work a round's writes leave running is still the round's); the store reads that find no
value, counted, and what answering one costs once the round is committed (a new batch's
value and the replay index are absent keys to every stage that checks a transaction; the
chain's key filters, filled as a node's, answer most of them without the store).
Counting adds a Python call to each read of the store, about 0.2 µs, in every figure.
"""

from __future__ import annotations

import itertools
import os
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import NamedTuple, TypedDict

from bench.engine import CHAIN_ID, GENESIS_MS, _certify
from bench.ledger_costs import _Admission, accredited_chain
from bench.single_node import single_credential_txs
from ledger.chain import Chain
from ledger.errors import TxRejected
from ledger.identity import MemberId
from ledger.records import batch_key
from ledger.transactions import decode_transaction
from node.public_work import CommittedView
from node.signature_workers import PendingChecks
from node.validators import SignatureCheck
from storage.kv import KeyValueSnapshot, LevelDBStore

ABSENT_READ_SAMPLES = 2_000  # keys read once each to price an absent read


class GrowthRound(TypedDict):
    entries_before: int  # credential batches in state when the round began
    height_before: int
    transactions: int
    admission_us: float
    build_us: float
    commit_us: float
    store_threads_us: float
    admission_absent_reads: float  # a transaction
    block_absent_reads: float  # a transaction
    store_absent_read_us: float  # one, through the store, as a block's execution reads
    snapshot_absent_read_us: float  # one, through a snapshot, as admission reads


class _CountingSnapshot:
    def __init__(self, inner: KeyValueSnapshot, store: _CountingStore) -> None:
        self._inner = inner
        self._store = store

    def get(self, key: bytes) -> bytes | None:
        value = self._inner.get(key)
        if value is None:
            self._store.absent_reads += 1
        return value

    def iterate_prefix(self, prefix: bytes, after: bytes | None = None
                       ) -> Iterator[tuple[bytes, bytes]]:
        return self._inner.iterate_prefix(prefix, after)

    def release(self) -> None:
        self._inner.release()


class _CountingStore(LevelDBStore):
    """A LevelDB store that counts the reads, its snapshots' included, that find no
    value."""

    absent_reads = 0

    def get(self, key: bytes) -> bytes | None:
        value = LevelDBStore.get(self, key)
        if value is None:
            self.absent_reads += 1
        return value

    def snapshot(self) -> KeyValueSnapshot:
        return _CountingSnapshot(LevelDBStore.snapshot(self), self)


class AbsentReadCost(NamedTuple):
    store_us: float
    snapshot_us: float


def _absent_read_cost(chain: Chain, issuer: MemberId, samples: int = ABSENT_READ_SAMPLES
                      ) -> AbsentReadCost:
    """CPU of one read of a key the store does not hold, as the store is now: a new
    transaction's replay-index entry and a new batch's value, read as a block's execution
    reads them (the store) and as admission does (a snapshot). Keys of the kinds the store
    holds many of: a random key would mostly fall where no table has keys, and cost less."""
    ids = [os.urandom(32) for _ in range(samples // 2)]
    batches = [batch_key(issuer, os.urandom(32)) for _ in range(samples // 2)]
    started = time.thread_time()
    for tx_id, key in zip(ids, batches, strict=True):
        chain.is_committed(tx_id)
        chain.state.get_unless_unwalked_absent(key)
    store_s = time.thread_time() - started
    with CommittedView(chain) as view:
        started = time.thread_time()
        for tx_id, key in zip(ids, batches, strict=True):
            view.is_committed(tx_id)
            view.state.get_presuming_absence(key)
        snapshot_s = time.thread_time() - started
    return AbsentReadCost(store_s / samples * 1e6, snapshot_s / samples * 1e6)


def _other_threads_cpu_s() -> float:
    """CPU of every thread of this process but the caller's, ended ones included: here,
    LevelDB's (the bench starts no thread of its own)."""
    return time.process_time() - time.thread_time()


class _SignaturesTakenAsGood:
    """`CheckSignatures` that answers every check good at once: the bench's transactions
    are signed, and checking them is the signature workers' CPU, not the ledger's."""

    def __call__(self, checks: Sequence[SignatureCheck], failures_max: int = 0) -> list[bool]:
        return [True] * len(checks)

    def start(self, checks: Sequence[SignatureCheck]) -> PendingChecks:
        return lambda: self(checks)


def ledger_growth(rounds: int = 6, round_txs: int = 19_800, block_txs: int = 3_300,
                  write_buffer_bytes: int | None = None) -> list[GrowthRound]:
    """`write_buffer_bytes`: the store's memtable, LevelDBStore's own size by default."""
    rows: list[GrowthRound] = []
    threads_at_start: list[float] = []
    with tempfile.TemporaryDirectory(prefix="senim-bench-") as folder:
        kv = _CountingStore(str(Path(folder) / "chain.ldb"),
                            write_buffer_bytes=write_buffer_bytes)
        chain, validators, client = accredited_chain(kv)
        proposer = validators[1].member_id
        for round_number in range(rounds):
            encoded = [tx.encode() for tx in single_credential_txs(
                client, CHAIN_ID, round_txs, chain.height + 1_000)]
            height_before = chain.height
            kv.absent_reads = 0
            threads_at_start.append(_other_threads_cpu_s())
            started = time.thread_time()
            admission = _Admission(chain)
            admission.check_signatures = _SignaturesTakenAsGood()
            outcomes, _ = admission._check_many(encoded, relayed=True)
            admission_s = time.thread_time() - started
            refused = [o for o in outcomes if isinstance(o, TxRejected)]
            assert not refused, refused[0].message
            admission_reads, kv.absent_reads = kv.absent_reads, 0
            build_s = commit_s = 0.0
            for start in range(0, round_txs, block_txs):
                txs = [decode_transaction(data) for data in encoded[start:start + block_txs]]
                building = time.thread_time()
                execution = chain.build(txs, proposer, 0,
                                        GENESIS_MS + 10**6 + chain.height * 1000,
                                        frozenset(tx.tx_id for tx in txs), b"")
                assert not execution.rejected, execution.rejected[0][1].message
                certificate = _certify(validators[:3], chain.height + 1,
                                       execution.header.block_hash)
                committing = time.thread_time()
                # Unsynced, as a validator's commit mostly is (the step that reaches the
                # commit quorum sends nothing: node/engine.py, _commit_decided); a sync
                # is a wait for the disk, not CPU.
                chain.commit(execution, certificate, sync=False)
                commit_s += time.thread_time() - committing
                build_s += committing - building
            block_reads = kv.absent_reads
            absent_read = _absent_read_cost(chain, client.member_id)
            rows.append({
                "entries_before": round_number * round_txs, "height_before": height_before,
                "transactions": round_txs,
                "admission_us": admission_s / round_txs * 1e6,
                "build_us": build_s / round_txs * 1e6,
                "commit_us": commit_s / round_txs * 1e6,
                "store_threads_us": 0.0,  # known once the next round starts
                "admission_absent_reads": admission_reads / round_txs,
                "block_absent_reads": block_reads / round_txs,
                "store_absent_read_us": absent_read.store_us,
                "snapshot_absent_read_us": absent_read.snapshot_us})
        kv.close()  # waits for LevelDB's flush or compaction under way
    threads_at_start.append(_other_threads_cpu_s())
    for row, (began, ended) in zip(rows, itertools.pairwise(threads_at_start), strict=True):
        # Two clocks' ticks: a round in which LevelDB did nothing can read a hair below 0.
        row["store_threads_us"] = max(0.0, ended - began) / row["transactions"] * 1e6
    return rows


def render(rows: list[GrowthRound]) -> list[str]:
    lines = ["CPU per single-credential issue transaction as the state grows under load "
             f"(in-process, `scripts/bench --only ledger-growth`: rounds of "
             f"{rows[0]['transactions']:,}, admitted, then built and committed in blocks "
             "as at saturation; the store's threads are LevelDB's flushes and "
             "compactions):", "",
             "| credential batches in state | admission | block build | commit | the "
             "store's threads | absent-key reads of the store a transaction (admission + "
             "blocks) | an absent key answered through a snapshot (admission's) / the "
             "chain (a block's) |",
             "|---|---|---|---|---|---|---|"]
    for row in rows:
        lines.append(
            f"| {row['entries_before']:,} | {row['admission_us']:,.0f} µs | "
            f"{row['build_us']:,.0f} µs | {row['commit_us']:,.0f} µs | "
            f"{row['store_threads_us']:,.0f} µs | {row['admission_absent_reads']:.2f} + "
            f"{row['block_absent_reads']:.2f} | {row['snapshot_absent_read_us']:.1f} / "
            f"{row['store_absent_read_us']:.1f} µs |")
    return lines
