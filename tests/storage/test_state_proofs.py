"""State proofs: inclusion and absence proofs, their tampering, and their binary and
JSON encodings."""

from __future__ import annotations

import dataclasses
import json

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storage.errors import MalformedProofError
from storage.proofs import PROOF_BYTES_MAX, ProofLeaf
from storage.state_tree import (
    StateProof,
    StateTree,
    decode_state_proof,
    encode_state_proof,
    state_proof_from_json,
    state_proof_to_json,
    verify_state_proof,
)
from tests.storage.state_trees import ITEMS_300, flip_byte, sha256, tree_with

# ---------------------------------------------------------------- proofs


@pytest.fixture(scope="module")
def proving_tree() -> StateTree:
    return tree_with(ITEMS_300)


def _tampered(proof: StateProof) -> list[tuple[str, object]]:
    """Changes to a valid proof; each must fail to construct or fail to verify."""
    variants: list[tuple[str, object]] = []
    for index in range(len(proof.siblings)):
        siblings = list(proof.siblings)
        siblings[index] = flip_byte(siblings[index], index % 32)
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
        variants.append(("leaf value", {"leaf": ProofLeaf(path, flip_byte(hashed))}))
        variants.append(("leaf path", {"leaf": ProofLeaf(flip_byte(path, 31), hashed)}))
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
        assert proof.leaf is not None and proof.leaf.path == sha256(key)
        assert verify_state_proof(root, key, value, proof)
        assert not verify_state_proof(root, key, value + b"x", proof)
        assert not verify_state_proof(root, key, None, proof)  # present, so no absence
        assert not verify_state_proof(root, key + b"x", value, proof)
        assert not verify_state_proof(flip_byte(root), key, value, proof)
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
        assert not verify_state_proof(flip_byte(root, 5), key, None, proof)
        _assert_tampering_fails(root, key, None, proof)
        if proof.leaf is not None:  # the leaf it ends at is present, not absent
            present = next(k for k in ITEMS_300 if sha256(k) == proof.leaf.path)
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
