"""Transaction wire form: round trips, canonical bytes, payload shapes, ids."""

from __future__ import annotations

import contextlib
import os
from typing import Any

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.codec import encode
from ledger.errors import MalformedInput
from ledger.identity import KeyPair, MemberId, signing_bytes, verify_signature
from ledger.payloads import (
    AccreditPayload,
    AddMemberPayload,
    AnchorPayload,
    CredentialRef,
    IssueBatchPayload,
    Payload,
    RevokePayload,
    SuspendPayload,
    decode_payload,
)
from ledger.payloads_credentials import CREDENTIAL_TYPES, note_hash
from ledger.transactions import (
    KIND_ACCREDIT,
    KIND_ADD_MEMBER,
    KIND_ANCHOR,
    KIND_ISSUE_BATCH,
    KIND_REVOKE,
    KIND_SUSPEND,
    MAX_TX_BYTES,
    TX_DOMAIN,
    TX_VERSION,
    Transaction,
    build_transaction,
    decode_transaction,
)
from tests.node.conftest import CHAIN_ID, keys_from

KEYS = keys_from("tx-tests")
ISSUER = keys_from("issuer").member_id
H = b"\x11" * 32

VALID_PAYLOADS: dict[str, list[Any]] = {
    KIND_ADD_MEMBER: ["Satbayev University", "university", b"\x22" * 32],
    KIND_ACCREDIT: [ISSUER, ["diploma", "transcript"], 0, 10**13],
    KIND_SUSPEND: [ISSUER, "licence_revoked"],
    KIND_ISSUE_BATCH: ["diploma", H, 1200],
    KIND_REVOKE: [H, b"\x33" * 32, 7, [b"\x44" * 32, b"\x55" * 32], "issued_in_error", None,
                  None],
    KIND_ANCHOR: [H],
}


def sign_raw(kind: str, payload: Any, keys: KeyPair = KEYS, expires_at: int = 50,
             nonce: bytes | None = None) -> bytes:
    """Encode and sign a wire payload without any shape check, to make malformed transactions."""
    unsigned = [TX_VERSION, kind, keys.member_id, nonce or os.urandom(16), expires_at, payload]
    signature = keys.sign_raw(signing_bytes(TX_DOMAIN, CHAIN_ID, encode(unsigned)))
    return encode([*unsigned, signature])


@pytest.mark.parametrize("kind", sorted(VALID_PAYLOADS))
def test_round_trip_every_kind(kind: str) -> None:
    tx = build_transaction(KEYS, CHAIN_ID, decode_payload(kind, VALID_PAYLOADS[kind]), 99)
    data = tx.encode()
    decoded = decode_transaction(data)
    assert decoded == tx
    assert decoded.encode() == data
    assert decoded.tx_id == tx.tx_id
    assert verify_signature(KEYS.public_key, decoded.signed_message(CHAIN_ID),
                            decoded.signature)


@settings(max_examples=50, deadline=None)
@given(count=st.integers(1, 10_000_000), expires=st.integers(1, 2**63 - 1),
       ctype=st.sampled_from(["diploma", "certificate", "attestat", "transcript",
                              "employment"]))
def test_issue_batch_round_trip_property(count: int, expires: int, ctype: str) -> None:
    tx = build_transaction(KEYS, CHAIN_ID, IssueBatchPayload(ctype, H, count), expires)
    assert decode_transaction(tx.encode()) == tx


@pytest.mark.parametrize("kind", sorted(VALID_PAYLOADS))
def test_typed_payload_keeps_the_wire_bytes(kind: str) -> None:
    # A transaction in the untyped wire form decodes to a typed payload and encodes
    # back to exactly the same bytes (and so keeps its id and signature).
    data = sign_raw(kind, VALID_PAYLOADS[kind])
    tx = decode_transaction(data)
    assert tx.kind == kind
    assert tx.payload.to_array() == VALID_PAYLOADS[kind]
    assert tx.encode() == data
    assert verify_signature(KEYS.public_key, tx.signed_message(CHAIN_ID), tx.signature)


