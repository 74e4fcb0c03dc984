"""MemoryStore must behave like LevelDBStore: the simulator runs on one, the node on the other."""

from __future__ import annotations

import errno
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import plyvel
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storage.errors import CorruptStateError, DiskRefused
from storage.kv import KeyValueStore, LevelDBStore, MemoryStore


@pytest.fixture(params=["memory", "leveldb"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[KeyValueStore]:
    opened: KeyValueStore = (
        MemoryStore() if request.param == "memory" else LevelDBStore(str(tmp_path / "db"))
    )
    yield opened
    opened.close()


def test_get_put_overwrite_delete(store: KeyValueStore) -> None:
    assert store.get(b"k") is None
    store.write({b"k": b"1"})
    assert store.get(b"k") == b"1"
    store.write({b"k": b"2"})
    assert store.get(b"k") == b"2"
    store.write({b"k": None})
    assert store.get(b"k") is None
    store.write({b"k": None, b"never": None})  # deleting what is absent is no error
    assert store.get(b"never") is None


def test_unusual_keys_and_values(store: KeyValueStore) -> None:
    store.write({b"": b"empty key", b"\x00\xff\x00": b"", b"big": b"x" * 100_000})
    assert store.get(b"") == b"empty key"
    assert store.get(b"\x00\xff\x00") == b""
    assert store.get(b"big") == b"x" * 100_000


def test_one_batch_puts_and_deletes_together(store: KeyValueStore) -> None:
    store.write({b"a": b"1", b"b": b"2", b"c": b"3"})
    store.write({b"a": None, b"b": b"22", b"d": b"4"})
    assert [store.get(key) for key in (b"a", b"b", b"c", b"d")] == [None, b"22", b"3", b"4"]


def test_a_failing_batch_writes_nothing(store: KeyValueStore) -> None:
    store.write({b"kept": b"old"})
    with pytest.raises(TypeError):
        store.write({b"kept": b"new", b"first": b"1", b"bad": 123, b"last": b"2"})  # type: ignore[dict-item]
    assert store.get(b"kept") == b"old"
    assert store.get(b"first") is None and store.get(b"last") is None
    assert store.get(b"bad") is None
    with pytest.raises(TypeError):
        store.write({b"fine": b"1", "text key": b"2"})  # type: ignore[dict-item]
    assert store.get(b"fine") is None


def test_prefix_iteration_is_ordered_and_bounded(store: KeyValueStore) -> None:
    keys = [b"a", b"ab", b"ab\x00", b"ab\xff", b"ab\xff\xff", b"ac", b"b", b"\xff", b"\xff\xff"]
    store.write({key: key.hex().encode() for key in reversed(keys)})
    assert [key for key, _ in store.iterate_prefix(b"ab")] == [
        b"ab",
        b"ab\x00",
        b"ab\xff",
        b"ab\xff\xff",
    ]
    assert dict(store.iterate_prefix(b"ab\xff")) == {
        b"ab\xff": b"6162ff",
        b"ab\xff\xff": b"6162ffff",
    }
    assert [key for key, _ in store.iterate_prefix(b"\xff")] == [b"\xff", b"\xff\xff"]
    assert [key for key, _ in store.iterate_prefix(b"")] == sorted(keys)
    assert list(store.iterate_prefix(b"zz")) == []


@pytest.mark.parametrize("reader", ["store", "snapshot"])
def test_prefix_iteration_after_a_key_seeks_past_it(store: KeyValueStore, reader: str) -> None:
    keys = [b"a", b"ab", b"ab\x00", b"ab\x01", b"ab\xff", b"ab\xff\xff", b"ac", b"\xff",
            b"\xff\x01"]
    store.write({key: b"v" for key in keys})
    read = store if reader == "store" else store.snapshot()

    def after(prefix: bytes, key: bytes | None) -> list[bytes]:
        return [k for k, _ in read.iterate_prefix(prefix, key)]

    assert after(b"ab", b"ab\x00") == [b"ab\x01", b"ab\xff", b"ab\xff\xff"]
    assert after(b"ab", b"ab\x00\x05") == [b"ab\x01", b"ab\xff", b"ab\xff\xff"]  # not held
    assert after(b"ab", b"a") == [b"ab", b"ab\x00", b"ab\x01", b"ab\xff", b"ab\xff\xff"]
    assert after(b"ab", b"ab") == [b"ab\x00", b"ab\x01", b"ab\xff", b"ab\xff\xff"]
    assert after(b"ab", b"ab\xff\xff") == after(b"ab", b"ac") == after(b"ab", b"b") == []
    assert after(b"\xff", b"\xff") == [b"\xff\x01"]
    assert after(b"", b"ac") == [b"\xff", b"\xff\x01"]


def test_prefix_iteration_sees_writes_made_before_it_starts(store: KeyValueStore) -> None:
    store.write({b"p1": b"1"})
    assert list(store.iterate_prefix(b"p")) == [(b"p1", b"1")]
    store.write({b"p0": b"0", b"p1": None})
    assert list(store.iterate_prefix(b"p")) == [(b"p0", b"0")]


def test_prefix_iteration_reads_a_snapshot(store: KeyValueStore) -> None:
    store.write({b"p1": b"1", b"p2": b"2", b"p3": b"3"})
    iterator = store.iterate_prefix(b"p")
    assert next(iterator) == (b"p1", b"1")
    store.write({b"p2": None, b"p3": b"changed", b"p4": b"4"})  # e.g. a block committed meanwhile
    assert list(iterator) == [(b"p2", b"2"), (b"p3", b"3")]


def test_leveldb_keeps_writes_across_reopen(tmp_path: Path) -> None:
    first = LevelDBStore(str(tmp_path / "db"))
    first.write({b"a": b"1", b"b": b"2"})
    first.write({b"b": None})
    first.close()
    second = LevelDBStore(str(tmp_path / "db"))
    assert (second.get(b"a"), second.get(b"b")) == (b"1", None)
    second.close()


batches = st.lists(
    st.dictionaries(
        st.binary(max_size=3), st.none() | st.binary(max_size=4), min_size=1, max_size=6
    ),
    max_size=12,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batches=batches, prefix=st.binary(max_size=2), after=st.binary(max_size=3))
def test_both_stores_agree_on_random_batches(
    tmp_path: Path, batches: list[dict[bytes, bytes | None]], prefix: bytes, after: bytes
) -> None:
    memory = MemoryStore()
    leveldb = LevelDBStore(str(tmp_path / f"db-{len(list(tmp_path.iterdir()))}"))
    try:
        for batch in batches:
            memory.write(batch)
            leveldb.write(batch)
        assert list(memory.iterate_prefix(prefix)) == list(leveldb.iterate_prefix(prefix))
        expected = [(k, v) for k, v in memory.iterate_prefix(prefix) if k > after]
        assert list(memory.iterate_prefix(prefix, after)) == expected
        assert list(leveldb.iterate_prefix(prefix, after)) == expected
        snapshot = leveldb.snapshot()
        assert list(snapshot.iterate_prefix(prefix, after)) == expected
        snapshot.release()
        for key in {key for batch in batches for key in batch}:
            assert memory.get(key) == leveldb.get(key)
    finally:
        leveldb.close()


def _table_bytes(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.iterdir() if f.suffix == ".ldb")


COMPRESSIBLE_VALUES = 2_000  # of 1 KiB of zeros each: 2 MiB raw, a few KiB compressed


def test_tables_are_written_uncompressed(tmp_path: Path) -> None:
    store = LevelDBStore(str(tmp_path / "db"))
    store.write({b"k%05d" % i: bytes(1024) for i in range(COMPRESSIBLE_VALUES)})
    store._db.compact_range()
    store.close()
    assert _table_bytes(tmp_path / "db") >= COMPRESSIBLE_VALUES * 1024


def test_tables_written_compressed_before_stay_readable(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(LevelDBStore, "COMPRESSION", "snappy")
    old = LevelDBStore(str(tmp_path / "db"))
    old.write({b"k%05d" % i: bytes(1024) for i in range(COMPRESSIBLE_VALUES)})
    old._db.compact_range()
    old.close()
    assert _table_bytes(tmp_path / "db") < COMPRESSIBLE_VALUES * 1024 // 10  # compressed
    monkeypatch.undo()

    store = LevelDBStore(str(tmp_path / "db"))
    store.write({b"new": bytes(1024)})
    assert all(store.get(b"k%05d" % i) == bytes(1024) for i in range(COMPRESSIBLE_VALUES))
    assert store.get(b"new") == bytes(1024)
    store.close()


class _FullDisk:
    """A LevelDB handle whose writes the disk refuses, as LevelDB words it."""

    def __init__(self, db: Any, reason: bytes) -> None:
        self._db, self._reason = db, reason

    def write_batch(self, **options: Any) -> Any:
        reason = self._reason

        class Refused:
            def __enter__(self) -> Any:
                return self

            def put(self, key: bytes, value: bytes) -> None:
                pass

            def __exit__(self, *exc: object) -> None:
                raise plyvel.IOError(reason)

        return Refused()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._db, name)


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS])
def test_a_write_the_disk_refuses_is_no_damage(tmp_path: Path, code: int) -> None:
    """A full or read-only disk: the node must not call its store damaged (and send its
    operator to --resync, which does not free a byte); the store holds what it held."""
    store = LevelDBStore(str(tmp_path / "db"))
    store.write({b"k": b"1"})
    real = store._db
    store._db = _FullDisk(real, f"IO error: db/000003.log: {os.strerror(code)}".encode())
    with pytest.raises(DiskRefused) as refused:
        store.write({b"k": b"2"})
    assert not isinstance(refused.value, CorruptStateError)
    assert str(refused.value) == ("the disk refuses a write of the chain database: IO error: "
                                  f"db/000003.log: {os.strerror(code)}")
    store._db = real
    assert store.get(b"k") == b"1"
    store.close()


