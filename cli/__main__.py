"""`python -m cli`: the `senim` command, where the console script is not on PATH."""

from cli.entry import run

run()
