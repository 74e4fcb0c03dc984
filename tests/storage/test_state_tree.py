"""The Merkle-indexed state: a model-based test against a dict and a root
oracle written from the definition, proofs and their tampering, encodings,
persistence and corruption, and the cost of an update."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

import storage.state_nodes as state_nodes_module
from storage.errors import (
    CorruptStateError,
    InvalidStateEntryError,
    MalformedProofError,
    StaleOverlayError,
)
from storage.kv import KeyValueStore, LevelDBStore, MemoryStore
from storage.proofs import PROOF_BYTES_MAX, ProofLeaf, state_branch_hash
from storage.state_tree import (
    EMPTY_ROOT,
    KEY_BYTES_MAX,
    VALUE_BYTES_MAX,
    StateOverlay,
    StateProof,
    StateTree,
    decode_state_proof,
    encode_state_proof,
    state_proof_from_json,
    state_proof_to_json,
    verify_state_proof,
)

PREFIX = b"st/"


def _sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def oracle_root(items: dict[bytes, bytes]) -> bytes:
    """The state root straight from its definition, without any of the tree's code."""

    def subtree(depth: int, leaves: list[tuple[int, bytes, bytes]]) -> bytes:
        if not leaves:
            return bytes(32)
        if len(leaves) == 1:
            _, path, hashed_value = leaves[0]
            return _sha(b"\x00" + path + hashed_value)
        going_left = [leaf for leaf in leaves if not (leaf[0] >> (255 - depth)) & 1]
        going_right = [leaf for leaf in leaves if (leaf[0] >> (255 - depth)) & 1]
        return _sha(b"\x01" + subtree(depth + 1, going_left) + subtree(depth + 1, going_right))

    leaves = [
        (int.from_bytes(_sha(key), "big"), _sha(key), _sha(value)) for key, value in items.items()
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
        leading = int.from_bytes(_sha(key), "big") >> (256 - bits)
        if leading in seen:
            return seen[leading], key
        seen[leading] = key
    raise AssertionError("no pair found; the search bound is far above the birthday bound")


ITEMS_300 = {b"cred/%d" % index: b"value %d" % (index * 7) for index in range(300)}


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
    assert tree.root == _sha(b"\x00" + _sha(b"k") + _sha(b"v"))
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


# ---------------------------------------------------------------- proofs


@pytest.fixture(scope="module")
def proving_tree() -> StateTree:
    return tree_with(ITEMS_300)


def _flip_byte(data: bytes, index: int = 0) -> bytes:
    return data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1 :]


def _tampered(proof: StateProof) -> list[tuple[str, object]]:
    """Changes to a valid proof; each must fail to construct or fail to verify."""
    variants: list[tuple[str, object]] = []
    for index in range(len(proof.siblings)):
        siblings = list(proof.siblings)
        siblings[index] = _flip_byte(siblings[index], index % 32)
        variants.append((f"sibling {index}", {"siblings": tuple(siblings)}))
    if proof.siblings:
        variants.append(("sibling dropped", {"siblings": proof.siblings[1:]}))
        variants.append(("siblings reversed", {"siblings": proof.siblings[::-1]}))
    for depth in (proof.depth - 1, proof.depth + 1):
        variants.append((f"depth {depth}", {"depth": depth}))
    if proof.depth:
        bitmap = bytearray(proof.sibling_bitmap)
        bitmap[0] ^= 0x80
        variants.append(("bitmap bit 0", {"sibling_bitmap": bytes(bitmap)}))
    if proof.leaf is not None:
        path, hashed = proof.leaf.path, proof.leaf.value_hash
        variants.append(("leaf value", {"leaf": ProofLeaf(path, _flip_byte(hashed))}))
        variants.append(("leaf path", {"leaf": ProofLeaf(_flip_byte(path, 31), hashed)}))
        variants.append(("leaf dropped", {"leaf": None}))
    return variants


