"""The Merkle-indexed ledger state: a persistent authenticated map bytes -> bytes.

Its 32-byte root goes into every block header. The tree is the compact sparse
Merkle tree described in `storage.proofs` (path = SHA-256(key), one-leaf
subtrees collapsed into the leaf), so its shape and root depend only on the
contents, never on the order of history, and depth is about log2(n).

Persistence is incremental and position-addressed, under the caller's prefix P:

    P + b"r"                          the committed root hash
    P + b"n" + bits + depth (2 bytes) the node at that position (65 bytes)
    P + b"v" + key                    the value itself

A node's position (its depth and the bits of the paths below it) is its
address, so an update overwrites nodes in place: see `storage.state_nodes`.

Execution: `overlay()` gives a throw-away view; `commit(overlay)` returns the
KV writes that make it durable, which the caller puts in its block's single
atomic batch; after that write succeeds the caller calls `committed(overlay)`.
"""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections.abc import Iterator
from enum import Enum
from operator import itemgetter

from storage.errors import CorruptStateError, InvalidStateEntryError, StaleOverlayError
from storage.kv import KeyValueStore
from storage.proofs import (
    EMPTY_HASH,
    HASH_BYTES,
    ProofLeaf,
    StateProof,
    decode_state_proof,
    encode_state_proof,
    key_path,
    path_bit,
    state_proof_from_json,
    state_proof_to_json,
    value_hash,
    verify_state_proof,
)
from storage.state_nodes import (
    RECORD_BYTES,
    TOP,
    CommittedNodes,
    Node,
    Position,
    branch_node,
    child,
    is_leaf,
    leaf_node,
    node_first,
    node_hash,
    node_second,
    split_point,
)

__all__ = [
    "EMPTY_ROOT", "KEY_BYTES_MAX", "VALUE_BYTES_MAX", "StateOverlay", "StateProof", "StateTree",
    "decode_state_proof", "encode_state_proof", "state_proof_from_json", "state_proof_to_json",
    "verify_state_proof",
]

EMPTY_ROOT = EMPTY_HASH
LEAF_VALUES_CACHED_MAX = 100_000
# How often a read overtaken by commits is tried again before it is called damage.
RACED_READS_MAX = 3
KEY_BYTES_MAX = 1024
VALUE_BYTES_MAX = 1024 * 1024

# (path as an integer for ordering, path, SHA-256 of the new value or None to delete)
_Change = tuple[int, bytes, bytes | None]


class _Unread(Enum):
    """A child an update did not touch, so it was never read."""

    CHILD = 0


def _check_entry(key: bytes, value: bytes | None) -> None:
    if not isinstance(key, bytes) or len(key) > KEY_BYTES_MAX:
        raise InvalidStateEntryError(f"state key must be bytes of at most {KEY_BYTES_MAX}")
    if value is not None and (not isinstance(value, bytes) or len(value) > VALUE_BYTES_MAX):
        raise InvalidStateEntryError(f"state value must be bytes of at most {VALUE_BYTES_MAX}")


def _merge_leaf(leaf: Node, changes: list[_Change]) -> list[_Change]:
    """The leaves a one-leaf subtree holds after `changes`, sorted, deletions applied."""
    merged = [change for change in changes if change[2] is not None]
    path = node_first(leaf)
    path_int = int.from_bytes(path, "big")
    if all(change[0] != path_int for change in changes):
        merged.append((path_int, path, node_second(leaf)))
        merged.sort(key=itemgetter(0))
    return merged


