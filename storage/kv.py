"""A small key-value interface with atomic batches, and its two implementations.

The node writes one batch per committed block, so a crash leaves either the
whole block (block, certificate, state change) or none of it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import threading
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import plyvel

from storage.errors import AccessRefused, CorruptStateError, DiskRefused
from storage.write_count import WRITE_COUNT_KEY as WRITE_COUNT_KEY
from storage.write_count import WRITES_FILE as WRITES_FILE
from storage.write_count import checked_write_count, write_count_to


class KeyValueReader(Protocol):
    def get(self, key: bytes) -> bytes | None: ...
    def iterate_prefix(self, prefix: bytes, after: bytes | None = None
                       ) -> Iterator[tuple[bytes, bytes]]:
        """The entries whose keys start with `prefix`, in key order; with `after` (a whole
        key), only those after it, found by a seek rather than a scan from the first."""
        ...


class KeyValueSnapshot(KeyValueReader, Protocol):
    """The store as it was between two batches; reads never see a later write."""

    def release(self) -> None: ...


class KeyValueStore(KeyValueReader, Protocol):
    def snapshot(self) -> KeyValueSnapshot:
        """A consistent read-only view, safe to read from another thread than the writer's."""
        ...
    def write(self, puts: dict[bytes, bytes | None], sync: bool = True) -> None:
        """Apply every put (value None means delete) atomically. `sync=False` leaves
        it where a killed process keeps it but a power cut may not, until the next
        synced write, which makes it durable with itself."""
        ...
    def close(self) -> None: ...


# What LevelDB leaves in its directory before it has stored anything: a directory
# holding only these (or nothing) is new, and the only kind a store may be created in.
_NEW_STORE_FILES = frozenset({"LOCK", "LOG", "LOG.old"})


def holds_no_store(folder: Path) -> bool:
    """Whether `folder` is missing, or holds nothing LevelDB stored (a store opened
    there is made new)."""
    existing = set(os.listdir(folder)) if folder.is_dir() else set()
    return not existing - _NEW_STORE_FILES
@contextlib.contextmanager
def _leveldb_failures_reported(what: str) -> Iterator[None]:
    """Turn LevelDB's refusal to read or write into the storage error the node answers
    with (`_failure`): damage (a checksum mismatch, an unreadable file, or one gone: a
    NotFound, LevelDB's own error class, as every file is once the store's folder is
    deleted under a running node), or a disk or access refusal, which damages nothing."""
    try:
        yield
    except plyvel.Error as exc:
        raise _failure(what, exc) from exc


def _failure(what: str, exc: plyvel.Error) -> CorruptStateError | DiskRefused:
    """The storage error for LevelDB's refusal of `what`. A disk full or read-only, or
    files not this user's or locked, damage nothing: the node starts again once there is
    space, or as their owner. A read is refused so too, not only a write: LevelDB opens a
    table file at the first read that needs it, long after the store opened."""
    reason = leveldb_reason(exc)
    refused = refusal(f"{what} of the chain database", reason) if isinstance(
        exc, plyvel.IOError) else None  # a CorruptionError is damage, whatever it says
    return refused or CorruptStateError(f"LevelDB refuses {what}: {reason}")


# What the system answers when it is not the store that is at fault: a disk full, over
# quota or read-only, which refuses writes ...
UNWRITABLE_DISK_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EROFS)
# ... or files that are not this user's to read or write (their owner or mode), or are
# locked (an immutable flag, a security policy: EPERM).
ACCESS_ERRNOS = (errno.EACCES, errno.EPERM)
DISK_REFUSAL_ERRNOS = UNWRITABLE_DISK_ERRNOS + ACCESS_ERRNOS
# As C's strerror words them in LevelDB's messages, which carry no errno.
_REFUSAL_WORDS = {code: os.strerror(code) for code in DISK_REFUSAL_ERRNOS}


