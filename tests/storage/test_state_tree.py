"""The Merkle-indexed state: its basic behaviour, and a model-based test against a dict
and a root oracle written from the definition."""

from __future__ import annotations

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from storage.errors import InvalidStateEntryError, StaleOverlayError
from storage.kv import MemoryStore
from storage.state_tree import (
    EMPTY_ROOT,
    KEY_BYTES_MAX,
    VALUE_BYTES_MAX,
    StateOverlay,
    StateTree,
    decode_state_proof,
    encode_state_proof,
    verify_state_proof,
)
from tests.storage.state_trees import (
    ITEMS_300,
    PREFIX,
    commit,
    keys_sharing_leading_bits,
    node_records,
    oracle_root,
    sha256,
    tree_with,
)

# ---------------------------------------------------------------- basics


def test_empty_tree() -> None:
    tree = StateTree(MemoryStore(), PREFIX)
    assert tree.root == EMPTY_ROOT == bytes(32)
    assert tree.get(b"anything") is None
    proof = tree.prove(b"anything")
    assert proof.depth == 0 and proof.leaf is None
    assert verify_state_proof(EMPTY_ROOT, b"anything", None, proof)
    assert not verify_state_proof(EMPTY_ROOT, b"anything", b"", proof)
    assert tree.audit() == 0


def test_one_entry_root_is_its_leaf_hash() -> None:
    tree = tree_with({b"k": b"v"})
    assert tree.root == sha256(b"\x00" + sha256(b"k") + sha256(b"v"))
    assert tree.get(b"k") == b"v"


def test_round_trip_through_commits() -> None:
    kv = MemoryStore()
    tree = StateTree(kv, PREFIX)
    overlay = tree.overlay()
    overlay.set(b"a", b"1")
    overlay.set(b"b", b"2")
    overlay.set(b"empty", b"")
    assert overlay.get(b"a") == b"1" and tree.get(b"a") is None
    commit(tree, kv, overlay)
    assert (tree.get(b"a"), tree.get(b"b"), tree.get(b"empty")) == (b"1", b"2", b"")

    second = tree.overlay()
    second.delete(b"a")
    second.set(b"b", b"22")
    assert second.get(b"a") is None and second.get(b"b") == b"22" and second.get(b"empty") == b""
    assert second.keys_changed() == 2
    commit(tree, kv, second)
    assert tree.get(b"a") is None and tree.get(b"b") == b"22"
    assert tree.root == oracle_root({b"b": b"22", b"empty": b""})
    assert dict(tree.iterate_items()) == {b"b": b"22", b"empty": b""}
    assert tree.audit() == 2


def test_root_depends_only_on_contents() -> None:
    forward = tree_with(ITEMS_300)
    kv = MemoryStore()
    tree = StateTree(kv, PREFIX)
    keys = sorted(ITEMS_300, reverse=True)
    for start in range(0, len(keys), 70):  # other order, other blocks, detours
        overlay = tree.overlay()
        for key in keys[start : start + 70]:
            overlay.set(key, b"temporary")
            overlay.set(b"transient/" + key, b"x")
            overlay.root()
            overlay.set(key, ITEMS_300[key])
        commit(tree, kv, overlay)
    cleanup = tree.overlay()
    for key in keys:
        cleanup.delete(b"transient/" + key)
    commit(tree, kv, cleanup)
    assert tree.root == forward.root == oracle_root(ITEMS_300)
    assert tree.audit() == len(ITEMS_300)


def test_root_after_each_write_equals_root_once() -> None:
    stepwise_kv, once_kv = MemoryStore(), MemoryStore()
    stepwise_tree, once_tree = tree_with(ITEMS_300, stepwise_kv), tree_with(ITEMS_300, once_kv)
    stepwise, once = stepwise_tree.overlay(), once_tree.overlay()
    for index in range(0, 400, 3):
        for overlay in (stepwise, once):
            if index % 2:
                overlay.delete(b"cred/%d" % index)
            else:
                overlay.set(b"cred/%d" % index, b"new")
        stepwise.root()
    assert stepwise.root() == once.root()
    commit(stepwise_tree, stepwise_kv, stepwise)
    commit(once_tree, once_kv, once)
    assert dict(stepwise_kv.iterate_prefix(b"")) == dict(once_kv.iterate_prefix(b""))
    assert stepwise_tree.audit() == once_tree.audit()