def test_a_write_refused_for_another_reason_is_damage(tmp_path: Path) -> None:
    store = LevelDBStore(str(tmp_path / "db"))
    real = store._db
    store._db = _FullDisk(real, b"IO error: db/000003.log: Input/output error")
    with pytest.raises(CorruptStateError):
        store.write({b"k": b"2"})
    store._db = real
    store.close()


def test_a_store_closed_before_its_first_write_opens_again(tmp_path: Path) -> None:
    """A node stopped (or killed) between opening a new store and its first write leaves
    an empty SENIM-WRITES: nothing was acknowledged, so nothing can have been lost, and
    the store was called damaged (exit 3, 'use --resync')."""
    LevelDBStore(str(tmp_path / "db")).close()
    assert (tmp_path / "db" / "SENIM-WRITES").read_bytes() == b""
    reopened = LevelDBStore(str(tmp_path / "db"))
    reopened.write({b"k": b"1"})
    reopened.close()
    again = LevelDBStore(str(tmp_path / "db"))
    assert again.get(b"k") == b"1"
    again.close()


@pytest.mark.parametrize("kind", ["folder", "named pipe", "too long"])
def test_a_write_count_file_that_is_no_record_is_refused_unread(tmp_path: Path,
                                                                 kind: str) -> None:
    """SENIM-WRITES was read whole, whatever it was: a folder in its place was an
    IsADirectoryError (a traceback at the node's start), a named pipe waited for a writer
    for ever, a large file was read into memory before it was called damaged."""
    store = LevelDBStore(str(tmp_path / "db"))
    store.write({b"k": b"1"})
    store.close()
    writes = tmp_path / "db" / "SENIM-WRITES"
    writes.unlink()
    if kind == "folder":
        writes.mkdir()
    elif kind == "named pipe":
        os.mkfifo(writes)  # no writer: a plain read waits for ever
    else:
        writes.write_bytes(b"\0" * 13)
    with pytest.raises(CorruptStateError) as refused:
        LevelDBStore(str(tmp_path / "db"))
    fault = {"folder": "a folder, not a regular file",
             "named pipe": "a named pipe, not a regular file",
             "too long": "larger than a write count may be (12 bytes at most)"}[kind]
    assert str(refused.value) == (f"{writes} is damaged: it is {fault}; it vouches that no "
                                  "acknowledged write was lost")


