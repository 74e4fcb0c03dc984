"""Signature checks in batches, in child processes beside the daemon's Python.

libsodium's `crypto_sign_open` releases the GIL, but a thread that checks one
signature per call must take the GIL back after each, and while another thread
runs Python it gets it only at the interpreter's switch interval (5 ms): measured,
two signature threads did about a fifth of their work while the main thread ran
Python (BENCHMARKS.md). So the daemon checks a batch in a child process
(`SignatureWorkers`, child: node.signature_child): the caller writes it once and
waits once, and the child runs beside the daemon's Python. The simulator and the
tests check in turn (`check_in_turn`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import msgpack

from node.sigint_blocked import sigint_blocked
from node.signature_child import FRAME_LENGTH, check_batch
from node.validators import SignatureCheck

log = logging.getLogger("senim.signatures")

# Children per set: one per core this process may run on (more would only queue for
# them), at most this many.
SIGNATURE_WORKERS_MAX = 16
# Where a container's CPU quota is (cgroup v2): "max 100000", or quota and period in µs.
CGROUP_CPU_MAX = Path("/sys/fs/cgroup/cpu.max")
WORKER_BATCH_MIN = 32  # fewer checks cost less in turn than a trip to a child
WORKER_FAILURES_MAX = 8  # after this many failed or dead children, none is started again
# A child given longer than this for a batch (a check costs ~0.05 ms) is taken as hung
# (stopped, say): killed, so that its caller checks the batch itself instead of waiting.
WORKER_BATCH_S_MAX = 10.0
WORKER_CHECK_S_MAX = 0.001
# A set that spreads (the public one) splits a batch of at least twice this many checks
# among its free children, each piece at least this long: a piece costs a trip to a
# child (~0.1 ms) against ~1 ms of checks. So a client's submission of 50 is split too:
# its POST was answered ~0.5 ms sooner than with pieces of 128; end to end, commit
# latency moved less than the machine's noise (BENCHMARKS.md, session 29).
SPREAD_PIECE_CHECKS_MIN = 24
# How long a caller of a set that spreads waits for a child another caller holds before
# it checks in turn; a piece of a submission's largest part takes ~0.1 s.
CHILD_WAIT_S_MAX = 1.0

_PACKAGES = str(Path(__file__).resolve().parents[1])  # the folder holding this `node`

PendingChecks = Callable[[], list[bool]]  # collects a started batch's answers, once


class CheckSignatures(Protocol):
    def __call__(self, checks: Sequence[SignatureCheck], failures_max: int = 0) -> list[bool]:
        """An answer per check, in order (True: good); with `failures_max`, they stop
        after that many bad ones, so that a forged batch costs no more checks."""

    def start(self, checks: Sequence[SignatureCheck]) -> PendingChecks:
        """Hand `checks` over now; their answers are collected later, exactly once. A
        checker with nothing to run beside the caller checks them when collected."""


class InTurn:
    """`CheckSignatures` on the caller's thread."""

    def __call__(self, checks: Sequence[SignatureCheck], failures_max: int = 0) -> list[bool]:
        return check_batch(checks, failures_max)

    def start(self, checks: Sequence[SignatureCheck]) -> PendingChecks:
        return lambda: self(checks)


check_in_turn = InTurn()


