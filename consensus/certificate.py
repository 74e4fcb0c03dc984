"""Commit certificates: the 2f+1 commit signatures that make a block final.

A certificate is exactly the collected signatures of Commit messages, so the
node can store it with the block and anyone holding the validator set (a
lagging node, a light client, an offline credential verifier) can check it
with `verify_certificate` alone.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from consensus.codec import (
    Kind,
    as_bytes,
    as_list,
    as_uint,
    encode_vote_fields,
    fail,
    pack,
    signing_bytes,
    unpack_canonical,
)
from consensus.config import MAX_SIGNATURE_BYTES, MAX_VALIDATOR_ID_BYTES, MAX_VALIDATORS
from consensus.quorum import quorum_size
from consensus.types import DIGEST_BYTES, Digest, Height, ValidatorId, View

Signer = Callable[[bytes], bytes]
"""Signs bytes with this replica's key (the node plugs in Ed25519)."""

Verifier = Callable[[ValidatorId, bytes, bytes], bool]
"""verifier(validator, signed_bytes, signature) -> whether the signature is valid."""


@dataclass(frozen=True)
class CommitCertificate:
    """Proof that `digest` committed at `height`: commit signatures sorted by validator id."""

    height: Height
    view: View
    digest: Digest
    signatures: tuple[tuple[ValidatorId, bytes], ...]


def commit_signing_bytes(chain_id: bytes, height: Height, view: View, digest: Digest) -> bytes:
    """The bytes each validator signs in its Commit message (and so in the certificate)."""
    return signing_bytes(chain_id, encode_vote_fields(Kind.COMMIT, view, height, digest))


def verify_certificate(
    cert: CommitCertificate,
    chain_id: bytes,
    validators: Sequence[ValidatorId],
    verifier: Verifier,
) -> bool:
    """True when a quorum of distinct members of `validators` validly signed the commit.

    Pure, and never raises: junk of any shape (or a verifier that raises on a
    malformed signature) simply yields False.
    """
    try:
        if not isinstance(cert, CommitCertificate) or len(cert.digest) != DIGEST_BYTES:
            return False
        members = set(validators)
        message = commit_signing_bytes(chain_id, cert.height, cert.view, cert.digest)
        signers: set[ValidatorId] = set()
        for validator, signature in cert.signatures:
            if validator in signers or validator not in members:
                return False
            if not verifier(validator, message, signature):
                return False
            signers.add(validator)
        return len(signers) >= quorum_size(len(validators))
    except Exception:  # "never raises on junk" is the contract offline verifiers rely on
        return False


def certificate_to_fields(cert: CommitCertificate) -> list[object]:
    pairs = [[validator, signature] for validator, signature in cert.signatures]
    return [cert.height, cert.view, cert.digest, pairs]


def certificate_from_fields(value: object) -> CommitCertificate:
    fields = as_list(value, "certificate", length=4)
    height = Height(as_uint(fields[0], "certificate height"))
    view = View(as_uint(fields[1], "certificate view"))
    digest = Digest(as_bytes(fields[2], "certificate digest", DIGEST_BYTES, DIGEST_BYTES))
    raw_pairs = as_list(fields[3], "certificate signatures", max_length=MAX_VALIDATORS)
    signatures: list[tuple[ValidatorId, bytes]] = []
    for raw in raw_pairs:
        pair = as_list(raw, "certificate signature", length=2)
        validator = ValidatorId(as_bytes(pair[0], "signer id", 1, MAX_VALIDATOR_ID_BYTES))
        signature = as_bytes(pair[1], "signature", 1, MAX_SIGNATURE_BYTES)
        if signatures and validator <= signatures[-1][0]:
            fail("certificate signatures must be sorted by validator id, without repeats")
        signatures.append((validator, signature))
    return CommitCertificate(height, view, digest, tuple(signatures))


def encode_certificate(cert: CommitCertificate) -> bytes:
    return pack(certificate_to_fields(cert))


def decode_certificate(data: bytes) -> CommitCertificate:
    """Decode a certificate; raises MalformedMessage (remote fault) on any malformed input."""
    return certificate_from_fields(unpack_canonical(data, "certificate"))


def make_certificate(
    height: Height, view: View, digest: Digest, signatures: dict[ValidatorId, bytes]
) -> CommitCertificate:
    """Build the canonical certificate (signatures sorted by validator id)."""
    return CommitCertificate(height, view, digest, tuple(sorted(signatures.items())))
