"""The state tree on disk: reopening, damage caught on open, on read and by audit,
and the cost of an update in store reads and hashing."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

import storage.state_nodes as state_nodes_module
import storage.state_overlay as state_overlay_module
import storage.state_subtrees as state_subtrees_module
from storage.errors import CorruptStateError
from storage.kv import KeyValueStore, LevelDBStore, MemoryStore
from storage.state_nodes import RECORD_BYTES
from storage.state_tree import StateTree, verify_state_proof
from tests.storage.state_trees import (
    ITEMS_300,
    PREFIX,
    commit,
    flip_byte,
    oracle_root,
    sha256,
    tree_with,
)

# ---------------------------------------------------------------- persistence


def test_reopening_leveldb_gives_the_same_state(tmp_path: Path) -> None:
    items: dict[bytes, bytes] = {}
    store = LevelDBStore(str(tmp_path / "db"))
    tree = StateTree(store, PREFIX)
    for block in range(3):
        overlay = tree.overlay()
        for index in range(block * 150, block * 150 + 200):
            overlay.set(b"cred/%d" % index, b"block %d" % block)
            items[b"cred/%d" % index] = b"block %d" % block
        for index in range(block * 40, block * 40 + 20):
            overlay.delete(b"cred/%d" % index)
            items.pop(b"cred/%d" % index, None)
        commit(tree, store, overlay)
    root = tree.root
    store.close()

    reopened_store = LevelDBStore(str(tmp_path / "db"))
    reopened = StateTree(reopened_store, PREFIX, cache_nodes_max=10)
    assert reopened.root == root == oracle_root(items)
    assert all(reopened.get(key) == value for key, value in items.items())
    for key in [b"cred/0", b"cred/25", b"cred/500", b"cred/9999"]:
        assert verify_state_proof(root, key, items.get(key), reopened.prove(key))
    assert reopened.audit() == len(items)
    reopened_store.close()


def _leveldb_tree(tmp_path: Path) -> tuple[LevelDBStore, bytes]:
    store = LevelDBStore(str(tmp_path / "db"))
    root = tree_with(ITEMS_300, store).root
    return store, root


def _damage(store: KeyValueStore, key: bytes, replacement: bytes | None = None) -> None:
    original = store.get(key)
    assert original is not None, key
    damaged = flip_byte(original, len(original) - 1) if replacement is None else replacement
    store.write({key: damaged})


@pytest.mark.parametrize(
    ("key", "replacement"),
    [
        (PREFIX + b"r", None),  # root pointer changed
        (PREFIX + b"r", b"short"),
        (PREFIX + b"n\x00\x00", None),  # top node changed
        (PREFIX + b"n\x00\x00", b"\x07" * 65),  # top node not a node
        (PREFIX + b"n\x00\x00", b""),
    ],
)
def test_a_damaged_root_or_top_node_is_caught_on_open(
    tmp_path: Path, key: bytes, replacement: bytes | None
) -> None:
    store, _ = _leveldb_tree(tmp_path)
    _damage(store, key, replacement)
    with pytest.raises(CorruptStateError):
        StateTree(store, PREFIX)
    store.close()


def test_missing_root_pointer_or_top_node_is_caught_on_open(tmp_path: Path) -> None:
    store, _ = _leveldb_tree(tmp_path)
    top = store.get(PREFIX + b"n\x00\x00")
    store.write({PREFIX + b"r": None})
    with pytest.raises(CorruptStateError):
        StateTree(store, PREFIX)
    store.write({PREFIX + b"r": bytes(32), PREFIX + b"n\x00\x00": top})
    with pytest.raises(CorruptStateError):  # says empty, but a top node exists
        StateTree(store, PREFIX)
    store.close()


def test_a_damaged_inner_node_is_caught_when_read(tmp_path: Path) -> None:
    store, root = _leveldb_tree(tmp_path)
    left_child = PREFIX + b"n\x00\x00\x01"  # first bit 0 (one byte), then depth 1
    _damage(store, left_child)
    tree = StateTree(store, PREFIX)  # only the top is read at open
    assert tree.root == root
    going_left = next(key for key in ITEMS_300 if sha256(key)[0] < 0x80)
    going_right = next(key for key in ITEMS_300 if sha256(key)[0] >= 0x80)
    assert verify_state_proof(root, going_right, ITEMS_300[going_right], tree.prove(going_right))
    with pytest.raises(CorruptStateError):
        tree.prove(going_left)
    overlay = tree.overlay()
    overlay.set(going_left, b"new")
    with pytest.raises(CorruptStateError):
        overlay.root()
    with pytest.raises(CorruptStateError):
        tree.audit()
    store.close()


def test_audit_catches_damaged_values_and_stray_nodes() -> None:
    kv = MemoryStore()
    tree = tree_with(ITEMS_300, kv)
    assert tree.audit() == 300
    _damage(kv, PREFIX + b"v" + b"cred/7")
    with pytest.raises(CorruptStateError, match="disagrees"):
        tree.audit()
    kv.write({PREFIX + b"v" + b"cred/7": ITEMS_300[b"cred/7"], PREFIX + b"v" + b"stray": b"1"})
    with pytest.raises(CorruptStateError):
        tree.audit()
    kv.write({PREFIX + b"v" + b"stray": None, PREFIX + b"n\xff\x80\x00\x09": b"\x00" * 65})
    with pytest.raises(CorruptStateError, match="unreachable"):
        tree.audit()


# ---------------------------------------------------------------- cost


class CountingStore(MemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self.gets = 0

    def get(self, key: bytes) -> bytes | None:
        self.gets += 1
        return super().get(key)


def test_a_warm_tree_reads_nothing_from_the_store_to_compute_a_root() -> None:
    kv = CountingStore()
    tree = tree_with({b"cred/%d" % index: b"v" for index in range(3000)}, kv)
    overlay = tree.overlay()
    for index in range(0, 3000, 7):
        overlay.set(b"cred/%d" % index, b"w")
        overlay.delete(b"cred/%d" % (index + 1))
        overlay.set(b"new/%d" % index, b"n")
    kv.gets = 0
    overlay.root()
    assert kv.gets == 0


def test_a_cold_tree_reads_one_node_per_level_for_an_update() -> None:
    kv = CountingStore()
    tree_with(ITEMS_300, kv)
    depth = StateTree(kv, PREFIX).prove(b"cred/42").depth
    cold = StateTree(kv, PREFIX)
    overlay = cold.overlay()
    overlay.set(b"cred/42", b"changed")
    kv.gets = 0
    overlay.root()
    assert kv.gets == depth


def test_each_touched_branch_is_hashed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    tree = tree_with({b"cred/%d" % index: b"v" for index in range(2000)})
    calls = 0
    branch_record = 1  # the first byte of a stored branch

    def counting(data: bytes) -> hashlib._Hash:
        nonlocal calls
        if len(data) == RECORD_BYTES and data[0] == branch_record:
            calls += 1
        return hashlib.sha256(data)

    # Branches are hashed where they are made: the overlay's walk, new subtrees, state_nodes.
    for module in (state_overlay_module, state_subtrees_module, state_nodes_module):
        monkeypatch.setattr(module, "sha256", counting)
    overlay = tree.overlay()
    for index in range(0, 2000, 4):
        overlay.set(b"cred/%d" % index, b"w")
    for index in range(100):  # new keys: each lands beside a leaf or in an empty subtree
        overlay.set(b"new/%d" % index, b"n")
    overlay.root()
    branches = [node for node in overlay._written.values() if node and node[0] == branch_record]
    assert calls == len(branches)
    # 600 keys share their upper paths: far fewer hashes than 600 walks to the root
    assert calls < 600 * tree.prove(b"cred/0").depth / 2


# ---------------------------------------------------------------- views


class CountingSnapshot:
    """A snapshot of a store that counts its gets."""

    def __init__(self, kv: KeyValueStore) -> None:
        self._snapshot = kv.snapshot()
        self.gets = 0

    def get(self, key: bytes) -> bytes | None:
        self.gets += 1
        return self._snapshot.get(key)

    def iterate_prefix(self, prefix: bytes, after: bytes | None = None
                       ) -> Iterator[tuple[bytes, bytes]]:
        return self._snapshot.iterate_prefix(prefix, after)


def test_a_view_finds_a_commits_nodes_in_the_committers_cache_not_copied() -> None:
    kv = CountingStore()
    tree = tree_with({b"cred/%d" % index: b"v" for index in range(500)}, kv)
    overlay = tree.overlay()
    for index in range(0, 500, 3):
        overlay.set(b"cred/%d" % index, b"w")
    commit(tree, kv, overlay)
    snapshot = CountingSnapshot(kv)
    view = tree.view(snapshot)
    # A read is its value's get only: every node of the walk is the committer's.
    assert [view.get(b"cred/%d" % index) for index in range(500)] == [
        b"w" if index % 3 == 0 else b"v" for index in range(500)]
    assert snapshot.gets == 1 + 500  # the root, then each value
    assert not tree._view_nodes._nodes  # nothing copied at commit, nothing read


def test_a_view_of_an_older_snapshot_reads_its_own_state_after_a_commit() -> None:
    kv = MemoryStore()
    tree = tree_with({b"cred/%d" % index: b"v" for index in range(300)}, kv)
    before = tree.view(kv.snapshot())
    overlay = tree.overlay()
    for index in range(0, 300, 2):
        overlay.set(b"cred/%d" % index, b"w")
    overlay.set(b"new", b"n")
    commit(tree, kv, overlay)
    # The committer's cache holds the new nodes where the old view's walk goes: they do
    # not match the hashes its parents hold, so it reads its own from its snapshot.
    assert [before.get(b"cred/%d" % index) for index in range(300)] == [b"v"] * 300
    assert before.get(b"new") is None
    assert tree._view_nodes._nodes  # the old nodes it read, kept for the views
    after = tree.view(kv.snapshot())
    assert after.get(b"cred/0") == b"w" and after.get(b"new") == b"n"
    assert after.root == tree.root != before.root
