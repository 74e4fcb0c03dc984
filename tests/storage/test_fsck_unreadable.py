"""`senim fsck` reports a record LevelDB refuses to read (a table block whose checksum
fails) as damage, whichever record it is, and goes on to the rest: it never stops with
a traceback. The node refuses such a store at start and sends its operator to fsck, so
fsck is what must still answer.

A table block holds many records, and which ones depends on the store's history; the
store here refuses the reads of one kind of record instead, as a damaged block would.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cli.fsck import check_store
from ledger.chain_layout import (
    BASE_KEY,
    BLOCK_PREFIX,
    CERT_PREFIX,
    GENESIS_KEY,
    HEAD_KEY,
    STATE_PREFIX,
    TX_INDEX_PREFIX,
)
from storage.errors import CorruptStateError
from storage.kv import KeyValueSnapshot, LevelDBStore
from tests.storage.damaged_store import Pristine, damaged_copy

REFUSAL = "LevelDB refuses a read: Corruption: block checksum mismatch"


class RefusesSomeReads:
    """A store that refuses, as LevelDB does a damaged block, every read of the keys
    that start with `refused` (a scan stops there)."""

    def __init__(self, kv: LevelDBStore, refused: bytes) -> None:
        self._kv, self._refused = kv, refused

    def get(self, key: bytes) -> bytes | None:
        if key.startswith(self._refused):
            raise CorruptStateError(REFUSAL)
        return self._kv.get(key)

    def iterate_prefix(self, prefix: bytes, after: bytes | None = None
                       ) -> Iterator[tuple[bytes, bytes]]:
        for key, value in self._kv.iterate_prefix(prefix, after):
            if key.startswith(self._refused):
                raise CorruptStateError(REFUSAL)
            yield key, value

    def snapshot(self) -> KeyValueSnapshot:
        raise AssertionError("fsck reads the stopped store itself")

    def write(self, puts: dict[bytes, bytes | None], sync: bool = True) -> None:
        raise AssertionError("fsck never writes")

    def close(self) -> None:
        self._kv.close()


@pytest.mark.parametrize("refused", [
    HEAD_KEY, GENESIS_KEY, BASE_KEY, BLOCK_PREFIX, BLOCK_PREFIX + bytes(7) + b"\x05",
    CERT_PREFIX + bytes(7) + b"\x05", TX_INDEX_PREFIX, STATE_PREFIX, b"",
], ids=["head", "genesis", "base", "blocks", "block-5", "certificate-5", "tx-index",
        "state", "everything"])
def test_an_unreadable_record_is_reported_never_raised(
        refused: bytes, pristine: Pristine, tmp_path: Path) -> None:
    kv = RefusesSomeReads(LevelDBStore(str(damaged_copy(pristine, tmp_path, "store"))),
                          refused)
    try:
        problems = check_store(kv, pristine.net.genesis).problems
    finally:
        kv.close()
    assert problems
    assert any("block checksum mismatch" in problem for problem in problems), problems


def test_one_unreadable_certificate_does_not_end_the_walk(
        pristine: Pristine, tmp_path: Path) -> None:
    kv = RefusesSomeReads(LevelDBStore(str(damaged_copy(pristine, tmp_path, "store"))),
                          CERT_PREFIX + bytes(7) + b"\x05")
    try:
        found = check_store(kv, pristine.net.genesis)
    finally:
        kv.close()
    scan, *walk = found.problems  # a full scan meets the damage first
    assert scan.startswith("a full scan of the store stops at damage")
    assert walk == [f"block 5: its certificate is unreadable ({REFUSAL})"]
    assert found.blocks > 5 and found.state_entries > 0  # the blocks after it, the state
