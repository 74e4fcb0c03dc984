"""What the state-tree tests share: a root oracle written from the definition,
and small trees built the way the node commits them."""

from __future__ import annotations

import hashlib

from storage.kv import KeyValueStore, MemoryStore
from storage.state_tree import StateOverlay, StateTree

PREFIX = b"st/"


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def oracle_root(items: dict[bytes, bytes]) -> bytes:
    """The state root straight from its definition, without any of the tree's code."""

    def subtree(depth: int, leaves: list[tuple[int, bytes, bytes]]) -> bytes:
        if not leaves:
            return bytes(32)
        if len(leaves) == 1:
            _, path, hashed_value = leaves[0]
            return sha256(b"\x00" + path + hashed_value)
        going_left = [leaf for leaf in leaves if not (leaf[0] >> (255 - depth)) & 1]
        going_right = [leaf for leaf in leaves if (leaf[0] >> (255 - depth)) & 1]
        return sha256(b"\x01" + subtree(depth + 1, going_left) + subtree(depth + 1, going_right))

    leaves = [
        (int.from_bytes(sha256(key), "big"), sha256(key), sha256(value))
        for key, value in items.items()
    ]
    return subtree(0, leaves)


def commit(tree: StateTree, kv: KeyValueStore, overlay: StateOverlay) -> None:
    """What the node does: merge the writes into the block batch, write once, adopt."""
    kv.write(tree.commit(overlay))
    tree.committed(overlay)


def tree_with(items: dict[bytes, bytes], kv: KeyValueStore | None = None) -> StateTree:
    tree = StateTree(kv if kv is not None else MemoryStore(), PREFIX)
    overlay = tree.overlay()
    for key, value in items.items():
        overlay.set(key, value)
    commit(tree, tree._kv, overlay)
    return tree


def node_records(kv: MemoryStore) -> list[bytes]:
    return [key for key, _ in kv.iterate_prefix(PREFIX + b"n")]


def keys_sharing_leading_bits(bits: int, tag: bytes) -> tuple[bytes, bytes]:
    """Two keys whose paths agree on the first `bits` bits: a deep one-child chain."""
    seen: dict[int, bytes] = {}
    for counter in range(1 << 16):
        key = tag + counter.to_bytes(4, "big")
        leading = int.from_bytes(sha256(key), "big") >> (256 - bits)
        if leading in seen:
            return seen[leading], key
        seen[leading] = key
    raise AssertionError("no pair found; the search bound is far above the birthday bound")


ITEMS_300 = {b"cred/%d" % index: b"value %d" % (index * 7) for index in range(300)}


def flip_byte(data: bytes, index: int = 0) -> bytes:
    return data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1 :]
