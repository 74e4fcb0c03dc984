"""The deadline of the read in progress on one connection, kept by one timer.

`asyncio.timeout` arms a timer and cancels it around every read: on small consensus
frames, one a read, that alone was about an eighth of the CPU of a message's round trip
between two peers (`python -m bench.run --only p2p-round-trip`; BENCHMARKS.md, session
42). Here a read writes its deadline down; the timer is moved when it fires and finds the
deadline later, left to lapse when no read waits, and brought forward only for a
deadline sooner than the one it is armed for (a frame begun, whose rest has less time
than the idle wait had).
"""

from __future__ import annotations

import asyncio


class ReadDeadline:
    """`start` before awaiting a read, `stop` after it, in the reading task; when the
    deadline passes first, that task is cancelled and `expired` says it was this."""

    def __init__(self) -> None:
        self._at: float | None = None  # the loop's time the read in progress must end by
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0
        self._task: asyncio.Task[object] | None = None
        self._cancelling = 0  # the task's cancellations pending when its read began
        self._fired = False

    def start(self, at: float | None) -> None:
        """The read about to be awaited must end by the loop's time `at` (None: no limit)."""
        if at is None:
            self._at = None
            return
        task = asyncio.current_task()
        assert task is not None, "reads are awaited in a task"
        self._task = task
        self._cancelling = task.cancelling()
        self._at = at
        if self._timer is None or at < self._timer_at:
            if self._timer is not None:
                self._timer.cancel()
            self._arm(asyncio.get_running_loop(), at)

    def stop(self) -> None:
        self._at = None

    def expired(self) -> bool:
        """In the reading task, on CancelledError: whether the deadline alone cancelled
        it (the task is then uncancelled), rather than its owner too."""
        if not self._fired or self._task is None:
            return False
        self._fired = False
        return self._task.uncancel() <= self._cancelling

    def cancel(self) -> None:
        """Drop the timer: the connection is closing."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _arm(self, loop: asyncio.AbstractEventLoop, at: float) -> None:
        self._timer = loop.call_at(at, self._due, loop)
        self._timer_at = at

    def _due(self, loop: asyncio.AbstractEventLoop) -> None:
        self._timer = None
        at = self._at
        if at is None:
            return  # no read waits: armed again by the next one with a deadline
        if loop.time() < at:
            self._arm(loop, at)  # reads ended and began since it was armed
            return
        if self._task is not None and not self._task.done():
            self._fired = True
            self._task.cancel()