def test_rewrites_of_the_same_keys_stay_in_the_memtable(tmp_path: Path) -> None:
    """Every block rewrites the state tree's upper nodes in place: 12 MiB of rewrites
    of the same 2,000 node-sized records leave no table file to compact (LevelDB's own
    4 MiB memtable would have been written out to tables three times), and every
    record reads back as last written."""
    store = LevelDBStore(str(tmp_path / "db"))
    try:
        keys = [b"s/n" + index.to_bytes(4, "big") for index in range(2000)]
        rounds = 12 * 1024 * 1024 // (2000 * (65 + 7)) + 1
        for round_ in range(rounds):
            store.write({key: round_.to_bytes(2, "big") * 32 + b"!" for key in keys},
                        sync=False)
        tables = [name for name in os.listdir(tmp_path / "db") if name.endswith(".ldb")]
        assert tables == []
        assert {store.get(key) for key in keys} == {(rounds - 1).to_bytes(2, "big") * 32 + b"!"}
    finally:
        store.close()


def test_a_write_lost_after_a_clean_stop_is_told_at_the_next_opening(tmp_path: Path) -> None:
    # Unsynced writes were counted nowhere outside the store: cut from the log after a
    # clean stop, they were lost unseen (the node started a block short, fsck said sound).
    folder = tmp_path / "db"
    store = LevelDBStore(str(folder))
    store.write({b"a": b"1"})
    store.write({b"b": b"2"}, sync=False)
    store.close()
    log = max(folder.glob("*.log"), key=lambda p: p.stat().st_mtime)
    with log.open("r+b") as handle:
        handle.truncate(log.stat().st_size - 1)
    with pytest.raises(CorruptStateError, match="lost 1 acknowledged write"):
        LevelDBStore(str(folder))


def test_a_store_whose_folder_is_deleted_under_it_is_damage(tmp_path: Path) -> None:
    """LevelDB's NotFound (the folder deleted under a running node) is plyvel's own error
    class, neither corruption nor an IOError: it was a traceback and exit 4."""
    store = LevelDBStore(str(tmp_path / "chain.ldb"))
    store.write({b"kept": b"x"})
    shutil.rmtree(tmp_path / "chain.ldb")
    with pytest.raises(CorruptStateError, match="NotFound"):
        for round_ in range(2_000):  # until the log is synced or rolled over
            store.write({b"%d-%d" % (round_, n): os.urandom(1_000) for n in range(50)})
