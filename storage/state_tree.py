"""The Merkle-indexed ledger state: a compact sparse Merkle tree over LevelDB.

Keys are hashed to 256-bit paths. A subtree that holds exactly one entry is
collapsed into that entry's leaf, so the tree is about log2(n) deep rather than
256, and its root depends only on its contents, never on the order of updates.
That gives inclusion and non-inclusion proofs of O(log n) hashes.

Nodes are stored by position (depth + path prefix), so a block's update
touches only the positions on the changed paths: the tree is persisted
incrementally and nothing is rebuilt at start-up. A block's changes are staged
in a `StateOverlay`; their new root is computed in one pass that hashes every
touched node once; `commit` hands the caller the writes to put in the block's
single atomic batch.
"""

from __future__ import annotations

import bisect
import hashlib
from collections import OrderedDict
from dataclasses import dataclass

from storage.errors import CorruptStateError
from storage.kv import KeyValueStore

HASH_BYTES = 32
PATH_BITS = 256
EMPTY_ROOT = b"\x00" * HASH_BYTES
_LEAF_TAG = b"\x00"
_NODE_TAG = b"\x01"


def _sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def key_path(key: bytes) -> bytes:
    return _sha(b"senim/state-path/v1\x00" + key)


def value_hash(value: bytes) -> bytes:
    return _sha(value)


def leaf_node_hash(path: bytes, hashed_value: bytes) -> bytes:
    return _sha(_LEAF_TAG + path + hashed_value)


def inner_node_hash(left: bytes, right: bytes) -> bytes:
    return _sha(_NODE_TAG + left + right)


@dataclass(frozen=True, slots=True)
class Leaf:
    path: bytes
    hashed_value: bytes
    hash: bytes


@dataclass(frozen=True, slots=True)
class Inner:
    left: bytes
    right: bytes
    hash: bytes


Node = Leaf | Inner | None  # None is the empty subtree


def make_leaf(path: bytes, hashed_value: bytes) -> Leaf:
    return Leaf(path, hashed_value, leaf_node_hash(path, hashed_value))


def make_inner(left: bytes, right: bytes) -> Inner:
    return Inner(left, right, inner_node_hash(left, right))


def node_hash_of(node: Node) -> bytes:
    return EMPTY_ROOT if node is None else node.hash


def _encode_node(node: Leaf | Inner) -> bytes:
    if isinstance(node, Leaf):
        return b"L" + node.path + node.hashed_value
    return b"I" + node.left + node.right


def _decode_node(data: bytes) -> Leaf | Inner:
    if len(data) != 1 + 2 * HASH_BYTES or data[:1] not in (b"L", b"I"):
        raise CorruptStateError("stored state node has the wrong shape")
    first, second = data[1:33], data[33:]
    return make_leaf(first, second) if data[:1] == b"L" else make_inner(first, second)


def _bit(path_int: int, depth: int) -> int:
    return (path_int >> (PATH_BITS - 1 - depth)) & 1


