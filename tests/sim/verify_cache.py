"""Ed25519 verification remembered across the simulated nodes of one process.

In the simulator every validator lives in one process, so a vote broadcast to
n - 1 peers, resent, duplicated by the network and then checked again inside
certificates is verified by libsodium about nine times over. Verification is a
pure function of (signed message, public key), so remembering each outcome,
bad signatures included, changes no result: every caller still calls
`verify_signature`, and a forgery still fails, because a forgery is a different
signed message. Only the repeated libsodium work goes; it was a third of a
seed's CPU.
"""

from collections.abc import Iterator
from contextlib import contextmanager

import nacl.bindings
import nacl.exceptions

MAX_REMEMBERED = 50_000
"""Outcomes kept at once (a seed verifies about 200 distinct signatures); then it starts over."""


@contextmanager
def remembered_verification() -> Iterator[None]:
    """Within the block, libsodium checks each distinct (signed message, key) once.

    Only a bad signature is remembered as such; any other error (a malformed key,
    say) is raised again on every call, exactly as before."""
    original = nacl.bindings.crypto_sign_open
    outcomes: dict[tuple[bytes, bytes], bytes | None] = {}

    def remembering_open(signed: bytes, pk: bytes) -> bytes:  # libsodium's names
        key = (signed, pk)
        if key in outcomes:
            outcome = outcomes[key]
        else:
            try:
                outcome = original(signed, pk)
            except nacl.exceptions.BadSignatureError:
                outcome = None
            if len(outcomes) >= MAX_REMEMBERED:
                outcomes.clear()
            outcomes[key] = outcome
        if outcome is None:
            raise nacl.exceptions.BadSignatureError("Signature was forged or corrupt")
        return outcome

    nacl.bindings.crypto_sign_open = remembering_open
    try:
        yield
    finally:
        nacl.bindings.crypto_sign_open = original
