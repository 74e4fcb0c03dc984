"""A decoded transaction is the value the dataclass builds: decode_transaction builds it
past the generated __init__, so these pin that it holds the same fields and cached
values, compares, hashes and prints the same, and stays frozen."""

from __future__ import annotations

import dataclasses
import hashlib

import pytest

from ledger.codec import encode
from ledger.identity import KeyPair
from ledger.payloads import CredentialRef, IssueBatchPayload, RevokePayload
from ledger.transactions import (
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
