"""A LevelDB store held open by another process, as a running node holds its own
(LevelDB's lock is a POSIX lock, held per process)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

HOLDER_TIMEOUT_S = 60.0


@contextmanager
def store_held_by_another_process(store: Path) -> Iterator[None]:
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys
            from storage.kv import LevelDBStore
            store = LevelDBStore({str(store)!r})
            print("open", flush=True)
            sys.stdin.read()
        """)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        yield
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=HOLDER_TIMEOUT_S)
