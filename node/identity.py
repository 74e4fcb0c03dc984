"""Member identities: Ed25519 keys, member ids, key files and signatures.

Every signature covers a domain tag and the chain id, so nothing signed for
one network or one message kind verifies for another.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import NewType

import nacl.bindings
import nacl.exceptions
import nacl.signing

from node.codec import tagged_hash
from node.errors import ConfigError

MemberId = NewType("MemberId", bytes)  # 20 bytes, derived from the public key
MEMBER_ID_BYTES = 20
PUBLIC_KEY_BYTES = 32
SIGNATURE_BYTES = 64
KEY_FILE_KIND = "senim-ed25519-key/v1"


def member_id_of(public_key: bytes) -> MemberId:
    return MemberId(tagged_hash(b"senim/member-id/v1", public_key)[:MEMBER_ID_BYTES])


def signing_bytes(domain: bytes, chain_id: str, payload: bytes) -> bytes:
    return b"senim/v1/" + domain + b"\x00" + chain_id.encode() + b"\x00" + payload


@dataclass(frozen=True)
class KeyPair:
    seed: bytes
    public_key: bytes

    @property
    def member_id(self) -> MemberId:
        return member_id_of(self.public_key)

    @classmethod
    def generate(cls) -> KeyPair:
        key = nacl.signing.SigningKey.generate()
        return cls(seed=bytes(key), public_key=bytes(key.verify_key))

    @classmethod
    def from_seed(cls, seed: bytes) -> KeyPair:
        key = nacl.signing.SigningKey(seed)
        return cls(seed=seed, public_key=bytes(key.verify_key))

    def sign(self, domain: bytes, chain_id: str, payload: bytes) -> bytes:
        return self.sign_raw(signing_bytes(domain, chain_id, payload))

    def sign_raw(self, message: bytes) -> bytes:
        signed: bytes = nacl.bindings.crypto_sign(message, self.seed + self.public_key)
        return signed[:SIGNATURE_BYTES]


def verify_signature(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """True iff `signature` is a valid Ed25519 signature (libsodium, strict)."""
    if len(public_key) != PUBLIC_KEY_BYTES or len(signature) != SIGNATURE_BYTES:
        return False
    try:
        nacl.bindings.crypto_sign_open(signature + message, public_key)
    except (nacl.exceptions.BadSignatureError, ValueError, TypeError):
        return False
    return True


def save_key(path: Path, keys: KeyPair, label: str = "") -> None:
    """Write a key file readable by its owner only (0600), refusing to overwrite."""
    document = {
        "kind": KEY_FILE_KIND,
        "label": label,
        "member_id": keys.member_id.hex(),
        "public_key": keys.public_key.hex(),
        "seed": keys.seed.hex(),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(document, handle, indent=2)
        handle.write("\n")


def load_key(path: Path) -> KeyPair:
    field = str(path)
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise ConfigError(field, "key file not found") from exc
    except (OSError, ValueError) as exc:
        raise ConfigError(field, f"key file unreadable: {exc}") from exc
    if not isinstance(document, dict) or document.get("kind") != KEY_FILE_KIND:
        raise ConfigError(field, f"not a Senim key file (expected kind {KEY_FILE_KIND})")
    mode = path.stat().st_mode & 0o077
    if mode:
        raise ConfigError(field, f"key file is readable by others (mode {oct(mode)}); chmod 600")
    try:
        seed = bytes.fromhex(document["seed"])
        keys = KeyPair.from_seed(seed)
    except (KeyError, ValueError, TypeError) as exc:
        raise ConfigError(field, "key file has no valid 32-byte seed") from exc
    if document.get("public_key") != keys.public_key.hex():
        raise ConfigError(field, "public key does not match the seed")
    return keys
