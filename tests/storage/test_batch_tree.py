"""RFC 6962 batch tree: Certificate Transparency test vectors, a definition-level
oracle, tampering, and the cost bound for audit paths."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storage.batch_tree import (
    BatchTree,
    audit_path,
    audit_paths,
    leaf_hash,
    node_hash,
    subtree_levels,
    tree_root,
    verify_inclusion,
)

# The 8-leaf reference data of the CT implementations and the roots of its
# prefixes (transparency-dev/merkle testonly/constants.go).
CT_LEAVES = [
    bytes.fromhex(text)
    for text in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
CT_ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
# (index, size, audit path) from the CT reference inclusion-proof tables.
CT_PATHS = [
    (0, 1, []),
    (0, 2, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"]),
    (1, 2, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"]),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        1,
        5,
        [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        0,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
]
# Roots of larger trees whose leaf i is i as two little-endian bytes
# (transparency-dev/merkle compact/range_test.go, base64 as published).
GOLDEN_U16LE_ROOTS = {
    10: "VjWMPSYNtCuCNlF/RLnQy6HcwSk6CIipfxm+hettA+4=",
    15: "j4SulYmocFuxdeyp12xXCIgK6PekBcxzAIj4zbQzNEI=",
    16: "c+4Uc6BCMOZf/v3NZK1kqTUJe+bBoFtOhP+P3SayKRE=",
    100: "dUh9hYH88p0CMoHkdr1wC2szbhcLAXOejWpINIooKUY=",
    255: "SmdsuKUqiod3RX2jyF2M6JnbdE4QuTwwipfAowI4/i0=",
    256: "qFI0t/tZ1MdOYgyPpPzHFiZVw86koScXy9q3FU5casA=",
    1000: "RXrgb8xHd55Y48FbfotJwCbV82Kx22LZfEbmBGAvwlQ=",
    4095: "cWRFdQhPcjn9WyBXE/r1f04ejxIm5lvg40DEpRBVS0w=",
    4096: "6uU/phfHg1n/GksYT6TO9aN8EauMCCJRl3dIK0HDs2M=",
    10000: "VZcav65F9haHVRk3wre2axFoBXRNeUh/1d9d5FQfxIg=",
    65535: "iPuVYJhP6SEE4gUFp8qbafd2rYv9YTCDYqAxCj8HdLM=",
}
SOME_HASH = bytes.fromhex("abacaba000000000000000000000000000000000000000000060061e00123456")


def _reference_root(leaves: Sequence[bytes]) -> bytes:
    """MTH exactly as RFC 6962 section 2.1 defines it, recursively."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    split = 1 << ((len(leaves) - 1).bit_length() - 1)
    left, right = _reference_root(leaves[:split]), _reference_root(leaves[split:])
    return hashlib.sha256(b"\x01" + left + right).digest()


