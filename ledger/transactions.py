"""Transactions: the one way to change the ledger.

Wire form: [version, kind, sender, nonce, expires_at, payload, signature].
Replay protection is a random nonce plus an expiry height (at most
MAX_TX_TTL_BLOCKS ahead): a transaction is refused once its id is in the
committed-transaction index, so a registrar may have thousands in flight at once
(no per-sender sequence to serialise on). The index is not pruned: it also
answers "where was transaction X committed", so it grows by one entry (a 33-byte
key and a few bytes of height and position) per committed transaction.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property

from ledger.codec import check_canonical_types, decode, encode, tagged_hash
from ledger.errors import MalformedInput, Unrecognised
from ledger.identity import MEMBER_ID_BYTES, SIGNATURE_BYTES, KeyPair, MemberId, signing_bytes
from ledger.payload_fields import MAX_HEIGHT
from ledger.payloads import (
    KIND_ACCREDIT,
    KIND_ADD_MEMBER,
    KIND_SUSPEND,
    ROLES,
    Payload,
    WireValue,
    checked,
    decode_payload,
    require_bytes,
    require_int,
)
from ledger.payloads_credentials import CREDENTIAL_TYPES, KIND_ANCHOR, KIND_ISSUE_BATCH, KIND_REVOKE

__all__ = [
    "CREDENTIAL_TYPES", "KIND_ACCREDIT", "KIND_ADD_MEMBER", "KIND_ANCHOR", "KIND_ISSUE_BATCH",
    "KIND_REVOKE", "KIND_SUSPEND", "MAX_TX_ARRAYS", "MAX_TX_BYTES", "NONCE_BYTES", "ROLES",
    "TX_DOMAIN", "TX_VERSION", "Transaction", "build_transaction", "decode_transaction",
    "tx_id_of_encoded",
]

TX_VERSION = 1
TX_DOMAIN = b"tx"
NONCE_BYTES = 16
MAX_TX_BYTES = 64 * 1024
# Arrays in one encoded transaction: itself, its payload and the few lists a payload
# holds (an accreditation's types, a revocation's audit path, a governance action).
MAX_TX_ARRAYS = 16
_SIGNATURE_HEADER = b"\xc4" + bytes([SIGNATURE_BYTES])  # msgpack bin8 of its length
_new_object = object.__new__
_set_attribute = object.__setattr__  # past the frozen dataclass's refusal, once


@dataclass(frozen=True)
class Transaction:
    sender: MemberId
    nonce: bytes
    expires_at: int
    payload: Payload
    signature: bytes = b""

    # Cached, not a property: a decoded transaction holds it from the start, so the
    # mempool's several reads of it a transaction are no calls.
    @cached_property
    def kind(self) -> str:
        return self.payload.KIND

    def unsigned_array(self) -> list[WireValue]:
        return [TX_VERSION, self.kind, self.sender, self.nonce, self.expires_at,
                self.payload.to_array()]

    # Ids and encodings are asked for many times per transaction (mempool, block,
    # index, gossip); the value is immutable, so each is computed once.
    @cached_property
    def _unsigned(self) -> bytes:
        return encode(self.unsigned_array())

    def signed_message(self, chain_id: str) -> bytes:
        return signing_bytes(TX_DOMAIN, chain_id, self._unsigned)

    @cached_property
    def tx_id(self) -> bytes:
        return _tx_id(self._unsigned)

    @cached_property
    def encoded(self) -> bytes:
        """`encode()`, read as an attribute: once known, reading it is no call (a block's
        transactions root and its encoding read every transaction's)."""
        return encode([*self.unsigned_array(), self.signature])

    def encode(self) -> bytes:
        return self.encoded


def build_transaction(keys: KeyPair, chain_id: str, payload: Payload, expires_at: int
                      ) -> Transaction:
    """Create and sign a transaction with a fresh random nonce.

    The payload is checked by the nodes' own decoder: MalformedInput here means
    every node would refuse it."""
    payload = checked(payload)
    unsigned = Transaction(keys.member_id, os.urandom(NONCE_BYTES), expires_at, payload)
    signature = keys.sign_raw(unsigned.signed_message(chain_id))
    return Transaction(unsigned.sender, unsigned.nonce, expires_at, payload, signature)


def decode_transaction(data: bytes, id_of_data: bytes | None = None) -> Transaction:
    """Decode and shape-check a transaction. Signatures are checked by the ledger.

    `id_of_data`: `tx_id_of_encoded(data)`, when the caller has it already (gossip's
    filter of what is held): the same bytes are not hashed twice. It is that of the
    decoded transaction, since the check of the canonical encoding below passed.

    Unrecognised (a MalformedInput) when it is an array led by a later version than
    this release's (a later version may change anything after it, but is still one
    msgpack value within this release's bounds of bytes and arrays), or a well-formed,
    canonical version-1 transaction holding a kind or a closed-list value this release
    does not know; any other fault is MalformedInput."""
    if len(data) > MAX_TX_BYTES:
        raise MalformedInput(f"transaction of {len(data)} bytes exceeds {MAX_TX_BYTES}",
                             "tx_too_large", size=len(data), max=MAX_TX_BYTES)
    # types are checked field by field below
    value = decode(data, check_types=False, max_arrays=MAX_TX_ARRAYS)
    if (isinstance(value, list) and value and type(value[0]) is int
            and value[0] > TX_VERSION):
        raise Unrecognised(f"transaction version {value[0]} is later than this release's "
                           f"({TX_VERSION})")
    if not isinstance(value, list) or len(value) != 7:
        raise MalformedInput("transaction must be an array of 7 items")
    version, kind, sender, nonce, expires_at, payload, signature = value
    if version != TX_VERSION:
        raise MalformedInput(f"unsupported transaction version {version!r}")
    if not isinstance(kind, str):
        raise MalformedInput("transaction kind must be text")
    # A well-formed envelope is checked in one expression (four checks and a NewType
    # were five calls a transaction); anything else field by field, saying what is wrong.
    if not (type(sender) is bytes and len(sender) == MEMBER_ID_BYTES
            and type(nonce) is bytes and len(nonce) == NONCE_BYTES
            and type(expires_at) is int and 1 <= expires_at <= MAX_HEIGHT
            and type(signature) is bytes and len(signature) == SIGNATURE_BYTES):
        require_bytes(sender, "sender", MEMBER_ID_BYTES)
        require_bytes(nonce, "nonce", NONCE_BYTES)
        require_int(expires_at, "expiry height", 1, MAX_HEIGHT)
        require_bytes(signature, "signature", SIGNATURE_BYTES)
    sender_id: MemberId = sender  # MemberId(sender) at run time, without the call
    nonce_bytes: bytes = nonce
    expiry: int = expires_at
    signature_bytes: bytes = signature
    try:
        typed = decode_payload(kind, payload)
    except Unrecognised:
        # Only what this release cannot read is left unjudged: the envelope was checked
        # above, and the whole must still be canonical.
        check_canonical_types(payload)
        if encode(value) != data:
            raise MalformedInput("transaction is not in canonical encoding") from None
        raise
    unsigned = encode([TX_VERSION, typed.KIND, sender_id, nonce_bytes, expiry,
                       typed.to_array()])  # as Transaction.unsigned_array
    # The whole's canonical form is the unsigned array's items (fixarray(6) becomes
    # fixarray(7)) followed by the signature as bin8(64), so it is checked against
    # `unsigned` rather than encoded a second time.
    if b"\x97" + unsigned[1:] + _SIGNATURE_HEADER + signature_bytes != data:
        raise MalformedInput("transaction is not in canonical encoding")
    # Built as the dataclass's __init__ would build it, and with what the cached
    # properties would compute, known now, in one step: the generated __init__ makes a
    # call per field and the cached values were a second dict update (about 3,000
    # instructions of a 60,000-instruction decode).
    tx: Transaction = _new_object(Transaction)
    _set_attribute(tx, "__dict__", {
        "sender": sender_id, "nonce": nonce_bytes, "expires_at": expiry, "payload": typed,
        "signature": signature_bytes, "kind": typed.KIND,
        "_unsigned": unsigned, "encoded": data,
        "tx_id": _tx_id(unsigned) if id_of_data is None else id_of_data})
    return tx


def _tx_id(unsigned: bytes) -> bytes:
    return tagged_hash(b"senim/tx-id/v1", unsigned)


def tx_id_of_encoded(data: bytes) -> bytes | None:
    """The id of a canonically encoded transaction without decoding it.

    The canonical form is fixarray(7) + the six unsigned fields + bin8(64)
    signature, and the id hashes fixarray(6) + the same six fields. Gossip uses
    this to skip transactions it already holds; None means "decode to know".
    """
    if len(data) < 70 or data[0] != 0x97 or data[-66:-64] != b"\xc4\x40":
        return None
    return _tx_id(b"\x96" + data[1:-66])
