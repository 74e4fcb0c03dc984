"""A synced write makes every write before it durable, unsynced ones included.

The engine counts on it (consensus/__init__.py, the driver contract's relaxation;
fetched blocks, state sync's batches). LevelDB alone does not give it: when its
memtable is full, the next write starts a new log file, closes the old one without
syncing it (google/leveldb issue #193) and syncs only the new one. Until the old
memtable is written out as a table, a power cut can then keep the synced write and
lose the unsynced ones before it: a commit's block lost under the next height's
safety state (the replica refuses to start: `CorruptSafetyState`), or a block kept
without the one before it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from storage.kv import LevelDBStore

_real_fdatasync: Callable[[int], None] = os.fdatasync


class SmallMemtableStore(LevelDBStore):
    WRITE_BUFFER_BYTES = 1024 * 1024  # LevelDB switches its log once this is full


def write_a_full_memtable_unsynced(store: LevelDBStore) -> None:
    """A commit's batch, unsynced, big enough to fill SmallMemtableStore's memtable."""
    store.write({b"block:%06d" % i: os.urandom(1000) for i in range(1200)}, sync=False)


def _logs(folder: Path) -> set[str]:
    return {name for name in os.listdir(folder) if name.endswith(".log")}


def _recording_syncs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    synced: list[str] = []

    def fdatasync(fd: int) -> None:
        synced.append(os.path.basename(os.readlink(f"/proc/self/fd/{fd}")))
        _real_fdatasync(fd)

    monkeypatch.setattr(os, "fdatasync", fdatasync)
    return synced


def test_a_synced_write_syncs_the_log_that_holds_earlier_unsynced_writes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "db"
    store = SmallMemtableStore(str(folder))
    try:
        synced = _recording_syncs(monkeypatch)
        write_a_full_memtable_unsynced(store)
        holding = _logs(folder)
        assert len(holding) == 1
        store.write({b"meta:replica": b"next height's vote"}, sync=True)
        started = _logs(folder) - holding
        assert started, "premise: the synced write went to a new log"
        # The old log first: a power cut between the two keeps a prefix of the writes.
        assert synced == sorted(holding) + sorted(started)
    finally:
        store.close()


def test_a_synced_write_after_unsynced_ones_in_its_log_syncs_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No more syncs than LevelDB's own when no new log was started: the store syncs
    the log instead of LevelDB."""
    folder = tmp_path / "db"
    store = SmallMemtableStore(str(folder))
    try:
        synced = _recording_syncs(monkeypatch)
        store.write({b"block": b"1"}, sync=False)
        store.write({b"meta:replica": b"vote"}, sync=True)
        assert synced == sorted(_logs(folder)) and len(synced) == 1
        assert store.get(b"block") == b"1" and store.get(b"meta:replica") == b"vote"
    finally:
        store.close()


def test_a_synced_write_syncs_every_log_since_the_last_synced_write(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A new log started by an unsynced write: both logs hold unsynced writes."""
    folder = tmp_path / "db"
    store = SmallMemtableStore(str(folder))
    try:
        synced = _recording_syncs(monkeypatch)
        write_a_full_memtable_unsynced(store)
        holding = _logs(folder)
        store.write({b"evidence": b"unsynced too"}, sync=False)
        started = _logs(folder) - holding
        assert started, "premise: the second unsynced write went to a new log"
        store.write({b"meta:replica": b"vote"}, sync=True)
        assert synced == sorted(holding) + sorted(started)
    finally:
        store.close()


def test_a_synced_write_after_synced_ones_syncs_no_more(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = SmallMemtableStore(str(tmp_path / "db"))
    try:
        store.write({b"a": b"1"}, sync=False)
        store.write({b"b": b"2"}, sync=True)
        synced = _recording_syncs(monkeypatch)
        store.write({b"c": b"3"}, sync=True)
        assert synced == []  # LevelDB's own sync of its log is all it takes
    finally:
        store.close()


def test_a_log_deleted_after_the_write_is_no_sign_the_write_went_there(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """LevelDB deletes a log once its memtable is a table, in a background thread, and may
    do so between the write that started the next log and the store's second look at the
    old one: that look finds nothing, which is no growth. The write went to the new log,
    and that is the one to sync."""
    folder = tmp_path / "db"
    store = SmallMemtableStore(str(folder))
    try:
        write_a_full_memtable_unsynced(store)
        holding = _logs(folder)
        looks: list[int] = []
        real_log_size = LevelDBStore._log_size

        def log_size(self: LevelDBStore) -> int:
            looks.append(0)
            return -1 if len(looks) == 2 else real_log_size(self)  # deleted before the 2nd

        monkeypatch.setattr(LevelDBStore, "_log_size", log_size)
        synced = _recording_syncs(monkeypatch)
        store.write({b"meta:replica": b"next height's vote"}, sync=True)
        started = _logs(folder) - holding
        assert started, "premise: the synced write went to a new log"
        assert set(started) <= set(synced)
    finally:
        store.close()


def test_closing_the_store_syncs_what_was_left_unsynced(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "db"
    store = LevelDBStore(str(folder))
    synced = _recording_syncs(monkeypatch)
    store.write({b"block": b"certified"}, sync=False)
    assert synced == []
    store.close()
    assert synced == sorted(_logs(folder))
