"""A Ctrl-C while `senim node` starts, before the daemon's loop takes SIGINT as its stop:
one line in the node's own log format (a JSON line when it logs JSON), and exit 130.

Until then Python raises the SIGINT as a KeyboardInterrupt wherever the start is: in the
console script's first imports (`cli.entry`), in the command's import (`cli.main`), in
the daemon's imports (`cli.node_info`) or its checks before the loop (`node.daemon.run`).
Each hands it here. A collector parses every line of a node that logs JSON; a plain
'interrupted:' line was the one it could not. This module imports only `node.logs` and
`node.config_document` (the standard library, `ledger.errors`, `storage.bounded_read`),
so it answers at once even where the heavy imports never finished.

SIGTERM (systemd stopping it, `scripts/testnet down` right after `up`) and SIGHUP (its
terminal closed) before the loop ended the node at once with no line at all: its log
stopped mid-start with nothing saying why. `stop_signals_interrupt` has them raise
`StoppedWhileStarting`, a KeyboardInterrupt, so each of the same places says the same
line, naming the signal, and the exit status is the one the signal gives (143, 129).
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Sequence
from pathlib import Path

from node.config_document import LOG_FORMATS, log_settings_of
from node.logs import logging_configured, setup_logging

EXIT_INTERRUPTED = 130
STOPPED_WHILE_STARTING = "interrupted: the node stopped while starting"

log = logging.getLogger("senim.daemon")

# The stop signals other than SIGINT (which Python raises as a KeyboardInterrupt itself),
# until node.stop_signals takes them in the daemon's loop.
RAISED_WHILE_STARTING = (signal.SIGTERM, signal.SIGHUP)


class StoppedWhileStarting(KeyboardInterrupt):
    """A stop signal other than SIGINT, raised where the node's start is."""

    def __init__(self, received: signal.Signals) -> None:
        super().__init__(received.name)
        self.received = received


def _raise_stopped(signum: int, _frame: object) -> None:
    raise StoppedWhileStarting(signal.Signals(signum))


def stop_signals_interrupt() -> None:
    """From now until the daemon's loop installs its own handlers, SIGTERM and SIGHUP
    interrupt the start as a Ctrl-C does; one ignored (SIGHUP under nohup) stays so."""
    for sig in RAISED_WHILE_STARTING:
        if signal.getsignal(sig) is signal.SIG_DFL:
            signal.signal(sig, _raise_stopped)


def node_options(argv: Sequence[str]) -> tuple[Path | None, str | None] | None:
    """The --config and --log-format of a `senim node` command line (`argv` without the
    program), each None if not given; None if `argv` runs no node."""
    words = list(argv)
    commands = [word for word in words if not word.startswith("-")]
    if not commands or commands[0] != "node":
        return None
    found: dict[str, str] = {}
    for at, word in enumerate(words):  # bounded: one pass over the arguments
        option, equals, value = word.partition("=")
        if option in ("--config", "--log-format"):
            if not equals:
                value = words[at + 1] if at + 1 < len(words) else ""
            found[option] = value
    config = found.get("--config")
    log_format = found.get("--log-format")
    return (Path(config) if config else None,
            log_format if log_format in LOG_FORMATS else None)


def say_interrupted(config_path: Path | None, log_format: str | None,
                    cause: BaseException | None = None) -> int:
    """Log that the node stopped while starting, as its lines are logged: set up here
    from the flag and as much of the config as reads, unless the daemon did already.
    Returns the exit status: 130 for a Ctrl-C, 128 + the signal for another (`cause`)."""
    # A second signal while the first is said would end in a traceback: the process is
    # ending anyway.
    for sig in (signal.SIGINT, *RAISED_WHILE_STARTING):
        signal.signal(sig, signal.SIG_IGN)
    if not logging_configured():
        named_format, name = None, None
        if config_path is not None:
            # unreadable: the flag's format, or text (its refusal is not this line's news)
            named_format, name = log_settings_of(config_path)
        setup_logging("info", log_format or named_format or "text", name)
    if isinstance(cause, StoppedWhileStarting):
        log.warning("%s (%s received)", STOPPED_WHILE_STARTING, cause.received.name)
        return 128 + cause.received
    log.warning(STOPPED_WHILE_STARTING)
    return EXIT_INTERRUPTED
