"""The simulator's remembered verification gives libsodium's answers, forgeries included."""

import nacl.bindings

from ledger.identity import KeyPair, verify_signature
from tests.sim.verify_cache import remembered_verification


def test_remembered_outcomes_match_libsodium() -> None:
    signer = KeyPair.from_seed(b"s" * 32)
    other = KeyPair.from_seed(b"o" * 32)
    signature = signer.sign_raw(b"vote")
    forged = bytes([signature[0] ^ 1]) + signature[1:]
    with remembered_verification():
        for _ in range(2):  # the second round answers from what was remembered
            assert verify_signature(signer.public_key, b"vote", signature)
            assert not verify_signature(signer.public_key, b"vote", forged)
            assert not verify_signature(signer.public_key, b"other vote", signature)
            assert not verify_signature(other.public_key, b"vote", signature)
            assert not verify_signature(b"\x00" * 32, b"vote", signature)  # not a point


def test_libsodium_is_put_back() -> None:
    original = nacl.bindings.crypto_sign_open
    with remembered_verification():
        assert nacl.bindings.crypto_sign_open is not original
    assert nacl.bindings.crypto_sign_open is original
