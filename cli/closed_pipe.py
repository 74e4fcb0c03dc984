"""A reader that stops reading early (`senim members | head -1`) ends the command the
way it ends git or grep: killed by SIGPIPE (status 141 in a shell), with nothing on stderr.

Why not exit 0 or 1: click turned the closed pipe into a silent exit 1, which `senim
verify` uses for "the check said no" (cli.errors.EXIT_REFUSED), and exit 0 would say a
command finished that was cut short. A death by SIGPIPE is what a shell and `set -o
pipefail` already know as "the reader left": bash prints nothing for it.

Only a closed stdout or stderr is taken so: a BrokenPipeError from a socket to a node
(or from a child process's pipe) is still the error it was.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
from collections.abc import Iterator
from typing import NoReturn

# What a shell reports for a process killed by SIGPIPE (128 + 13), where no signal can be
# sent (no SIGPIPE on Windows) or it does not end the process.
EXIT_CLOSED_PIPE = 141
STANDARD_OUTPUTS = (1, 2)


def gone_outputs() -> list[int]:
    """stdout and stderr among the descriptors whose reader has closed its end: for the
    writing end of a pipe (or a socket) with no reader left, poll() reports an error."""
    poll = getattr(select, "poll", None)
    if poll is None:  # no poll() (Windows): a BrokenPipeError this far up is taken as one
        return list(STANDARD_OUTPUTS)
    poller = poll()
    for fd in STANDARD_OUTPUTS:
        poller.register(fd, select.POLLOUT)
    return [fd for fd, events in poller.poll(0)
            if events & (select.POLLERR | select.POLLHUP)]


def end_as_closed_pipe(gone: list[int]) -> NoReturn:
    """Stop now, as a process whose write found no reader: what Python has buffered for
    the gone outputs goes to /dev/null (else it is flushed again at exit, and "Exception
    ignored ... BrokenPipeError" is printed), then SIGPIPE at its default action."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    for fd in gone:
        os.dup2(devnull, fd)
    os.close(devnull)
    sigpipe = getattr(signal, "SIGPIPE", None)
    if sigpipe is not None:
        with contextlib.suppress(ValueError, OSError):  # ValueError: not the main thread
            signal.signal(sigpipe, signal.SIG_DFL)
            # a parent may have blocked it, and the mask is inherited across exec
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {sigpipe})
            os.kill(os.getpid(), sigpipe)
    os._exit(EXIT_CLOSED_PIPE)


@contextlib.contextmanager
def quiet_when_reader_gone() -> Iterator[None]:
    """Around a command: a BrokenPipeError on stdout or stderr ends it as a closed pipe
    ends git; any other (a node's socket) goes on up unchanged."""
    try:
        yield
    except BrokenPipeError:
        gone = gone_outputs()
        if gone:
            end_as_closed_pipe(gone)
        raise
