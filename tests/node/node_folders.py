"""What the node-process tests set up on disk: a lone validator's key and genesis, and a
store held open by another process as a running node holds its own (LevelDB's lock is
a POSIX lock, held per process)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ledger.genesis import Genesis, GenesisMember, current_rules_genesis
from ledger.identity import KeyPair
from node.files import save_key

HOLDER_TIMEOUT_S = 60.0


def write_lone_validator(root: Path) -> KeyPair:
    """node.key and genesis.json (chain "t") of a consortium of one validator, in `root`."""
    keys = KeyPair.generate()
    save_key(root / "node.key", keys)
    (root / "genesis.json").write_text(json.dumps(lone_validator_genesis(keys).to_json()))
    return keys


def lone_validator_genesis(keys: KeyPair) -> Genesis:
    """Chain "t" of one ministry validating, under the rules `consortium create` writes."""
    return current_rules_genesis("t", 0, (GenesisMember("M", "ministry", keys.public_key, True),))


@contextmanager
def store_held_by_another_process(store: Path) -> Iterator[int]:
    """The store open in another process (its pid given) until the block ends."""
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
        yield holder.pid
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=HOLDER_TIMEOUT_S)
