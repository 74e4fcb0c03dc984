"""`did:key` for Ed25519 keys: multicodec 0xed01 + key, multibase base58btc ('z')."""

from __future__ import annotations

import base58

from ledger.errors import InvalidDocument
from ledger.identity import PUBLIC_KEY_BYTES

ED25519_PUB_CODEC = b"\xed\x01"
ED25519_PRIV_CODEC = b"\x80\x26"
DID_KEY_PREFIX = "did:key:"
MAX_MULTIBASE_CHARS = 200


def multibase_encode(data: bytes) -> str:
    return "z" + base58.b58encode(data).decode("ascii")


def multibase_decode(text: str) -> bytes:
    if not isinstance(text, str) or not text.startswith("z") or len(text) > MAX_MULTIBASE_CHARS:
        raise InvalidDocument("expected a multibase base58btc value (starting with 'z')",
                              "vc_key")
    try:
        return base58.b58decode(text[1:])
    except ValueError as exc:
        raise InvalidDocument(f"not base58btc: {exc}", "vc_key") from exc


def multikey(public_key: bytes) -> str:
    """The Multikey `publicKeyMultibase` of an Ed25519 public key (z6Mk…)."""
    if len(public_key) != PUBLIC_KEY_BYTES:
        raise ValueError("an Ed25519 public key has 32 bytes")
    return multibase_encode(ED25519_PUB_CODEC + public_key)


def public_key_of_multikey(text: str) -> bytes:
    data = multibase_decode(text)
    if len(data) != 2 + PUBLIC_KEY_BYTES or not data.startswith(ED25519_PUB_CODEC):
        raise InvalidDocument("not an Ed25519 public key (multicodec 0xed01)", "vc_key")
    return data[2:]


def seed_of_multikey(text: str) -> bytes:
    """The 32-byte seed of a Multikey `secretKeyMultibase` (multicodec 0x1300)."""
    data = multibase_decode(text)
    if len(data) != 34 or not data.startswith(ED25519_PRIV_CODEC):
        raise InvalidDocument("not an Ed25519 secret key (multicodec 0x1300)", "vc_key")
    return data[2:]


def did_key(public_key: bytes) -> str:
    return DID_KEY_PREFIX + multikey(public_key)


def verification_method(public_key: bytes) -> str:
    """The did:key verification method id: the DID, '#', the key again."""
    key = multikey(public_key)
    return f"{DID_KEY_PREFIX}{key}#{key}"


def public_key_of_did(did: str) -> bytes:
    """The Ed25519 key a `did:key` (or one of its verification method ids) names."""
    if not isinstance(did, str) or not did.startswith(DID_KEY_PREFIX):
        raise InvalidDocument(f"not a did:key identifier: {str(did)[:80]!r}", "vc_not_did_key")
    identifier, _, fragment = did[len(DID_KEY_PREFIX):].partition("#")
    if fragment and fragment != identifier:
        raise InvalidDocument("a did:key verification method must be the key itself "
                              "(did:key:z…#z…)", "vc_key")
    return public_key_of_multikey(identifier)
