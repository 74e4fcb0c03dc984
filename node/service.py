"""The node's service on the event loop: admission, transaction status and waiters.

It holds the chain and the mempool that the engine (node/engine.py) works on.
Ledger reads that must not race a commit run through `worker`, which the
daemon wires to the engine's thread; consensus inputs there go first.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol, TypeVar

from ledger.blocks import Block
from ledger.chain import Chain
from ledger.errors import MalformedInput, TxRejected
from ledger.genesis import Genesis
from ledger.identity import KeyPair
from ledger.transactions import Transaction, decode_transaction, tx_id_of_encoded
from node.engine import CommitReport, Refusals
from node.mempool import Mempool, MempoolLimits
from node.metrics import NodeMetrics
from storage.kv import KeyValueStore

log = logging.getLogger("senim.node")
T = TypeVar("T")
REJECTED_REMEMBERED_MAX = 100_000
CHECK_CHUNK = 500
WAITERS_MAX = 10_000  # long-polls waiting on a transaction, over all clients


class Worker(Protocol):
    """Runs ledger reads that must not race a commit (the engine thread in the daemon)."""

    async def run(self, func: Callable[..., T], *args: object) -> T: ...
    def shutdown(self, wait: bool = True) -> None: ...


class ThreadWorker:
    """A worker of its own, for a core that no engine thread serves (tests, tools)."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="senim-ledger")

    async def run(self, func: Callable[..., T], *args: object) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, func, *args)

    def shutdown(self, wait: bool = True) -> None:
        self._pool.shutdown(wait=wait)


@dataclass(frozen=True)
class TxStatus:
    status: str  # pending | committed | rejected | unknown
    height: int | None = None
    index: int | None = None
    code: str | None = None
    reason: str | None = None