def refusal(what: str, reason: str, code: int | None = None) -> DiskRefused | None:
    """The storage error for a refusal of `what` the store is not at fault for: by an
    OSError's errno `code`, or, for LevelDB's errors, by the words in `reason`; None for
    any other (a failing disk, a damaged file)."""
    if code is None:
        code = next((c for c, words in _REFUSAL_WORDS.items() if words in reason), None)
    if code in ACCESS_ERRNOS:
        return AccessRefused(f"the system refuses this user {what}: {reason}")
    if code in UNWRITABLE_DISK_ERRNOS:
        return DiskRefused(f"the disk refuses {what}: {reason}")
    return None


def _refused(what: str, path: Path, exc: OSError) -> CorruptStateError | DiskRefused:
    """The storage error for an OSError on a file of the store's: a disk (or mode) that
    refuses damages nothing; anything else is a store the node cannot trust."""
    refused = refusal(f"{what} of {path}", str(exc.strerror or exc), exc.errno)
    return refused or CorruptStateError(f"cannot use {path}: {exc.strerror or exc}")


def leveldb_reason(exc: Exception) -> str:
    """What LevelDB said, as text (plyvel's errors carry it as bytes)."""
    said = exc.args[0] if exc.args else exc
    return said.decode(errors="replace") if isinstance(said, bytes) else str(said)


def _entries(db: Any, prefix: bytes, after: bytes | None) -> Iterator[tuple[bytes, bytes]]:
    """plyvel's iterator over `prefix`, from just after `after` when that is within it
    (plyvel takes a prefix or a start, not both)."""
    if after is None or after < prefix:
        return iter(db.iterator(prefix=prefix, verify_checksums=True))
    end = prefix_end(prefix)
    if end is not None and after >= end:
        return iter(())
    return iter(db.iterator(start=after, include_start=False, stop=end,
                            verify_checksums=True))


def prefix_end(prefix: bytes) -> bytes | None:
    """The first key after every key starting with `prefix` (None: there is none)."""
    stripped = prefix.rstrip(b"\xff")
    if not stripped:
        return None
    return stripped[:-1] + bytes([stripped[-1] + 1])


