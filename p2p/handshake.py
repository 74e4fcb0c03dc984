"""Station-to-station handshake as pure functions over bytes (no IO).

Both sides run the same three steps at the same time, so the exchange costs two
message flights and one code path serves dialer and listener alike:

1. `start` -> HELLO: protocol magic + a fresh ephemeral X25519 public key.
2. `authenticate(peer HELLO)` -> AUTH: the X25519 shared secret (refused if it is
   all zeros, i.e. the peer sent a small-order point) and the transcript
   (protocol tag, chain id, both ephemeral keys sorted) give, through HKDF-SHA256,
   two one-shot handshake keys and two directional session keys. AUTH is our
   identity public key and our Ed25519 signature over (domain tag, our role,
   transcript hash), sealed under our role's handshake key with the transcript
   hash as associated data.
3. `finish(peer AUTH, is_allowed)` -> `Session`: opening AUTH proves the peer holds
   the other half of the shared secret; the signature proves it holds the identity
   key; only then is the key checked against membership.

The role in the signature stops a reflected AUTH from passing; the chain id in the
transcript stops a handshake for one network from completing on another.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import struct
from collections.abc import Callable
from dataclasses import dataclass

import nacl.bindings
import nacl.exceptions
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import (
    X25519PrivateKey,
    X25519PublicKey,
)
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from p2p.errors import HandshakeFailed, LocalProtocolError, PeerNotAllowed

HELLO_MAGIC = b"SNM\x01"  # protocol name and version, so strangers fail fast
TRANSCRIPT_TAG = b"senim/p2p/handshake/v1"
SIGNATURE_TAG = b"senim/p2p/handshake-auth/v1"
KEY_INFO = b"senim/p2p/session-keys/v1"

KEY_BYTES = 32
SIGNATURE_BYTES = 64
AEAD_TAG_BYTES = 16
HELLO_BYTES = len(HELLO_MAGIC) + KEY_BYTES
AUTH_BYTES = KEY_BYTES + SIGNATURE_BYTES + AEAD_TAG_BYTES
CHAIN_ID_BYTES_MAX = 255
_ZERO_NONCE = bytes(12)  # each handshake key seals exactly one message


class Role(enum.IntEnum):
    """Which side opened the TCP connection; decides key direction."""

    INITIATOR = 1
    RESPONDER = 2

    @property
    def other(self) -> Role:
        return Role.RESPONDER if self is Role.INITIATOR else Role.INITIATOR


@dataclass(frozen=True)
class Identity:
    """A node's long-term Ed25519 key pair."""

    signing_key: Ed25519PrivateKey
    public_key: bytes

    @classmethod
    def from_seed(cls, seed: bytes) -> Identity:
        if len(seed) != KEY_BYTES:
            raise LocalProtocolError(f"identity seed must be {KEY_BYTES} bytes, got {len(seed)}")
        signing_key = Ed25519PrivateKey.from_private_bytes(seed)
        public_key = signing_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return cls(signing_key, public_key)


@dataclass(frozen=True)
class Started:
    """State after `start`: our ephemeral key, waiting for the peer's HELLO."""

    identity: Identity
    chain_id: bytes
    role: Role
    ephemeral: X25519PrivateKey
    ephemeral_public: bytes


@dataclass(frozen=True)
class Authenticating:
    """State after `authenticate`: keys derived, waiting for the peer's AUTH."""

    role: Role
    transcript_hash: bytes
    peer_handshake_key: bytes
    send_key: bytes
    recv_key: bytes


@dataclass(frozen=True)
class Session:
    """Result of a completed handshake: who the peer is and the directional keys."""

    peer_public_key: bytes
    role: Role
    send_key: bytes
    recv_key: bytes
    transcript_hash: bytes


def start(
    identity: Identity,
    chain_id: bytes,
    role: Role,
    ephemeral: X25519PrivateKey | None = None,
) -> tuple[Started, bytes]:
    """Begin a handshake; returns the state and the HELLO to send."""
    if not 0 < len(chain_id) <= CHAIN_ID_BYTES_MAX:
        raise LocalProtocolError(f"chain id must be 1..{CHAIN_ID_BYTES_MAX} bytes")
    key = ephemeral if ephemeral is not None else X25519PrivateKey.generate()
    public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    state = Started(identity, chain_id, role, key, public)
    return state, HELLO_MAGIC + public