class StateTree:
    """The committed state. Single writer: the node's chain."""

    def __init__(self, kv: KeyValueStore, prefix: bytes, cache_nodes_max: int = 200_000) -> None:
        self.kv = kv
        self.prefix = prefix
        self._cache: OrderedDict[bytes, Leaf | Inner] = OrderedDict()
        self._cache_max = cache_nodes_max
        stored_root = kv.get(prefix + b"root")
        top = self.load_node(0, 0)
        self._root = EMPTY_ROOT if stored_root is None else stored_root
        if node_hash_of(top) != self._root:
            raise CorruptStateError(
                f"stored state root {self._root.hex()} does not match the stored top node")

    @property
    def root(self) -> bytes:
        return self._root

    # -- positions and nodes ------------------------------------------------------------
    def position_key(self, depth: int, path_int: int) -> bytes:
        prefix_bits = path_int >> (PATH_BITS - depth) if depth else 0
        return (self.prefix + b"n" + depth.to_bytes(2, "big")
                + prefix_bits.to_bytes((depth + 7) // 8, "big"))

    def load_node(self, depth: int, path_int: int) -> Node:
        key = self.position_key(depth, path_int)
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached
        data = self.kv.get(key)
        if data is None:
            return None
        node = _decode_node(data)
        self._remember(key, node)
        return node

    def _remember(self, key: bytes, node: Leaf | Inner) -> None:
        self._cache[key] = node
        if len(self._cache) > self._cache_max:
            self._cache.popitem(last=False)

    def value_key(self, key: bytes) -> bytes:
        return self.prefix + b"v" + key

    # -- reads ------------------------------------------------------------------------------
    def get(self, key: bytes) -> bytes | None:
        return self.kv.get(self.value_key(key))

    def overlay(self) -> StateOverlay:
        return StateOverlay(self)

    def prove(self, key: bytes) -> StateProof:
        path = key_path(key)
        path_int = int.from_bytes(path, "big")
        siblings: list[bytes] = []
        node = self.load_node(0, 0)
        depth = 0
        while isinstance(node, Inner):
            bit = _bit(path_int, depth)
            siblings.append(node.left if bit else node.right)
            depth += 1
            node = self.load_node(depth, path_int)
        if isinstance(node, Leaf):
            return StateProof(tuple(siblings), node.path, node.hashed_value)
        return StateProof(tuple(siblings), None, None)

    # -- writes ----------------------------------------------------------------------------
    def commit(self, overlay: StateOverlay) -> dict[bytes, bytes | None]:
        """The writes that make `overlay` durable; the caller writes them in its batch."""
        assert overlay.tree is self, "overlay belongs to another tree"
        assert overlay.base_root == self._root, "overlay was built on an older state"
        overlay.root()
        writes: dict[bytes, bytes | None] = {}
        for key, value in overlay.changes.items():
            writes[self.value_key(key)] = value
        for position, node in overlay.node_writes.items():
            writes[position] = None if node is None else _encode_node(node)
        writes[self.prefix + b"root"] = overlay.root()
        return writes

    def committed(self, overlay: StateOverlay) -> None:
        """Adopt an overlay whose writes the caller has made durable."""
        assert overlay.base_root == self._root, "overlay was built on an older state"
        for position, node in overlay.node_writes.items():
            if node is None:
                self._cache.pop(position, None)
            else:
                self._remember(position, node)
        self._root = overlay.root()


class StateOverlay:
    """Staged, uncommitted changes for executing one block."""

    def __init__(self, tree: StateTree) -> None:
        self.tree = tree
        self.base_root = tree.root
        self.changes: dict[bytes, bytes | None] = {}
        self.node_writes: dict[bytes, Node] = {}
        self._root: bytes | None = tree.root

    def get(self, key: bytes) -> bytes | None:
        if key in self.changes:
            return self.changes[key]
        return self.tree.get(key)

    def set(self, key: bytes, value: bytes) -> None:
        self.changes[key] = value
        self._root = None

    def delete(self, key: bytes) -> None:
        self.changes[key] = None
        self._root = None

    def keys_changed(self) -> int:
        return len(self.changes)

    def root(self) -> bytes:
        if self._root is None:
            self._root = self._recompute()
        return self._root

    def _recompute(self) -> bytes:
        entries = sorted(
            (int.from_bytes(key_path(key), "big"),
             None if value is None else value_hash(value))
            for key, value in self.changes.items()
        )
        self.node_writes = {}
        paths = [path_int for path_int, _ in entries]
        top = _Updater(self.tree, paths, entries, self.node_writes).update(
            0, 0, 0, len(entries), self.tree.load_node(0, 0))
        self.node_writes[self.tree.position_key(0, 0)] = top
        return node_hash_of(top)


class _Updater:
    """One pass over the changed paths that hashes every touched node once."""

    def __init__(self, tree: StateTree, paths: list[int],
                 entries: list[tuple[int, bytes | None]], writes: dict[bytes, Node]) -> None:
        self.tree = tree
        self.paths = paths
        self.entries = entries
        self.writes = writes

    def _split(self, low: int, high: int, depth: int, prefix_int: int) -> int:
        threshold = prefix_int | (1 << (PATH_BITS - 1 - depth))
        return bisect.bisect_left(self.paths, threshold, low, high)

    def update(self, depth: int, prefix_int: int, low: int, high: int, existing: Node) -> Node:
        """New node at (depth, prefix) after applying entries[low:high] to `existing`."""
        if low == high:
            return existing
        if existing is None or isinstance(existing, Leaf):
            merged = self.entries[low:high]
            if isinstance(existing, Leaf):
                old_path = int.from_bytes(existing.path, "big")
                if all(path != old_path for path, _ in merged):
                    merged = sorted([*merged, (old_path, existing.hashed_value)])
            live = [(path, hv) for path, hv in merged if hv is not None]
            return self._build(depth, prefix_int, live)
        mid = self._split(low, high, depth, prefix_int)
        right_prefix = prefix_int | (1 << (PATH_BITS - 1 - depth))
        left = self._child(depth + 1, prefix_int, low, mid, existing.left)
        right = self._child(depth + 1, right_prefix, mid, high, existing.right)
        return self._join(depth, prefix_int, right_prefix, left, right)

    def _child(self, depth: int, prefix_int: int, low: int, high: int,
               known_hash: bytes) -> Node | bytes:
        """The child's new node, or just its unchanged hash when nothing touches it."""
        if low == high:
            return known_hash
        return self.update(depth, prefix_int, low, high, self.tree.load_node(depth, prefix_int))

    def _resolve(self, depth: int, prefix_int: int, child: Node | bytes) -> Node:
        if isinstance(child, bytes):
            return None if child == EMPTY_ROOT else self.tree.load_node(depth, prefix_int)
        return child

    def _join(self, depth: int, left_prefix: int, right_prefix: int,
              left: Node | bytes, right: Node | bytes) -> Node:
        left_hash = left if isinstance(left, bytes) else node_hash_of(left)
        right_hash = right if isinstance(right, bytes) else node_hash_of(right)
        child_depth = depth + 1
        left_pos = self.tree.position_key(child_depth, left_prefix)
        right_pos = self.tree.position_key(child_depth, right_prefix)
        if left_hash == EMPTY_ROOT or right_hash == EMPTY_ROOT:
            other, other_prefix, other_pos = (
                (right, right_prefix, right_pos) if left_hash == EMPTY_ROOT
                else (left, left_prefix, left_pos))
            node = self._resolve(child_depth, other_prefix, other)
            if node is None or isinstance(node, Leaf):
                # A lone leaf (or nothing) moves up: its old position is cleared.
                self.writes[left_pos] = None
                self.writes[right_pos] = None
                return node
        if not isinstance(left, bytes):
            self.writes[left_pos] = left
        if not isinstance(right, bytes):
            self.writes[right_pos] = right
        return make_inner(left_hash, right_hash)

    def _build(self, depth: int, prefix_int: int, live: list[tuple[int, bytes]]) -> Node:
        """A fresh canonical subtree for entries that share the top `depth` bits."""
        if not live:
            return None
        if len(live) == 1:
            path_int, hashed_value = live[0]
            return make_leaf(path_int.to_bytes(32, "big"), hashed_value)
        threshold = prefix_int | (1 << (PATH_BITS - 1 - depth))
        cut = bisect.bisect_left([p for p, _ in live], threshold)
        left = self._build(depth + 1, prefix_int, live[:cut])
        right = self._build(depth + 1, threshold, live[cut:])
        return self._join(depth, prefix_int, threshold, left, right)


@dataclass(frozen=True)
class StateProof:
    """Sibling hashes from the top down, and the leaf the path ends at (if any)."""

    siblings: tuple[bytes, ...]
    leaf_path: bytes | None
    leaf_value_hash: bytes | None


def verify_state_proof(root: bytes, key: bytes, value: bytes | None, proof: StateProof) -> bool:
    """Does `proof` show that `key` maps to `value` (None: is absent) under `root`?"""
    try:
        return _verify(root, key, value, proof)
    except (TypeError, ValueError, AttributeError):
        return False


def _verify(root: bytes, key: bytes, value: bytes | None, proof: StateProof) -> bool:
    if len(proof.siblings) > PATH_BITS or any(len(s) != HASH_BYTES for s in proof.siblings):
        return False
    path = key_path(key)
    path_int = int.from_bytes(path, "big")
    depth = len(proof.siblings)
    if proof.leaf_path is None:
        if value is not None or proof.leaf_value_hash is not None:
            return False
        current = EMPTY_ROOT
    else:
        if len(proof.leaf_path) != HASH_BYTES or proof.leaf_value_hash is None:
            return False
        leaf_int = int.from_bytes(proof.leaf_path, "big")
        if depth and (leaf_int >> (PATH_BITS - depth)) != (path_int >> (PATH_BITS - depth)):
            return False  # the leaf is not on this key's path
        if value is None:
            if proof.leaf_path == path:
                return False
        elif proof.leaf_path != path or proof.leaf_value_hash != value_hash(value):
            return False
        current = leaf_node_hash(proof.leaf_path, proof.leaf_value_hash)
    for depth_index in range(depth - 1, -1, -1):
        sibling = proof.siblings[depth_index]
        if _bit(path_int, depth_index):
            current = inner_node_hash(sibling, current)
        else:
            current = inner_node_hash(current, sibling)
    return current == root