class _Child:
    def __init__(self) -> None:
        # Its failures are the parent's to report (a warning when a batch comes back
        # short), so a dying child prints no traceback into the daemon's log. -P: `-m`
        # would put the daemon's working directory first on the child's path, and any
        # msgpack.py there would then answer for the daemon's signatures; the child
        # finds this `node` first instead, wherever the daemon found it (a folder already
        # on the path the child shares, such as site-packages, is not put before the
        # standard library; the daemon's own first entry may be the one -P leaves out).
        shared = sys.path if sys.flags.safe_path else sys.path[1:]
        first = None if _PACKAGES in shared else _PACKAGES
        path = os.pathsep.join(filter(None, [first, os.environ.get("PYTHONPATH")]))
        # SIGINT blocked until the child ignores it: a Ctrl-C while it starts (before its
        # code runs) ended it, and its first batch was checked in turn (node.sigint_blocked)
        with sigint_blocked():
            self.process = subprocess.Popen(
                [sys.executable, "-P", "-m", "node.signature_child"], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, bufsize=0,
                env={**os.environ, "PYTHONPATH": path})
        assert self.process.stdin is not None
        # Written with select and a deadline: a child that stops reading never blocks us.
        os.set_blocking(self.process.stdin.fileno(), False)

    def send(self, checks: Sequence[SignatureCheck], failures_max: int) -> None:
        """OSError if the child is gone, or TimeoutError (killed) if it hung."""
        assert self.process.stdin is not None
        frame = msgpack.packb([failures_max, [list(check) for check in checks]],
                              use_bin_type=True)
        deadline = time.monotonic() + _time_for(len(checks))
        data = memoryview(FRAME_LENGTH.pack(len(frame)) + frame)
        while data:
            self._wait_for(select_for_writing=True, deadline=deadline)
            try:
                data = data[os.write(self.process.stdin.fileno(), data):]
            except BlockingIOError:
                continue

    def receive(self, checks: Sequence[SignatureCheck], failures_max: int) -> list[bool]:
        """The child's answers; OSError (TimeoutError: killed) or ValueError if it hung,
        died or answered badly."""
        deadline = time.monotonic() + _time_for(len(checks))
        head = self._read(FRAME_LENGTH.size, deadline)
        if len(head) != FRAME_LENGTH.size:
            raise ValueError("it closed its pipe")
        (count,) = FRAME_LENGTH.unpack(head)
        answers = self._read(count, deadline) if count <= len(checks) else b""
        short = count < len(checks)
        if len(answers) != count or (short and (failures_max == 0
                                                or answers.count(0) != failures_max)):
            raise ValueError(f"it answered {len(answers)} of {len(checks)} checks")
        return [byte == 1 for byte in answers]

    def _read(self, size: int, deadline: float) -> bytes:
        """Up to `size` bytes, fewer only at the end of the pipe."""
        assert self.process.stdout is not None
        data = bytearray()
        while len(data) < size:
            self._wait_for(select_for_writing=False, deadline=deadline)
            chunk = os.read(self.process.stdout.fileno(), size - len(data))
            if not chunk:
                break
            data += chunk
        return bytes(data)

    def _wait_for(self, select_for_writing: bool, deadline: float) -> None:
        assert self.process.stdin is not None and self.process.stdout is not None
        pipe = self.process.stdin if select_for_writing else self.process.stdout
        remaining = deadline - time.monotonic()
        ready = remaining > 0 and any(select.select(
            [] if select_for_writing else [pipe], [pipe] if select_for_writing else [], [],
            remaining)[:2])
        if not ready:
            self.process.kill()
            raise TimeoutError("it did not answer in time, and was killed")

    def stop(self) -> None:
        for pipe in (self.process.stdin, self.process.stdout):
            if pipe is not None:  # a child already gone may refuse the last flush
                with contextlib.suppress(OSError):
                    pipe.close()
        try:
            self.process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def usable_cores(cpu_max: Path | None = None) -> int:
    """The cores this process may run on, fewer where a container's CPU quota allows
    less (a container given 2 CPUs of a 64-core host sees all 64 in its affinity)."""
    cores = len(os.sched_getaffinity(0))
    try:
        quota, period = (cpu_max or CGROUP_CPU_MAX).read_text().split()[:2]
        if quota != "max":
            cores = min(cores, max(1, -(-int(quota) // int(period))))
    except (OSError, ValueError, ZeroDivisionError):
        pass  # no cgroup v2 quota to read: the affinity alone
    return cores


def _cut_after_failures(pieces: list[list[bool]], failures_max: int) -> list[bool]:
    """The answers of a batch checked in `pieces` (each stopped after `failures_max` bad
    ones, if not 0), as one child checking it whole would give them: up to and with the
    batch's `failures_max`th bad one. That one lies in the first piece to reach it,
    which was checked at least that far; the pieces before it were checked whole."""
    answers: list[bool] = []
    failures = 0
    for piece in pieces:
        for answer in piece:
            answers.append(answer)
            failures += not answer
            if failures_max and failures == failures_max:
                return answers
    return answers


def _time_for(checks: int) -> float:
    return WORKER_BATCH_S_MAX + WORKER_CHECK_S_MAX * checks


class SignatureWorkers:
    """`CheckSignatures` in up to `workers` child processes, started when first needed
    (or all at once by `start_children`, as the daemon does) and leased one per batch,
    for any thread; `close` when the node stops.

    A small batch, or one that finds no child free, is checked in turn by the caller.
    With `spread` (the public set), a caller waits up to CHILD_WAIT_S_MAX for a child
    another holds instead, and a large batch is split among the free children: a
    submission's checks then take all the cores, not one, and a forged one costs up to
    `failures_max` checks a piece rather than in all (a piece cannot know whether the
    pieces before it hold the batch's `failures_max`th bad one). Its callers are pool
    threads with nothing else to do while they wait, and checking in turn there would
    contend with the engine for the GIL at every check. The engine's set does neither: its own
    prepared checks may hold its children until it collects them.
    A child that dies, answers short or not in time is dropped and its batch checked
    in turn, so a child can make checking slower but never change an answer. A child reads only
    its parent's pipe and exits when it closes: a daemon killed with kill -9 leaves
    none behind."""

    def __init__(self, workers: int | None = None, spread: bool = False) -> None:
        self._workers = workers if workers is not None else min(usable_cores(),
                                                                SIGNATURE_WORKERS_MAX)
        self._spread = spread
        self._idle: list[_Child] = []
        self._alive = 0  # children idle or leased
        self._failures = 0
        self._closed = False
        self._lock = threading.Lock()
        self._freed = threading.Condition(self._lock)  # a child given back or dropped

    def __call__(self, checks: Sequence[SignatureCheck], failures_max: int = 0) -> list[bool]:
        if not self._spread or len(checks) < WORKER_BATCH_MIN:
            return self._start(checks, failures_max)()
        first = self._lease(CHILD_WAIT_S_MAX)
        if first is None:
            return check_in_turn(checks, failures_max)
        children = [first]
        while len(children) < len(checks) // SPREAD_PIECE_CHECKS_MIN:
            extra = self._lease()
            if extra is None:
                break
            children.append(extra)
        size = -(-len(checks) // len(children))
        unhanded = list(children)
        pending: list[PendingChecks] = []
        answers: list[list[bool]] = []
        try:
            for start in range(0, len(checks), size):
                # Popped before the hand-over, so that the cleanup below never gives back
                # a child `_hand_to` or its `collect` has already given back or dropped.
                child = unhanded.pop(0)
                pending.append(self._hand_to(child, checks[start:start + size], failures_max))
            while pending:
                answers.append(pending.pop(0)())
        finally:
            # No child stays leased past this call, even if a piece raised: the children
            # not handed a piece go back, and the pieces not collected are collected
            # (each child answers within its time limit, or is dropped) rather than
            # dropped at once, which would count healthy children as failures toward
            # WORKER_FAILURES_MAX and start new ones.
            for child in unhanded:
                self._give_back(child)
            for piece in pending:
                with contextlib.suppress(Exception):
                    piece()
        return _cut_after_failures(answers, failures_max)

    def start(self, checks: Sequence[SignatureCheck]) -> PendingChecks:
        return self._start(checks, 0)

    def _start(self, checks: Sequence[SignatureCheck], failures_max: int) -> PendingChecks:
        child = self._lease() if len(checks) >= WORKER_BATCH_MIN else None
        if child is None:
            return lambda: check_in_turn(checks, failures_max)
        return self._hand_to(child, checks, failures_max)

    def _hand_to(self, child: _Child, checks: Sequence[SignatureCheck], failures_max: int
                 ) -> PendingChecks:
        try:
            child.send(checks, failures_max)
        except OSError as exc:
            return self._failed(child, exc, checks, failures_max)
        except BaseException:
            self._drop(child)  # half a batch may be in its pipe: it cannot be used again
            raise

        def collect() -> list[bool]:
            try:
                answers = child.receive(checks, failures_max)
            except (OSError, ValueError) as exc:
                return self._failed(child, exc, checks, failures_max)()
            except BaseException:
                self._drop(child)  # its answer may be half read
                raise
            self._give_back(child)
            return answers
        return collect

    def _failed(self, child: _Child, exc: Exception, checks: Sequence[SignatureCheck],
                failures_max: int) -> PendingChecks:
        log.warning("a signature worker failed (%s); its batch is checked here", exc)
        self._drop(child)
        return lambda: check_in_turn(checks, failures_max)

    def _lease(self, wait_s: float = 0.0) -> _Child | None:
        """An idle child, or a new one if the set has room; else None, after waiting up to
        `wait_s` for one to be given back."""
        deadline = time.monotonic() + wait_s
        with self._lock:
            while not self._idle:
                if self._closed or self._failures >= WORKER_FAILURES_MAX:
                    return None
                if self._alive < self._workers:
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._freed.wait(remaining)
            if self._idle:
                return self._idle.pop()
            self._alive += 1
        try:
            return _Child()
        except Exception as exc:  # OSError mostly; any failure to start is one
            log.warning("cannot start a signature worker (%s); checking in turn", exc)
            with self._lock:
                self._alive -= 1
                self._count_failure()
                self._freed.notify()
            return None
        except BaseException:
            with self._lock:  # no child was made: its place is free again
                self._alive -= 1
                self._freed.notify()
            raise

    def start_children(self) -> None:
        """Start every child the set may have now, idle, rather than each at the first
        batch that needs it, so that a node's first batches after it starts find their
        children ready. Started on need, a child held its first batch while its
        interpreter started and imported (0.1 s alone on a 2-core VM), and the p99 commit
        latency of a new 4-validator consortium's first load was 654-932 ms against
        114-118 with the children started with the nodes (BENCHMARKS.md, session 44).
        Starting one costs the caller 1-4 ms. The first child that cannot start counts
        as a failure, as in `_lease`, and ends the call: it and those after it are
        started on need as before."""
        leased: list[_Child] = []
        try:
            while (child := self._lease()) is not None:
                leased.append(child)
        finally:
            for child in leased:
                self._give_back(child)

    def _give_back(self, child: _Child) -> None:
        with self._lock:
            if not self._closed:
                self._idle.append(child)
                self._freed.notify()
                return
            self._alive -= 1
        child.stop()

    def _drop(self, child: _Child) -> None:
        child.stop()
        with self._lock:
            self._alive -= 1
            self._count_failure()
            self._freed.notify()

    def _count_failure(self) -> None:
        self._failures += 1
        if self._failures == WORKER_FAILURES_MAX:
            self._freed.notify_all()  # none will be started or given back: stop waiting
            log.warning("signature workers failed %d times: no more are started, and this "
                        "node checks signatures on its own threads until it restarts",
                        WORKER_FAILURES_MAX)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
            self._alive -= len(idle)
            self._freed.notify_all()
        for child in idle:
            child.stop()
