"""Uncommitted writes over the committed state tree, for executing one block.

Internal to `storage.state_tree` (which re-exports `StateOverlay`): its
`commit` and `committed` read the overlay's written nodes and values.
"""

from __future__ import annotations

from bisect import bisect_left
from enum import Enum
from operator import itemgetter
from typing import TYPE_CHECKING

from storage.errors import CorruptStateError, InvalidStateEntryError, StaleOverlayError
from storage.proofs import EMPTY_HASH, PATH_BITS, StateProof, key_path, value_hash
from storage.state_nodes import (
    FIRST_HALF,
    LEAF_RECORD,
    RECORD_BYTES,
    SECOND_HALF,
    TOP,
    Node,
    Position,
    branch_node,
    child,
    is_leaf,
    leaf_node,
    node_first,
    node_hash,
    node_second,
    prove_from,
    split_point,
)

if TYPE_CHECKING:
    from storage.state_tree import StateTree

KEY_BYTES_MAX = 1024
VALUE_BYTES_MAX = 1024 * 1024

# (path as an integer for ordering, path, SHA-256 of the new value or None to delete,
# or _CHECK_ONLY: the walk goes down this path only to see that no leaf holds it)
_Change = tuple[int, bytes, bytes | None]
_CHECK_ONLY = b""  # never a value hash (32 bytes); falsy like None: no leaf is written


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
    merged = [change for change in changes if change[2]]  # neither deletions nor checks
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

    `defer_absence`: a key with no stored value whose leaf was not walked yet reads
    as absent at once, and that absence is checked by the next `root()` (so also
    by `prove` and `StateTree.commit`), in the walk that rehashes the block's writes:
    a block's new keys are walked once instead of twice. A value lost on disk then
    raises CorruptStateError from `root()` rather than from `get`, so whoever acts
    on a read before the root (a refusal) must call `root()` first.
    """

    def __init__(self, tree: StateTree, top: Node | None, generation: int,
                 defer_absence: bool = False) -> None:
        self._tree = tree
        self._generation = generation
        self._top = top
        self._values: dict[bytes, bytes | None] = {}
        self._unhashed: dict[bytes, bytes | None] = {}
        self._written: dict[Position, Node | None] = {}
        self._changes: list[_Change] = []
        self._change_paths: list[int] = []
        self._sealed = False
        self._cache = tree._nodes.cache
        self._defer_absence = defer_absence
        self._unchecked_absent: set[bytes] = set()  # keys read as absent, not yet walked
        self._absent_paths: set[bytes] = set()  # their paths, during a rehash

    def get(self, key: bytes) -> bytes | None:
        if self._tree._generation != self._generation:
            self._check_fresh()  # raises; the test is written out: a block reads thousands
        values = self._values
        if key in values:
            return values[key]
        if not self._defer_absence or self._sealed:
            return self._tree.get(key)
        value, checked = self._tree.get_unless_unwalked_absent(key)
        if not checked:
            self._unchecked_absent.add(key)
        return value

    def set(self, key: bytes, value: bytes) -> None:
        if self._sealed or self._tree._generation != self._generation:
            self._check_writable()  # raises; written out as in `get`
        if value is None:
            raise InvalidStateEntryError("state value must be bytes; use delete() to remove")
        if (type(key) is not bytes or len(key) > KEY_BYTES_MAX or type(value) is not bytes
                or len(value) > VALUE_BYTES_MAX):
            _check_entry(key, value)  # raises (or passes a bytes subclass, as it always did)
        self._values[key] = value
        self._unhashed[key] = value

    def delete(self, key: bytes) -> None:
        self._check_writable()
        _check_entry(key, None)
        self._values[key] = None
        self._unhashed[key] = None

    def has_staged(self, key: bytes) -> bool:
        """Whether this overlay has set or deleted `key`."""
        return key in self._values

    def keys_changed(self) -> int:
        """How many distinct keys this overlay has set or deleted."""
        return len(self._values)

    def root(self) -> bytes:
        """The state root with every staged write applied."""
        self._check_fresh()
        self._rehash()
        return node_hash(self._top)

    def prove(self, key: bytes) -> StateProof:
        """Proof of `key` against `root()`, before the overlay is committed: what a block
        proves about its own state goes into that block's atomic batch."""
        self._check_fresh()
        self._rehash()
        return prove_from(self._top, self._read_present, key)

    def _read_present(self, position: Position, expected_hash: bytes) -> Node:
        node = self._read(position, expected_hash)
        assert node is not None, "a proof walks only below non-empty hashes"
        return node

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
        if not self._unhashed and not self._unchecked_absent:
            return
        changes = []
        unhashed = self._unhashed
        absent = self._unchecked_absent
        absent_paths = set()
        # A key read as absent and then written (every new record: its absence is
        # checked before it is set) is walked for its write; its path is hashed once.
        for key, value in unhashed.items():
            path = key_path(key)
            if key in absent:
                absent_paths.add(path)
            hashed = None if value is None else value_hash(value)
            changes.append((int.from_bytes(path, "big"), path, hashed))
        for key in absent:
            if key not in unhashed:
                path = key_path(key)
                absent_paths.add(path)
                changes.append((int.from_bytes(path, "big"), path, _CHECK_ONLY))
        changes.sort(key=itemgetter(0))
        self._changes = changes
        self._change_paths = [change[0] for change in changes]
        self._absent_paths = absent_paths
        self._top = self._update(TOP, 0, len(changes), self._top)
        unhashed.clear()
        self._unchecked_absent.clear()
        self._changes, self._change_paths, self._absent_paths = [], [], set()

    def _read(self, position: Position, expected_hash: bytes) -> Node | None:
        if expected_hash == EMPTY_HASH:
            return None
        written = self._written
        if position in written:
            node = written[position]
            assert node is not None, "a parent points at a node this overlay removed"
            return node
        # A cache hit is not moved up the LRU here: every node on a changed path is
        # rewritten, and `committed` puts the rewritten ones at its recent end.
        node = self._cache.get(position)
        if node is not None and node[RECORD_BYTES:] == expected_hash:
            return node
        return self._tree._nodes.read(position, expected_hash)

    def _update(self, position: Position, lo: int, hi: int, node: Node | None) -> Node | None:
        """Apply self._changes[lo:hi], all below `position`, to the subtree `node` there."""
        if node is None or node[0] == LEAF_RECORD:
            return self._update_bottom(position, self._changes[lo:hi], node)
        if hi - lo == 1:  # below the levels a block's keys share, each path is alone
            return self._update_alone(position, lo, node)
        depth, bits = position
        below = depth + 1
        # bisect for split_point(position): the first change whose path goes right here
        mid = bisect_left(self._change_paths, ((bits << 1) | 1) << (PATH_BITS - below), lo, hi)
        old_left, old_right = node[FIRST_HALF], node[SECOND_HALF]
        left: Node | _Unread | None = _Unread.CHILD
        right: Node | _Unread | None = _Unread.CHILD
        left_hash, right_hash = old_left, old_right
        if lo < mid:
            left_at = (below, bits << 1)
            left = self._update(left_at, lo, mid, self._read(left_at, old_left))
            left_hash = EMPTY_HASH if left is None else left[RECORD_BYTES:]
        if mid < hi:
            right_at = (below, (bits << 1) | 1)
            right = self._update(right_at, mid, hi, self._read(right_at, old_right))
            right_hash = EMPTY_HASH if right is None else right[RECORD_BYTES:]
        if left_hash == old_left and right_hash == old_right:
            return node
        if left_hash != EMPTY_HASH and right_hash != EMPTY_HASH:  # the common case, at once
            branch = branch_node(left_hash, right_hash)
            self._written[position] = branch
            return branch
        return self._join(position, (left_hash, left), (right_hash, right))

    def _update_alone(self, position: Position, index: int, node: Node) -> Node | None:
        """`_update` for the one change self._changes[index] under the branch `node`:
        down its path in a loop and back up, without a call or a bisect per level."""
        path = self._change_paths[index]
        depth, bits = position
        passed: list[tuple[Position, Node, int]] = []  # (position, branch, bit taken)
        below: Node | None = node
        cache = self._cache
        while below is not None and below[0] != LEAF_RECORD:
            bit = (path >> (PATH_BITS - 1 - depth)) & 1
            passed.append(((depth, bits), below, bit))
            depth, bits = depth + 1, (bits << 1) | bit
            expected = below[SECOND_HALF] if bit else below[FIRST_HALF]
            # `_read`'s cache hit written out: a node whose hash is the one expected is
            # that node, whether this overlay wrote it or the cache holds it.
            below = cache.get((depth, bits))
            if below is None or below[RECORD_BYTES:] != expected:
                below = self._read((depth, bits), expected)
        new = self._update_bottom((depth, bits), self._changes[index : index + 1], below)
        if new is below:
            return node  # nothing changed at the bottom, so nothing above it either
        written = self._written
        for at, branch, bit in reversed(passed):
            new_hash = EMPTY_HASH if new is None else new[RECORD_BYTES:]
            other = branch[FIRST_HALF] if bit else branch[SECOND_HALF]
            if new_hash != EMPTY_HASH and other != EMPTY_HASH:  # the common case, at once
                new = branch_node(other, new_hash) if bit else branch_node(new_hash, other)
                written[at] = new
            elif bit:
                new = self._join(at, (other, _Unread.CHILD), (new_hash, new))
            else:
                new = self._join(at, (new_hash, new), (other, _Unread.CHILD))
        return new

    def _update_bottom(
        self, position: Position, changes: list[_Change], node: Node | None
    ) -> Node | None:
        """Apply `changes` to an empty subtree or a one-leaf subtree at `position`."""
        if node is None:
            return self._build(position, [change for change in changes if change[2]])
        if self._absent_paths and node_first(node) in self._absent_paths:
            # The walk down a key's path ends at its leaf if the tree holds the key.
            raise CorruptStateError(f"stored value of a state key at path "
                                    f"{node_first(node).hex()} is missing but the tree holds "
                                    "it (damaged or lost on disk)")
        if len(changes) == 1:
            new_int, new_path, new_hash = changes[0]
            if new_hash and new_path != node_first(node):
                # A new key beside one leaf, most of a block's inserts: the leaf moves
                # down as it is (its node depends on its path and value, not on its
                # place), not hashed again. As `_build` of both would, in that order.
                new = leaf_node(new_path, new_hash)
                old_int = int.from_bytes(node_first(node), "big")
                self._written[position] = None
                if new_int < old_int:
                    return self._pair(position, new_int, new, old_int, node)
                return self._pair(position, old_int, node, new_int, new)
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
        if len(leaves) == 2:  # a new key beside one leaf: most of a block's inserts
            return self._build_pair(position, leaves[0], leaves[1])
        return self._build_split(position, leaves)

    def _build_split(self, position: Position, leaves: list[_Change]) -> Node | None:
        mid = bisect_left(leaves, split_point(position), key=itemgetter(0))
        left = self._build(child(position, 0), leaves[:mid])
        right = self._build(child(position, 1), leaves[mid:])
        return self._join(position, (node_hash(left), left), (node_hash(right), right))

    def _build_pair(self, position: Position, first: _Change, second: _Change) -> Node:
        """`_build` of two leaves (sorted) at `position`, in a loop: a branch over both
        where their paths part, and above it up to `position` a branch with one empty
        side per level. The same nodes, written in the same order, as `_build_split`."""
        (first_int, first_path, first_hash), (second_int, second_path, second_hash) = (
            first, second)
        assert first_hash is not None and second_hash is not None
        return self._pair(position, first_int, leaf_node(first_path, first_hash),
                          second_int, leaf_node(second_path, second_hash))

    def _pair(self, position: Position, first_int: int, left: Node, second_int: int,
              right: Node) -> Node:
        """`_build_pair` of the leaves `left` and `right`, whose paths are `first_int` <
        `second_int`."""
        parted = PATH_BITS - (first_int ^ second_int).bit_length()  # depth of their branch
        below = parted + 1
        depth, written = position[0], self._written
        written[(below, first_int >> (PATH_BITS - below))] = left
        written[(below, second_int >> (PATH_BITS - below))] = right
        node = branch_node(left[RECORD_BYTES:], right[RECORD_BYTES:])
        written[(parted, first_int >> (PATH_BITS - parted))] = node
        for at in range(parted - 1, depth - 1, -1):
            if (first_int >> (PATH_BITS - 1 - at)) & 1:
                node = branch_node(EMPTY_HASH, node[RECORD_BYTES:])
            else:
                node = branch_node(node[RECORD_BYTES:], EMPTY_HASH)
            written[(at, first_int >> (PATH_BITS - at))] = node
        return node

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