def _assert_tampering_fails(
    root: bytes, key: bytes, value: bytes | None, proof: StateProof
) -> None:
    for name, change in _tampered(proof):
        try:
            bad = dataclasses.replace(proof, **change)  # type: ignore[arg-type]
        except MalformedProofError:
            continue
        assert not verify_state_proof(root, key, value, bad), name


def test_inclusion_proofs_verify_and_tampering_fails(proving_tree: StateTree) -> None:
    root = proving_tree.root
    for key, value in list(ITEMS_300.items())[:60]:
        proof = proving_tree.prove(key)
        assert proof.leaf is not None and proof.leaf.path == _sha(key)
        assert verify_state_proof(root, key, value, proof)
        assert not verify_state_proof(root, key, value + b"x", proof)
        assert not verify_state_proof(root, key, None, proof)  # present, so no absence
        assert not verify_state_proof(root, key + b"x", value, proof)
        assert not verify_state_proof(_flip_byte(root), key, value, proof)
        _assert_tampering_fails(root, key, value, proof)


def test_absence_proofs_verify_and_tampering_fails(proving_tree: StateTree) -> None:
    root = proving_tree.root
    endings = set()
    for index in range(80):
        key = b"absent/%d" % index
        proof = proving_tree.prove(key)
        endings.add("empty" if proof.leaf is None else "other leaf")
        assert verify_state_proof(root, key, None, proof)
        assert not verify_state_proof(root, key, b"", proof)
        assert not verify_state_proof(_flip_byte(root, 5), key, None, proof)
        _assert_tampering_fails(root, key, None, proof)
        if proof.leaf is not None:  # the leaf it ends at is present, not absent
            present = next(k for k in ITEMS_300 if _sha(k) == proof.leaf.path)
            assert not verify_state_proof(root, present, None, proof)
            # nor is the absent key present with that leaf's value: the leaf is another key's
            assert not verify_state_proof(root, key, ITEMS_300[present], proof)
    assert endings == {"empty", "other leaf"}  # both kinds of absence were exercised


@pytest.mark.parametrize(
    ("root", "key", "value", "proof"),
    [
        (b"short", b"k", None, None),
        (bytes(32), "k", None, None),
        (bytes(32), b"k", "v", None),
        (bytes(32), b"k", None, "not a proof"),
        (bytes(32), b"k", None, None),
    ],
)
def test_verify_refuses_malformed_input_without_raising(
    root: object, key: object, value: object, proof: object
) -> None:
    empty_proof = StateProof(0, b"", (), None)
    assert verify_state_proof(root, key, value, proof or empty_proof) is (  # type: ignore[arg-type]
        root == bytes(32) and key == b"k" and value is None and proof is None
    )


def test_verify_survives_a_proof_mutated_behind_its_back(proving_tree: StateTree) -> None:
    proof = proving_tree.prove(b"cred/1")
    object.__setattr__(proof, "siblings", ("not bytes",))
    object.__setattr__(proof, "depth", 10**9)
    assert verify_state_proof(proving_tree.root, b"cred/1", ITEMS_300[b"cred/1"], proof) is False


def test_encodings_round_trip(proving_tree: StateTree) -> None:
    for key in [b"cred/3", b"cred/299", b"absent/1", b"absent/2"]:
        proof = proving_tree.prove(key)
        data = encode_state_proof(proof)
        assert decode_state_proof(data) == proof
        document = json.loads(json.dumps(state_proof_to_json(proof)))
        assert state_proof_from_json(document) == proof
        assert verify_state_proof(
            proving_tree.root, key, ITEMS_300.get(key), state_proof_from_json(document)
        )


def _pack(fields: object) -> bytes:
    packed: bytes = msgpack.packb(fields, use_bin_type=True)
    return packed