def test_a_discarded_overlay_changes_nothing() -> None:
    kv = MemoryStore()
    tree = tree_with(ITEMS_300, kv)
    before_root, before_store = tree.root, dict(kv.iterate_prefix(b""))
    overlay = tree.overlay()
    for index in range(100):
        overlay.set(b"cred/%d" % index, b"changed")
        overlay.delete(b"cred/%d" % (index + 150))
    assert overlay.root() != before_root
    tree.commit(overlay)  # building the writes is not committing them
    del overlay
    assert tree.root == before_root
    assert dict(kv.iterate_prefix(b"")) == before_store
    assert tree.get(b"cred/1") == ITEMS_300[b"cred/1"]
    fresh = tree.overlay()
    assert fresh.get(b"cred/1") == ITEMS_300[b"cred/1"] and fresh.root() == before_root


def test_no_op_writes_leave_nodes_alone() -> None:
    tree = tree_with(ITEMS_300)
    overlay = tree.overlay()
    overlay.delete(b"never stored")
    overlay.set(b"cred/5", ITEMS_300[b"cred/5"])
    assert overlay.root() == tree.root
    writes = tree.commit(overlay)
    assert not [key for key in writes if key.startswith(PREFIX + b"n")]


def test_deep_one_child_chains_grow_and_collapse() -> None:
    first, second = keys_sharing_leading_bits(20, b"chain")
    kv = MemoryStore()
    tree = tree_with({first: b"1", second: b"2"}, kv)
    proof = tree.prove(first)
    assert proof.depth > 20 and len(proof.siblings) == 1  # empty siblings cost only a bit
    assert verify_state_proof(tree.root, first, b"1", proof)
    assert tree.root == oracle_root({first: b"1", second: b"2"})
    assert len(node_records(kv)) == proof.depth + 2  # the chain of branches and two leaves

    overlay = tree.overlay()
    overlay.delete(second)
    commit(tree, kv, overlay)
    assert tree.root == oracle_root({first: b"1"})
    assert len(node_records(kv)) == 1  # the survivor moved to the top; the chain is gone
    assert tree.prove(first).depth == 0
    assert tree.audit() == 1

    overlay = tree.overlay()
    overlay.delete(first)
    commit(tree, kv, overlay)
    assert tree.root == EMPTY_ROOT and node_records(kv) == []
    assert StateTree(kv, PREFIX).root == EMPTY_ROOT


