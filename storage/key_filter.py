"""Which keys a store may hold, known in memory, so that most reads of a key it does not
hold are answered without the store.

A block of new issuances reads about two keys a transaction that are not there, and
admission reads the same two again through a snapshot: the new batch's state value and
its transaction's entry in the replay index. LevelDB answers each by searching its
memtable and the filters of its tables: 1.7-2.5 µs once the memtable held a few blocks
(BENCHMARKS.md, session 48's ledger-growth table), more once tables are written, and a
read that misses in more than one table starts a compaction. A `KeyFilter` answers most
of them in 0.3-0.6 µs (session 49's).

It is a Bloom filter of two bits a key, from Python's `hash` of the key: salted per
process, so another process cannot choose keys that collide here, and a collision
costs only the read it fails to save. It never answers "absent" for a key it was
given, and only once `fill` has given it every key the store held when the fill
began; until then every key may be there. So the store's writers add their keys
before writing them (`add`): a reader whose snapshot holds a key finds it added.
Keys are never taken out (a deleted one costs a read, as before). A key deleted before
a fill began is not in it, so a reader of an older snapshot, which may still hold it,
uses the filter only if the fill had completed when its snapshot was taken.

Bits are only ever set. Setting one reads and writes its byte, so two writers (the
committer and a fill) take a lock: CPython 3.11 happens not to switch threads inside
that read and write, but nothing promises it. A reader takes none: it sees a byte
before or after a write, and a key being added is not yet in any store it could read.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from itertools import islice

# Bits a filter, unless its owner says: 8 KiB, for a store of a few thousand keys (tools,
# tests, the simulator); a node asks for more (node.key_filters). A new filter's bytes are
# zeroed at once: 8 MiB took 5-12 ms. With two bits a key, a key not held reads as held (a
# read not saved) for 1.4% of keys once the filter holds a sixteenth as many keys as it
# has bits, and for 15% at a fourth.
KEY_FILTER_BITS = 1 << 16
FILL_CHUNK_KEYS = 1024  # keys a fill adds under the lock at once (about 1 ms)


class KeyFilter:
    def __init__(self, bits: int = KEY_FILTER_BITS) -> None:
        if bits < 8 or bits & (bits - 1):
            raise ValueError("a key filter's bits must be a power of two, at least 8")
        self._bits = bytearray(bits // 8)
        self._mask = bits - 1
        self._ready = False
        self._lock = threading.Lock()

    @property
    def ready(self) -> bool:
        """Whether a fill has completed: until then `may_hold` answers True."""
        return self._ready

    def may_hold(self, key: bytes) -> bool:
        """False only if the store holds no value for `key` (once ready)."""
        if not self._ready:
            return True
        bits, mask = self._bits, self._mask
        hashed = hash(key)
        first = hashed & mask
        second = (hashed >> 32) & mask
        return bool(bits[first >> 3] & (1 << (first & 7))
                    and bits[second >> 3] & (1 << (second & 7)))

    def add(self, keys: Iterable[bytes]) -> None:
        """Call before the store holds `keys` (a batch about to be written)."""
        bits, mask = self._bits, self._mask
        hashes = list(map(hash, keys))
        with self._lock:
            for hashed in hashes:
                first = hashed & mask
                second = (hashed >> 32) & mask
                bits[first >> 3] |= 1 << (first & 7)
                bits[second >> 3] |= 1 << (second & 7)

    def fill(self, keys: Iterable[bytes], stop: threading.Event | None = None,
             rest_s: float = 0.0) -> int | None:
        """Add every key the store holds (`keys`: an iteration of them begun after this
        filter's writers started adding theirs), then answer from the filter. The count
        of keys added, or None if `stop` was set first (the filter stays unready).
        `rest_s`: a pause after each chunk, in which another thread has the GIL."""
        count = 0
        source = iter(keys)
        while True:
            if stop is not None:
                if stop.wait(rest_s):
                    return None
            elif rest_s:
                time.sleep(rest_s)
            chunk = list(islice(source, FILL_CHUNK_KEYS))
            if not chunk:
                break
            self.add(chunk)
            count += len(chunk)
        self._ready = True
        return count
