"""Uncommitted writes over the committed state tree, for executing one block.

Internal to `storage.state_tree` (which re-exports `StateOverlay`): its
`commit` and `committed` read the overlay's written nodes and values.
"""

from __future__ import annotations

from bisect import bisect_left
from hashlib import sha256
from itertools import compress, repeat
from operator import itemgetter
from typing import TYPE_CHECKING, Literal, cast

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
    leaf_node,
    node_first,
    node_hash,
    node_second,
    prove_from,
)
from storage.state_subtrees import (
    BRANCH_TAG,
    CHECK_ONLY,
    LEAF_TAG,
    UNREAD,
    Change,
    SubtreeWriter,
    Unread,
    merge_leaf,
)

if TYPE_CHECKING:
    from collections.abc import ValuesView

    from storage.state_tree import StateTree

KEY_BYTES_MAX = 1024
VALUE_BYTES_MAX = 1024 * 1024

_DIGEST = type(sha256()).digest
_BIG: Literal["big"] = "big"


def _check_entry(key: bytes, value: bytes | None) -> None:
    if not isinstance(key, bytes) or len(key) > KEY_BYTES_MAX:
        raise InvalidStateEntryError(f"state key must be bytes of at most {KEY_BYTES_MAX}")
    if value is not None and (not isinstance(value, bytes) or len(value) > VALUE_BYTES_MAX):
        raise InvalidStateEntryError(f"state value must be bytes of at most {VALUE_BYTES_MAX}")


class StateOverlay(SubtreeWriter):
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
        self._changes: list[Change] = []
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
        unhashed = self._unhashed
        absent = self._unchecked_absent
        # key_path and value_hash of every key written, a whole list at a time (each
        # step one map() run by C). A key read as absent and then written (every new
        # record: its absence is checked before it is set) is walked for its write;
        # its path is hashed once.
        keys = list(unhashed)
        paths = list(map(_DIGEST, map(sha256, keys)))
        values = unhashed.values()
        hashed: list[bytes | None]
        if None in values:
            hashed = [None if value is None else value_hash(value) for value in values]
        else:
            hashed = list(map(_DIGEST, map(sha256, cast("ValuesView[bytes]", values))))
        changes: list[Change] = list(zip(map(int.from_bytes, paths, repeat(_BIG)), paths,
                                          hashed, strict=True))
        absent_paths = set(compress(paths, map(absent.__contains__, keys)))
        for key in absent - unhashed.keys():
            path = key_path(key)
            absent_paths.add(path)
            changes.append((int.from_bytes(path, "big"), path, CHECK_ONLY))
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
        # A cache hit is not moved up here: every node on a changed path is rewritten,
        # and `committed` caches the rewritten ones (`state_nodes.apply_commit`).
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
        left: Node | Unread | None = UNREAD
        right: Node | Unread | None = UNREAD
        left_hash, right_hash = old_left, old_right
        cache = self._cache
        if lo < mid:
            left_at = (below, bits << 1)
            # `_read`'s cache hit written out, as in `_update_alone`
            left = cache.get(left_at)
            if left is None or left[RECORD_BYTES:] != old_left:
                left = self._read(left_at, old_left)
            left = (self._update_alone(left_at, lo, left) if mid - lo == 1
                    else self._update(left_at, lo, mid, left))
            left_hash = EMPTY_HASH if left is None else left[RECORD_BYTES:]
        if mid < hi:
            right_at = (below, (bits << 1) | 1)
            right = cache.get(right_at)
            if right is None or right[RECORD_BYTES:] != old_right:
                right = self._read(right_at, old_right)
            right = (self._update_alone(right_at, mid, right) if hi - mid == 1
                     else self._update(right_at, mid, hi, right))
            right_hash = EMPTY_HASH if right is None else right[RECORD_BYTES:]
        if left_hash == old_left and right_hash == old_right:
            return node
        if left_hash != EMPTY_HASH and right_hash != EMPTY_HASH:  # the common case, at once
            record = BRANCH_TAG + left_hash + right_hash  # branch_node, written out
            branch = self._written[position] = record + sha256(record).digest()
            return branch
        return self._join(position, (left_hash, left), (right_hash, right))

    def _update_alone(self, position: Position, index: int, node: Node | None) -> Node | None:
        """`_update` for the one change self._changes[index] under `node`: down its path
        in a loop and back up, without a call or a bisect per level. On that path the
        position at each depth is the path's own first bits."""
        change = self._changes[index]
        path = change[0]
        depth = position[0]
        passed: list[Node] = []  # the branches walked through, top first
        below = node
        cache = self._cache
        while below is not None and below[0] != LEAF_RECORD:
            passed.append(below)
            depth += 1
            at = (depth, path >> (PATH_BITS - depth))
            expected = below[SECOND_HALF] if at[1] & 1 else below[FIRST_HALF]
            # `_read`'s cache hit written out: a node whose hash is the one expected is
            # that node, whether this overlay wrote it or the cache holds it.
            below = cache.get(at)
            if below is None or below[RECORD_BYTES:] != expected:
                below = self._read(at, expected)
        at = (depth, path >> (PATH_BITS - depth))
        new: Node | None
        if (below is not None and change[2] and below[FIRST_HALF] != change[1]
                and not (self._absent_paths and below[FIRST_HALF] in self._absent_paths)):
            # `_update_bottom`'s common case written out: a new key beside one leaf.
            old_int = int.from_bytes(below[FIRST_HALF], "big")
            record = LEAF_TAG + change[1] + change[2]  # leaf_node, written out
            new = record + sha256(record).digest()
            # `_pair` writes a branch at `at`, where the old leaf was: no removal to note
            if path < old_int:
                new = self._pair(at, path, new, old_int, below)
            else:
                new = self._pair(at, old_int, below, path, new)
        else:
            new = self._update_bottom(at, [change], below)
            if new is below:
                return node  # nothing changed at the bottom, so nothing above it either
        written = self._written
        bits = at[1]  # the child's bits; its parent's drop the last
        new_hash = EMPTY_HASH if new is None else new[RECORD_BYTES:]
        for branch in reversed(passed):
            depth -= 1
            if bits & 1:
                other = branch[FIRST_HALF]
                bits >>= 1
                if new_hash != EMPTY_HASH and other != EMPTY_HASH:  # the common case, at once
                    record = BRANCH_TAG + other + new_hash  # branch_node, written out
                    new_hash = sha256(record).digest()
                    new = written[(depth, bits)] = record + new_hash
                    continue
                new = self._join((depth, bits), (other, UNREAD), (new_hash, new))
            else:
                other = branch[SECOND_HALF]
                bits >>= 1
                if new_hash != EMPTY_HASH and other != EMPTY_HASH:
                    record = BRANCH_TAG + new_hash + other
                    new_hash = sha256(record).digest()
                    new = written[(depth, bits)] = record + new_hash
                    continue
                new = self._join((depth, bits), (new_hash, new), (other, UNREAD))
            new_hash = EMPTY_HASH if new is None else new[RECORD_BYTES:]
        return new

    def _update_bottom(
        self, position: Position, changes: list[Change], node: Node | None
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
        merged = merge_leaf(node, changes)
        if len(merged) == 1 and merged[0][1:] == (node_first(node), node_second(node)):
            return node
        self._written[position] = None  # rewritten below if a leaf still ends up here
        return self._build(position, merged)
