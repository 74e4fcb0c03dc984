"""Proofs about the ledger state: a key's value, or its absence, against a state root.

The state is a compact sparse Merkle tree over 256-bit paths, path =
SHA-256(key); a subtree holding one leaf is collapsed into that leaf. Hashes
are domain-separated so no node can pass for another kind:

    leaf   = SHA-256(0x00 || path || SHA-256(value))
    branch = SHA-256(0x01 || left || right)
    empty  = 32 zero bytes (no preimage is known, so it is nobody's hash)

A proof is the walk from the root towards the key's path: the siblings met on
the way (empty ones only marked in a bitmap) and where the walk ended - the
key's own leaf, a different leaf (the key is absent: that leaf is alone in the
subtree the key would be in), or an empty subtree. Verifying is pure and never
raises; decoding remote bytes or JSON raises MalformedProofError with a reason.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import msgpack

from storage.errors import MalformedProofError

HASH_BYTES = 32
PATH_BITS = 256
EMPTY_HASH = bytes(HASH_BYTES)
PROOF_VERSION = 1
# 256 siblings of 32 bytes plus framing; anything larger is not a proof.
PROOF_BYTES_MAX = 16 * 1024

_LEAF_TAG = b"\x00"
_BRANCH_TAG = b"\x01"


def key_path(key: bytes) -> bytes:
    """Where `key` lives in the tree: SHA-256(key), read most significant bit first."""
    return hashlib.sha256(key).digest()


def value_hash(value: bytes) -> bytes:
    return hashlib.sha256(value).digest()


def state_leaf_hash(path: bytes, hashed_value: bytes) -> bytes:
    return hashlib.sha256(_LEAF_TAG + path + hashed_value).digest()


def state_branch_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(_BRANCH_TAG + left + right).digest()


def path_bit(path: int, depth: int) -> int:
    """Bit `depth` (0 = the root's choice) of a path given as an integer."""
    return (path >> (PATH_BITS - 1 - depth)) & 1


def _is_hash(value: object) -> bool:
    return isinstance(value, bytes) and len(value) == HASH_BYTES


def _bitmap_bytes(depth: int) -> int:
    return (depth + 7) // 8


def _bitmap_has(bitmap: bytes, depth: int) -> bool:
    return bool(bitmap[depth // 8] & (0x80 >> (depth % 8)))


@dataclass(frozen=True)
class ProofLeaf:
    """The leaf a proof's walk ended at: its path and the hash of its value."""

    path: bytes
    value_hash: bytes

    def __post_init__(self) -> None:
        if not (_is_hash(self.path) and _is_hash(self.value_hash)):
            raise MalformedProofError("proof leaf path and value hash must be 32 bytes each")


@dataclass(frozen=True)
class StateProof:
    """The walk from the root towards a key's path; see the module docstring.

    depth: levels walked from the root. sibling_bitmap: ceil(depth/8) bytes,
    bit i (most significant first) set when the sibling at depth i is not
    empty. siblings: those non-empty siblings, root side first. leaf: where
    the walk ended, or None for an empty subtree.
    """

    depth: int
    sibling_bitmap: bytes
    siblings: tuple[bytes, ...]
    leaf: ProofLeaf | None

    def __post_init__(self) -> None:
        problem = _shape_problem(self)
        if problem:
            raise MalformedProofError(problem)


def _shape_problem(proof: StateProof) -> str | None:
    depth, bitmap = proof.depth, proof.sibling_bitmap
    if not isinstance(depth, int) or isinstance(depth, bool) or not 0 <= depth <= PATH_BITS:
        return f"proof depth must be an integer in 0..{PATH_BITS}"
    if not isinstance(bitmap, bytes) or len(bitmap) != _bitmap_bytes(depth):
        return f"sibling bitmap must be {_bitmap_bytes(depth)} bytes for depth {depth}"
    if depth % 8 and bitmap[-1] & (0xFF >> (depth % 8)):
        return "sibling bitmap has bits set beyond the proof depth"
    if not isinstance(proof.siblings, tuple):
        return "siblings must be a tuple"
    present = sum(bin(byte).count("1") for byte in bitmap)
    if present != len(proof.siblings):
        return f"sibling bitmap marks {present} siblings but {len(proof.siblings)} are given"
    if not all(_is_hash(sibling) and sibling != EMPTY_HASH for sibling in proof.siblings):
        return "every listed sibling must be a non-empty 32-byte hash"
    if proof.leaf is not None and not isinstance(proof.leaf, ProofLeaf):
        return "proof leaf must be a ProofLeaf or None"
    return None


def _terminal_hash(path: bytes, value: bytes | None, proof: StateProof) -> bytes | None:
    """Hash of the subtree where the walk ended, if it says what the caller claims."""
    leaf = proof.leaf
    if value is not None:
        if leaf is None or leaf.path != path or leaf.value_hash != value_hash(value):
            return None
        return state_leaf_hash(leaf.path, leaf.value_hash)
    if leaf is None:
        return EMPTY_HASH
    if leaf.path == path:
        return None  # the key is present: this is no proof of absence
    different_bits = int.from_bytes(leaf.path, "big") ^ int.from_bytes(path, "big")
    if different_bits >> (PATH_BITS - proof.depth):
        return None  # that leaf does not sit on the key's path
    return state_leaf_hash(leaf.path, leaf.value_hash)


def verify_state_proof(root: bytes, key: bytes, value: bytes | None, proof: StateProof) -> bool:
    """True iff `proof` shows `key` maps to `value` under `root` (value None: key absent).

    Pure; answers False for anything malformed and never raises.
    """
    well_typed = (
        _is_hash(root)
        and isinstance(key, bytes)
        and (value is None or isinstance(value, bytes))
        and isinstance(proof, StateProof)
        and _shape_problem(proof) is None
    )
    if not well_typed:
        return False
    path = key_path(key)
    current = _terminal_hash(path, value, proof)
    if current is None:
        return False
    path_int = int.from_bytes(path, "big")
    remaining = len(proof.siblings)
    for depth in reversed(range(proof.depth)):
        sibling = EMPTY_HASH
        if _bitmap_has(proof.sibling_bitmap, depth):
            remaining -= 1
            sibling = proof.siblings[remaining]
        if path_bit(path_int, depth):
            current = state_branch_hash(sibling, current)
        else:
            current = state_branch_hash(current, sibling)
    return current == root


def encode_state_proof(proof: StateProof) -> bytes:
    """Canonical msgpack: [version, depth, bitmap, [siblings], nil | [path, value_hash]]."""
    leaf = None if proof.leaf is None else [proof.leaf.path, proof.leaf.value_hash]
    encoded: bytes = msgpack.packb(
        [PROOF_VERSION, proof.depth, proof.sibling_bitmap, list(proof.siblings), leaf],
        use_bin_type=True,
    )
    return encoded


def _unpack_limited(data: bytes) -> Any:
    if not isinstance(data, bytes):
        raise MalformedProofError("state proof must be bytes")
    if len(data) > PROOF_BYTES_MAX:
        raise MalformedProofError(f"state proof is {len(data)} bytes; at most {PROOF_BYTES_MAX}")
    try:
        return msgpack.unpackb(
            data,
            raw=False,
            max_bin_len=HASH_BYTES,
            max_str_len=0,
            max_array_len=PATH_BITS,
            max_map_len=0,
            max_ext_len=0,
        )
    except (ValueError, TypeError, msgpack.UnpackException) as error:
        raise MalformedProofError(f"state proof is not valid msgpack: {error}") from error


def decode_state_proof(data: bytes) -> StateProof:
    """Parse remote bytes; raises MalformedProofError naming what is wrong."""
    fields = _unpack_limited(data)
    if not isinstance(fields, list) or len(fields) != 5:
        raise MalformedProofError("state proof must be a 5-element msgpack array")
    version, depth, bitmap, siblings, leaf = fields
    if version != PROOF_VERSION or isinstance(version, bool):
        raise MalformedProofError(f"unsupported state proof version {version!r}")
    if not isinstance(siblings, list):
        raise MalformedProofError("state proof siblings must be an array")
    if leaf is not None and not (isinstance(leaf, list) and len(leaf) == 2):
        raise MalformedProofError("state proof leaf must be nil or [path, value_hash]")
    proof = StateProof(
        depth=depth,
        sibling_bitmap=bitmap,
        siblings=tuple(siblings),
        leaf=None if leaf is None else ProofLeaf(path=leaf[0], value_hash=leaf[1]),
    )
    if encode_state_proof(proof) != data:
        raise MalformedProofError("state proof is not in canonical encoding")
    return proof


def state_proof_to_json(proof: StateProof) -> dict[str, Any]:
    """A JSON-ready dict with lowercase hex strings, for the HTTP API and offline documents."""
    leaf = None
    if proof.leaf is not None:
        leaf = {"path": proof.leaf.path.hex(), "value_hash": proof.leaf.value_hash.hex()}
    return {
        "version": PROOF_VERSION,
        "depth": proof.depth,
        "sibling_bitmap": proof.sibling_bitmap.hex(),
        "siblings": [sibling.hex() for sibling in proof.siblings],
        "leaf": leaf,
    }


def _from_hex(text: object, what: str) -> bytes:
    if not isinstance(text, str) or len(text) > 2 * PROOF_BYTES_MAX:
        raise MalformedProofError(f"{what} must be a hex string")
    try:
        data = bytes.fromhex(text)
    except ValueError as error:
        raise MalformedProofError(f"{what} is not valid hex") from error
    if data.hex() != text:
        raise MalformedProofError(f"{what} must be lowercase hex without separators")
    return data


def state_proof_from_json(obj: object) -> StateProof:
    """Parse the dict made by state_proof_to_json; raises MalformedProofError on anything else."""
    expected = {"version", "depth", "sibling_bitmap", "siblings", "leaf"}
    if not isinstance(obj, dict) or set(obj) != expected:
        raise MalformedProofError(f"proof JSON must be an object with keys {sorted(expected)}")
    if obj["version"] != PROOF_VERSION or isinstance(obj["version"], bool):
        raise MalformedProofError(f"unsupported state proof version {obj['version']!r}")
    siblings = obj["siblings"]
    if not isinstance(siblings, list) or len(siblings) > PATH_BITS:
        raise MalformedProofError(f"siblings must be a list of at most {PATH_BITS} hex strings")
    leaf_obj = obj["leaf"]
    leaf = None
    if leaf_obj is not None:
        if not isinstance(leaf_obj, dict) or set(leaf_obj) != {"path", "value_hash"}:
            raise MalformedProofError("leaf must be null or an object with path and value_hash")
        leaf = ProofLeaf(
            path=_from_hex(leaf_obj["path"], "leaf path"),
            value_hash=_from_hex(leaf_obj["value_hash"], "leaf value hash"),
        )
    return StateProof(
        depth=obj["depth"],
        sibling_bitmap=_from_hex(obj["sibling_bitmap"], "sibling bitmap"),
        siblings=tuple(_from_hex(sibling, "sibling") for sibling in siblings),
        leaf=leaf,
    )
