"""Where the salts of a batch's fields come from, drawn in bulk.

Every field of a credential is hashed with a fresh salt (`SALT_BYTES`, in
`ledger/credential_shapes.py`, which hashes with them). A `SaltPool` makes one
`os.urandom` call per 64 KiB, not one per record. Like the per-record call before it,
this is the ledger's one use of the system's randomness; a caller may give its own
source (tests give a fixed one), and `FixedSalts` hands out salts drawn elsewhere (a
part of a batch hashed in another process). Kept apart from the hashing: it holds
process-wide state (the default pool, and every pool's chunk, which a forked child
must forget), where the hashing's state belongs to one batch.
"""

from __future__ import annotations

import os
import threading
import weakref
from bisect import bisect_right
from collections.abc import Callable
from itertools import accumulate
from typing import Protocol

# Randomness is drawn this much at a time; the largest record takes 200 x 16 bytes.
SALT_CHUNK_BYTES = 64 * 1024


class SaltPool:
    """Random bytes for salts, drawn `chunk` bytes at a time. `take` hands out a place
    in the current chunk (and its hex), never the same bytes twice; a request that
    does not fit in what is left starts a new chunk. Thread-safe; after a fork the
    child forgets what it inherited, so no two processes hand out the same salts."""

    def __init__(self, random_bytes: Callable[[int], bytes] = os.urandom,
                 chunk: int = SALT_CHUNK_BYTES) -> None:
        self._random_bytes = random_bytes
        self._chunk = chunk
        self._lock = threading.Lock()
        self._forget()
        _POOLS.add(self)

    def _forget(self) -> None:
        self._raw = b""
        self._hex: str | None = ""  # None: not made yet (a part sent elsewhere needs none)
        self._used = 0

    def take(self, size: int) -> tuple[bytes, str, int]:
        """(chunk, its hex, offset): the caller's `size` bytes are chunk[offset:offset +
        size], their hex at twice the offset."""
        if not 0 <= size <= self._chunk:
            raise ValueError(f"salts are taken at most {self._chunk} bytes at a time")
        with self._lock:
            start = self._used
            if start + size > len(self._raw):
                raw = self._random_bytes(self._chunk)
                if len(raw) != self._chunk:
                    raise ValueError("the randomness source gave the wrong number of bytes")
                self._raw, self._hex, start = raw, None, 0
            if self._hex is None:
                self._hex = self._raw.hex()
            self._used = start + size
            return self._raw, self._hex, start

    def take_each(self, sizes: list[int]) -> bytes:
        """The bytes of `take(size)` for each size in turn, joined: the same bytes, chunk
        ends skipped alike, under one lock (a part of a batch sent elsewhere). A chunk's
        takes are found at once (`bisect` over the running totals): one step a chunk,
        not a step a record."""
        if sizes and (min(sizes) < 0 or max(sizes) > self._chunk):
            raise ValueError(f"salts are taken at most {self._chunk} bytes at a time")
        ends = list(accumulate(sizes))
        taken: list[bytes] = []
        with self._lock:
            raw, used = self._raw, self._used
            done = base = 0  # sizes taken so far, and their total
            while True:
                # the sizes that still fit in this chunk, all together
                fit = bisect_right(ends, len(raw) - used + base, lo=done)
                upto = ends[fit - 1] if fit > done else base
                taken.append(raw[used:used + upto - base])
                used += upto - base
                self._used = used
                if fit == len(sizes):
                    break
                raw = self._random_bytes(self._chunk)  # sizes[fit] > 0 does not fit
                if len(raw) != self._chunk:
                    raise ValueError("the randomness source gave the wrong number of bytes")
                self._raw, self._hex, used, done, base = raw, None, 0, fit, upto
                self._used = 0
        return b"".join(taken)

    def _after_fork(self) -> None:
        self._lock = threading.Lock()  # a lock held by another thread at the fork stays held
        self._forget()


class Salts(Protocol):
    """Where a batch's salts come from: `SaltPool` (random) or `FixedSalts` (given)."""

    def take(self, size: int) -> tuple[bytes, str, int]: ...

    def take_each(self, sizes: list[int]) -> bytes: ...


class FixedSalts:
    """Salts given in advance, handed out in order (a part of a batch hashed in another
    process gets the salts the batch's pool gave for it)."""

    def __init__(self, raw: bytes) -> None:
        self._raw, self._hex, self._used = raw, raw.hex(), 0

    def take(self, size: int) -> tuple[bytes, str, int]:
        start = self._used
        if start + size > len(self._raw):
            raise ValueError("fewer salts were given than the records need")
        self._used = start + size
        return self._raw, self._hex, start

    def take_each(self, sizes: list[int]) -> bytes:
        """The bytes of `take(size)` for each size in turn, joined: given salts have no
        chunk ends to skip, so they are the next sum(sizes) bytes."""
        size = sum(sizes)
        raw, _, start = self.take(size)
        return raw[start:start + size]


_POOLS: weakref.WeakSet[SaltPool] = weakref.WeakSet()


def _forget_inherited_salts() -> None:
    for pool in list(_POOLS):
        pool._after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_inherited_salts)

DEFAULT_SALTS = SaltPool()