def test_payload_fields_are_named() -> None:
    tx = decode_transaction(sign_raw(KIND_REVOKE, VALID_PAYLOADS[KIND_REVOKE]))
    assert isinstance(tx.payload, RevokePayload)
    assert (tx.payload.credential.batch_root, tx.payload.credential.index) == (H, 7)
    assert tx.payload.credential.path == (b"\x44" * 32, b"\x55" * 32)
    assert (tx.payload.reason, tx.payload.note_hash, tx.payload.replaced_by) == (
        "issued_in_error", None, None)
    accredit = decode_payload(KIND_ACCREDIT, VALID_PAYLOADS[KIND_ACCREDIT])
    assert isinstance(accredit, AccreditPayload)
    assert accredit.types == ("diploma", "transcript") and accredit.issuer == ISSUER


def _elements(tx: Transaction) -> list[Any]:
    return [*tx.unsigned_array(), tx.signature]


def test_non_canonical_array_header_refused() -> None:
    tx = build_transaction(KEYS, CHAIN_ID, AnchorPayload(H), 9)
    canonical = tx.encode()
    assert canonical[0] == 0x97  # fixarray of 7
    body = b"".join(encode(v) for v in _elements(tx))
    assert b"\x97" + body == canonical
    array16 = b"\xdc\x00\x07" + body
    with pytest.raises(MalformedInput, match="canonical"):
        decode_transaction(array16)


def test_non_minimal_integer_refused() -> None:
    tx = build_transaction(KEYS, CHAIN_ID, AnchorPayload(H), 9)
    items = _elements(tx)
    parts = [encode(v) for v in items]
    assert parts[4] == b"\x09"
    parts[4] = b"\xcf" + (9).to_bytes(8, "big")  # uint64 form of 9
    with pytest.raises(MalformedInput, match="canonical"):
        decode_transaction(b"\x97" + b"".join(parts))


def test_str8_for_short_text_refused() -> None:
    tx = build_transaction(KEYS, CHAIN_ID, AnchorPayload(H), 9)
    parts = [encode(v) for v in _elements(tx)]
    kind = KIND_ANCHOR.encode()
    parts[1] = b"\xd9" + bytes([len(kind)]) + kind  # str8 instead of fixstr
    with pytest.raises(MalformedInput, match="canonical"):
        decode_transaction(b"\x97" + b"".join(parts))


def test_signature_in_a_wider_bin_form_refused() -> None:
    # The whole is checked against the unsigned part's encoding followed by bin8(64):
    # a signature of the right length in bin16 form is not that.
    tx = build_transaction(KEYS, CHAIN_ID, AnchorPayload(H), 9)
    parts = [encode(v) for v in _elements(tx)]
    assert parts[6][:2] == b"\xc4\x40"
    parts[6] = b"\xc5\x00\x40" + tx.signature
    with pytest.raises(MalformedInput, match="canonical"):
        decode_transaction(b"\x97" + b"".join(parts))


def test_trailing_bytes_refused() -> None:
    tx = build_transaction(KEYS, CHAIN_ID, AnchorPayload(H), 9)
    with pytest.raises(MalformedInput):
        decode_transaction(tx.encode() + b"\x00")


def test_map_encoded_transaction_refused() -> None:
    tx = build_transaction(KEYS, CHAIN_ID, AnchorPayload(H), 9)
    as_map = msgpack.packb(dict(enumerate(_elements(tx))), use_bin_type=True)
    with pytest.raises(MalformedInput):
        decode_transaction(as_map)


def test_oversized_transaction_refused() -> None:
    with pytest.raises(MalformedInput, match="exceeds"):
        decode_transaction(b"\x00" * (MAX_TX_BYTES + 1))


