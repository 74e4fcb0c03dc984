"""Member identities: Ed25519 keys, member ids and signatures.

Every signature covers a domain tag and the chain id, so nothing signed for
one network or one message kind verifies for another.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NewType

import nacl.bindings
import nacl.exceptions
import nacl.signing

from ledger.codec import tagged_hash

MemberId = NewType("MemberId", bytes)  # 20 bytes, derived from the member's first key
MEMBER_ID_BYTES = 20
PUBLIC_KEY_BYTES = 32
SIGNATURE_BYTES = 64


def member_id_of(public_key: bytes) -> MemberId:
    return MemberId(tagged_hash(b"senim/member-id/v1", public_key)[:MEMBER_ID_BYTES])


def signing_bytes(domain: bytes, chain_id: str, payload: bytes) -> bytes:
    return b"senim/v1/" + domain + b"\x00" + chain_id.encode() + b"\x00" + payload


@dataclass(frozen=True)
class KeyPair:
    """A member's signing key. `member` is the member it signs for when that is not the id
    derived from this key: a member keeps its id for good when it rotates its key."""

    seed: bytes
    public_key: bytes
    member: MemberId | None = None

    @property
    def member_id(self) -> MemberId:
        return self.member if self.member is not None else member_id_of(self.public_key)

    @classmethod
    def generate(cls) -> KeyPair:
        key = nacl.signing.SigningKey.generate()
        return cls(seed=bytes(key), public_key=bytes(key.verify_key))

    @classmethod
    def from_seed(cls, seed: bytes, member: MemberId | None = None) -> KeyPair:
        key = nacl.signing.SigningKey(seed)
        public_key = bytes(key.verify_key)
        if member is not None and member == member_id_of(public_key):
            member = None
        return cls(seed=seed, public_key=public_key, member=member)

    def sign(self, domain: bytes, chain_id: str, payload: bytes) -> bytes:
        return self.sign_raw(signing_bytes(domain, chain_id, payload))

    def sign_raw(self, message: bytes) -> bytes:
        signed: bytes = nacl.bindings.crypto_sign(message, self.seed + self.public_key)
        return signed[:SIGNATURE_BYTES]


def signing_key_exists(public_key: bytes) -> bool:
    """Whether some private key signs for `public_key`: a point of the curve's main
    subgroup. All zeros, another point of small order, or bytes off the curve are keys no
    one holds (a placeholder in a draft members file), under which no signature verifies."""
    return (len(public_key) == PUBLIC_KEY_BYTES
            and bool(nacl.bindings.crypto_core_ed25519_is_valid_point(public_key)))


def verify_signature(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """True iff `signature` is a valid Ed25519 signature (libsodium, strict)."""
    if len(public_key) != PUBLIC_KEY_BYTES or len(signature) != SIGNATURE_BYTES:
        return False
    try:
        nacl.bindings.crypto_sign_open(signature + message, public_key)
    except (nacl.exceptions.BadSignatureError, ValueError, TypeError):
        return False
    return True