class StateOverlay:
    """Uncommitted writes over the committed state, for executing one block.

    Discarding it changes nothing. `root()` rewrites only the nodes above the
    keys staged since its last call, each of them once, and costs nothing when
    no write was staged since. `StateTree.commit` seals the overlay: the writes
    it returned are then exactly what `StateTree.committed` adopts.
    """

    def __init__(self, tree: StateTree, top: Node | None, generation: int) -> None:
        self._tree = tree
        self._generation = generation
        self._top = top
        self._values: dict[bytes, bytes | None] = {}
        self._unhashed: dict[bytes, bytes | None] = {}
        self._written: dict[Position, Node | None] = {}
        self._changes: list[_Change] = []
        self._change_paths: list[int] = []
        self._sealed = False

    def get(self, key: bytes) -> bytes | None:
        self._check_fresh()
        if key in self._values:
            return self._values[key]
        return self._tree.get(key)

    def set(self, key: bytes, value: bytes) -> None:
        self._check_writable()
        if value is None:
            raise InvalidStateEntryError("state value must be bytes; use delete() to remove")
        _check_entry(key, value)
        self._values[key] = value
        self._unhashed[key] = value

    def delete(self, key: bytes) -> None:
        self._check_writable()
        _check_entry(key, None)
        self._values[key] = None
        self._unhashed[key] = None

    def keys_changed(self) -> int:
        """How many distinct keys this overlay has set or deleted."""
        return len(self._values)

    def root(self) -> bytes:
        """The state root with every staged write applied."""
        self._check_fresh()
        self._rehash()
        return node_hash(self._top)

    def _check_fresh(self) -> None:
        if self._tree._generation != self._generation:
            raise StaleOverlayError(
                "this overlay was built on a state that has since been replaced by a commit"
            )

    def _check_writable(self) -> None:
        self._check_fresh()
        if self._sealed:
            raise StaleOverlayError("this overlay was sealed by commit(); start a new one")

    def _rehash(self) -> None:
        if not self._unhashed:
            return
        changes = []
        for key, value in self._unhashed.items():
            path = key_path(key)
            hashed = None if value is None else value_hash(value)
            changes.append((int.from_bytes(path, "big"), path, hashed))
        changes.sort(key=itemgetter(0))
        self._changes = changes
        self._change_paths = [change[0] for change in changes]
        self._top = self._update(TOP, 0, len(changes), self._top)
        self._unhashed.clear()
        self._changes, self._change_paths = [], []

    def _read(self, position: Position, expected_hash: bytes) -> Node | None:
        if expected_hash == EMPTY_HASH:
            return None
        if position in self._written:
            node = self._written[position]
            assert node is not None, "a parent points at a node this overlay removed"
            return node
        return self._tree._nodes.read(position, expected_hash)

    def _update(self, position: Position, lo: int, hi: int, node: Node | None) -> Node | None:
        """Apply self._changes[lo:hi], all below `position`, to the subtree `node` there."""
        if node is None or is_leaf(node):
            return self._update_bottom(position, self._changes[lo:hi], node)
        mid = bisect_left(self._change_paths, split_point(position), lo, hi)
        old_left, old_right = node_first(node), node_second(node)
        left: Node | _Unread | None = _Unread.CHILD
        right: Node | _Unread | None = _Unread.CHILD
        left_hash, right_hash = old_left, old_right
        if lo < mid:
            left_at = child(position, 0)
            left = self._update(left_at, lo, mid, self._read(left_at, old_left))
            left_hash = node_hash(left)
        if mid < hi:
            right_at = child(position, 1)
            right = self._update(right_at, mid, hi, self._read(right_at, old_right))
            right_hash = node_hash(right)
        if left_hash == old_left and right_hash == old_right:
            return node
        return self._join(position, (left_hash, left), (right_hash, right))

    def _update_bottom(
        self, position: Position, changes: list[_Change], node: Node | None
    ) -> Node | None:
        """Apply `changes` to an empty subtree or a one-leaf subtree at `position`."""
        if node is None:
            return self._build(position, [change for change in changes if change[2] is not None])
        merged = _merge_leaf(node, changes)
        if len(merged) == 1 and merged[0][1:] == (node_first(node), node_second(node)):
            return node
        self._written[position] = None  # rewritten below if a leaf still ends up here
        return self._build(position, merged)

    def _build(self, position: Position, leaves: list[_Change]) -> Node | None:
        """Write the canonical subtree holding exactly `leaves` (sorted) at `position`."""
        if not leaves:
            return None
        if len(leaves) == 1:
            _, path, hashed = leaves[0]
            assert hashed is not None
            leaf = leaf_node(path, hashed)
            self._written[position] = leaf
            return leaf
        mid = bisect_left(leaves, split_point(position), key=itemgetter(0))
        left = self._build(child(position, 0), leaves[:mid])
        right = self._build(child(position, 1), leaves[mid:])
        return self._join(position, (node_hash(left), left), (node_hash(right), right))

    def _join(
        self,
        position: Position,
        left: tuple[bytes, Node | _Unread | None],
        right: tuple[bytes, Node | _Unread | None],
    ) -> Node | None:
        """The node at `position` over two (hash, node) children, writing it.

        Keeps the tree canonical: nothing below means nothing here, and a lone
        leaf below moves up here.
        """
        (left_hash, left_node), (right_hash, right_node) = left, right
        if left_hash == EMPTY_HASH and right_hash == EMPTY_HASH:
            self._written[position] = None
            return None
        if left_hash == EMPTY_HASH or right_hash == EMPTY_HASH:
            bit = 1 if left_hash == EMPTY_HASH else 0
            only_at = child(position, bit)
            only = right_node if bit else left_node
            if isinstance(only, _Unread):
                only = self._read(only_at, right_hash if bit else left_hash)
            if only is not None and is_leaf(only):
                self._written[only_at] = None
                self._written[position] = only
                return only
        branch = branch_node(left_hash, right_hash)
        self._written[position] = branch
        return branch