def authenticate(state: Started, peer_hello: bytes) -> tuple[Authenticating, bytes]:
    """Take the peer's HELLO; returns the next state and the AUTH to send."""
    peer_ephemeral = parse_hello(peer_hello)
    if hmac.compare_digest(peer_ephemeral, state.ephemeral_public):
        raise HandshakeFailed("peer echoed our own ephemeral key (reflection)")
    shared = _shared_secret(state.ephemeral, peer_ephemeral)
    transcript_hash = _transcript_hash(state.chain_id, state.ephemeral_public, peer_ephemeral)
    keys = _derive_keys(shared, transcript_hash)
    role = state.role
    signature = state.identity.signing_key.sign(_signed_message(role, transcript_hash))
    auth = ChaCha20Poly1305(keys[("handshake", role)]).encrypt(
        _ZERO_NONCE, state.identity.public_key + signature, transcript_hash
    )
    next_state = Authenticating(
        role=role,
        transcript_hash=transcript_hash,
        peer_handshake_key=keys[("handshake", role.other)],
        send_key=keys[("session", role)],
        recv_key=keys[("session", role.other)],
    )
    return next_state, auth


def finish(
    state: Authenticating, peer_auth: bytes, is_allowed: Callable[[bytes], bool]
) -> Session:
    """Verify the peer's AUTH and membership; returns the session keys.

    Raises `HandshakeFailed` if AUTH does not verify and `PeerNotAllowed` if the
    peer proved a key that `is_allowed` rejects.
    """
    if len(peer_auth) != AUTH_BYTES:
        raise HandshakeFailed(f"AUTH must be {AUTH_BYTES} bytes, got {len(peer_auth)}")
    try:
        plain = ChaCha20Poly1305(state.peer_handshake_key).decrypt(
            _ZERO_NONCE, peer_auth, state.transcript_hash
        )
    except InvalidTag:
        raise HandshakeFailed(
            "AUTH does not decrypt: the peer is on another network (the network id bound in "
            "the handshake differs: a node of another genesis file, even one of the same "
            "chain id; compare the genesis fingerprint on each node's start line), or the "
            "transcript was tampered with, or keys are wrong"
        ) from None
    peer_key, signature = plain[:KEY_BYTES], plain[KEY_BYTES:]
    message = _signed_message(state.role.other, state.transcript_hash)
    if not _strictly_verified(peer_key, message, signature):
        raise HandshakeFailed("peer's transcript signature does not verify")
    if not is_allowed(peer_key):
        raise PeerNotAllowed(peer_key)
    return Session(peer_key, state.role, state.send_key, state.recv_key, state.transcript_hash)


def _strictly_verified(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """libsodium's check, as the ledger's (ledger.identity): it refuses a key or an R of
    small order and a non-canonical S. OpenSSL's (`cryptography`) took a forged AUTH for a
    member whose key is all zeros (a placeholder in a draft members file, which nobody can
    sign with) about one time in four: an outsider then connected as that member."""
    try:
        nacl.bindings.crypto_sign_open(signature + message, public_key)
    except (nacl.exceptions.BadSignatureError, ValueError, TypeError):
        return False
    return True


def parse_hello(hello: bytes) -> bytes:
    """The peer's ephemeral key its HELLO carries; HandshakeFailed if it is no HELLO."""
    if len(hello) != HELLO_BYTES:
        raise HandshakeFailed(f"HELLO must be {HELLO_BYTES} bytes, got {len(hello)}")
    if not hmac.compare_digest(hello[: len(HELLO_MAGIC)], HELLO_MAGIC):
        raise HandshakeFailed("HELLO has the wrong magic: not a senim p2p peer or wrong version")
    return hello[len(HELLO_MAGIC) :]


def _shared_secret(own: X25519PrivateKey, peer_public: bytes) -> bytes:
    """X25519 that refuses small-order peer keys (they force an all-zero secret)."""
    try:
        shared = own.exchange(X25519PublicKey.from_public_bytes(peer_public))
    except ValueError:
        # OpenSSL already refuses an all-zero result; report it the same way.
        raise HandshakeFailed("peer's ephemeral key is a low-order point") from None
    if hmac.compare_digest(shared, bytes(KEY_BYTES)):
        raise HandshakeFailed("peer's ephemeral key is a low-order point")
    return shared


def _transcript_hash(chain_id: bytes, ephemeral_a: bytes, ephemeral_b: bytes) -> bytes:
    low, high = sorted((ephemeral_a, ephemeral_b))
    transcript = TRANSCRIPT_TAG + struct.pack(">B", len(chain_id)) + chain_id + low + high
    return hashlib.sha256(transcript).digest()


def _signed_message(role: Role, transcript_hash: bytes) -> bytes:
    return SIGNATURE_TAG + struct.pack(">B", role) + transcript_hash


def _derive_keys(shared: bytes, transcript_hash: bytes) -> dict[tuple[str, Role], bytes]:
    material = HKDF(
        algorithm=hashes.SHA256(), length=4 * KEY_BYTES, salt=transcript_hash, info=KEY_INFO
    ).derive(shared)
    chunks = [material[i : i + KEY_BYTES] for i in range(0, len(material), KEY_BYTES)]
    return {
        ("handshake", Role.INITIATOR): chunks[0],
        ("handshake", Role.RESPONDER): chunks[1],
        ("session", Role.INITIATOR): chunks[2],
        ("session", Role.RESPONDER): chunks[3],
    }
