"""Child interpreters start with SIGINT blocked, and unblock it once they ignore it.

A Ctrl-C at the daemon's terminal reaches its whole process group: a child interpreter
the daemon starts (the VC pool's fork server, a signature child) too. A child ignores
SIGINT only once its own code runs; in the ~50 ms before (the interpreter's start, its
site and first imports) a Ctrl-C ended it, the fork server with a KeyboardInterrupt
traceback in the daemon's output. A signal mask is kept through fork and exec, and a
signal blocked stays pending: a child started with SIGINT blocked holds that Ctrl-C
until it ignores SIGINT, which discards it, and only then unblocks SIGINT
(`ignore_sigint`). multiprocessing starts its resource tracker so.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator


@contextlib.contextmanager
def sigint_blocked() -> Iterator[None]:
    """SIGINT blocked in this thread while it starts a child. The daemon still stops on a
    Ctrl-C meanwhile: another thread of it takes the signal, or it waits here until the
    mask is restored (a signal handler runs on the main thread either way)."""
    before = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)


def ignore_sigint() -> None:
    """In a child started under `sigint_blocked`: ignore SIGINT, then let it in."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # discards one held pending meanwhile
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