class StateTree:
    """The committed state. See the module docstring for the commit protocol."""

    def __init__(self, kv: KeyValueStore, prefix: bytes, cache_nodes_max: int = 200_000) -> None:
        if cache_nodes_max < 1:
            raise ValueError("cache_nodes_max must be at least 1")
        self._kv = kv
        self._root_key = prefix + b"r"
        self._value_prefix = prefix + b"v"
        self._nodes = CommittedNodes(kv, prefix + b"n", cache_nodes_max)
        self._generation = 0
        self._top = self._load_top()
        # key -> the value hash its leaf holds (b"" if it has none), so a key read
        # again is checked without a walk down the tree; forgotten when committed.
        # Only the committing thread (the owner) fills it and the node cache.
        self._leaf_values: dict[bytes, bytes] = {}
        self._owner = threading.get_ident()
        self._commits_started = 0  # _generation counts the finished ones
        self._pending: StateOverlay | None = None

    def _load_top(self) -> Node | None:
        """Read the root pointer and the top node, and check that they agree."""
        stored_root = self._kv.get(self._root_key)
        top = self._nodes.read_uncached(TOP)
        if stored_root is None and top is None:
            return None  # a state that was never committed
        if stored_root is None or len(stored_root) != HASH_BYTES:
            raise CorruptStateError("state root pointer is missing or not a 32-byte hash")
        if node_hash(top) != stored_root:
            raise CorruptStateError(
                f"stored state root {stored_root.hex()} does not match the stored top node"
            )
        return top

    @property
    def root(self) -> bytes:
        return node_hash(self._top)

    def get(self, key: bytes) -> bytes | None:
        """The committed value of `key`, or None, checked against the tree.

        The value is stored apart from its leaf, so a value damaged on disk (or a
        lost one) would otherwise be answered as if true: a revoked credential
        read as never revoked. Raises CorruptStateError when they disagree.

        Safe on any thread: a reader that a commit overtakes (the store already
        new, the tree in memory still old) is told apart from damage and reads again.
        """
        owner = threading.get_ident() == self._owner
        for _ in range(RACED_READS_MAX):
            started, finished = self._commits_started, self._generation
            value = self._kv.get(self._value_prefix + key)
            if self._leaf_matches(key, value, owner):
                return value
            pending = self._pending
            if pending is not None and key in pending._values and pending._values[key] == value:
                return value  # the value of the commit under way
            if started == finished == self._commits_started == self._generation:
                break  # no commit ran meanwhile: the store is damaged
        raise CorruptStateError(f"stored value of state key {key.hex()} does not match the "
                                "tree (damaged or lost on disk)")

    def _leaf_matches(self, key: bytes, value: bytes | None, owner: bool) -> bool:
        expected = self._leaf_values.get(key)
        if expected is None:
            path = key_path(key)
            try:
                leaf = self._leaf_on_path(int.from_bytes(path, "big"), owner)
            except CorruptStateError:
                return False
            expected = node_second(leaf) if leaf is not None and node_first(leaf) == path else b""
            if owner:  # another thread's walk may be of a tree already replaced
                if len(self._leaf_values) >= LEAF_VALUES_CACHED_MAX:
                    self._leaf_values.clear()
                self._leaf_values[key] = expected
        return (value_hash(value) if value is not None else b"") == expected

    def _leaf_on_path(self, path: int, remember: bool) -> Node | None:
        """Where the walk down `path` ends: at a leaf (maybe another key's) or at nothing."""
        position, node = TOP, self._top
        while node is not None and not is_leaf(node):
            bit = path_bit(path, position[0])
            child_hash = node_second(node) if bit else node_first(node)
            position = child(position, bit)
            node = (None if child_hash == EMPTY_HASH
                    else self._nodes.read(position, child_hash, remember))
        return node

    def overlay(self) -> StateOverlay:
        return StateOverlay(self, self._top, self._generation)

    def prove(self, key: bytes) -> StateProof:
        """Proof of the committed value of `key`, or of its absence, against `self.root`."""
        path = int.from_bytes(key_path(key), "big")
        position, node = TOP, self._top
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
            node = None if child_hash == EMPTY_HASH else self._nodes.read(position, child_hash)
        depth = position[0]
        leaf = None if node is None else ProofLeaf(node_first(node), node_second(node))
        return StateProof(depth, bytes(bitmap[: (depth + 7) // 8]), tuple(siblings), leaf)

    def commit(self, overlay: StateOverlay) -> dict[bytes, bytes | None]:
        """The KV writes that make `overlay` durable, and seal it against further writes.

        Changes nothing here or on disk: the caller writes these in its block's
        one atomic batch, then calls `committed`.
        """
        self._check_own(overlay)
        new_root = overlay.root()
        overlay._sealed = True
        self._owner = threading.get_ident()
        self._pending = overlay
        self._commits_started = self._generation + 1
        writes: dict[bytes, bytes | None] = {}
        for position, node in overlay._written.items():
            writes[self._nodes.key(position)] = None if node is None else node[:RECORD_BYTES]
        for key, value in overlay._values.items():
            writes[self._value_prefix + key] = value
        writes[self._root_key] = new_root
        return writes

    def committed(self, overlay: StateOverlay) -> None:
        """Adopt `overlay` as the committed state, once the writes of `commit` are durable.

        Every other overlay built on the previous state becomes stale.
        """
        self._check_own(overlay)
        if not overlay._sealed:
            raise StaleOverlayError("committed() needs the writes of commit() to be durable first")
        self._nodes.adopt(overlay._written)
        for key in overlay._values:
            self._leaf_values.pop(key, None)
        self._top = overlay._top
        self._generation += 1
        self._pending = None

    def _check_own(self, overlay: StateOverlay) -> None:
        if overlay._tree is not self:
            raise StaleOverlayError("this overlay belongs to a different state tree")
        overlay._check_fresh()

    def audit(self) -> int:
        """Re-read the whole committed tree from the store, check it, and count the entries.

        O(n) reads and memory: an operator's consistency check and a test oracle,
        not for the hot path. Raises CorruptStateError on a hash mismatch, a
        non-canonical shape, a stored node no walk reaches, or a value that
        disagrees with its leaf.
        """
        leaves: dict[bytes, bytes] = {}
        reached = 0
        # (position, hash the parent holds, whether the parent's other child is empty)
        stack = [] if self._top is None else [(TOP, node_hash(self._top), False)]
        while stack:
            position, expected, only_child = stack.pop()
            node = self._nodes.read_uncached(position)
            if node is None or node_hash(node) != expected:
                raise CorruptStateError(f"state node at depth {position[0]} fails its parent hash")
            reached += 1
            if is_leaf(node):
                if only_child:
                    raise CorruptStateError(f"lone state leaf at depth {position[0]} not moved up")
                leaves[node_first(node)] = node_second(node)
                continue
            children = (node_first(node), node_second(node))
            for bit, child_hash in enumerate(children):
                if child_hash != EMPTY_HASH:
                    stack.append((child(position, bit), child_hash, EMPTY_HASH in children))
        stored = sum(1 for _ in self._kv.iterate_prefix(self._nodes.node_prefix))
        if stored != reached:
            raise CorruptStateError(f"{stored - reached} stored state nodes are unreachable")
        values = 0
        for key, value in self.iterate_items():
            if leaves.get(key_path(key)) != value_hash(value):
                raise CorruptStateError(f"stored value of state key {key!r} disagrees with leaf")
            values += 1
        if values != len(leaves):
            raise CorruptStateError(f"{len(leaves) - values} state leaves have no stored value")
        return values

    def iterate_items(self) -> Iterator[tuple[bytes, bytes]]:
        """Every committed (key, value), in key order."""
        start = len(self._value_prefix)
        for stored_key, value in self._kv.iterate_prefix(self._value_prefix):
            yield stored_key[start:], value
