"""Cheap deterministic signatures for the simulator: HMAC-SHA256 with a per-validator secret.

Fast enough for hundreds of seeds, and still unforgeable inside the simulation:
a Byzantine replica only holds its own secret, so anything it signs as someone
else fails verification, exactly as with Ed25519.
"""

import hashlib
import hmac

from consensus import Signer, ValidatorId


def validator_ids(count: int) -> tuple[ValidatorId, ...]:
    return tuple(ValidatorId(hashlib.sha256(b"sim-validator-%d" % i).digest()[:20])
                 for i in range(count))


def secret_for(validator: ValidatorId) -> bytes:
    return hashlib.sha256(b"sim-secret" + validator).digest()


def make_signer(validator: ValidatorId) -> Signer:
    secret = secret_for(validator)
    return lambda data: hmac.new(secret, data, hashlib.sha256).digest()


def verify(validator: ValidatorId, data: bytes, signature: bytes) -> bool:
    expected = hmac.new(secret_for(validator), data, hashlib.sha256).digest()
    return hmac.compare_digest(expected, signature)
