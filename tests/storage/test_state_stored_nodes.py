"""What a commit leaves in the store, node for node, against the layout written from its
definition (storage.state_nodes: a node's record at P + b"n" + its bits + its depth), not
from any of the tree's code. Proofs, state sync and offline verification read these
records, so a faster update or commit must leave exactly the same ones: random keys
inserted, updated and deleted, absent keys read, over several blocks, on both stores."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from storage.kv import KeyValueStore, LevelDBStore, MemoryStore
from storage.state_tree import StateTree
from tests.storage.state_trees import PREFIX, commit, oracle_root, sha256

NODE_PREFIX = PREFIX + b"n"
VALUE_PREFIX = PREFIX + b"v"


def oracle_nodes(items: dict[bytes, bytes]) -> dict[bytes, bytes]:
    """Store key -> record of every node of the canonical tree holding `items`."""
    nodes: dict[bytes, bytes] = {}

    def place(depth: int, bits: int) -> bytes:
        width = (depth + 7) // 8
        return (NODE_PREFIX + (bits << (width * 8 - depth)).to_bytes(width, "big")
                + depth.to_bytes(2, "big"))

    def subtree(depth: int, bits: int, leaves: list[tuple[int, bytes, bytes]]) -> bytes:
        if not leaves:
            return bytes(32)
        if len(leaves) == 1:  # a lone leaf sits as high as its subtree holds only it
            _, path, hashed_value = leaves[0]
            record = b"\x00" + path + hashed_value
        else:
            going_left = [leaf for leaf in leaves if not (leaf[0] >> (255 - depth)) & 1]
            going_right = [leaf for leaf in leaves if (leaf[0] >> (255 - depth)) & 1]
            record = (b"\x01" + subtree(depth + 1, bits << 1, going_left)
                      + subtree(depth + 1, (bits << 1) | 1, going_right))
        nodes[place(depth, bits)] = record
        return sha256(record)

    subtree(0, 0, [(int.from_bytes(sha256(key), "big"), sha256(key), sha256(value))
                   for key, value in items.items()])
    return nodes


def _random_blocks(kv: KeyValueStore, seed: int) -> int:
    """Seeded blocks of inserts, updates, deletions and reads of absent keys, each checked
    against a dict and the oracle once committed; the count of nodes last stored."""
    rng = random.Random(seed)
    tree = StateTree(kv, PREFIX, cache_nodes_max=rng.choice([1, 50, 100_000]))
    model: dict[bytes, bytes] = {}
    for block in range(10):
        overlay = tree.overlay(defer_absence=rng.random() < 0.7)
        staged = dict(model)
        inserts = rng.choice([1, 5, 40, 300]) if block else 600
        for _ in range(inserts):
            key = rng.randbytes(rng.randint(1, 40))
            assert overlay.get(key) == staged.get(key)  # mostly absent: a new random key
            value = rng.randbytes(rng.randint(0, 50))
            overlay.set(key, value)
            staged[key] = value
        # A root mid-block: the updates below then walk nodes this overlay wrote already.
        assert overlay.root() == oracle_root(staged)
        held = list(model)
        for key in rng.sample(held, min(len(held), rng.choice([0, 3, 30]))):
            value = rng.randbytes(rng.randint(0, 50))
            overlay.set(key, value)
            staged[key] = value
        for key in rng.sample(held, min(len(held), rng.choice([0, 1, 20, 200]))):
            overlay.delete(key)
            staged.pop(key, None)
        for _ in range(20):
            assert overlay.get(rng.randbytes(20)) is None
        assert overlay.root() == oracle_root(staged)
        commit(tree, kv, overlay)
        model = staged
        assert dict(kv.iterate_prefix(NODE_PREFIX)) == oracle_nodes(model)
        assert dict(kv.iterate_prefix(VALUE_PREFIX)) == {
            VALUE_PREFIX + key: value for key, value in model.items()}
    return len(oracle_nodes(model))


@pytest.mark.parametrize("seed", range(6))
def test_a_commit_stores_the_nodes_of_the_definition(seed: int) -> None:
    assert _random_blocks(MemoryStore(), seed) > 100  # the trees checked were not trivial


def test_a_commit_to_leveldb_stores_the_nodes_of_the_definition(tmp_path: Path) -> None:
    kv = LevelDBStore(str(tmp_path / "store"))
    try:
        assert _random_blocks(kv, 99) > 100
    finally:
        kv.close()
