"""Transactions: the one way to change the ledger.

Wire form: [version, kind, sender, nonce, expires_at, payload, signature].
Replay protection is a random nonce plus an expiry height: the ledger keeps the
ids of committed transactions until they expire, so a registrar may have
thousands in flight at once (no per-sender sequence to serialise on), and the
replay guard never grows past the transactions of one expiry window.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from ledger.codec import decode, encode, tagged_hash
from ledger.errors import MalformedInput
from ledger.identity import MEMBER_ID_BYTES, SIGNATURE_BYTES, KeyPair, MemberId, signing_bytes

TX_VERSION = 1
TX_DOMAIN = b"tx"
NONCE_BYTES = 16
MAX_TX_BYTES = 64 * 1024
MAX_TEXT_CHARS = 200
MAX_AUDIT_PATH = 64

KIND_ADD_MEMBER = "add_member"
KIND_ACCREDIT = "accredit"
KIND_SUSPEND = "suspend"
KIND_ISSUE_BATCH = "issue_batch"
KIND_REVOKE = "revoke"
KIND_ANCHOR = "anchor"

CREDENTIAL_TYPES = ("diploma", "certificate", "attestat", "transcript", "employment")
ROLES = ("ministry", "university", "school", "employer")


def _text(value: Any, what: str, max_chars: int = MAX_TEXT_CHARS) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > max_chars:
        raise MalformedInput(f"{what} must be non-empty text of at most {max_chars} characters")
    return value


def _blob(value: Any, what: str, size: int) -> bytes:
    if not isinstance(value, bytes) or len(value) != size:
        raise MalformedInput(f"{what} must be {size} bytes")
    return value


def _count(value: Any, what: str, low: int = 0, high: int = 2**63 - 1) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise MalformedInput(f"{what} must be an integer in [{low}, {high}]")
    return value


def _check_payload(kind: str, payload: Any) -> list[Any]:
    """Validate the payload shape of each kind; return it unchanged."""
    shapes = {
        KIND_ADD_MEMBER: 3, KIND_ACCREDIT: 4, KIND_SUSPEND: 2,
        KIND_ISSUE_BATCH: 3, KIND_REVOKE: 5, KIND_ANCHOR: 1,
    }
    if kind not in shapes:
        raise MalformedInput(f"unknown transaction kind {kind!r}")
    if not isinstance(payload, list) or len(payload) != shapes[kind]:
        raise MalformedInput(f"{kind} payload must be an array of {shapes[kind]} items")
    if kind == KIND_ADD_MEMBER:
        _text(payload[0], "member name")
        if payload[1] not in ROLES:
            raise MalformedInput(f"role must be one of {', '.join(ROLES)}")
        _blob(payload[2], "public key", 32)
    elif kind == KIND_ACCREDIT:
        _blob(payload[0], "issuer", MEMBER_ID_BYTES)
        types = payload[1]
        if not isinstance(types, list) or not types or len(types) > len(CREDENTIAL_TYPES):
            raise MalformedInput("credential types must be a non-empty list")
        for ctype in types:
            if ctype not in CREDENTIAL_TYPES:
                raise MalformedInput(f"unknown credential type {ctype!r}")
        start = _count(payload[2], "accreditation start (ms)")
        end = _count(payload[3], "accreditation end (ms)")
        if end <= start:
            raise MalformedInput("accreditation must end after it starts")
    elif kind == KIND_SUSPEND:
        _blob(payload[0], "issuer", MEMBER_ID_BYTES)
        _text(payload[1], "reason")
    elif kind == KIND_ISSUE_BATCH:
        if payload[0] not in CREDENTIAL_TYPES:
            raise MalformedInput(f"unknown credential type {payload[0]!r}")
        _blob(payload[1], "batch root", 32)
        _count(payload[2], "credential count", 1, 10_000_000)
    elif kind == KIND_REVOKE:
        _blob(payload[0], "batch root", 32)
        _blob(payload[1], "credential hash", 32)
        _count(payload[2], "leaf index", 0, 10_000_000)
        path = payload[3]
        if not isinstance(path, list) or len(path) > MAX_AUDIT_PATH:
            raise MalformedInput("audit path must be a list of at most 64 hashes")
        for node_hash in path:
            _blob(node_hash, "audit path entry", 32)
        _text(payload[4], "reason")
    elif kind == KIND_ANCHOR:
        _blob(payload[0], "document hash", 32)
    return payload


@dataclass(frozen=True)
class Transaction:
    kind: str
    sender: MemberId
    nonce: bytes
    expires_at: int
    payload: list[Any]
    signature: bytes = b""

    def unsigned_array(self) -> list[Any]:
        return [TX_VERSION, self.kind, self.sender, self.nonce, self.expires_at, self.payload]

    # Ids and encodings are asked for many times per transaction (mempool, block,
    # index, gossip); the value is immutable, so each is computed once.
    @cached_property
    def _unsigned(self) -> bytes:
        return encode(self.unsigned_array())

    def unsigned_bytes(self) -> bytes:
        return self._unsigned

    def signed_message(self, chain_id: str) -> bytes:
        return signing_bytes(TX_DOMAIN, chain_id, self._unsigned)

    @cached_property
    def tx_id(self) -> bytes:
        return tagged_hash(b"senim/tx-id/v1", self._unsigned)

    @cached_property
    def _encoded(self) -> bytes:
        return encode([*self.unsigned_array(), self.signature])

    def encode(self) -> bytes:
        return self._encoded


def build_transaction(
    keys: KeyPair, chain_id: str, kind: str, payload: list[Any], expires_at: int
) -> Transaction:
    """Create and sign a transaction with a fresh random nonce."""
    _check_payload(kind, payload)
    unsigned = Transaction(kind, keys.member_id, os.urandom(NONCE_BYTES), expires_at, payload)
    signature = keys.sign_raw(unsigned.signed_message(chain_id))
    return Transaction(kind, unsigned.sender, unsigned.nonce, expires_at, payload, signature)


def decode_transaction(data: bytes) -> Transaction:
    """Decode and shape-check a transaction. Signatures are checked by the ledger."""
    if len(data) > MAX_TX_BYTES:
        raise MalformedInput(f"transaction of {len(data)} bytes exceeds {MAX_TX_BYTES}")
    value = decode(data, check_types=False)  # types are checked field by field below
    if not isinstance(value, list) or len(value) != 7:
        raise MalformedInput("transaction must be an array of 7 items")
    version, kind, sender, nonce, expires_at, payload, signature = value
    if version != TX_VERSION:
        raise MalformedInput(f"unsupported transaction version {version!r}")
    if not isinstance(kind, str):
        raise MalformedInput("transaction kind must be text")
    _blob(sender, "sender", MEMBER_ID_BYTES)
    _blob(nonce, "nonce", NONCE_BYTES)
    _count(expires_at, "expiry height", 1)
    _blob(signature, "signature", SIGNATURE_BYTES)
    _check_payload(kind, payload)
    tx = Transaction(kind, MemberId(sender), nonce, expires_at, payload, signature)
    if tx.encode() != data:
        raise MalformedInput("transaction is not in canonical encoding")
    return tx


def tx_id_of_encoded(data: bytes) -> bytes | None:
    """The id of a canonically encoded transaction without decoding it.

    The canonical form is fixarray(7) + the six unsigned fields + bin8(64)
    signature, and the id hashes fixarray(6) + the same six fields. Gossip uses
    this to skip transactions it already holds; None means "decode to know".
    """
    if len(data) < 70 or data[0] != 0x97 or data[-66:-64] != b"\xc4\x40":
        return None
    return tagged_hash(b"senim/tx-id/v1", b"\x96" + data[1:-66])