@pytest.mark.parametrize("index,value,match", [
    (0, 2, "version"),
    (1, b"anchor", "kind must be text"),
    (1, "transfer", "unknown transaction kind"),
    (2, b"\x01" * 19, "sender"),
    (3, b"\x01" * 15, "nonce"),
    (4, 0, "expiry"),
    (4, -1, "expiry"),
    (4, True, "expiry"),
    (4, 2**64 - 1, "expiry"),
    (6, b"\x00" * 63, "signature"),
    (6, "sig", "signature"),
])
def test_envelope_fields_refused(index: int, value: Any, match: str) -> None:
    tx = build_transaction(KEYS, CHAIN_ID, AnchorPayload(H), 9)
    items = _elements(tx)
    items[index] = value
    with pytest.raises(MalformedInput, match=match):
        decode_transaction(encode(items))


def test_wrong_item_count_refused() -> None:
    tx = build_transaction(KEYS, CHAIN_ID, AnchorPayload(H), 9)
    with pytest.raises(MalformedInput, match="7 items"):
        decode_transaction(encode(_elements(tx)[:6]))
    with pytest.raises(MalformedInput, match="7 items"):
        decode_transaction(encode([*_elements(tx), b""]))


MALFORMED_PAYLOADS: list[tuple[str, Any]] = [
    # wrong container / arity, for every kind
    *[(kind, {"x": 1}) for kind in VALID_PAYLOADS],
    *[(kind, "text") for kind in VALID_PAYLOADS],
    *[(kind, [*payload, b"extra"]) for kind, payload in VALID_PAYLOADS.items()],
    *[(kind, payload[:-1]) for kind, payload in VALID_PAYLOADS.items()],
    # add_member
    (KIND_ADD_MEMBER, ["", "university", b"\x22" * 32]),
    (KIND_ADD_MEMBER, ["   ", "university", b"\x22" * 32]),
    (KIND_ADD_MEMBER, ["x" * 201, "university", b"\x22" * 32]),
    (KIND_ADD_MEMBER, [b"name", "university", b"\x22" * 32]),
    (KIND_ADD_MEMBER, ["Name", "bank", b"\x22" * 32]),
    (KIND_ADD_MEMBER, ["Name", "university", b"\x22" * 31]),
    (KIND_ADD_MEMBER, ["Name", "university", "22" * 32]),
    # accredit
    (KIND_ACCREDIT, [ISSUER[:19], ["diploma"], 0, 1]),
    (KIND_ACCREDIT, [ISSUER, [], 0, 1]),
    (KIND_ACCREDIT, [ISSUER, "diploma", 0, 1]),
    (KIND_ACCREDIT, [ISSUER, ["diploma", "phd"], 0, 1]),
    (KIND_ACCREDIT, [ISSUER, ["diploma"] * (len(CREDENTIAL_TYPES) + 1), 0, 1]),
    (KIND_ACCREDIT, [ISSUER, ["diploma"], 5, 5]),
    (KIND_ACCREDIT, [ISSUER, ["diploma"], 6, 5]),
    (KIND_ACCREDIT, [ISSUER, ["diploma"], -1, 5]),
    (KIND_ACCREDIT, [ISSUER, ["diploma"], False, 5]),
    (KIND_ACCREDIT, [ISSUER, ["diploma"], 0, "5"]),
    # suspend
    (KIND_SUSPEND, [ISSUER, ""]),
    (KIND_SUSPEND, [ISSUER, 7]),
    (KIND_SUSPEND, [ISSUER, "licence withdrawn after complaints by Aigerim B."]),
    (KIND_SUSPEND, [b"", "investigation"]),
    # issue_batch
    (KIND_ISSUE_BATCH, ["phd", H, 3]),
    (KIND_ISSUE_BATCH, ["diploma", H[:31], 3]),
    (KIND_ISSUE_BATCH, ["diploma", H, 0]),
    (KIND_ISSUE_BATCH, ["diploma", H, 10_000_001]),
    (KIND_ISSUE_BATCH, ["diploma", H, True]),
    # revoke
    (KIND_REVOKE, [H[:31], H, 0, [], "fraud", None, None]),
    (KIND_REVOKE, [H, H + b"\x00", 0, [], "fraud", None, None]),
    (KIND_REVOKE, [H, H, -1, [], "fraud", None, None]),
    (KIND_REVOKE, [H, H, 0, H, "fraud", None, None]),
    (KIND_REVOKE, [H, H, 0, [H[:31]], "fraud", None, None]),
    (KIND_REVOKE, [H, H, 0, [H] * 65, "fraud", None, None]),
    (KIND_REVOKE, [H, H, 0, [], "", None, None]),
    # free text never goes on chain: only a code from the closed list
    (KIND_REVOKE, [H, H, 0, [], "Graduate IIN 171571988762 cheated", None, None]),
    (KIND_REVOKE, [H, H, 0, [], "issued in error", None, None]),
    (KIND_REVOKE, [H, H, 0, [], "other", "my note", None]),
    (KIND_REVOKE, [H, H, 0, [], "other", H[:16], None]),
    (KIND_REVOKE, [H, H, 0, [], "superseded", None, None]),
    (KIND_REVOKE, [H, H, 0, [], "fraud", None, [b"\x09" * 32, H, 0, []]]),
    (KIND_REVOKE, [H, H, 0, [], "superseded", None, [b"\x09" * 32, H, 0, []]]),
    (KIND_REVOKE, [H, H, 0, [], "superseded", None, [b"\x09" * 32, b"\x08" * 32, 0]]),
    (KIND_REVOKE, [H, H, 0, [], "superseded", None, b"\x09" * 32]),
    # anchor
    (KIND_ANCHOR, [H[:16]]),
    (KIND_ANCHOR, [H.hex()]),
    (KIND_ANCHOR, [[H]]),
]


