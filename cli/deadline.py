"""One deadline for a whole command that asks a node several things (`senim verify`).

Each request's own limits (a socket timeout, `cli.node_answers.read_bounded`'s deadline
per answer) do not bound a command: a node that trickles its answers a byte at a time keeps
every read under the socket timeout, and a verification asks up to a dozen questions,
three times over when the chain moves. So the command's `--timeout` is a deadline for
all of them together:

- every request is given only the time left (`Deadline.left`), and none starts once it
  has passed;
- where the platform has interval timers and the command runs on the main thread (the
  `senim` process), SIGALRM at the deadline interrupts whatever blocks: a read inside
  http.client's header parsing, which no deadline between reads can reach (a node can
  trickle header lines for as long as it likes), a TLS handshake, a status-list fetch.

`DeadlinePassed` is a BaseException, like KeyboardInterrupt, so that the many
`except OSError`/`except ValueError` on the way (urllib's among them) let it through to
the command, which says so in one line.
"""

from __future__ import annotations

import math
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

import click

# The longest --timeout taken: a year. The interval timer takes no more than its
# platform's time_t holds (1e12 s was an OverflowError traceback), and `inf` none at all.
MAX_TIMEOUT_S = 365 * 24 * 3600.0


class Seconds(click.FloatRange):
    """A number of seconds for an option: within its range, and a number. click's
    FloatRange lets NaN through (every comparison with it is false), and NaN given to
    setitimer was a ValueError traceback; as --max-age it called every answer stale."""

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> Any:
        seconds = super().convert(value, param, ctx)
        if math.isnan(seconds):
            self.fail(f"{value!r} is not a number of seconds", param, ctx)
        return seconds


def timeout_seconds() -> Seconds:
    """The type of a command's --timeout: more than 0 s, at most MAX_TIMEOUT_S."""
    return Seconds(min=0, min_open=True, max=MAX_TIMEOUT_S)


class DeadlinePassed(BaseException):
    """The command's deadline passed before its requests were answered."""


class Deadline:
    """A point in monotonic time; `seconds` is how the user gave it (for messages)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds
        self._disarm: Callable[[], None] = lambda: None

    def settle(self) -> None:
        """Every answer is in: the alarm must not cut the verdict short while it is
        printed (a verdict half printed, then "did not finish answering", would be worse
        than either)."""
        self._disarm()

    def left(self) -> float:
        """Seconds left; DeadlinePassed when none are, so no request starts late."""
        left = self.at - time.monotonic()
        if left <= 0:
            raise DeadlinePassed()
        return left

    def passed(self) -> bool:
        return time.monotonic() >= self.at


def _timer_available() -> bool:
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


@contextmanager
def overall_deadline(seconds: float) -> Iterator[Deadline]:
    """A deadline `seconds` from now, enforced by SIGALRM where it can be (see above)."""
    deadline = Deadline(seconds)
    if not _timer_available():
        yield deadline  # each request still gets only the time left
        return

    def ring(_signum: int, _frame: FrameType | None) -> None:
        raise DeadlinePassed()

    previous = signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, seconds)

    def disarm() -> None:
        signal.setitimer(signal.ITIMER_REAL, 0)

    deadline._disarm = disarm
    try:
        yield deadline
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
