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
from collections.abc import Callable, Coroutine, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol, TypeVar

from ledger.blocks import Block, Header
from ledger.chain import Chain
from ledger.errors import TxRejected
from ledger.genesis import Genesis
from ledger.identity import KeyPair
from ledger.transactions import Transaction
from node.engine_types import CommitReport, Refusals
from node.evidence import check_equivocation
from node.loop_steps import LOOP_STEP_ITEMS
from node.mempool import Mempool, MempoolLimits
from node.metrics import NodeMetrics
from node.public_work import (
    PublicWork,
    PublicWorkBusy,
)
from node.signature_workers import CheckSignatures, check_in_turn
from node.submission_checks import SubmissionChecks
from storage.key_filter import KEY_FILTER_BITS
from storage.kv import KeyValueStore
from storage.state_tree import STATE_NODES_CACHED_MAX

log = logging.getLogger("senim.node")
T = TypeVar("T")
REJECTED_REMEMBERED_MAX = 100_000
WAITERS_MAX = 10_000  # long-polls waiting on a transaction, over all clients
# Headers of recent blocks kept for transaction status answers (hash and time), so
# an answer does not decode and re-hash a whole block of up to 20,000 transactions.
HEADERS_REMEMBERED_MAX = 1_024


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
    params: Mapping[str, str | int] | None = None  # a refusal's specifics (TxRejected.params)


def _say_if_failed(task: asyncio.Task[object]) -> None:
    """An admission finished after its caller left: a failure is said here, as no one
    else will hear of it."""
    if not task.cancelled() and task.exception() is not None:
        log.error("admitting a submission failed after its sender left",
                  exc_info=task.exception())