@pytest.mark.parametrize("kind,payload", MALFORMED_PAYLOADS)
def test_malformed_payload_refused_on_decode_and_build(kind: str, payload: Any) -> None:
    with pytest.raises(MalformedInput):
        decode_transaction(sign_raw(kind, payload))
    with pytest.raises(MalformedInput):
        decode_payload(kind, payload)


@pytest.mark.parametrize("kind", sorted(VALID_PAYLOADS))
def test_valid_payload_is_not_refused_by_the_same_path(kind: str) -> None:
    # The control for the test above: the same path accepts the valid payloads.
    assert decode_transaction(sign_raw(kind, VALID_PAYLOADS[kind])).kind == kind


@pytest.mark.parametrize("payload", [
    [H, H, 0, [], "other", b"\x01" * 32, None],
    [H, H, 0, [], "superseded", b"\x01" * 32, [b"\x09" * 32, b"\x08" * 32, 3, [H]]],
    [H, H, 0, [], "superseded", None, [H, b"\x08" * 32, 0, []]],
])
def test_revocation_with_note_hash_or_replacement_round_trips(payload: list[Any]) -> None:
    tx = decode_transaction(sign_raw(KIND_REVOKE, payload))
    assert isinstance(tx.payload, RevokePayload)
    assert tx.payload.to_array() == payload
    rebuilt = build_transaction(KEYS, CHAIN_ID, tx.payload, 50)
    assert decode_transaction(rebuilt.encode()) == rebuilt


def test_note_hash_is_salted() -> None:
    assert note_hash("degree annulled", b"\x01" * 16) != note_hash("degree annulled",
                                                                   b"\x02" * 16)
    assert len(note_hash("x", b"\x01" * 16)) == 32


