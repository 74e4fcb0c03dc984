"""Writing canonical subtrees of the state tree: the part of `StateOverlay`'s update
that makes new nodes where a block's keys land beside a leaf or in an empty subtree, and
keeps the tree canonical where keys leave (a lone leaf moves up).

Internal to `storage.state_overlay`.
"""

from __future__ import annotations

from bisect import bisect_left
from enum import Enum
from hashlib import sha256
from operator import itemgetter
from typing import Final

from storage.proofs import EMPTY_HASH, PATH_BITS
from storage.state_nodes import (
    BRANCH_RECORD,
    LEAF_RECORD,
    RECORD_BYTES,
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

# (path as an integer for ordering, path, SHA-256 of the new value or None to delete,
# or CHECK_ONLY: the walk goes down this path only to see that no leaf holds it)
Change = tuple[int, bytes, bytes | None]
CHECK_ONLY = b""  # never a value hash (32 bytes); falsy like None: no leaf is written
BRANCH_TAG = bytes((BRANCH_RECORD,))  # what branch_node and leaf_node put first
LEAF_TAG = bytes((LEAF_RECORD,))


class Unread(Enum):
    """A child an update did not touch, so it was never read."""

    CHILD = 0


# An enum member read through its class is a metaclass lookup each time (Python 3.11).
UNREAD: Final = Unread.CHILD


def merge_leaf(leaf: Node, changes: list[Change]) -> list[Change]:
    """The leaves a one-leaf subtree holds after `changes`, sorted, deletions applied."""
    merged = [change for change in changes if change[2]]  # neither deletions nor checks
    path = node_first(leaf)
    path_int = int.from_bytes(path, "big")
    if all(change[0] != path_int for change in changes):
        merged.append((path_int, path, node_second(leaf)))
        merged.sort(key=itemgetter(0))
    return merged


class SubtreeWriter:
    """Makes the nodes of new subtrees into `_written` (position -> node, None where
    a node is removed), reading an untouched child through `_read`."""

    _written: dict[Position, Node | None]

    def _read(self, position: Position, expected_hash: bytes) -> Node | None:
        raise NotImplementedError

    def _build(self, position: Position, leaves: list[Change]) -> Node | None:
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

    def _build_split(self, position: Position, leaves: list[Change]) -> Node | None:
        mid = bisect_left(leaves, split_point(position), key=itemgetter(0))
        left = self._build(child(position, 0), leaves[:mid])
        right = self._build(child(position, 1), leaves[mid:])
        return self._join(position, (node_hash(left), left), (node_hash(right), right))

    def _build_pair(self, position: Position, first: Change, second: Change) -> Node:
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
        record = BRANCH_TAG + left[RECORD_BYTES:] + right[RECORD_BYTES:]  # branch_node
        node = record + sha256(record).digest()
        written[(parted, first_int >> (PATH_BITS - parted))] = node
        for at in range(parted - 1, depth - 1, -1):
            if (first_int >> (PATH_BITS - 1 - at)) & 1:
                record = BRANCH_TAG + EMPTY_HASH + node[RECORD_BYTES:]
            else:
                record = BRANCH_TAG + node[RECORD_BYTES:] + EMPTY_HASH
            node = record + sha256(record).digest()
            written[(at, first_int >> (PATH_BITS - at))] = node
        return node

    def _join(
        self,
        position: Position,
        left: tuple[bytes, Node | Unread | None],
        right: tuple[bytes, Node | Unread | None],
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
            if isinstance(only, Unread):
                only = self._read(only_at, right_hash if bit else left_hash)
            if only is not None and is_leaf(only):
                self._written[only_at] = None
                self._written[position] = only
                return only
        branch = branch_node(left_hash, right_hash)
        self._written[position] = branch
        return branch