SIBLING = b"\x11" * 32
LEAF = [b"\x22" * 32, b"\x33" * 32]


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\xc1",
        _pack({"depth": 0}),
        _pack([1, 0, b"", []]),
        _pack([2, 0, b"", [], None]),
        _pack([True, 0, b"", [], None]),
        _pack([1, 257, b"\xff" * 33, [], None]),
        _pack([1, -1, b"", [], None]),
        _pack([1, 1.0, b"\x80", [SIBLING], None]),
        _pack([1, 3, b"", [], None]),  # bitmap too short for the depth
        _pack([1, 3, b"\x10", [], None]),  # a bit set beyond the depth
        _pack([1, 3, b"\x80", [], None]),  # bitmap marks a sibling that is missing
        _pack([1, 3, b"\x80", [SIBLING[:31]], None]),
        _pack([1, 3, b"\x80", [bytes(32)], None]),  # an "empty" sibling listed explicitly
        _pack([1, 3, b"\x80", "siblings", None]),
        _pack([1, 0, b"", [], [b"\x22" * 32]]),
        _pack([1, 0, b"", [], [b"\x22" * 31, b"\x33" * 32]]),
        _pack([1, 0, "", [], None]),
        _pack([1, 0, b"", [], None]) + b"\x00",  # trailing bytes
        b"\x95\x01\xcd\x00\x00\xc4\x00\x90\xc0",  # depth 0 as a 16-bit integer: not canonical
        _pack([1, 0, b"", [SIBLING] * 300, None]),
        b"\x95" + b"\x00" * PROOF_BYTES_MAX,
        "not bytes",
    ],
)
def test_malformed_encodings_are_refused_with_a_reason(data: bytes) -> None:
    with pytest.raises(MalformedProofError):
        decode_state_proof(data)


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=120))
def test_decoding_arbitrary_bytes_never_crashes(data: bytes) -> None:
    try:
        proof = decode_state_proof(data)
    except MalformedProofError:
        return
    assert encode_state_proof(proof) == data


def _valid_json() -> dict[str, object]:
    return {
        "version": 1,
        "depth": 2,
        "sibling_bitmap": "40",
        "siblings": [SIBLING.hex()],
        "leaf": {"path": LEAF[0].hex(), "value_hash": LEAF[1].hex()},
    }


@pytest.mark.parametrize(
    "change",
    [
        {"version": 2},
        {"version": True},
        {"depth": "2"},
        {"depth": True},
        {"sibling_bitmap": "4"},
        {"sibling_bitmap": "0x40"},
        {"sibling_bitmap": "80 "},
        {"siblings": ["AB" * 32]},
        {"siblings": SIBLING.hex()},
        {"siblings": [1]},
        {"leaf": {"path": LEAF[0].hex()}},
        {"leaf": [LEAF[0].hex(), LEAF[1].hex()]},
        {"leaf": {"path": LEAF[0].hex()[:-2], "value_hash": LEAF[1].hex()}},
        {"extra": 1},
        {"siblings": [SIBLING.hex()] * 300},
    ],
)
def test_malformed_json_is_refused_with_a_reason(change: dict[str, object]) -> None:
    assert state_proof_from_json(_valid_json()) is not None
    with pytest.raises(MalformedProofError):
        state_proof_from_json({**_valid_json(), **change})
    with pytest.raises(MalformedProofError):
        state_proof_from_json([_valid_json()])


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
    damaged = _flip_byte(original, len(original) - 1) if replacement is None else replacement
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
    going_left = next(key for key in ITEMS_300 if _sha(key)[0] < 0x80)
    going_right = next(key for key in ITEMS_300 if _sha(key)[0] >= 0x80)
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
    real = state_branch_hash

    def counting(left: bytes, right: bytes) -> bytes:
        nonlocal calls
        calls += 1
        return real(left, right)

    monkeypatch.setattr(state_nodes_module, "state_branch_hash", counting)
    overlay = tree.overlay()
    for index in range(0, 2000, 4):
        overlay.set(b"cred/%d" % index, b"w")
    overlay.root()
    branch_record = 1  # the first byte of a stored branch
    branches = [node for node in overlay._written.values() if node and node[0] == branch_record]
    assert calls == len(branches)
    # 500 keys share their upper paths: far fewer hashes than 500 walks to the root
    assert calls < 500 * tree.prove(b"cred/0").depth / 2
