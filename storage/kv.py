"""A small key-value interface with atomic batches, and its two implementations.

The node writes one batch per committed block, so a crash leaves either the
whole block (block, certificate, state change) or none of it.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Iterator
from typing import Any, Protocol

import plyvel


class KeyValueReader(Protocol):
    def get(self, key: bytes) -> bytes | None: ...
    def iterate_prefix(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]: ...


class KeyValueSnapshot(KeyValueReader, Protocol):
    """The store as it was between two batches; reads never see a later write."""

    def release(self) -> None: ...


class KeyValueStore(KeyValueReader, Protocol):
    def snapshot(self) -> KeyValueSnapshot:
        """A consistent read-only view, safe to read from another thread than the writer's."""
        ...
    def write(self, puts: dict[bytes, bytes | None], sync: bool = True) -> None:
        """Apply every put (value None means delete) atomically."""
        ...
    def close(self) -> None: ...


class LevelDBStore:
    """LevelDB through plyvel. `write` is one LevelDB write batch, synced by default."""

    # A state proof reads one node per tree level; the lower levels of a large
    # tree miss our node cache, so LevelDB's own block cache and a bloom filter
    # (which skips table files that cannot hold the key) keep those reads cheap.
    BLOCK_CACHE_BYTES = 128 * 1024 * 1024
    BLOOM_BITS_PER_KEY = 10

    def __init__(self, path: str) -> None:
        self._db = plyvel.DB(path, create_if_missing=True,
                             lru_cache_size=self.BLOCK_CACHE_BYTES,
                             bloom_filter_bits=self.BLOOM_BITS_PER_KEY)

    def get(self, key: bytes) -> bytes | None:
        value: bytes | None = self._db.get(key)
        return value

    def iterate_prefix(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        yield from self._db.iterator(prefix=prefix)

    def snapshot(self) -> KeyValueSnapshot:
        return _LevelDBSnapshot(self._db.snapshot())

    def write(self, puts: dict[bytes, bytes | None], sync: bool = True) -> None:
        with self._db.write_batch(transaction=True, sync=sync) as batch:
            for key, value in puts.items():
                if value is None:
                    batch.delete(key)
                else:
                    batch.put(key, value)

    def close(self) -> None:
        self._db.close()


class _LevelDBSnapshot:
    def __init__(self, snapshot: Any) -> None:  # plyvel does not export its Snapshot type
        self._snapshot = snapshot

    def get(self, key: bytes) -> bytes | None:
        value: bytes | None = self._snapshot.get(key)
        return value

    def iterate_prefix(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        yield from self._snapshot.iterator(prefix=prefix)

    def release(self) -> None:
        self._snapshot.release()


class _MemorySnapshot:
    def __init__(self, data: dict[bytes, bytes]) -> None:
        self._data = data

    def get(self, key: bytes) -> bytes | None:
        return self._data.get(key)

    def iterate_prefix(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        yield from sorted((k, v) for k, v in self._data.items() if k.startswith(prefix))

    def release(self) -> None:
        self._data = {}


class MemoryStore:
    """In-memory store for tests and the simulator; same semantics as LevelDB."""

    def __init__(self) -> None:
        self._data: dict[bytes, bytes] = {}
        self._sorted_keys: list[bytes] | None = None
        # Snapshots share the dict until the next write copies it (copy on write),
        # so a snapshot costs nothing unless the store changes under it.
        self._shared = False
        self._lock = threading.Lock()

    def get(self, key: bytes) -> bytes | None:
        return self._data.get(key)

    def iterate_prefix(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        if self._sorted_keys is None:
            self._sorted_keys = sorted(self._data)
        keys = self._sorted_keys
        # Copy the matches before yielding any: LevelDB iterates over a snapshot,
        # so a write made while the caller iterates must not show up here either.
        matches = []
        for index in range(bisect.bisect_left(keys, prefix), len(keys)):
            key = keys[index]
            if not key.startswith(prefix):
                break
            matches.append((key, self._data[key]))
        yield from matches

    def write(self, puts: dict[bytes, bytes | None], sync: bool = True) -> None:
        # Check the whole batch first: like LevelDB's, a bad batch must write nothing.
        for key, value in puts.items():
            if not isinstance(key, bytes) or not (value is None or isinstance(value, bytes)):
                raise TypeError("keys and values must be bytes (a value of None deletes)")
        with self._lock:
            if self._shared:
                self._data, self._shared = dict(self._data), False
            for key, value in puts.items():
                if value is None:
                    self._data.pop(key, None)
                else:
                    self._data[key] = value
            self._sorted_keys = None

    def snapshot(self) -> KeyValueSnapshot:
        with self._lock:
            self._shared = True
            return _MemorySnapshot(self._data)

    def close(self) -> None:
        self._data.clear()