class NodeCore(SubmissionChecks):
    def __init__(self, keys: KeyPair, genesis: Genesis, kv: KeyValueStore,
                 limits: MempoolLimits, metrics: NodeMetrics,
                 state_nodes_cached: int = STATE_NODES_CACHED_MAX,
                 key_filter_bits: int = KEY_FILTER_BITS) -> None:
        self.keys = keys
        self.genesis = genesis
        self.chain_id = genesis.chain_id
        self.chain = Chain(kv, genesis, evidence_check=check_equivocation,
                           state_nodes_cached=state_nodes_cached,
                           key_filter_bits=key_filter_bits)
        self.mempool = Mempool(limits)
        self.metrics = metrics
        self._rejected: OrderedDict[bytes, TxRejected] = OrderedDict()
        self._waiters: dict[bytes, list[asyncio.Future[TxStatus]]] = {}
        self._waiter_count = 0
        self._waits_ended = False  # the node is stopping: no long-poll waits
        self._finishing: set[asyncio.Task[object]] = set()  # admissions run to their end
        self._headers: OrderedDict[int, Header] = OrderedDict()
        # Wired by the daemon (node/daemon.py): the engine hears of new work; the
        # network gossips what the API admitted; ledger reads run on `worker`.
        self.on_work: Callable[[], None] | None = None
        self.on_admitted: Callable[[list[bytes]], None] | None = None
        self.worker: Worker = ThreadWorker()
        self.check_signatures: CheckSignatures = check_in_turn  # a submission's, in one batch
        self.metrics.height.set(self.chain.height)
        # Admission and API verification: never on the engine thread (node.public_work).
        self.public_work = PublicWork()

    async def in_worker(self, func: Callable[..., T], *args: object) -> T:
        return await self.worker.run(func, *args)

    # ---- admission -------------------------------------------------------------------
    def knows_id(self, tx_id: bytes | None) -> bool:
        """`unknown`'s answer for one id, negated: cheaper for a few (one lock each)."""
        return tx_id is not None and (tx_id in self.mempool or tx_id in self._rejected)

    def unknown(self, tx_ids: Sequence[bytes | None]) -> list[bool]:
        """Cheap pre-filter for gossip, on the event loop: for each id, whether its
        transaction is neither pending nor refused lately (an id of None, "decode to
        know", is unknown). The mempool's lock is taken once for all of them.

        The committed-transaction index is not read here: every gossiped transaction
        would cost a store read on the event loop, and the admission check reads the
        same index again in the public pool anyway, refusing a replay before any
        signature check. `tx_ids`: `tx_id_of_encoded` of each encoded transaction."""
        rejected = self._rejected
        return [not held and (tx_id is None or tx_id not in rejected)
                for tx_id, held in zip(tx_ids, self.mempool.held(tx_ids), strict=True)]

    async def submit(self, items: list[bytes], gossip: bool = True,
                     ids: list[bytes | None] | None = None
                     ) -> list[tuple[bytes | None, TxRejected | None]]:
        """Check many transactions in the public pool, then admit them in order.

        Admitted ones are handed to `on_admitted` (gossip) unless they came from
        gossip themselves. When the public pool is full every item is refused
        `busy` (nothing admitted; the caller may retry). A forged submission raises
        ForgedSubmission, nothing admitted. Gossip's bad signatures by senders that
        rotated are tried against their earlier keys (node.earlier_keys). `ids`: each
        item's `tx_id_of_encoded`, when worked out already (gossip's `unknown`)."""
        try:
            checked, checked_at = await self.public_work.run(self._check_many, items,
                                                             not gossip, ids)
        except PublicWorkBusy as exc:
            busy = TxRejected("busy", f"{exc}; retry shortly")
            return [(None, busy) for _ in items]
        admitting = self._admit(items, gossip, checked, checked_at)
        if len(checked) <= LOOP_STEP_ITEMS:  # one step: only a late recheck awaits
            return await admitting
        return await self._to_its_end(admitting)

    async def _to_its_end(self, work: Coroutine[object, object, T]) -> T:
        """`work`, finished even if the caller is cancelled meanwhile: admission yields
        the loop between steps, and a gossip frame's handler is cancelled when its peer's
        connection closes; stopped there, a submission would stay half added, its late
        recheck not done (what a block committed meanwhile pending for ever), the engine
        never told. Tasks held: at most one per submission being admitted (bounded by the
        API's connections and the peers' channels)."""
        task = asyncio.ensure_future(work)
        self._finishing.add(task)
        task.add_done_callback(self._finishing.discard)
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            task.add_done_callback(_say_if_failed)  # no caller is left to hear it
            raise

    async def stop_admitting(self) -> None:
        """At shutdown, once nothing submits any more: end the admissions still running
        to their end, before the store and the pools they use close (the mempool is not
        kept across a restart)."""
        for task in list(self._finishing):
            task.cancel()
        await asyncio.gather(*self._finishing, return_exceptions=True)

    async def _admit(self, items: list[bytes], gossip: bool,
                     checked: list[Transaction | TxRejected], checked_at: int
                     ) -> list[tuple[bytes | None, TxRejected | None]]:
        """What `submit` does once its checks return, on the loop a step at a time."""
        results: list[tuple[bytes | None, TxRejected | None]] = []
        added = 0
        for start in range(0, len(checked), LOOP_STEP_ITEMS):
            if start:
                await asyncio.sleep(0)  # the loop is free between steps (node.loop_steps)
            step = checked[start:start + LOOP_STEP_ITEMS]
            step_results: list[tuple[bytes | None, TxRejected | None]] = [
                (None, outcome) if isinstance(outcome, TxRejected) else (outcome.tx_id, None)
                for outcome in step]
            step_admitting = [(start + i, outcome) for i, outcome in enumerate(step)
                              if not isinstance(outcome, TxRejected)]
            refusals, step_added = self.mempool.add_many(
                [(tx, len(items[i])) for i, tx in step_admitting])
            for (i, tx), refusal in zip(step_admitting, refusals, strict=True):
                if refusal is None:
                    self._rejected.pop(tx.tx_id, None)
                else:
                    step_results[i - start] = (tx.tx_id, refusal)
            for _, refusal in step_results:
                if refusal is not None:
                    self.metrics.txs_refused.labels(refusal.code).inc()
            results += step_results
            added += step_added
        late = added > 0 and self.chain.height > checked_at
        finishing = self._after_adding(items, gossip, checked, results, added, late)
        if late and len(checked) <= LOOP_STEP_ITEMS:  # else in a task already, or no await
            return await self._to_its_end(finishing)
        return await finishing

    async def _after_adding(self, items: list[bytes], gossip: bool,
                            checked: list[Transaction | TxRejected],
                            results: list[tuple[bytes | None, TxRejected | None]],
                            added: int, late: bool
                            ) -> list[tuple[bytes | None, TxRejected | None]]:
        """The late recheck (`late`: a block committed while `checked` was checked), then
        the engine's notice and the gossip."""
        committed: set[bytes] = set()
        if late:  # counts and remembers its refusals
            committed = await self._recheck_late(checked, results)
        if added:  # the engine hears once per submission, not once per transaction
            self.metrics.mempool_txs.set(len(self.mempool))
            if self.on_work is not None:
                self.on_work()
        if gossip and self.on_admitted is not None:
            admitted = [data for data, (tx_id, refusal) in zip(items, results, strict=True)
                        if refusal is None and tx_id not in committed]
            if admitted:
                self.on_admitted(admitted)
        return results

    async def _recheck_late(self, checked: list[Transaction | TxRejected],
                            results: list[tuple[bytes | None, TxRejected | None]]
                            ) -> set[bytes]:
        """A block was committed while `checked` was checked: check again now what of it
        was admitted, take out of the mempool what the new state refuses, and return the
        ids that block committed.

        The engine cleans the mempool of what a block commits or makes invalid right
        after it moves the head, which may be before this submission added them: left
        in, they would be pending for ever on a backup (no primary proposes them), and
        its replica would change views alone. The head is read after adding, so if the
        engine had cleaned up first, the head had moved and this check sees its block.
        What the block committed is answered as admitted (it is on chain); what it
        made invalid gets its refusal."""
        added: list[tuple[int, Transaction]] = []
        txs: list[Transaction] = []
        for start in range(0, len(checked), LOOP_STEP_ITEMS):
            if start:
                await asyncio.sleep(0)  # the loop is free between steps (node.loop_steps)
            part = checked[start:start + LOOP_STEP_ITEMS]
            step_added = [(i, tx) for i, tx in enumerate(part, start)
                          if not isinstance(tx, TxRejected) and results[i][1] is None]
            added += step_added
            txs += [tx for _, tx in step_added]
        try:
            verdicts = await self.public_work.run(self._refused_now, txs)
        except PublicWorkBusy:  # at least take out what is committed: one read each,
            verdicts = []  # on the loop, so a step at a time (not 20,000 reads in one)
            for start in range(0, len(txs), LOOP_STEP_ITEMS):
                if start:
                    await asyncio.sleep(0)
                verdicts += [TxRejected("replayed", "committed meanwhile")
                             if self.chain.is_committed(tx.tx_id) else None
                             for tx in txs[start:start + LOOP_STEP_ITEMS]]
        committed: set[bytes] = set()
        refused: Refusals = []
        gone: list[bytes] = []
        for start in range(0, len(verdicts), LOOP_STEP_ITEMS):
            if start:
                await asyncio.sleep(0)
            for (i, tx), verdict in zip(added[start:start + LOOP_STEP_ITEMS],
                                        verdicts[start:start + LOOP_STEP_ITEMS], strict=True):
                if verdict is None:
                    continue
                gone.append(tx.tx_id)
                if verdict.code == "replayed":
                    committed.add(tx.tx_id)
                else:
                    results[i] = (tx.tx_id, verdict)
                    refused.append((tx, verdict))
        self.mempool.remove(gone)
        self.refuse(refused)  # a client already waiting on one hears it now
        return committed

    # ---- status ----------------------------------------------------------------------
    def tx_status(self, tx_id: bytes) -> TxStatus:
        # The mempool first: the engine thread writes the index entry before it takes
        # the transaction out of the mempool, so asked in this order a committing
        # transaction is seen as pending or committed, never as unknown in between.
        pending = tx_id in self.mempool
        location = self.chain.tx_location(tx_id)
        if location is not None:
            return TxStatus("committed", height=location[0], index=location[1])
        if pending:
            return TxStatus("pending")
        rejected = self._rejected.get(tx_id)
        if rejected is not None:
            return TxStatus("rejected", code=rejected.code, reason=rejected.message,
                            params=rejected.params)
        return TxStatus("unknown")

    async def wait_for(self, tx_id: bytes, timeout_s: float) -> TxStatus:
        status = self.tx_status(tx_id)
        if (status.status != "pending" or timeout_s <= 0 or self._waits_ended
                or self._waiter_count >= WAITERS_MAX):
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

    def end_waits(self) -> None:
        """Answer every long-poll now, and each one after, with its transaction's status
        as it stands. A stopping node's API waits for the requests in hand to end: a
        client waiting up to a minute for a commit (`senim anchor`, `senim issue`) held
        the node's stop on SIGTERM, or on a full disk, as long."""
        self._waits_ended = True
        for tx_id in list(self._waiters):  # bounded: at most WAITERS_MAX waiters
            self._settle(tx_id)

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
        self._remember_header(block.header)  # just executed and committed here
        self.refuse(report.refused)
        if self._waiters:  # most blocks have no transaction anyone long-polls on
            for tx in block.transactions:
                self._settle(tx.tx_id)
        self.metrics.height.set(block.header.height)
        self.metrics.txs_committed.inc(len(block.transactions))
        self.metrics.block_seconds.observe(max(0.0, time.time() - block.header.time_ms / 1000))
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

    def header_at(self, height: int) -> Header | None:
        """The checked header of block `height` (None above the head)."""
        header = self._headers.get(height)
        if header is None:
            block = self.chain.get_block(height)
            if block is None:
                return None
            header = block.header
            self._remember_header(header)
        return header

    def _remember_header(self, header: Header) -> None:
        self._headers[header.height] = header
        while len(self._headers) > HEADERS_REMEMBERED_MAX:
            self._headers.popitem(last=False)

    def block_for_api(self, height: int) -> tuple[Block, bytes] | None:
        block = self.chain.get_block(height)
        if block is None:
            return None
        return block, self.chain.get_certificate(height) or b""

