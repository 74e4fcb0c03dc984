"""The `senim` console script: `cli.main` imported inside a guard.

Importing the command asked for takes up to a second (click, the ledger, aiohttp
for the node); a Ctrl-C then would end in a Python traceback from whichever import it hit.
This module imports nothing heavy itself, so the guard is in place at once.
"""

from __future__ import annotations

import sys

EXIT_INTERRUPTED = 130  # as cli.errors says, which this module must not import yet


def run() -> None:
    try:
        from cli.main import main
    except KeyboardInterrupt:
        # `senim node` says it as its log lines are said (a JSON line when they are JSON)
        from node.start_interrupt import node_options, say_interrupted
        node = node_options(sys.argv[1:])
        if node is not None:
            say_interrupted(*node)
        else:
            sys.stderr.write("interrupted: stopped while starting; nothing was done\n")
        sys.exit(EXIT_INTERRUPTED)
    main()
