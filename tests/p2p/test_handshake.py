"""The pure handshake: two sides in memory, then every way it must refuse."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from p2p import handshake as hs
from p2p.errors import HandshakeFailed, P2PError, PeerNotAllowed, RemoteProtocolError

CHAIN = b"senim-test-chain"
ALICE = hs.Identity.from_seed(bytes([1]) * 32)
BOB = hs.Identity.from_seed(bytes([2]) * 32)
MALLORY = hs.Identity.from_seed(bytes([3]) * 32)
MEMBERS = {ALICE.public_key, BOB.public_key}

# Small-order and non-canonical X25519 u-coordinates (public test vectors); each
# makes the shared secret all zeros.
LOW_ORDER_POINTS = [
    bytes(32),
    bytes([1]) + bytes(31),
    bytes.fromhex("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"),
    bytes.fromhex("5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157"),
    bytes.fromhex("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
    bytes.fromhex("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
    bytes.fromhex("eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
]


def allowed(key: bytes) -> bool:
    return key in MEMBERS


def run(
    a: hs.Identity = ALICE,
    b: hs.Identity = BOB,
    chain_a: bytes = CHAIN,
    chain_b: bytes = CHAIN,
) -> tuple[hs.Session, hs.Session]:
    a0, hello_a = hs.start(a, chain_a, hs.Role.INITIATOR)
    b0, hello_b = hs.start(b, chain_b, hs.Role.RESPONDER)
    a1, auth_a = hs.authenticate(a0, hello_b)
    b1, auth_b = hs.authenticate(b0, hello_a)
    return hs.finish(a1, auth_b, allowed), hs.finish(b1, auth_a, allowed)


def test_both_sides_derive_matching_directional_keys() -> None:
    alice, bob = run()
    assert alice.peer_public_key == BOB.public_key
    assert bob.peer_public_key == ALICE.public_key
    assert alice.send_key == bob.recv_key
    assert alice.recv_key == bob.send_key
    assert alice.send_key != alice.recv_key
    assert alice.transcript_hash == bob.transcript_hash


def test_fresh_ephemeral_keys_give_fresh_session_keys() -> None:
    first, _ = run()
    second, _ = run()
    assert first.send_key != second.send_key


def test_different_chain_id_fails() -> None:
    with pytest.raises(HandshakeFailed, match="chain id"):
        run(chain_b=b"another-chain")


def test_unknown_key_is_refused_inside_finish() -> None:
    with pytest.raises(PeerNotAllowed) as info:
        run(a=MALLORY)
    assert info.value.public_key == MALLORY.public_key
    assert isinstance(info.value, RemoteProtocolError)


def _exchange_until_auth() -> tuple[hs.Authenticating, bytes, bytes]:
    """Returns Alice's state, Bob's HELLO and Bob's AUTH."""
    a0, hello_a = hs.start(ALICE, CHAIN, hs.Role.INITIATOR)
    b0, hello_b = hs.start(BOB, CHAIN, hs.Role.RESPONDER)
    a1, _ = hs.authenticate(a0, hello_b)
    _, auth_b = hs.authenticate(b0, hello_a)
    return a1, hello_b, auth_b


@pytest.mark.parametrize("index", [0, 40, hs.AUTH_BYTES - 1])
def test_tampered_auth_fails(index: int) -> None:
    a1, _, auth_b = _exchange_until_auth()
    tampered = bytearray(auth_b)
    tampered[index] ^= 0x01
    with pytest.raises(HandshakeFailed):
        hs.finish(a1, bytes(tampered), allowed)


def test_tampered_transcript_fails() -> None:
    """A man in the middle swapping Bob's ephemeral key breaks the transcript."""
    a0, _ = hs.start(ALICE, CHAIN, hs.Role.INITIATOR)
    b0, _ = hs.start(BOB, CHAIN, hs.Role.RESPONDER)
    _, hello_m = hs.start(MALLORY, CHAIN, hs.Role.RESPONDER)
    a1, _ = hs.authenticate(a0, hello_m)  # Alice sees Mallory's ephemeral key
    _, hello_a = hs.start(ALICE, CHAIN, hs.Role.INITIATOR)
    _, auth_b = hs.authenticate(b0, hello_a)  # Bob authenticates a different transcript
    with pytest.raises(HandshakeFailed):
        hs.finish(a1, auth_b, allowed)


def test_wrong_signature_fails() -> None:
    """Correctly encrypted AUTH whose signature is by another key than the one claimed."""
    a0, hello_a = hs.start(ALICE, CHAIN, hs.Role.INITIATOR)
    b0, hello_b = hs.start(BOB, CHAIN, hs.Role.RESPONDER)
    a1, _ = hs.authenticate(a0, hello_b)
    # Bob signs with Mallory's key but claims to be Bob.
    impostor = hs.Identity(MALLORY.signing_key, BOB.public_key)
    impostor_state = hs.Started(
        impostor, CHAIN, hs.Role.RESPONDER, b0.ephemeral, b0.ephemeral_public
    )
    _, forged_auth = hs.authenticate(impostor_state, hello_a)
    with pytest.raises(HandshakeFailed, match="signature"):
        hs.finish(a1, forged_auth, allowed)


