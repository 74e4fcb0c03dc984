"""The in-memory key-value store, for tests and the simulator: LevelDB's semantics
(`storage.kv`'s protocols) without a disk."""

from __future__ import annotations

import bisect
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # storage.kv imports this module: a name for the annotations alone
    from storage.kv import KeyValueSnapshot


class _MemorySnapshot:
    def __init__(self, data: dict[bytes, bytes]) -> None:
        self._data = data

    def get(self, key: bytes) -> bytes | None:
        return self._data.get(key)

    def iterate_prefix(self, prefix: bytes, after: bytes | None = None
                       ) -> Iterator[tuple[bytes, bytes]]:
        yield from sorted((k, v) for k, v in self._data.items()
                          if k.startswith(prefix) and (after is None or k > after))

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

    def iterate_prefix(self, prefix: bytes, after: bytes | None = None
                       ) -> Iterator[tuple[bytes, bytes]]:
        if self._sorted_keys is None:
            self._sorted_keys = sorted(self._data)
        keys = self._sorted_keys
        # Copy the matches before yielding any: LevelDB iterates over a snapshot,
        # so a write made while the caller iterates must not show up here either.
        matches = []
        first = (bisect.bisect_left(keys, prefix) if after is None or after < prefix
                 else bisect.bisect_right(keys, after))
        for index in range(first, len(keys)):
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
