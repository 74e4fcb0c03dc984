"""Canonical encoding and member identities."""

from __future__ import annotations

import contextlib
import json
import os
import stat
from pathlib import Path

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.codec import decode, encode, tagged_hash
from ledger.errors import ConfigError, MalformedInput
from ledger.identity import (
    KeyPair,
    member_id_of,
    signing_bytes,
    verify_signature,
)
from node.files import load_key, save_key

# What the canonical encoding carries: arrays of ints, bytes, text, bools and nil.
canonical_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.binary(max_size=64) | st.text(max_size=32),
    lambda children: st.lists(children, max_size=6),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(st.lists(canonical_values, max_size=8))
def test_encode_decode_round_trip_is_canonical(value: list[object]) -> None:
    data = encode(value)
    decoded = decode(data)
    assert decoded == value
    assert encode(decoded) == data  # same value, same bytes


def test_top_level_map_refused() -> None:
    with pytest.raises(MalformedInput, match="maps"):
        decode(encode({"b": 1, "a": 2}))


@pytest.mark.parametrize("value", [
    [{"a": 1}],
    [1, [2, {b"k": b"v"}]],
    [1.5],
    [msgpack.ExtType(5, b"xx")],
])
def test_nested_maps_floats_and_ext_refused(value: object) -> None:
    with pytest.raises(MalformedInput):
        decode(msgpack.packb(value, use_bin_type=True))


@pytest.mark.parametrize("data", [
    b"", b"\xc1", b"\x92\x01", b"\x91\x01\x02", b"\xdd\xff\xff\xff\xff",
    b"\xdb\xff\xff\xff\xff", b"\x91" * 100_000 + b"\x01", b"\xa2\xff\xfe",
])
def test_known_junk_is_malformed(data: bytes) -> None:
    with pytest.raises(MalformedInput):
        decode(data)


@settings(max_examples=1000, deadline=None)
@given(st.binary(max_size=256))
def test_junk_bytes_raise_only_malformed_input(data: bytes) -> None:
    with contextlib.suppress(MalformedInput):
        decode(data)


def test_oversized_input_refused_before_parsing() -> None:
    with pytest.raises(MalformedInput, match="exceeds"):
        decode(b"\xc0" * (16 * 1024 * 1024 + 1))


def test_tagged_hash_separates_domains() -> None:
    assert tagged_hash(b"a", b"bc") != tagged_hash(b"ab", b"c")
    assert tagged_hash(b"x", b"data") != tagged_hash(b"y", b"data")


# ---- identity -------------------------------------------------------------------------

def test_save_key_writes_mode_0600_and_loads_back(tmp_path: Path) -> None:
    keys = KeyPair.generate()
    path = tmp_path / "keys" / "node.key"
    save_key(path, keys, "KazNU node")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    document = json.loads(path.read_text())
    assert document["member_id"] == keys.member_id.hex()
    loaded = load_key(path)
    assert loaded == keys
    assert loaded.member_id == member_id_of(keys.public_key)


def test_save_key_refuses_to_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "node.key"
    first = KeyPair.generate()
    save_key(path, first)
    before = path.read_bytes()
    with pytest.raises(FileExistsError):
        save_key(path, KeyPair.generate())
    assert path.read_bytes() == before
    assert load_key(path) == first


@pytest.mark.parametrize("mode,said", [
    (0o644, "readable by other users (mode 0644"), (0o640, "readable by other users (mode 0640"),
    (0o604, "readable by other users (mode 0604"),
    (0o660, "readable and writable by other users (mode 0660"),
    # a key others may overwrite is no less at risk, but it is not 'readable by others'
    (0o620, "writable by other users (mode 0620"), (0o602, "writable by other users (mode 0602")])
def test_load_refuses_key_open_to_others(tmp_path: Path, mode: int, said: str) -> None:
    path = tmp_path / "node.key"
    save_key(path, KeyPair.generate())
    os.chmod(path, mode)
    with pytest.raises(ConfigError) as info:
        load_key(path)
    assert info.value.field == str(path)
    assert f"key file is {said}, where 0600 is its owner's alone); chmod 600 {path}" in \
        str(info.value)


def test_load_refuses_missing_and_foreign_and_mismatched_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_key(tmp_path / "absent.key")
    foreign = tmp_path / "foreign.key"
    foreign.write_text(json.dumps({"kind": "something-else"}))
    os.chmod(foreign, 0o600)
    with pytest.raises(ConfigError, match="not a Senim key file"):
        load_key(foreign)
    mismatched = tmp_path / "mismatched.key"
    save_key(mismatched, KeyPair.generate())
    document = json.loads(mismatched.read_text())
    document["public_key"] = KeyPair.generate().public_key.hex()
    mismatched.write_text(json.dumps(document))
    with pytest.raises(ConfigError, match="does not match"):
        load_key(mismatched)


def test_signature_is_bound_to_domain_and_chain_id() -> None:
    keys = KeyPair.generate()
    payload = b"issue batch 42"
    signature = keys.sign(b"tx", "senim-kz", payload)
    assert verify_signature(keys.public_key, signing_bytes(b"tx", "senim-kz", payload),
                            signature)
    for domain, chain_id in [(b"commit", "senim-kz"), (b"tx", "senim-test"),
                             (b"tx", "senim-kz2"), (b"t", "xsenim-kz")]:
        assert not verify_signature(keys.public_key,
                                    signing_bytes(domain, chain_id, payload), signature)
    assert not verify_signature(keys.public_key,
                                signing_bytes(b"tx", "senim-kz", payload + b"!"), signature)
    assert not verify_signature(KeyPair.generate().public_key,
                                signing_bytes(b"tx", "senim-kz", payload), signature)


def test_domain_and_chain_id_cannot_be_shifted_into_each_other() -> None:
    # The separators make (domain, chain id, payload) unambiguous.
    assert signing_bytes(b"tx", "a", b"b") != signing_bytes(b"tx", "a\x00b", b"")


@pytest.mark.parametrize("public_key,signature", [
    (b"\x00" * 31, b"\x00" * 64), (b"\x00" * 32, b"\x00" * 63), (b"", b""),
])
def test_verify_signature_rejects_bad_sizes(public_key: bytes, signature: bytes) -> None:
    assert not verify_signature(public_key, b"message", signature)