class LevelDBStore:
    """LevelDB through plyvel. `write` is one LevelDB write batch, synced by default.

    LevelDB's checksums are on: `paranoid_checks` on open (a damaged log or
    manifest is refused instead of silently dropping what follows) and
    `verify_checksums` on every read. A damaged store raises CorruptStateError;
    a store is only ever created in a new, empty directory.
    """

    # A state proof reads one node per tree level; the lower levels of a large
    # tree miss our node cache, so LevelDB's own block cache and a bloom filter
    # (which skips table files that cannot hold the key) keep those reads cheap.
    BLOCK_CACHE_BYTES = 128 * 1024 * 1024
    BLOOM_BITS_PER_KEY = 10
    # Tables are written uncompressed. Most of what the chain stores is hashes (tree
    # nodes, ids, roots), which snappy cannot shrink, yet it was compressed at every
    # flush and compaction and decompressed at every read that missed the cache:
    # measured, a quarter of the CPU of building and committing a block, for 21% less
    # disk. Tables written compressed before stay readable (each table block names
    # its own compression).
    COMPRESSION: str | None = None
    # The memtable (LevelDB's default is 4 MiB). Every block rewrites the upper levels of
    # the state tree in place. A full memtable is written out whole, every version of a
    # key it holds included (measured: 1.1 MiB of rewrites of 2,000 records of 72 bytes
    # left 770 KB of table with a 1 MiB memtable); only compactions drop the versions
    # replaced, each rewriting the level-1 tables its level-0 ones overlap, and a block's
    # writes spread over the whole key range. A larger memtable fills less often, so those
    # compactions come less often for the same blocks: with 4 MiB, compaction's CPU a
    # transaction grew from 11 to ~60 µs as one validator's state grew to 220,000
    # entries, against 2 to ~20 µs with this (BENCHMARKS.md, session 29). The cost is at
    # open after a kill: LevelDB replays its log, about this much and more by the last
    # block's batch, which goes in whole (bench.engine.restart_time: 44 MB, 0.3 s).
    WRITE_BUFFER_BYTES = 32 * 1024 * 1024

    def __init__(self, path: str, block_cache_bytes: int | None = None,
                 write_buffer_bytes: int | None = None) -> None:
        """The sizes default to the class's (an operator sets them in [storage])."""
        folder = Path(path)
        is_new = holds_no_store(folder)
        if not is_new and not (folder / "CURRENT").exists():
            raise CorruptStateError(
                f"{path} holds a used LevelDB store whose CURRENT file is missing; "
                "refusing to create a new store over it")
        try:  # an IOError here (the store is locked by a running node) is no damage
            self._db = plyvel.DB(path, create_if_missing=is_new, paranoid_checks=True,
                                 lru_cache_size=block_cache_bytes or self.BLOCK_CACHE_BYTES,
                                 bloom_filter_bits=self.BLOOM_BITS_PER_KEY,
                                 compression=self.COMPRESSION,
                                 write_buffer_size=(write_buffer_bytes
                                                    or self.WRITE_BUFFER_BYTES))
        except plyvel.CorruptionError as exc:
            raise CorruptStateError(
                f"LevelDB refuses to open {path}: {leveldb_reason(exc)}") from exc
        except plyvel.IOError as exc:  # opening writes: it folds the log into a table
            refused = refusal(f"the opening of the chain database {path}",
                              leveldb_reason(exc))
            if refused is not None:
                raise refused from exc
            raise
        self._folder = folder
        self._write_lock = threading.Lock()
        self._log: str | None = None  # the log file LevelDB last wrote to, once looked up
        self._log_path = ""  # its path, joined once: a write stats it twice
        self._unsynced_logs: list[str] = []  # log files holding unsynced writes, oldest first
        try:
            try:
                self._writes = checked_write_count(folder, self.get(WRITE_COUNT_KEY))
            except OSError as exc:  # its mode, a read-only disk, a failing disk
                raise _refused("the reading", folder / WRITES_FILE, exc) from exc
            try:
                self._writes_file = os.open(folder / WRITES_FILE, os.O_RDWR | os.O_CREAT,
                                            0o600)
            except OSError as exc:
                raise _refused("the opening", folder / WRITES_FILE, exc) from exc
        except BaseException:
            self._db.close()
            raise

    def get(self, key: bytes) -> bytes | None:
        # Inline rather than `_leveldb_failures_reported`: a context manager per read cost
        # more than the read itself on the hot paths (state values, the replay index).
        try:
            value: bytes | None = self._db.get(key, verify_checksums=True)
        except plyvel.Error as exc:  # corruption, a file unreadable, refused or gone
            raise _failure("a read", exc) from exc
        return value

    def iterate_prefix(self, prefix: bytes, after: bytes | None = None
                       ) -> Iterator[tuple[bytes, bytes]]:
        with _leveldb_failures_reported("a scan"):
            entries = _entries(self._db, prefix, after)
            if not WRITE_COUNT_KEY.startswith(prefix):
                yield from entries
                return
            for key, value in entries:
                if key != WRITE_COUNT_KEY:
                    yield key, value

    def snapshot(self) -> KeyValueSnapshot:
        return _LevelDBSnapshot(self._db.snapshot())

    def write(self, puts: dict[bytes, bytes | None], sync: bool = True) -> None:
        with self._write_lock:
            # LevelDB syncs only the log file it writes to, and a write that finds the
            # memtable full starts a new one, closing the old without a sync (google/
            # leveldb issue #193): until the old memtable is a table, a power cut could
            # keep a synced write and lose unsynced ones before it. So a synced write
            # after unsynced ones is written unsynced, then every log file holding any
            # of them is synced here, oldest first.
            sync_logs = sync and bool(self._unsynced_logs)
            size = -1 if sync and not sync_logs else self._log_size()
            count = self._writes + 1
            with _leveldb_failures_reported("a write"), self._db.write_batch(
                    transaction=True, sync=sync and not sync_logs) as batch:
                if None in puts.values():
                    for key, value in puts.items():
                        if value is None:
                            batch.delete(key)
                        else:
                            batch.put(key, value)
                else:  # a batch with no deletions, put by one loop in C
                    deque(map(batch.put, puts.keys(), puts.values()), maxlen=0)
                batch.put(WRITE_COUNT_KEY, count.to_bytes(8, "big"))
            if not sync or sync_logs:
                log = self._log_written(size)
                if log not in self._unsynced_logs:
                    self._unsynced_logs.append(log)
            if sync_logs:
                self._sync_logs(self._unsynced_logs)
                self._unsynced_logs = []
            self._writes = count
            if sync:  # not synced itself: it runs behind the store, never ahead of it
                self._record_write_count(count)

    def _record_write_count(self, count: int, synced: bool = False) -> None:
        try:  # refused through the open file too: an immutable flag set since (EPERM)
            write_count_to(self._writes_file, count, synced)
        except OSError as exc:
            raise _refused("a write", self._folder / WRITES_FILE, exc) from exc

    def _log_size(self) -> int:
        """The size of the log file LevelDB last wrote to; -1 if not known."""
        if self._log is None:
            return -1
        try:
            return os.stat(self._log_path).st_size
        except FileNotFoundError:  # written out as a table since: LevelDB writes another
            return -1

    def _log_written(self, size_before: int) -> str:
        """The log file the write just made went to. Every write appends to the log, so
        if the one written to before did not grow (or is gone), LevelDB started a new one:
        the newest (file numbers only grow). A directory listing, but only then."""
        if size_before >= 0 and self._log is not None:
            size_after = self._log_size()
            # Gone is no growth: LevelDB deletes an old log in the background once its
            # memtable is a table, which can be just after this write started a new one.
            if size_after >= 0 and size_after != size_before:
                return self._log
        logs = [name for name in os.listdir(self._folder)
                if name.endswith(".log") and name[:-4].isdigit()]
        self._log = max(logs, key=lambda name: int(name[:-4]))
        self._log_path = os.path.join(self._folder, self._log)
        return self._log

    def _sync_logs(self, logs: list[str]) -> None:
        """Sync log files in the order written: a cut between two syncs keeps a prefix."""
        for name in logs:
            try:
                fd = os.open(self._folder / name, os.O_RDONLY)
            except FileNotFoundError:
                continue  # its memtable was written out as a table, synced, and it deleted
            except OSError as exc:  # its owner or mode changed under the running node
                raise _refused("a sync", self._folder / name, exc) from exc
            try:
                os.fdatasync(fd)
            except OSError as exc:
                refused = refusal("a write of the chain database", str(exc), exc.errno)
                if refused is not None:
                    raise refused from exc
                raise CorruptStateError(f"cannot sync LevelDB's log {name}: {exc}") from exc
            finally:
                os.close(fd)

    def close(self) -> None:
        # A store stopped cleanly is durable whole: no power cut after it loses a write.
        with self._write_lock:
            logs, self._unsynced_logs = self._unsynced_logs, []
        self._db.close()
        try:  # the count's file is closed even when a log's sync is refused
            self._sync_logs(logs)
            # every write is synced now: the count vouches for all of them, so a log cut
            # short after a clean stop is told at the next opening (it went unseen)
            if self._writes_file >= 0 and self._writes:
                self._record_write_count(self._writes, synced=True)
        finally:
            if self._writes_file >= 0:
                os.close(self._writes_file)
                self._writes_file = -1


class _LevelDBSnapshot:
    def __init__(self, snapshot: Any) -> None:  # plyvel does not export its Snapshot type
        self._snapshot = snapshot

    def get(self, key: bytes) -> bytes | None:
        try:  # inline, as in LevelDBStore.get
            value: bytes | None = self._snapshot.get(key, verify_checksums=True)
        except plyvel.Error as exc:  # corruption, a file unreadable, refused or gone
            raise _failure("a read", exc) from exc
        return value

    def iterate_prefix(self, prefix: bytes, after: bytes | None = None
                       ) -> Iterator[tuple[bytes, bytes]]:
        with _leveldb_failures_reported("a scan"):
            for key, value in _entries(self._snapshot, prefix, after):
                if key != WRITE_COUNT_KEY:
                    yield key, value

    def release(self) -> None:
        self._snapshot.release()


# The in-memory store keeps its own module; imported from here as it always was.
from storage.kv_memory import MemoryStore as MemoryStore  # noqa: E402