def _reference_path(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """PATH(m, D[n]) exactly as RFC 6962 section 2.1.1 defines it."""
    if len(leaves) == 1:
        return []
    split = 1 << ((len(leaves) - 1).bit_length() - 1)
    if index < split:
        return [*_reference_path(leaves[:split], index), _reference_root(leaves[split:])]
    return [*_reference_path(leaves[split:], index - split), _reference_root(leaves[:split])]


def test_hashes_match_the_ct_hasher_vectors() -> None:
    assert leaf_hash(b"").hex() == CT_ROOTS[1]
    assert leaf_hash(b"L123456").hex() == (
        "395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56"
    )
    assert node_hash(b"N123", b"N456").hex() == (
        "aa217fe888e47007fa15edab33c2b492a722cb106c64667fc2b044444de66bbb"
    )


@pytest.mark.parametrize("size", range(len(CT_ROOTS)))
def test_roots_match_ct_vectors(size: int) -> None:
    assert tree_root(CT_LEAVES[:size]).hex() == CT_ROOTS[size]


@pytest.mark.parametrize(("size", "root_b64"), sorted(GOLDEN_U16LE_ROOTS.items()))
def test_roots_of_larger_trees_match_golden_values(size: int, root_b64: str) -> None:
    leaves = [index.to_bytes(2, "little") for index in range(size)]
    assert tree_root(leaves) == base64.b64decode(root_b64)


@pytest.mark.parametrize(("index", "size", "expected"), CT_PATHS)
def test_audit_paths_match_ct_vectors(index: int, size: int, expected: list[str]) -> None:
    leaves = CT_LEAVES[:size]
    path = [bytes.fromhex(text) for text in expected]
    assert audit_path(leaves, index) == path
    assert audit_paths(leaves)[index] == path
    assert verify_inclusion(leaves[index], index, size, path, bytes.fromhex(CT_ROOTS[size]))


def _ct_corruptions(
    index: int, size: int, path: list[bytes], root: bytes, leaf: bytes
) -> list[tuple[str, bytes, int, int, list[bytes], bytes]]:
    """The CT verifier's corruption probes: each must make verification fail."""
    probes = [
        ("index - 1", leaf, index - 1, size, path, root),
        ("index + 1", leaf, index + 1, size, path, root),
        ("index ^ 2", leaf, index ^ 2, size, path, root),
        ("size * 2", leaf, index, size * 2, path, root),
        ("size // 2", leaf, index, size // 2, path, root),
        ("wrong leaf", b"WrongLeaf", index, size, path, root),
        ("empty root", leaf, index, size, path, tree_root([])),
        ("random root", leaf, index, size, path, SOME_HASH),
        ("trailing garbage", leaf, index, size, [*path, b""], root),
        ("trailing root", leaf, index, size, [*path, root], root),
        ("preceding garbage", leaf, index, size, [b"", *path], root),
        ("preceding root", leaf, index, size, [root, *path], root),
    ]
    for position in range(len(path)):
        flipped = list(path)
        flipped[position] = bytes([flipped[position][0] ^ 8]) + flipped[position][1:]
        probes.append((f"bit 3 of path[{position}]", leaf, index, size, flipped, root))
    if path:
        probes.append(("removed entry", leaf, index, size, path[:-1], root))
    if len(path) > 1:
        probes.append(("inserted entry", leaf, index, size, [path[0], SOME_HASH, *path[1:]], root))
    return probes


@pytest.mark.parametrize(("index", "size", "expected"), CT_PATHS)
def test_ct_corruption_probes_fail(index: int, size: int, expected: list[str]) -> None:
    path = [bytes.fromhex(text) for text in expected]
    root = bytes.fromhex(CT_ROOTS[size])
    for name, leaf, probe_index, probe_size, probe_path, probe_root in _ct_corruptions(
        index, size, path, root, CT_LEAVES[index]
    ):
        assert not verify_inclusion(leaf, probe_index, probe_size, probe_path, probe_root), name


@pytest.mark.parametrize(
    ("leaf", "index", "size", "path", "root"),
    [
        (b"a", 0, 0, [], SOME_HASH),  # empty tree holds nothing
        (b"a", 2, 1, [], SOME_HASH),  # index beyond size
        (b"a", -1, 1, [], SOME_HASH),
        (b"a", True, 2, [SOME_HASH], SOME_HASH),  # a bool is not an index
        (b"a", "0", 1, [], SOME_HASH),
        (b"a", 0, 1.0, [], SOME_HASH),
        (b"a", 0, 2**64, [SOME_HASH] * 64, SOME_HASH),  # beyond any real tree
        (None, 0, 1, [], SOME_HASH),
        ("a", 0, 1, [], SOME_HASH),
        (b"a", 0, 2, None, SOME_HASH),
        (b"a", 0, 2, [b"short"], SOME_HASH),
        (b"a", 0, 2, [None], SOME_HASH),
        (b"a", 0, 2, b"\x00" * 32, SOME_HASH),  # bytes is not a path of hashes
        (b"a", 0, 2**63, [SOME_HASH] * 65, SOME_HASH),  # longer than any tree allows
        (b"a", 0, 1, [], b"short root"),
        (b"a", 0, 1, [], None),
    ],
)
def test_malformed_input_is_refused_without_raising(
    leaf: object, index: object, size: object, path: object, root: object
) -> None:
    assert verify_inclusion(leaf, index, size, path, root) is False  # type: ignore[arg-type]


def test_single_leaf_tree() -> None:
    leaf = b"data"
    root = tree_root([leaf])
    assert root == leaf_hash(leaf)
    assert verify_inclusion(leaf, 0, 1, [], root)
    assert not verify_inclusion(leaf, 0, 1, [], leaf)


def test_audit_path_rejects_an_index_outside_the_tree() -> None:
    with pytest.raises(IndexError):
        audit_path(CT_LEAVES, 8)
    with pytest.raises(IndexError):
        audit_path(CT_LEAVES, -1)
    assert audit_paths([]) == []


leaf_lists = st.lists(st.binary(max_size=40), min_size=1, max_size=70)


@settings(max_examples=150, deadline=None)
@given(leaves=leaf_lists)
def test_tree_and_paths_match_the_rfc_definition(leaves: list[bytes]) -> None:
    root = tree_root(leaves)
    assert root == _reference_root(leaves)
    paths = audit_paths(leaves)
    assert len(paths) == len(leaves)
    for index, path in enumerate(paths):
        assert path == _reference_path(leaves, index)
        assert path == audit_path(leaves, index)
        assert verify_inclusion(leaves[index], index, len(leaves), path, root)


@settings(max_examples=150, deadline=None)
@given(leaves=st.lists(st.binary(max_size=8), min_size=1, max_size=140), height=st.integers(0, 5),
       multiple=st.integers(1, 3))
def test_spans_hashed_apart_join_into_the_whole_tree(leaves: list[bytes], height: int,
                                                     multiple: int) -> None:
    span = multiple << height  # a multiple of 2**height leaves a span, the last one shorter
    spans = [subtree_levels(leaves[start:start + span], height)
             for start in range(0, len(leaves), span)]
    joined = BatchTree.from_spans(spans)
    whole = BatchTree(leaves)
    assert joined.size == whole.size == len(leaves)
    assert joined.root == whole.root == _reference_root(leaves)
    for index in range(len(leaves)):
        assert joined.path(index) == whole.path(index) == _reference_path(leaves, index)


def test_spans_that_do_not_join_are_refused() -> None:
    leaves = range_of(12)
    with pytest.raises(ValueError, match="that join"):  # 3 leaves: not a multiple of 2
        BatchTree.from_spans([subtree_levels(leaves[:3], 1), subtree_levels(leaves[3:], 1)])
    with pytest.raises(ValueError, match="that join"):  # heights differ
        BatchTree.from_spans([subtree_levels(leaves[:4], 2), subtree_levels(leaves[4:], 1)])
    with pytest.raises(ValueError, match="that join"):  # a level cut short
        spans = [subtree_levels(leaves[:4], 1), subtree_levels(leaves[4:], 1)]
        spans[1][1] = spans[1][1][:-1]
        BatchTree.from_spans(spans)
    with pytest.raises(ValueError, match="at least one"):
        BatchTree.from_spans([])


@settings(max_examples=100, deadline=None)
@given(leaves=leaf_lists, data=st.data())
def test_any_change_to_a_valid_proof_fails(leaves: list[bytes], data: st.DataObject) -> None:
    size = len(leaves)
    root = tree_root(leaves)
    index = data.draw(st.integers(0, size - 1), label="index")
    path = audit_path(leaves, index)
    leaf = leaves[index]

    if path:
        entry = data.draw(st.integers(0, len(path) - 1), label="entry")
        bit = data.draw(st.integers(0, 255), label="bit")
        flipped = list(path)
        flipped[entry] = _flip(flipped[entry], bit)
        assert not verify_inclusion(leaf, index, size, flipped, root)

    root_bit = data.draw(st.integers(0, 255), label="root bit")
    assert not verify_inclusion(leaf, index, size, path, _flip(root, root_bit))

    other_leaf = data.draw(st.binary(max_size=40), label="other leaf")
    if other_leaf != leaf:
        assert not verify_inclusion(other_leaf, index, size, path, root)

    other_index = data.draw(st.integers(0, 2 * size), label="other index")
    genuinely_there = (
        other_index < size
        and leaves[other_index] == leaf
        and audit_path(leaves, other_index) == path
    )
    if other_index != index and not genuinely_there:
        assert not verify_inclusion(leaf, other_index, size, path, root)

    # The size is authenticated by the record that carries the root (as in CT,
    # where the tree head signs both), so a wrong size is only guaranteed to
    # fail when it changes the shape of the path.
    other_size = data.draw(st.integers(1, 2 * size + 2), label="other size")
    if index < other_size and len(audit_path(range_of(other_size), index)) != len(path):
        assert not verify_inclusion(leaf, index, other_size, path, root)


def range_of(size: int) -> list[bytes]:
    return [index.to_bytes(4, "big") for index in range(size)]


def _flip(data: bytes, bit: int) -> bytes:
    position = bit % (8 * len(data))
    flipped = bytearray(data)
    flipped[position // 8] ^= 0x80 >> (position % 8)
    return bytes(flipped)


def test_audit_paths_hash_every_interior_node_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = 0
    real_sha256 = hashlib.sha256

    def counting_sha256(data: bytes = b"") -> Any:
        nonlocal calls
        calls += 1
        return real_sha256(data)

    monkeypatch.setattr(hashlib, "sha256", counting_sha256)  # batch_tree looks it up at each call
    leaves = range_of(1000)
    paths = audit_paths(leaves)
    # n leaf hashes, and a tree of n leaves has n - 1 interior nodes
    assert calls == len(leaves) + len(leaves) - 1
    monkeypatch.undo()
    assert paths[777] == _reference_path(leaves, 777)


def test_a_graduation_batch_of_100k_has_a_path_for_every_leaf() -> None:
    # How long it takes is scripts/bench's business; that it stays O(n) is checked by
    # counting hashes in test_audit_paths_hash_every_interior_node_once.
    leaves = [hashlib.sha256(index.to_bytes(4, "big")).digest() for index in range(100_000)]
    root = tree_root(leaves)
    paths = audit_paths(leaves)
    assert len(paths) == len(leaves)
    for index in (0, 65_535, 65_536, 99_999):
        assert verify_inclusion(leaves[index], index, len(leaves), paths[index], root)