@pytest.mark.parametrize("payload", [
    AddMemberPayload("", "university", b"\x22" * 32),
    AddMemberPayload("Name", "bank", b"\x22" * 32),
    AddMemberPayload("Name", "university", b"\x22" * 31),
    AccreditPayload(MemberId(ISSUER), ("diploma",), 6, 5),
    AccreditPayload(MemberId(ISSUER), (), 0, 5),
    SuspendPayload(MemberId(ISSUER), "inspection failed"),
    IssueBatchPayload("phd", H, 3),
    IssueBatchPayload("diploma", H, 0),
    RevokePayload(CredentialRef(H, H, 0, (H,) * 65), "other"),
    RevokePayload(CredentialRef(H, H, 0, ()), "Graduate IIN 171571988762 cheated"),
    RevokePayload(CredentialRef(H, H, 0, ()), "superseded"),  # names no replacement
    RevokePayload(CredentialRef(H, H, 0, ()), "fraud", replaced_by=CredentialRef(H, H, 0, ())),
    RevokePayload(CredentialRef(H, H, 0, ()), "superseded",
                  replaced_by=CredentialRef(H, H, 0, ())),  # replaces itself
    RevokePayload(CredentialRef(H, H, 0, ()), "other", note_hash=b"\x01" * 31),
    AnchorPayload(H[:16]),
])
def test_builder_refuses_what_a_node_would_refuse(payload: Payload) -> None:
    with pytest.raises(MalformedInput):
        build_transaction(KEYS, CHAIN_ID, payload, 50)


def test_tx_id_excludes_signature_but_covers_everything_else() -> None:
    nonce = b"\x07" * 16
    tx = decode_transaction(sign_raw(KIND_ANCHOR, [H], nonce=nonce))
    resigned = Transaction(tx.sender, tx.nonce, tx.expires_at, tx.payload, b"\x00" * 64)
    assert resigned.tx_id == tx.tx_id
    assert resigned.encode() != tx.encode()
    variants = [decode_transaction(data) for data in (
        sign_raw(KIND_ANCHOR, [b"\x12" * 32], nonce=nonce),
        sign_raw(KIND_ANCHOR, [H], nonce=b"\x08" * 16),
        sign_raw(KIND_ANCHOR, [H], nonce=nonce, expires_at=51),
        sign_raw(KIND_ANCHOR, [H], keys=keys_from("other"), nonce=nonce),
    )]
    assert len({v.tx_id for v in variants} | {tx.tx_id}) == 5


def test_fresh_nonces_give_distinct_ids() -> None:
    ids = {build_transaction(KEYS, CHAIN_ID, AnchorPayload(H), 9).tx_id for _ in range(50)}
    assert len(ids) == 50


def test_unsigned_form_starts_with_version() -> None:
    tx = build_transaction(KEYS, CHAIN_ID, AnchorPayload(H), 9)
    assert tx.unsigned_array()[0] == TX_VERSION


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=300))
def test_junk_transaction_bytes_only_malformed(data: bytes) -> None:
    with contextlib.suppress(MalformedInput):
        decode_transaction(data)


def test_a_transaction_of_empty_arrays_is_refused_before_they_are_built() -> None:
    """64 KiB of empty arrays in a payload: 65,000 lists were built before the shape was
    looked at, 2.4 s for a 16 MiB submission of such transactions."""
    import struct
    import tracemalloc

    from ledger.transactions import MAX_TX_BYTES

    count = MAX_TX_BYTES - 125
    data = (b"\x97\x01\xa6anchor\xc4\x14" + bytes(20) + b"\xc4\x10" + bytes(16) + b"\x05"
            + b"\xdd" + struct.pack(">I", count) + b"\x90" * count + b"\xc4\x40" + bytes(64))
    assert len(data) <= MAX_TX_BYTES
    tracemalloc.start()
    try:
        with pytest.raises(MalformedInput, match="arrays"):
            decode_transaction(data)
        assert tracemalloc.get_traced_memory()[1] < 256 * 1024
    finally:
        tracemalloc.stop()
