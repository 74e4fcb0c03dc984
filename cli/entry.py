"""The `senim` console script: `cli.main` imported inside a guard.

Importing the command asked for takes up to a second (click, the ledger, aiohttp
for the node); a Ctrl-C then would end in a Python traceback from whichever import it hit.
This module imports nothing heavy itself, so the guard is in place at once.
"""

from __future__ import annotations

import sys

EXIT_INTERRUPTED = 130  # as cli.errors says, which this module must not import yet


def _unencodable_replaced() -> None:
    """A console whose encoding lacks a character the command prints (a Windows code page
    such as cp1251 or cp866, or a legacy kk_KZ PT154 or ru_RU KOI8-R locale: none has
    '✔', and only PT154 the Kazakh letters) gets it escaped ('\\u04d9'), as stderr
    already does, rather than the command ending in a UnicodeEncodeError traceback in
    place of its verdict. Escaped, not replaced by '?': --json output stays the same JSON
    (an escape inside a string is JSON's own), with no letter of a name lost."""
    stdout = sys.stdout
    if getattr(stdout, "errors", None) == "strict" and hasattr(stdout, "reconfigure"):
        stdout.reconfigure(errors="backslashreplace")


def run() -> None:
    _unencodable_replaced()
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