class NodeCore:
    def __init__(self, keys: KeyPair, genesis: Genesis, kv: KeyValueStore,
                 limits: MempoolLimits, metrics: NodeMetrics) -> None:
        self.keys = keys
        self.genesis = genesis
        self.chain_id = genesis.chain_id
        self.chain = Chain(kv, genesis)
        self.mempool = Mempool(limits)
        self.metrics = metrics
        self._rejected: OrderedDict[bytes, TxRejected] = OrderedDict()
        self._waiters: dict[bytes, list[asyncio.Future[TxStatus]]] = {}
        self._waiter_count = 0
        # Wired by the daemon (node/daemon.py): the engine hears of new work; the
        # network gossips what the API admitted; ledger reads run on `worker`.
        self.on_work: Callable[[], None] | None = None
        self.on_admitted: Callable[[list[bytes]], None] | None = None
        self.worker: Worker = ThreadWorker()
        self.metrics.height.set(self.chain.height)

    async def in_worker(self, func: Callable[..., T], *args: object) -> T:
        return await self.worker.run(func, *args)

    # ---- admission -------------------------------------------------------------------
    def knows(self, data: bytes) -> bool:
        """Cheap pre-filter for gossip: is this encoded transaction already pending?"""
        tx_id = tx_id_of_encoded(data)
        if tx_id is None:
            return False
        return tx_id in self.mempool or tx_id in self._rejected or self.chain.is_committed(tx_id)

    def check_new(self, data: bytes) -> Transaction:
        """Decode and check a submitted transaction against the committed state.

        Pure CPU work, safe to run in a worker thread: it reads the committed
        state and writes only to a throw-away overlay.
        """
        return self._check_rules(decode_transaction(data), signature_ok=False)

    def _check_rules(self, tx: Transaction, signature_ok: bool) -> Transaction:
        self.chain.check_pending(tx, int(time.time() * 1000), signature_ok)
        return tx

    def admit_checked(self, tx: Transaction, size: int) -> None:
        if tx.tx_id in self.mempool:
            return  # resubmission of a pending transaction is harmless
        self.mempool.add(tx, size)
        if self.on_work is not None:
            self.on_work()
        self._rejected.pop(tx.tx_id, None)
        self.metrics.mempool_txs.set(len(self.mempool))

    async def submit(self, items: list[bytes], gossip: bool = True
                     ) -> list[tuple[bytes | None, TxRejected | None]]:
        """Check many transactions in a worker thread, then admit them in order.

        Admitted ones are handed to `on_admitted` (gossip) unless they came from
        gossip themselves."""
        checked: list[Transaction | TxRejected] = []
        for offset in range(0, len(items), CHECK_CHUNK):
            # One ledger-worker job per chunk: consensus work queued meanwhile runs
            # between chunks, so a 20,000-transaction upload cannot stall a block.
            checked += await self.in_worker(self._check_many,
                                            items[offset:offset + CHECK_CHUNK])
        results: list[tuple[bytes | None, TxRejected | None]] = []
        for data, outcome in zip(items, checked, strict=True):
            if isinstance(outcome, TxRejected):
                self.metrics.txs_refused.labels(outcome.code).inc()
                results.append((None, outcome))
                continue
            try:
                self.admit_checked(outcome, len(data))
            except TxRejected as exc:
                self.metrics.txs_refused.labels(exc.code).inc()
                results.append((outcome.tx_id, exc))
                continue
            results.append((outcome.tx_id, None))
        if gossip and self.on_admitted is not None:
            admitted = [data for data, (_, refusal) in zip(items, results, strict=True)
                        if refusal is None]
            if admitted:
                self.on_admitted(admitted)
        return results

    def _check_many(self, items: list[bytes]) -> list[Transaction | TxRejected]:
        outcomes: list[Transaction | TxRejected] = []
        for data in items:
            try:
                outcomes.append(self.check_new(data))
            except MalformedInput as exc:
                outcomes.append(TxRejected("malformed", str(exc)))
            except TxRejected as exc:
                outcomes.append(exc)
        return outcomes

    # ---- status ----------------------------------------------------------------------
    def tx_status(self, tx_id: bytes) -> TxStatus:
        location = self.chain.tx_location(tx_id)
        if location is not None:
            return TxStatus("committed", height=location[0], index=location[1])
        if tx_id in self.mempool:
            return TxStatus("pending")
        rejected = self._rejected.get(tx_id)
        if rejected is not None:
            return TxStatus("rejected", code=rejected.code, reason=rejected.message)
        return TxStatus("unknown")

    async def wait_for(self, tx_id: bytes, timeout_s: float) -> TxStatus:
        status = self.tx_status(tx_id)
        if status.status != "pending" or timeout_s <= 0 or self._waiter_count >= WAITERS_MAX:
            return status
        future: asyncio.Future[TxStatus] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(tx_id, []).append(future)
        self._waiter_count += 1
        try:
            return await asyncio.wait_for(asyncio.shield(future), timeout_s)
        except TimeoutError:
            return self.tx_status(tx_id)
        finally:
            self._waiter_count -= 1
            waiters = self._waiters.get(tx_id, [])
            if future in waiters:
                waiters.remove(future)
            if not waiters:
                self._waiters.pop(tx_id, None)

    def _settle(self, tx_id: bytes) -> None:
        waiters = self._waiters.pop(tx_id, None)
        if waiters:
            status = self.tx_status(tx_id)
            for future in waiters:
                if not future.done():
                    future.set_result(status)

    # ---- blocks (reported by the engine, on the event loop) -----------------------------
    def remember_rejected(self, tx: Transaction, reason: TxRejected) -> None:
        self._rejected[tx.tx_id] = reason
        if len(self._rejected) > REJECTED_REMEMBERED_MAX:
            self._rejected.popitem(last=False)
        self.metrics.txs_refused.labels(reason.code).inc()

    def after_commit(self, report: CommitReport) -> None:
        """Bookkeeping once a block is durable: refusals, waiters, metrics, log."""
        block = report.execution.block
        self.refuse(report.refused)
        for tx in block.transactions:
            self._settle(tx.tx_id)
        self.metrics.height.set(block.header.height)
        self.metrics.txs_committed.inc(len(block.transactions))
        self.metrics.mempool_txs.set(len(self.mempool))
        log.info("committed block %d (%s) with %d tx, %d refused, state %s (%s)",
                 block.header.height, block.block_hash.hex()[:16], len(block.transactions),
                 len(report.refused), block.header.state_root.hex()[:16], report.source)

    def refuse(self, refused: Refusals) -> None:
        """Pending transactions the engine dropped: remember why, answer their waiters."""
        for tx, reason in refused:
            self.remember_rejected(tx, reason)
            self._settle(tx.tx_id)
        if refused:
            self.metrics.mempool_txs.set(len(self.mempool))

    def block_for_api(self, height: int) -> tuple[Block, bytes] | None:
        block = self.chain.get_block(height)
        if block is None:
            return None
        return block, self.chain.get_certificate(height) or b""