def test_a_new_key_beside_a_leaf_writes_what_the_general_build_writes(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The loop for two leaves stores the same nodes at the same places as the general
    recursion (which it skips), through inserts beside leaves and deep chains."""
    first, second = keys_sharing_leading_bits(18, b"pair")
    blocks = [dict(list(ITEMS_300.items())[:1]), {first: b"1"}, {second: b"2"},
              {b"cred/%d" % i: b"again %d" % i for i in range(300, 340)},
              dict(list(ITEMS_300.items())[1:])]

    def stored(with_loop: bool) -> tuple[list[tuple[bytes, bytes]], list[int]]:
        pairs = 0
        if not with_loop:
            def general(self: StateOverlay, position: tuple[int, int], *leaves: object) -> object:
                nonlocal pairs
                pairs += 1
                return self._build_split(position, list(leaves))  # type: ignore[arg-type]
            monkeypatch.setattr(StateOverlay, "_build_pair", general)
        kv = MemoryStore()
        tree = StateTree(kv, PREFIX)
        roots = []
        for block in blocks:
            overlay = tree.overlay()
            for key, value in block.items():
                overlay.set(key, value)
            commit(tree, kv, overlay)
            roots.append(int.from_bytes(tree.root, "big"))
        monkeypatch.undo()
        assert with_loop or pairs > 50  # the case under test did come up
        return list(kv.iterate_prefix(PREFIX)), roots

    assert stored(with_loop=True) == stored(with_loop=False)
    everything = {k: v for block in blocks for k, v in block.items()}
    assert stored(with_loop=True)[1][-1] == int.from_bytes(oracle_root(everything), "big")


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("text", b"v"),
        (b"k" * (KEY_BYTES_MAX + 1), b"v"),
        (b"k", b"v" * (VALUE_BYTES_MAX + 1)),
        (b"k", None),
        (b"k", "text"),
        (b"k", bytearray(b"mutable")),
    ],
)
def test_entries_the_state_cannot_hold_are_refused(key: object, value: object) -> None:
    overlay = StateTree(MemoryStore(), PREFIX).overlay()
    with pytest.raises(InvalidStateEntryError):
        overlay.set(key, value)  # type: ignore[arg-type]
    assert overlay.keys_changed() == 0


def test_stale_overlays_are_refused() -> None:
    kv = MemoryStore()
    tree = tree_with(ITEMS_300, kv)
    first, second = tree.overlay(), tree.overlay()
    first.set(b"a", b"1")
    second.set(b"b", b"2")
    commit(tree, kv, first)
    for use in (
        lambda: second.get(b"a"),
        lambda: second.set(b"c", b"3"),
        lambda: second.root(),
        lambda: tree.commit(second),
        lambda: tree.committed(second),
        lambda: first.root(),  # adopted: its base is gone too
    ):
        with pytest.raises(StaleOverlayError):
            use()
    other_tree = tree_with({})
    with pytest.raises(StaleOverlayError):
        other_tree.commit(tree.overlay())
    assert tree.get(b"b") is None


def test_commit_seals_the_overlay_it_returns_writes_for() -> None:
    kv = MemoryStore()
    tree = tree_with(ITEMS_300, kv)
    unsealed = tree.overlay()
    unsealed.set(b"a", b"1")
    with pytest.raises(StaleOverlayError):  # nothing was written for it yet
        tree.committed(unsealed)
    writes = tree.commit(unsealed)
    with pytest.raises(StaleOverlayError):
        unsealed.set(b"b", b"2")
    with pytest.raises(StaleOverlayError):
        unsealed.delete(b"a")
    assert unsealed.get(b"a") == b"1" and unsealed.keys_changed() == 1
    assert tree.commit(unsealed) == writes  # asking again gives the same writes
    kv.write(writes)
    tree.committed(unsealed)
    assert tree.get(b"a") == b"1"
    assert StateTree(kv, PREFIX).root == tree.root == oracle_root({**ITEMS_300, b"a": b"1"})


# ---------------------------------------------------------------- model-based


class StateMachine(RuleBasedStateMachine):
    """Random sets, deletes and gets over many overlays, some committed, some
    discarded, with reopening; checked against a dict and the root oracle."""

    keys = st.sampled_from([b"k%d" % index for index in range(24)]) | st.binary(max_size=3)
    values = st.binary(max_size=6)

    @initialize(cache=st.sampled_from([1, 3, 50_000]))
    def start(self, cache: int) -> None:
        self.cache = cache
        self.kv = MemoryStore()
        self.kv.write({b"other/a": b"x", PREFIX + b"zz": b"neighbour", b"st": b"y"})
        self.tree = StateTree(self.kv, PREFIX, cache_nodes_max=cache)
        self.model: dict[bytes, bytes] = {}
        self.overlay: StateOverlay | None = None
        self.staged: dict[bytes, bytes] = {}
        self.store_at_commit = dict(self.kv.iterate_prefix(b""))

    @precondition(lambda self: self.overlay is None)
    @rule()
    def begin(self) -> None:
        self.overlay = self.tree.overlay()
        self.staged = dict(self.model)

    @precondition(lambda self: self.overlay is not None)
    @rule(key=keys, value=values)
    def set(self, key: bytes, value: bytes) -> None:
        assert self.overlay is not None
        self.overlay.set(key, value)
        self.staged[key] = value

    @precondition(lambda self: self.overlay is not None)
    @rule(key=keys)
    def delete(self, key: bytes) -> None:
        assert self.overlay is not None
        self.overlay.delete(key)
        self.staged.pop(key, None)

    @precondition(lambda self: self.overlay is not None)
    @rule(key=keys)
    def get(self, key: bytes) -> None:
        assert self.overlay is not None
        assert self.overlay.get(key) == self.staged.get(key)

    @precondition(lambda self: self.overlay is not None)
    @rule()
    def overlay_root(self) -> None:
        assert self.overlay is not None
        assert self.overlay.root() == oracle_root(self.staged)

    @precondition(lambda self: self.overlay is not None)
    @rule()
    def commit(self) -> None:
        assert self.overlay is not None
        commit(self.tree, self.kv, self.overlay)
        self.model, self.overlay = self.staged, None
        assert self.tree.audit() == len(self.model)
        self.store_at_commit = dict(self.kv.iterate_prefix(b""))

    @precondition(lambda self: self.overlay is not None)
    @rule()
    def discard(self) -> None:
        self.overlay = None

    @precondition(lambda self: self.overlay is None)
    @rule()
    def reopen(self) -> None:
        self.tree = StateTree(self.kv, PREFIX, cache_nodes_max=self.cache)

    @rule(key=keys)
    def prove(self, key: bytes) -> None:
        proof = self.tree.prove(key)
        value = self.model.get(key)
        assert verify_state_proof(self.tree.root, key, value, proof)
        assert not verify_state_proof(self.tree.root, key, (value or b"") + b"!", proof)
        assert decode_state_proof(encode_state_proof(proof)) == proof

    @invariant()
    def committed_state_matches_the_model(self) -> None:
        if not hasattr(self, "tree"):
            return
        assert self.tree.root == oracle_root(self.model)
        assert dict(self.tree.iterate_items()) == self.model
        if self.overlay is None:
            assert dict(self.kv.iterate_prefix(b"")) == self.store_at_commit


TestStateMachine = StateMachine.TestCase
TestStateMachine.settings = settings(max_examples=150, stateful_step_count=60, deadline=None)
