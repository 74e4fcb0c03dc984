"""RFC 6962 Merkle Tree Hash over a registrar's credential batch.

A registrar issues a batch of credentials at once; their target hashes are
the leaves, one transaction puts the root on chain, and every credential
document carries its audit path. The hashing follows RFC 6962 section 2.1
(leaf = SHA-256(0x00 || data), node = SHA-256(0x01 || left || right), split at
the largest power of two smaller than n), so any CT-compatible verifier can
check a Senim credential.

Pure functions, bytes in and out. `verify_inclusion` is the one that meets
remote input: it answers False for anything malformed and never raises.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from itertools import islice, repeat

HASH_BYTES = 32
# A tree of 2**64 leaves needs 64 path entries; nothing longer can be valid.
PATH_ENTRIES_MAX = 64
TREE_SIZE_MAX = 2**64 - 1

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"
_DIGEST = type(hashlib.sha256()).digest


def leaf_hash(data: bytes) -> bytes:
    """RFC 6962 leaf hash: SHA-256(0x00 || data)."""
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 6962 interior node hash: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def empty_root() -> bytes:
    """The root of the tree with no leaves: SHA-256 of the empty string."""
    return hashlib.sha256(b"").digest()


def _levels(leaves: Sequence[bytes]) -> list[list[bytes]]:
    """All levels of the tree, leaf hashes first, the root's one-element level last.

    Pairing neighbours level by level and carrying an odd last node up
    unchanged builds exactly RFC 6962's tree: its split at the largest power
    of two smaller than n puts every complete pair on the left, so the only node
    without a partner on a level is always the last one.
    """
    return list(_each_level(leaves))


def _each_level(leaves: Sequence[bytes]) -> Iterator[list[bytes]]:
    """`_levels` one at a time (a caller keeping each level another way holds two)."""
    # map() over a level: the hashing of a batch's 2n nodes runs in C, not n calls of
    # leaf_hash and node_hash (the same bytes)
    level = list(map(_DIGEST, map(hashlib.sha256, map(_LEAF_PREFIX.__add__, leaves))))
    yield level
    while len(level) > 1:
        level = _paired(level)
        yield level


def _paired(level: list[bytes]) -> list[bytes]:
    """The level above `level`, an odd last node carried up."""
    paired = list(map(_DIGEST, map(hashlib.sha256, map(b"".join, zip(
        repeat(_NODE_PREFIX), level[0::2], level[1::2], strict=False)))))
    if len(level) % 2:
        paired.append(level[-1])
    return paired


def tree_root(leaves: Sequence[bytes]) -> bytes:
    """RFC 6962 Merkle Tree Hash of `leaves` (raw leaf data, e.g. target hashes)."""
    if not leaves:
        return empty_root()
    return _levels(leaves)[-1][0]


def audit_paths(leaves: Sequence[bytes]) -> list[list[bytes]]:
    """The RFC 6962 audit path of every leaf, in leaf order.

    O(n) hashing plus O(n log n) list work: each level is hashed once and
    every leaf picks its sibling on each level, instead of n separate walks.
    """
    levels = _levels(leaves)
    size = len(leaves)
    paths: list[list[bytes]] = [[] for _ in range(size)]
    for height, level in enumerate(levels[:-1]):
        width = len(level)
        for node in range(width):
            sibling = node ^ 1
            if sibling >= width:
                continue  # the odd last node is carried up: no entry at this level
            sibling_hash = level[sibling]
            first = node << height
            for leaf in range(first, min(first + (1 << height), size)):
                paths[leaf].append(sibling_hash)
    return paths


def split_hashes(joined: bytes) -> list[bytes]:
    """Hashes joined back into a list, a slice each."""
    return list(map(joined.__getitem__, map(slice, range(0, len(joined), HASH_BYTES),
                                            range(HASH_BYTES, len(joined) + HASH_BYTES,
                                                  HASH_BYTES))))


def subtree_levels(leaves: Sequence[bytes], height: int) -> list[bytes]:
    """Levels 0 to `height` over `leaves`, each as its hashes joined: the leaf hashes,
    then each level paired as in the whole tree, an odd last node carried up. For leaves
    starting at a multiple of 2**height in a batch, and either a multiple of 2**height
    of them or the batch's last ones, each level is exactly the batch tree's nodes over
    them (no pair crosses such a span's edge), so spans hashed apart join into the tree
    (`BatchTree.from_spans`)."""
    if height < 0:
        raise ValueError("a subtree's height is at least 0")
    levels = [b"".join(level) for level in islice(_each_level(leaves), height + 1)]
    return levels + levels[-1:] * (height + 1 - len(levels))  # the root carried up


class BatchTree:
    """Every level of one batch's tree (about 2n hashes), so that each leaf's audit
    path is read off in O(log n) when it is needed instead of all n paths at once.
    Each level is kept as its hashes joined: a 32-byte slice each, not an object each."""

    def __init__(self, leaves: Sequence[bytes]) -> None:
        self.size = len(leaves)
        self._levels = [b"".join(level) for level in _each_level(leaves)] if leaves else [b""]

    @classmethod
    def from_spans(cls, spans: Sequence[Sequence[bytes]]) -> BatchTree:
        """The tree over consecutive spans of leaves hashed apart, each given by its
        `subtree_levels` of one height h: every span but the last has a multiple of
        2**h leaves (the same tree as `BatchTree` of all the leaves, byte for byte)."""
        if not spans:
            raise ValueError("a tree from spans needs at least one span")
        height = len(spans[0]) - 1
        widths = [len(span[0]) // HASH_BYTES for span in spans]
        if any(len(span) != height + 1 for span in spans) or any(
                width % (1 << height) for width in widths[:-1]) or any(
                len(level) != HASH_BYTES * (((width - 1) >> h) + 1 if width else 0)
                for span, width in zip(spans, widths, strict=True)
                for h, level in enumerate(span)):
            raise ValueError("the spans are not subtrees of one height that join")
        tree = cls.__new__(cls)
        tree.size = sum(widths)
        levels = [b"".join(span[h] for span in spans) for h in range(height + 1)]
        while len(levels) > 1 and len(levels[-2]) == HASH_BYTES:
            levels.pop()  # above the root: a lone node carried up
        if len(levels[-1]) > HASH_BYTES:
            level = split_hashes(levels[-1])
            while len(level) > 1:
                level = _paired(level)
                levels.append(b"".join(level))
        tree._levels = levels
        return tree

    @property
    def root(self) -> bytes:
        return self._levels[-1] if self.size else empty_root()

    def path(self, index: int) -> list[bytes]:
        """The RFC 6962 audit path of leaf `index` (bottom-up sibling hashes)."""
        if not 0 <= index < self.size:
            raise IndexError(f"leaf index {index} outside a tree of {self.size} leaves")
        path: list[bytes] = []
        node = index
        for level in self._levels[:-1]:
            sibling = node ^ 1
            if HASH_BYTES * sibling < len(level):
                path.append(level[HASH_BYTES * sibling:HASH_BYTES * (sibling + 1)])
            node >>= 1
        return path


def audit_path(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """The RFC 6962 audit path of leaf `index` (bottom-up sibling hashes)."""
    if not 0 <= index < len(leaves):
        raise IndexError(f"leaf index {index} outside a tree of {len(leaves)} leaves")
    return BatchTree(leaves).path(index)


def _is_hash(value: object) -> bool:
    return isinstance(value, bytes) and len(value) == HASH_BYTES


def _is_count(value: object) -> bool:
    # bool is an int subclass; True as a leaf index is a caller bug, not a 1.
    return isinstance(value, int) and not isinstance(value, bool)


def root_from_path(leaf: bytes, index: int, size: int, path: Sequence[bytes]) -> bytes | None:
    """The root that `path` proves for `leaf` at `index` of `size`, or None if malformed.

    RFC 9162 section 2.1.3.2: walk up with the leaf's index and the last
    index, consuming one path entry per level that has a sibling.
    """
    well_formed = (
        isinstance(leaf, bytes)
        and _is_count(index)
        and _is_count(size)
        and 0 <= index < size <= TREE_SIZE_MAX
        and isinstance(path, Sequence)
        and len(path) <= PATH_ENTRIES_MAX
        and all(_is_hash(entry) for entry in path)
    )
    if not well_formed:
        return None
    node, last = index, size - 1
    result = leaf_hash(leaf)
    for sibling in path:
        if last == 0:
            return None  # more entries than levels
        if node & 1 or node == last:
            result = node_hash(sibling, result)
            while node & 1 == 0 and node != 0:
                node >>= 1  # levels where this node had no sibling and was carried up
                last >>= 1
        else:
            result = node_hash(result, sibling)
        node >>= 1
        last >>= 1
    if last != 0:
        return None  # fewer entries than levels
    return result


def verify_inclusion(
    leaf: bytes, index: int, size: int, path: Sequence[bytes], root: bytes
) -> bool:
    """True iff `path` proves `leaf` is leaf `index` of a `size`-leaf tree with `root`.

    Never raises: wrong types or lengths, index >= size, or a path too long or
    too short all give False. Like RFC 6962, this trusts `size` as given; the
    batch's leaf count must come from the same authenticated record as the root.
    """
    if not _is_hash(root):
        return False
    computed = root_from_path(leaf, index, size, path)
    return computed is not None and computed == root
