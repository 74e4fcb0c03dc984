"""The one way a CLI command stops on bad input: one red line on stderr, an exit code."""

from __future__ import annotations

import sys
from typing import NoReturn

import click

EXIT_REFUSED = 1  # the node (or a check) said no
EXIT_BAD_INPUT = 2  # the command line or a file given to it is wrong; nothing was sent
EXIT_UNREACHABLE = 3  # the node could not be asked, or stopped answering
EXIT_PENDING = 75  # EX_TEMPFAIL: submitted but not committed yet
EXIT_INTERRUPTED = 130  # stopped by Ctrl-C (SIGINT), as a shell reports it: 128 + 2


def fail(message: str, code: int = EXIT_REFUSED) -> NoReturn:
    click.secho(f"error: {message}", fg="red", err=True)
    sys.exit(code)
