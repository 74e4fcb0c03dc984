"""A decoded transaction is the value the dataclass builds: decode_transaction builds it
past the generated __init__, so these pin that it holds the same fields and cached
values, compares, hashes and prints the same, and stays frozen."""

from __future__ import annotations

import dataclasses
import hashlib
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.codec import encode
from ledger.errors import MalformedInput
from ledger.identity import KeyPair
from ledger.payload_fields import MAX_HEIGHT, require_bytes, require_int
from ledger.payloads import CredentialRef, IssueBatchPayload, RevokePayload
from ledger.payloads_credentials import CREDENTIAL_TYPES, MAX_BATCH_COUNT
from ledger.transactions import (
    TX_VERSION,
    Transaction,
    build_transaction,
    decode_transaction,
    tx_id_of_encoded,
)

CHAIN = "decoded-test"


def _built() -> list[Transaction]:
    keys = KeyPair.generate()
    root = hashlib.sha256(b"root").digest()
    return [
        build_transaction(keys, CHAIN, IssueBatchPayload("certificate", root, 3), 10),
        build_transaction(keys, CHAIN, RevokePayload(
            CredentialRef(root, hashlib.sha256(b"t").digest(), 0, (root,)), "fraud"), 20),
    ]


@pytest.mark.parametrize("index", [0, 1])
def test_a_decoded_transaction_equals_the_one_built(index: int) -> None:
    built = _built()[index]
    rebuilt = Transaction(built.sender, built.nonce, built.expires_at, built.payload,
                          built.signature)
    # the cached values decoding sets are the ones the properties compute
    _ = rebuilt.tx_id, rebuilt.encode(), rebuilt.signed_message(CHAIN)
    decoded = decode_transaction(built.encode())
    assert vars(decoded) == vars(rebuilt)
    assert decoded._unsigned == encode(rebuilt.unsigned_array())
    assert decoded == rebuilt and hash(decoded) == hash(rebuilt)
    assert repr(decoded) == repr(rebuilt)

def test_a_decoded_transaction_is_frozen() -> None:
    decoded = decode_transaction(_built()[0].encode())
    with pytest.raises(dataclasses.FrozenInstanceError):
        decoded.expires_at = 11  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        del decoded.nonce


@pytest.mark.parametrize("index", [0, 1])
def test_the_id_gossip_worked_out_is_the_decoded_ones(index: int) -> None:
    """Gossip's filter hashes an encoding's id (`tx_id_of_encoded`) and hands it to the
    decoding, which does not hash the same bytes again: it is the id itself."""
    built = _built()[index]
    data = built.encode()
    given = tx_id_of_encoded(data)
    assert given is not None
    decoded = decode_transaction(data, given)
    assert vars(decoded) == vars(decode_transaction(data))
    assert decoded.tx_id == built.tx_id


_ANY_FIELD = (st.sampled_from(CREDENTIAL_TYPES) | st.text(max_size=12)
              | st.binary(min_size=31, max_size=33) | st.booleans() | st.none()
              | st.integers(min_value=-1, max_value=MAX_BATCH_COUNT + 1)
              | st.lists(st.integers(), max_size=2))
_ISSUANCES = (st.tuples(st.sampled_from(CREDENTIAL_TYPES) | st.text(max_size=12),
                        st.sampled_from([b"r" * 31, b"r" * 32, b"r" * 33])
                        | st.binary(min_size=31, max_size=33),
                        st.sampled_from([-1, 0, 1, MAX_BATCH_COUNT, MAX_BATCH_COUNT + 1])
                        | st.integers() | st.booleans()).map(list)
              | st.lists(_ANY_FIELD, max_size=4) | st.tuples(_ANY_FIELD, _ANY_FIELD, _ANY_FIELD))


@settings(max_examples=1000, deadline=None)
@given(_ISSUANCES)
def test_an_issuance_decodes_as_its_field_by_field_checks_say(value: object) -> None:
    """An issuance's payload is checked in one expression and built past __init__ when
    well formed: it is refused exactly as, and else equals, what the checks field by
    field give."""
    try:
        expected = IssueBatchPayload.checked_from_array(value)
    except MalformedInput as exc:  # Unrecognised among them
        with pytest.raises(type(exc), match=f"^{re.escape(str(exc))}$"):
            IssueBatchPayload.from_array(value)
        return
    decoded = IssueBatchPayload.from_array(value)
    assert vars(decoded) == vars(expected) and decoded == expected
    assert hash(decoded) == hash(expected) and repr(decoded) == repr(expected)
    with pytest.raises(dataclasses.FrozenInstanceError):
        decoded.count = 2  # type: ignore[misc]


_WIRE_INTS = st.integers(min_value=-(2**63), max_value=2**64 - 1)  # what msgpack carries
_FIELDS = (b"s" * 20, b"n" * 16, 5, b"g" * 64)  # sender, nonce, expiry, signature
_FIELD_VALUES = (st.sampled_from([b"x" * n for n in (15, 16, 17, 19, 20, 21, 63, 64, 65)])
                 | st.sampled_from([-1, 0, 1, MAX_HEIGHT, MAX_HEIGHT + 1, True, False])
                 | st.binary(max_size=65) | _WIRE_INTS | st.text(max_size=4) | st.none())


@settings(max_examples=1000, deadline=None)
@given(st.dictionaries(st.integers(min_value=0, max_value=3), _FIELD_VALUES, max_size=3))
def test_an_envelope_is_refused_as_its_field_by_field_checks_say(
        changed: dict[int, object]) -> None:
    """A well-formed envelope is checked in one expression: any other is refused with
    the first of the field-by-field checks' refusals, in their order."""
    sender, nonce, expires_at, signature = (changed.get(i, f) for i, f in enumerate(_FIELDS))
    payload = IssueBatchPayload("certificate", b"r" * 32, 1).to_array()
    data = encode([TX_VERSION, "issue_batch", sender, nonce, expires_at, payload, signature])
    try:
        require_bytes(sender, "sender", 20)
        require_bytes(nonce, "nonce", 16)
        require_int(expires_at, "expiry height", 1, MAX_HEIGHT)
        require_bytes(signature, "signature", 64)
    except MalformedInput as exc:
        with pytest.raises(MalformedInput, match=f"^{re.escape(str(exc))}$"):
            decode_transaction(data)
        return
    decoded = decode_transaction(data)
    assert (decoded.sender, decoded.nonce, decoded.expires_at, decoded.signature) == (
        sender, nonce, expires_at, signature)
    assert decoded.encode() == data
