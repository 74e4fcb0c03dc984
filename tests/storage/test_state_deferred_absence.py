"""An overlay that defers absence checks to its root: same answers and roots, one walk.

`StateTree.overlay(defer_absence=True)` (what a block's build and validation use)
answers a key with no stored value as absent without walking down the tree, and
checks that absence in the walk of its next `root()`, which rehashes the block's
writes anyway. A value lost on disk must still never pass: `root()`, `prove()` and
`StateTree.commit` raise CorruptStateError instead.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from storage.errors import CorruptStateError
from storage.kv import MemoryStore
from storage.state_tree import StateOverlay, StateTree, encode_state_proof
from tests.storage.state_trees import ITEMS_300, PREFIX, oracle_root, tree_with

VALUE_PREFIX = PREFIX + b"v"
NODE_PREFIX = PREFIX + b"n"
SEEDS = 12


class NodeReadCounter(MemoryStore):
    """Counts reads of tree nodes (not of values)."""

    def __init__(self) -> None:
        super().__init__()
        self.node_reads = 0

    def get(self, key: bytes) -> bytes | None:
        if key.startswith(NODE_PREFIX):
            self.node_reads += 1
        return super().get(key)


def _history(seed: int, defer: bool) -> tuple[list[bytes], dict[bytes, bytes]]:
    """Seeded blocks of reads, writes and deletions: every answer, root, proof and
    store write, in order."""
    rng = random.Random(seed)
    kv = MemoryStore()
    tree = StateTree(kv, PREFIX, cache_nodes_max=rng.choice([1, 40, 10_000]))
    keys = [b"k/%d" % index for index in range(rng.choice([8, 80, 400]))]
    seen: list[bytes] = []
    model: dict[bytes, bytes] = {}
    for _ in range(8):
        overlay = tree.overlay(defer_absence=defer)
        for _ in range(rng.randint(0, 60)):
            key, action = rng.choice(keys), rng.random()
            if action < 0.4:
                seen.append(repr(overlay.get(key)).encode())
            elif action < 0.6:
                overlay.delete(key)
                model.pop(key, None)
            else:
                value = rng.randbytes(rng.randint(0, 30))
                overlay.set(key, value)
                model[key] = value
            if action < 0.05:
                seen.append(overlay.root())
                seen.append(encode_state_proof(overlay.prove(rng.choice(keys))))
        writes = tree.commit(overlay)
        seen.extend(key + b"=" + (value or b"-") for key, value in sorted(
            writes.items()))
        kv.write(writes)
        tree.committed(overlay)
        assert tree.root == oracle_root(model)
        seen.append(tree.root)
    return seen, model


@pytest.mark.parametrize("seed", range(SEEDS))
def test_deferred_absence_changes_no_answer_root_proof_or_write(seed: int) -> None:
    assert _history(seed, defer=True) == _history(seed, defer=False)


def test_an_absent_key_is_walked_once_by_the_root_not_by_get() -> None:
    kv = NodeReadCounter()
    tree = tree_with(ITEMS_300, kv)
    tree._nodes._cache.clear()  # every node read is a store read
    overlay = tree.overlay(defer_absence=True)
    kv.node_reads = 0
    new_keys = [b"new/%d" % index for index in range(20)]
    for key in new_keys:
        assert overlay.get(key) is None
    assert kv.node_reads == 0
    for key in new_keys:
        overlay.set(key, b"v")
    root = overlay.root()
    deferred_reads = kv.node_reads
    assert root == oracle_root({**ITEMS_300, **{key: b"v" for key in new_keys}})
    tree._nodes._cache.clear()
    checked = tree.overlay()
    kv.node_reads = 0
    for key in new_keys:
        assert checked.get(key) is None
    assert kv.node_reads > 0  # the checked read walks down
    assert deferred_reads > 0  # and so does the root, once for both


def _lose_value(tree: StateTree, key: bytes) -> None:
    """The value's record is lost on disk while the tree still holds its leaf."""
    tree._kv.write({VALUE_PREFIX + key: None})


LOST = b"cred/17"


@pytest.mark.parametrize("then", [
    lambda overlay: None,
    lambda overlay: overlay.set(LOST, b"new value"),
    lambda overlay: overlay.delete(LOST),
    lambda overlay: overlay.set(b"cred/18", b"a neighbour's write"),
], ids=["read only", "rewritten", "deleted", "other write"])
@pytest.mark.parametrize("finish", [
    lambda tree, overlay: overlay.root(),
    lambda tree, overlay: overlay.prove(b"cred/99"),
    lambda tree, overlay: tree.commit(overlay),
], ids=["root", "prove", "commit"])
def test_a_lost_value_read_as_absent_fails_the_root(
        then: Callable[[StateOverlay], None],
        finish: Callable[[StateTree, StateOverlay], object]) -> None:
    tree = tree_with(ITEMS_300)
    _lose_value(tree, LOST)
    overlay = tree.overlay(defer_absence=True)
    assert overlay.get(LOST) is None  # unchecked yet
    then(overlay)
    with pytest.raises(CorruptStateError, match="lost on disk"):
        finish(tree, overlay)


def test_a_checked_overlay_refuses_the_lost_value_at_once() -> None:
    tree = tree_with(ITEMS_300)
    _lose_value(tree, LOST)
    with pytest.raises(CorruptStateError, match="does not match the tree"):
        tree.overlay().get(LOST)


def test_an_absence_checked_by_one_root_is_not_checked_again() -> None:
    tree = tree_with(ITEMS_300)
    overlay = tree.overlay(defer_absence=True)
    assert overlay.get(b"absent") is None
    first = overlay.root()
    _lose_value(tree, LOST)  # damage after the check: a later root does not walk there
    assert overlay.root() == first
    assert overlay.get(LOST) is None  # read after the damage: checked by the next root
    with pytest.raises(CorruptStateError):
        overlay.root()


def test_a_sealed_overlay_reads_checked() -> None:
    tree = tree_with(ITEMS_300)
    fresh = tree.overlay(defer_absence=True)
    tree.commit(fresh)  # sealed: no root follows, so no read may rest on a deferral
    _lose_value(tree, LOST)
    with pytest.raises(CorruptStateError, match="does not match the tree"):
        fresh.get(LOST)
