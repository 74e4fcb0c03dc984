"""Runs the engine on a thread of its own, fed from the event loop by bounded queues.

The event loop never waits on ledger work: it drops inputs into the inbox and
goes back to its sockets. The engine thread takes ticks and consensus inputs
first, then new-work notices, then jobs (ledger reads the API and admission
run through `run`), so a flood of public work delays a block by at most one job.

The engine thread keeps its own clock: it ticks when its wait for input times
out, so the 100 ticks a second cost no event-loop wake-up and no hand-over
between threads; while nothing is timed it waits longer and gives the ticks
that passed at once (`node.engine_quiet`). The loop only refreshes the set of connected peers, ten
times a second, which is all a tick needs from it.

Frames and reports the engine produces during one input are handed to the
loop in one call when the input is done (with the small inputs waiting then,
BATCHED_INPUT_BYTES_MAX), or earlier as soon as it has made a block durable:
nothing the engine says leaves before the state it wrote is durable. The early
hand-over matters on the next primary, whose commit of height h and proposal of
h+1 are one input: without it, the waiters on h's transactions there would wait
for h+1 to be built.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import TypeVar

from ledger.errors import RulesVersionUnknown
from ledger.rules_version import require_known_rules
from node.engine import Engine
from node.engine_inbox import InboxBudget
from node.engine_quiet import TICK_MS
from node.engine_types import CommitReport, Refusals
from storage.errors import CorruptStateError, DiskRefused

log = logging.getLogger("senim.engine")
T = TypeVar("T")

JOBS_MAX = 256  # ledger jobs from the API waiting; beyond it callers hear EngineBusy
TICK_S = TICK_MS / 1000
# Inputs looked through for the next sync answer: one queued behind more waits long
# enough for its own turn (and the look holds the inbox's lock).
WAITING_LOOKED_AT_MAX = 64
DROP_LOG_EVERY_S = 10.0  # inputs dropped from a full inbox: one log line this often
# Small inputs waiting when a step ends (votes, mostly, which come in bursts, one from each
# validator; also view changes and small answers) run before the step's output is handed
# to the loop, so that a burst costs one hand-over and one loop wake-up rather than one
# each: a block of one transaction cost a node 4-21% less CPU in three alternated pairs,
# saturation the same in fourteen (BENCHMARKS.md, session 50). Only inputs of at most
# BATCHED_INPUT_BYTES_MAX, at most BATCHED_INPUTS_MAX of them, the last begun within
# BATCH_S_MAX, and none once a block is committed (its output has left at once, and the
# next block's rules are checked before anything more runs): so no output waits behind a
# proposal, a block or a sync answer that came meanwhile. One small input can set off a
# long step all the same (a view change that completes a quorum and proposes a block, a
# new view that executes an early proposal), and what came before it waits for that: as
# rare as view changes are.
BATCHED_INPUT_BYTES_MAX = 1024
BATCHED_INPUTS_MAX = 8
BATCH_S_MAX = 0.001
# How often the loop hands the engine the connected peers (for sync and block announcements):
# a peer that just connected waits at most this long to be asked or told anything.
CONNECTED_REFRESH_S = 0.1


class EngineBusy(Exception):
    """Too much public work is already waiting for the ledger: retry later."""


# handler, peer, payload, whether it is a validator's (consensus frame, announced block)
Input = tuple[Callable[[bytes, bytes], None], bytes, bytes, bool]


@dataclass
class _Job:
    func: Callable[..., object]
    args: tuple[object, ...]
    future: asyncio.Future[object]


@dataclass
class _Outbox:
    """Collects what the engine says during one input; the loop delivers it after."""

    # Called once a block is written: synced, or, if its step sends nothing (and for a
    # fetched block), where a killed process keeps it, a power cut losing only a
    # certified block, which a quorum persisted before certifying it
    # (consensus/__init__.py). Everything said before it is durable: the engine syncs
    # each replica step's safety state before that step's frames.
    on_durable: Callable[[], None]
    # Called with each durable block's report on the engine thread, before it goes on.
    at_commit: Callable[[CommitReport], None] | None = None
    frames: list[tuple[bytes, int, bytes]] = field(default_factory=list)
    reports: list[CommitReport | Refusals] = field(default_factory=list)

    def send(self, peer_key: bytes, channel: int, payload: bytes) -> None:
        self.frames.append((peer_key, channel, payload))

    def committed(self, report: CommitReport) -> None:
        if self.at_commit is not None:
            self.at_commit(report)
        self.reports.append(report)
        self.on_durable()

    def refused(self, refusals: Refusals) -> None:
        self.reports.append(refusals)


class EngineThread:
    def __init__(self, loop: asyncio.AbstractEventLoop,
                 send: Callable[[bytes, int, bytes], object],
                 on_committed: Callable[[CommitReport], None],
                 on_refused: Callable[[Refusals], None],
                 at_commit: Callable[[CommitReport], None] | None = None) -> None:
        """`on_committed` and `on_refused` run on the loop, later; `at_commit` on the engine
        thread as each block's report is made, before the engine commits anything more
        (keep it short)."""
        self._loop = loop
        self._send = send
        self._on_committed = on_committed
        self._on_refused = on_refused
        self.outbox = _Outbox(on_durable=self._flush, at_commit=at_commit)
        self.engine: Engine | None = None
        self._cond = threading.Condition()
        self._inputs: deque[Input] = deque()
        self._jobs: deque[_Job] = deque()
        self._next_tick_at = 0.0  # time.monotonic(); the first tick is due at once
        self._connected: Collection[bytes] = ()
        self._work_due = False
        self._stopping = False
        self.inbox = InboxBudget()  # what waits in _inputs, and what was dropped and why
        self._drop_logged_at = -DROP_LOG_EVERY_S
        self.failure: BaseException | None = None
        self._rules_checked_at = -1  # the head whose next block's rules were checked
        self._handed_over = 0  # hand-overs to the loop so far (on the engine thread only)
        self._thread = threading.Thread(target=self._main, name="senim-engine", daemon=True)

    def start(self, engine: Engine) -> None:
        self.engine = engine
        self._thread.start()

    # ---- from the event loop -----------------------------------------------------------
    def set_connected(self, connected: Collection[bytes]) -> None:
        """The authenticated peers' public keys, for the engine's next ticks."""
        with self._cond:
            self._connected = connected

    def work_available(self) -> None:
        with self._cond:
            self._work_due = True
            self._cond.notify()

    @property
    def dropped_inputs(self) -> int:
        return sum(self.inbox.dropped.values())

    def offer(self, handler: Callable[[bytes, bytes], None], peer_key: bytes,
              payload: bytes, validator: bool = False) -> None:
        """Queue a network input; dropped when it does not fit the inbox's limits
        (`node.engine_inbox`; the protocols cope). `validator`: a consensus frame or
        announced block from a validator, which sync answers never crowd out."""
        with self._cond:
            refusal = self.inbox.admit(peer_key, len(payload), validator)
            if refusal is None:
                self._inputs.append((handler, peer_key, payload, validator))
                self._cond.notify()
                return
        now = time.monotonic()
        if now - self._drop_logged_at >= DROP_LOG_EVERY_S:
            self._drop_logged_at = now
            log.warning("engine inbox: dropped an input of %d bytes: %s (%d dropped since "
                        "start)", len(payload), refusal, self.dropped_inputs)

    def waiting_answer(self, handler: Callable[[bytes, bytes], None]
                       ) -> tuple[bytes, bytes] | None:
        """The first input for `handler` among the first WAITING_LOOKED_AT_MAX waiting,
        as (peer, payload), left where it is: the engine hands a sync answer's signatures
        to its workers before the answer's turn (`Engine.next_sync_answer`)."""
        with self._cond:
            for waiting, peer_key, payload, _ in itertools.islice(self._inputs,
                                                                  WAITING_LOOKED_AT_MAX):
                if waiting == handler:
                    return peer_key, payload
        return None

    async def run(self, func: Callable[..., T], *args: object) -> T:
        """Run a ledger read on the engine thread, after any consensus input waiting."""
        future: asyncio.Future[object] = self._loop.create_future()
        with self._cond:
            if len(self._jobs) >= JOBS_MAX:
                raise EngineBusy(f"{JOBS_MAX} ledger jobs already waiting")
            self._jobs.append(_Job(func, args, future))
            self._cond.notify()
        try:
            return await future  # type: ignore[return-value]
        finally:
            # A failed job's exception holds its traceback, which holds this frame, which
            # held the future holding the exception: a cycle keeping the job's arguments
            # until a full GC pass, which the daemon's thresholds make rare.
            del future, args

    async def ticker(self, connected: Callable[[], Collection[bytes]]) -> None:
        """Keep the engine's view of the connected peers fresh until cancelled; return
        if the engine thread died. (The engine thread ticks by itself.)"""
        while self.failure is None:
            self.set_connected(tuple(connected()))
            await asyncio.sleep(CONNECTED_REFRESH_S)

    def shutdown(self, wait: bool = True) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify()
        if wait and self._thread.is_alive():
            self._thread.join()

    # ---- on the engine thread ----------------------------------------------------------
    def _next(self) -> Callable[[], None] | None:
        with self._cond:
            engine = self.engine
            assert engine is not None
            # Only this thread changes the engine, so what it says holds for the wait.
            can_wait = engine.ticks_can_wait()  # node.engine_quiet
            now = time.monotonic()
            wait_until = self._next_tick_at + (can_wait - 1) * TICK_S
            while not (self._stopping or now >= wait_until or self._inputs
                       or self._work_due or self._jobs):
                self._cond.wait(wait_until - now)
                now = time.monotonic()
            if self._stopping:
                return None
            if now >= self._next_tick_at:
                # Ticks missed during a long step are not caught up: as before, the
                # replica's clock runs slow under load rather than firing timeouts early.
                # Those that passed in a quiet wait are, since none could fire anything.
                ticks = 1
                if can_wait > 1:
                    ticks = min(can_wait, 1 + int((now - self._next_tick_at) / TICK_S))
                self._next_tick_at = now + TICK_S
                connected = self._connected
                return lambda: engine.tick(connected, ticks)
            if self._inputs:
                handler, peer_key, payload = self._take_input()
                return lambda: handler(peer_key, payload)
            if self._work_due:
                self._work_due = False
                return engine.work_available
            # Not a lambda: the frame of one that ran stays reachable from a failed job's
            # traceback (as _do_job's caller), holding the job and so its future.
            return functools.partial(self._do_job, self._jobs.popleft())

    def _main(self) -> None:
        try:
            engine = self.engine
            assert engine is not None  # set by `start`, before this thread starts
            while (step := self._next()) is not None:
                height = engine.chain.height
                step()
                self._run_small_inputs_waiting(height)
                self._flush()
                self._stop_before_unknown_rules()
        except (DiskRefused, CorruptStateError) as exc:
            # No bug, and nothing for this thread to say: the daemon's last line says what
            # failed, where, and what to do (node.store_failures), once the node has
            # stopped. A line here too made two ERROR lines of one event (and damage one
            # with a traceback).
            self.failure = exc
        except RulesVersionUnknown as exc:  # no bug, and nothing written: the node's last line
            log.error("stopping the node before block %d: %s", exc.height, exc)
            self.failure = exc
        except BaseException as exc:  # a bug in the engine: stop the node, loudly
            log.exception("the engine thread failed; stopping the node")
            self.failure = exc

    def _take_input(self) -> tuple[Callable[[bytes, bytes], None], bytes, bytes]:
        """The first input waiting, its inbox place given back (under `_cond`)."""
        handler, peer_key, payload, validator = self._inputs.popleft()
        self.inbox.taken(peer_key, len(payload), validator)
        return handler, peer_key, payload

    def _head_height(self) -> int:
        engine = self.engine
        assert engine is not None
        return engine.chain.height

    def _run_small_inputs_waiting(self, height: int) -> None:
        """Run the small inputs waiting now, before the step's output is handed over
        (BATCHED_INPUT_BYTES_MAX and the rest), while the head is still at `height`."""
        started = time.monotonic()
        for _ in range(BATCHED_INPUTS_MAX):
            # Looked at without the lock first, as most steps end with nothing waiting: an
            # input queued just after this look waits for the next step, as one queued just
            # after the look under the lock would.
            if not self._inputs:
                return
            if self._head_height() != height or time.monotonic() - started > BATCH_S_MAX:
                return
            with self._cond:
                if (self._stopping or not self._inputs
                        or len(self._inputs[0][2]) > BATCHED_INPUT_BYTES_MAX):
                    return
                handler, peer_key, payload = self._take_input()
            out = self.outbox
            said, reported, handed_over = len(out.frames), len(out.reports), self._handed_over
            try:
                handler(peer_key, payload)
            except BaseException:
                # What the steps before it said leaves, as it did when each left alone; a
                # failing input's own output does not, as no failing step's ever did.
                if self._handed_over == handed_over:
                    del out.frames[said:], out.reports[reported:]
                    self._flush()
                raise

    def _stop_before_unknown_rules(self) -> None:
        """RulesVersionUnknown once the next block is under rules this release does not
        know. The chain raises it only when asked to build or judge that block, and a node
        never asked (a follower, a backup whose primary has stopped, every node once the
        quorum has) sat at the block before, running and stalled: an outage to its
        operator, not the upgrade due that its start refuses and README promises. Checked
        after a commit only (after this step's output is handed on), since the rules of a
        height are state, which only a commit changes."""
        engine = self.engine
        assert engine is not None
        height = engine.chain.height
        if height != self._rules_checked_at:
            self._rules_checked_at = height
            require_known_rules(engine.chain.state, height + 1)

    def _do_job(self, job: _Job) -> None:
        try:
            result = job.func(*job.args)
        except Exception as exc:  # the caller decides what its job's failure means
            self._loop.call_soon_threadsafe(_settle, job.future, None, exc)
            del job  # its future holds the exception, whose traceback holds this frame
            return
        self._loop.call_soon_threadsafe(_settle, job.future, result, None)

    def _flush(self) -> None:
        out = self.outbox
        if not (out.frames or out.reports):
            return
        frames, reports = out.frames, out.reports
        out.frames, out.reports = [], []
        self._handed_over += 1
        self._loop.call_soon_threadsafe(self._deliver, frames, reports)

    def _deliver(self, frames: list[tuple[bytes, int, bytes]],
                 reports: list[CommitReport | Refusals]) -> None:
        for peer_key, channel, payload in frames:
            self._send(peer_key, channel, payload)
        for report in reports:
            if isinstance(report, CommitReport):
                self._on_committed(report)
            else:
                self._on_refused(report)


def _settle(future: asyncio.Future[object], result: object,
            error: BaseException | None) -> None:
    if future.done():
        return  # the caller gave up waiting
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