def test_signature_for_the_other_role_fails() -> None:
    """Both sides claiming the same role (e.g. a reflected AUTH) must not verify."""
    a0, hello_a = hs.start(ALICE, CHAIN, hs.Role.INITIATOR)
    b0, hello_b = hs.start(BOB, CHAIN, hs.Role.INITIATOR)
    a1, _ = hs.authenticate(a0, hello_b)
    _, auth_b = hs.authenticate(b0, hello_a)
    with pytest.raises(HandshakeFailed):
        hs.finish(a1, auth_b, allowed)


@pytest.mark.parametrize("point", LOW_ORDER_POINTS, ids=lambda p: p.hex()[:8])
def test_low_order_point_is_refused(point: bytes) -> None:
    a0, _ = hs.start(ALICE, CHAIN, hs.Role.INITIATOR)
    with pytest.raises(HandshakeFailed, match="low-order"):
        hs.authenticate(a0, hs.HELLO_MAGIC + point)


def test_reflected_hello_is_refused() -> None:
    a0, hello_a = hs.start(ALICE, CHAIN, hs.Role.INITIATOR)
    with pytest.raises(HandshakeFailed, match="reflection"):
        hs.authenticate(a0, hello_a)


@pytest.mark.parametrize(
    "hello",
    [b"", b"SNM\x01", b"HTTP/1.1 200 OK\r\n" + bytes(19), b"SNM\x02" + bytes(range(32))],
)
def test_malformed_hello_is_refused(hello: bytes) -> None:
    a0, _ = hs.start(ALICE, CHAIN, hs.Role.INITIATOR)
    with pytest.raises(HandshakeFailed):
        hs.authenticate(a0, hello)


@pytest.mark.parametrize("auth", [b"", bytes(hs.AUTH_BYTES - 1), bytes(hs.AUTH_BYTES + 1)])
def test_wrong_length_auth_is_refused(auth: bytes) -> None:
    a1, _, _ = _exchange_until_auth()
    with pytest.raises(HandshakeFailed):
        hs.finish(a1, auth, allowed)


def test_deterministic_ephemeral_keys_give_reproducible_sessions() -> None:
    """With injected ephemeral keys the whole handshake is a pure function."""
    eph_a = X25519PrivateKey.from_private_bytes(bytes([7]) * 32)
    eph_b = X25519PrivateKey.from_private_bytes(bytes([8]) * 32)
    results = []
    for _ in range(2):
        a0, hello_a = hs.start(ALICE, CHAIN, hs.Role.INITIATOR, eph_a)
        b0, hello_b = hs.start(BOB, CHAIN, hs.Role.RESPONDER, eph_b)
        a1, _ = hs.authenticate(a0, hello_b)
        _, auth_b = hs.authenticate(b0, hello_a)
        results.append(hs.finish(a1, auth_b, allowed))
    assert results[0] == results[1]


def test_bad_local_inputs_are_local_errors() -> None:
    with pytest.raises(P2PError):
        hs.Identity.from_seed(b"short")
    with pytest.raises(P2PError):
        hs.start(ALICE, b"", hs.Role.INITIATOR)


def test_a_forged_auth_for_a_key_nobody_holds_is_refused_every_time() -> None:
    """A member listed with the all-zero key (a placeholder in a draft members file): the
    neutral point as R and S = 0 verified under OpenSSL about one time in four, and an
    outsider connected as that member. libsodium, as the ledger checks, refuses it."""
    zero = bytes(32)
    forged_signature = bytes([1]) + bytes(31) + bytes(32)  # R = the neutral point, S = 0
    for _ in range(40):  # each a new transcript: under OpenSSL ~10 of them were taken
        a0, _ = hs.start(ALICE, CHAIN, hs.Role.INITIATOR)
        b0, hello_b = hs.start(MALLORY, CHAIN, hs.Role.RESPONDER)
        a1, _ = hs.authenticate(a0, hello_b)
        transcript = hs._transcript_hash(CHAIN, b0.ephemeral_public, a0.ephemeral_public)
        keys = hs._derive_keys(hs._shared_secret(b0.ephemeral, a0.ephemeral_public),
                               transcript)
        forged = ChaCha20Poly1305(keys[("handshake", hs.Role.RESPONDER)]).encrypt(
            bytes(12), zero + forged_signature, a1.transcript_hash)
        with pytest.raises(HandshakeFailed, match="signature"):
            hs.finish(a1, forged, lambda key: key in (*MEMBERS, zero))
