"""The state tree's nodes: their form in memory, their place on disk, their cached
readers (the committer's LRU, `CommittedNodes`, and the views' `SharedNodeCache`).

Internal to `storage.state_tree`, which describes the tree and its commit protocol.

Under the tree's prefix P a node is stored at its position:

    P + b"n" + bits + depth (2 bytes) the node at that position (65 bytes)

A node's position is its depth and the first `depth` bits of the paths below
it (stored as ceil(depth/8) bytes, unused low bits zero), so an update
overwrites nodes in place and deletes the ones it removes: no garbage
collection, no replay at start-up. Bits before depth keeps the lower levels
of a subtree next to each other on disk, so the few levels of a walk that
miss the cache mostly land in one LevelDB block. Every node read from disk
is hashed and checked against the hash its parent holds.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from functools import lru_cache
from hashlib import sha256
from itertools import islice, repeat
from typing import cast

from storage.errors import CorruptStateError
from storage.kv import KeyValueReader
from storage.proofs import (
    EMPTY_HASH,
    HASH_BYTES,
    PATH_BITS,
    ProofLeaf,
    StateProof,
    key_path,
    path_bit,
)

LEAF_RECORD = 0
BRANCH_RECORD = 1
RECORD_BYTES = 1 + 2 * HASH_BYTES
FIRST_HALF = slice(1, 1 + HASH_BYTES)  # see node_first and node_second
SECOND_HALF = slice(1 + HASH_BYTES, RECORD_BYTES)

# A node in memory is one bytes object: its stored record (kind, then the
# leaf's path and value hash or the branch's left and right hashes) followed
# by its own hash. The record is exactly the node's hash preimage. Bytes are
# never scanned by the garbage collector; with a cache of tuples, collections
# took as long as the updates themselves. An alias rather than a NewType: a
# NewType is a Python call at run time, once for every node made or read.
Node = bytes
# (depth, the first `depth` bits of every path below, as an integer)
Position = tuple[int, int]
TOP: Position = (0, 0)


def is_leaf(node: Node) -> bool:
    return node[0] == LEAF_RECORD


def node_first(node: Node) -> bytes:
    """A leaf's path, or a branch's left child hash."""
    return node[1 : 1 + HASH_BYTES]


def node_second(node: Node) -> bytes:
    """A leaf's value hash, or a branch's right child hash."""
    return node[1 + HASH_BYTES : RECORD_BYTES]


def node_hash(node: Node | None) -> bytes:
    return EMPTY_HASH if node is None else node[RECORD_BYTES:]


# The record is the hash preimage of `storage.proofs` (tag, then the two halves), so a
# node hashes its record as it is: one concatenation, no second copy for the hash.
_LEAF_TAG = bytes((LEAF_RECORD,))
_BRANCH_TAG = bytes((BRANCH_RECORD,))


def leaf_node(path: bytes, hashed_value: bytes) -> Node:
    record = _LEAF_TAG + path + hashed_value
    return record + sha256(record).digest()


def branch_node(left: bytes, right: bytes) -> Node:
    record = _BRANCH_TAG + left + right
    return record + sha256(record).digest()


def decode_node(raw: bytes, position: Position) -> Node:
    """Parse a stored node and check it could be at `position` (local data: corrupt if not)."""
    depth, bits = position
    if depth > PATH_BITS or (depth == PATH_BITS and raw[:1] != bytes((LEAF_RECORD,))):
        raise CorruptStateError(f"state node at depth {depth} lies below the deepest level")
    if len(raw) != RECORD_BYTES or raw[0] not in (LEAF_RECORD, BRANCH_RECORD):
        raise CorruptStateError(f"state node at depth {depth} is not a valid node record")
    if raw[0] == LEAF_RECORD:
        if depth and int.from_bytes(raw[FIRST_HALF], "big") >> (PATH_BITS - depth) != bits:
            raise CorruptStateError(f"state leaf at depth {depth} is stored off its path")
    elif raw[FIRST_HALF] == EMPTY_HASH and raw[SECOND_HALF] == EMPTY_HASH:
        raise CorruptStateError(f"state branch at depth {depth} has no children")
    return bytes(raw) + sha256(raw).digest()


def child(position: Position, bit: int) -> Position:
    return (position[0] + 1, (position[1] << 1) | bit)


def prove_from(top: Node | None, read: Callable[[Position, bytes], Node], key: bytes
               ) -> StateProof:
    """Proof of `key`'s value, or of its absence, in the tree whose top node is `top`;
    `read(position, hash)` gives the node below (committed, or staged in an overlay)."""
    path = int.from_bytes(key_path(key), "big")
    position, node = TOP, top
    siblings: list[bytes] = []
    bitmap = bytearray(HASH_BYTES)
    while node is not None and not is_leaf(node):
        depth = position[0]
        bit = path_bit(path, depth)
        left, right = node_first(node), node_second(node)
        child_hash, sibling = (right, left) if bit else (left, right)
        if sibling != EMPTY_HASH:
            siblings.append(sibling)
            bitmap[depth // 8] |= 0x80 >> (depth % 8)
        position = child(position, bit)
        node = None if child_hash == EMPTY_HASH else read(position, child_hash)
    depth = position[0]
    leaf = None if node is None else ProofLeaf(node_first(node), node_second(node))
    return StateProof(depth, bytes(bitmap[: (depth + 7) // 8]), tuple(siblings), leaf)


# depth -> (bytes of its bits, shift aligning them to the left, the 2-byte depth): a
# commit writes a key for every node it changed, so this is worked out once per depth.
_KEY_LAYOUT: tuple[tuple[int, int, bytes], ...] = tuple(
    ((depth + 7) // 8, ((depth + 7) // 8) * 8 - depth, depth.to_bytes(2, "big"))
    for depth in range(PATH_BITS + 1))
WRITE_LAYOUTS_KEPT = 8  # node prefixes whose write layout is kept: a store has one or two


@lru_cache(maxsize=WRITE_LAYOUTS_KEPT)
def _write_layout(node_prefix: bytes) -> tuple[tuple[int, int, int], ...]:
    """depth -> (the prefix and depth of `CommittedNodes.key` as an integer, the shift that
    puts the bits between them, the key's length), for `CommittedNodes.writes`: a commit
    writes ~7-11 nodes a transaction. Worked out once a prefix, not once a
    `CommittedNodes`: every state view makes one, and the 257 big integers cost ~150 µs.
    A position's bits are below 2**depth (from a path, `child` or `_pair`); out of range
    they would carry into the prefix here, where `key` raises."""
    above = int.from_bytes(node_prefix, "big")
    return tuple(((above << ((width + 2) * 8)) | int.from_bytes(suffix, "big"), shift + 16,
                  len(node_prefix) + width + 2) for width, shift, suffix in _KEY_LAYOUT)


def split_point(position: Position) -> int:
    """The smallest path (as an integer) that goes right at this position."""
    depth, bits = position
    return ((bits << 1) | 1) << (PATH_BITS - 1 - depth)



def apply_commit(cache: dict[Position, Node], written: dict[Position, Node | None],
                 capacity: int) -> None:
    """Bring the committer's node cache in line with a commit of `written`: every node
    removed leaves, every node written is cached. The loops run in C.

    The cache's order is what `trim` drops first. Once the cache and the commit together
    pass `capacity`, every node written moves to the recent end (taken out, then put back
    in order), so that trims keep the paths that blocks rewrite. While they fit, this
    commit cannot lead to a trim, and a node already cached is replaced where it is:
    moving ~8 nodes a transaction cost more than the rest of adopting them (a tree of up
    to ~400,000 entries fits the default capacity). The first trim after such commits
    drops the nodes cached first; those still walked are read from the store again, once."""
    if len(cache) + len(written) > capacity:
        deque(map(cache.pop, written, repeat(None)), maxlen=0)
    if None in written.values():  # a removed node is not cached as None
        kept = {position: node for position, node in written.items() if node is not None}
        deque(map(cache.pop, written.keys() - kept.keys(), repeat(None)), maxlen=0)
        cache.update(kept)
    else:
        cache.update(cast(dict[Position, Node], written))
    trim(cache, capacity)


def trim(cache: dict[Position, Node], capacity: int) -> None:
    """Drop the oldest nodes (the front of the dict) once there are more than `capacity`.

    A plain dict finds its oldest entry by stepping over the slots of the entries taken
    out before it, so the oldest are dropped an eighth of the capacity at a time: one
    such walk per eighth, not one per node dropped."""
    if len(cache) > capacity:
        for position in list(islice(cache, len(cache) - capacity + capacity // 8)):
            del cache[position]


class CommittedNodes:
    """Reads committed nodes by position through a bounded cache.

    Its order is what a trim drops first: a node read goes to the recent end, and a
    commit's nodes do too once the cache is near its capacity (`apply_commit`), so
    the upper levels every walk passes stay, and only the lower levels of a large
    tree cost a KV read.
    """

    def __init__(self, kv: KeyValueReader, node_prefix: bytes, capacity: int) -> None:
        self._kv = kv
        self.node_prefix = node_prefix
        self._capacity = capacity
        # Dropped first to last (see the class's text).
        self._cache: dict[Position, Node] = {}

    @property
    def cache(self) -> dict[Position, Node]:
        """The cached nodes, for walks that check each against its parent's hash
        themselves: the state overlay's, and views' on other threads (a single dict read
        is atomic). Only `read`, `adopt` and the trims after them change it, on the
        committer's thread."""
        return self._cache

    def key(self, position: Position) -> bytes:
        depth, bits = position
        width, shift, suffix = _KEY_LAYOUT[depth]
        return self.node_prefix + (bits << shift).to_bytes(width, "big") + suffix

    def writes(self, written: dict[Position, Node | None], into: dict[bytes, bytes | None]
               ) -> None:
        """Add to `into` the store writes of `written` (None: the node is removed)."""
        layout = _write_layout(self.node_prefix)
        for (depth, bits), node in written.items():
            above, shift, length = layout[depth]
            # `key`'s bytes as one integer: the prefix and depth laid in `above`
            into[(above | (bits << shift)).to_bytes(length, "big")] = (
                None if node is None else node[:RECORD_BYTES])

    def read(self, position: Position, expected_hash: bytes, remember: bool = True) -> Node:
        """The node at `position`, checked against the hash its parent holds.

        `remember=False` leaves the cache as it is: for a reader on another thread
        than the committer's, which may be walking a tree a commit just replaced.
        """
        node = self._cache.get(position)
        if node is not None and node_hash(node) == expected_hash:
            if remember:
                self._cache[position] = self._cache.pop(position)
            return node
        node = self.read_uncached(position)
        if node is None or node_hash(node) != expected_hash:
            raise CorruptStateError(
                f"state node at depth {position[0]} is missing or does not match its parent"
            )
        if remember:
            self._remember(position, node)
        return node

    def leaf_on_path(self, top: Node | None, path: int, remember: bool = True) -> Node | None:
        """Where the walk down `path` from `top` ends: a leaf (maybe another key's) or
        nothing. Each node is checked against the hash its parent holds, as `read`
        does; written out here because every state read of a block walks once."""
        cache = self._cache
        node, depth, bits = top, 0, 0
        while node is not None and node[0] != LEAF_RECORD:
            bit = (path >> (PATH_BITS - 1 - depth)) & 1
            expected = node[SECOND_HALF] if bit else node[FIRST_HALF]
            if expected == EMPTY_HASH:
                return None
            depth, bits = depth + 1, (bits << 1) | bit
            position = (depth, bits)
            node = cache.get(position)
            if node is not None and node[RECORD_BYTES:] == expected:
                if remember:
                    cache[position] = cache.pop(position)
            else:
                node = self.read(position, expected, remember)
        return node

    def read_uncached(self, position: Position) -> Node | None:
        raw = self._kv.get(self.key(position))
        return None if raw is None else decode_node(raw, position)

    def adopt(self, written: dict[Position, Node | None]) -> None:
        """Make the cache match the store after a commit of `written`."""
        apply_commit(self._cache, written, self._capacity)

    def _remember(self, position: Position, node: Node) -> None:
        self._cache.pop(position, None)
        self._cache[position] = node
        trim(self._cache, self._capacity)


VIEW_NODES_CACHED_MAX = 100_000  # nodes views read from their snapshots (readers' cache)


class SharedNodeCache:
    """Tree nodes read by views, shared across them, their threads and commits.

    A view looks first in the committer's cache (`CommittedNodes.cache`), which holds
    the nodes of the committed tree once a commit is durable, then in the nodes views
    read from their snapshots, kept here; so a commit's nodes are never copied here.
    A node is only ever used after its hash is checked against the hash its parent
    holds, so a cached node can never stand for another: a node replaced by a commit
    simply stops matching (for a view of an older snapshot) and is read again.
    Lookups take no lock (one dict read is atomic, the committer's cache included);
    only filling this one does, and an old node is dropped first in first out (see
    `trim`)."""

    def __init__(self, committed: dict[Position, Node],
                 capacity: int = VIEW_NODES_CACHED_MAX) -> None:
        self._committed = committed
        self._capacity = capacity
        self._nodes: dict[Position, Node] = {}
        self._lock = threading.Lock()

    def read(self, position: Position, expected_hash: bytes, reader: CommittedNodes) -> Node:
        node = self._committed.get(position)
        if node is not None and node[RECORD_BYTES:] == expected_hash:
            return node
        return self._read_past_committed(position, expected_hash, reader)

    def _read_past_committed(self, position: Position, expected_hash: bytes,
                             reader: CommittedNodes) -> Node:
        node = self._nodes.get(position)
        if node is not None and node[RECORD_BYTES:] == expected_hash:
            return node
        node = reader.read(position, expected_hash, remember=False)
        with self._lock:
            self._nodes.pop(position, None)
            self._nodes[position] = node
            trim(self._nodes, self._capacity)
        return node

    def leaf_on_path(self, root: bytes, path: int, reader: CommittedNodes) -> Node | None:
        """Where the walk down `path` from the node hashing to `root` ends: a leaf
        (maybe another key's) or nothing; `reader` reads what is not cached here."""
        committed = self._committed
        expected, depth, bits = root, 0, 0
        while expected != EMPTY_HASH:
            position = (depth, bits)
            node = committed.get(position)
            if node is None or node[RECORD_BYTES:] != expected:
                node = self._read_past_committed(position, expected, reader)
            if node[0] == LEAF_RECORD:
                return node
            bit = (path >> (PATH_BITS - 1 - depth)) & 1
            expected = node[SECOND_HALF] if bit else node[FIRST_HALF]
            depth, bits = depth + 1, (bits << 1) | bit
        return None
