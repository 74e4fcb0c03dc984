"""Commit certificates: the 2f+1 commit signatures that make a block final.

A certificate is exactly the collected signatures of Commit messages, so the
node can store it with the block and anyone holding the validator set (a
lagging node, a light client, an offline credential verifier) can check it
with `verify_certificate` alone. Each commit carries its signer's clock
reading (`time_ms`, signed with the vote): the node derives the next block's
time from a certificate's readings (BFT time), so no single primary picks it.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from consensus.codec import (
    MAX_UINT,
    as_bytes,
    as_list,
    as_uint,
    encode_commit_fields,
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

Clock = Callable[[], int]
"""The driver's wall clock in milliseconds since the epoch (stamped on commit votes)."""


class CommitSignature(NamedTuple):
    """One validator's signed commit vote: its clock reading is part of what it signed."""

    validator: ValidatorId
    time_ms: int
    signature: bytes


@dataclass(frozen=True)
class CommitCertificate:
    """Proof that `digest` committed at `height`: commit votes sorted by validator id."""

    height: Height
    view: View
    digest: Digest
    signatures: tuple[CommitSignature, ...]

    @property
    def vote_times(self) -> tuple[int, ...]:
        """The signers' clock readings, in signer order."""
        return tuple(vote.time_ms for vote in self.signatures)


def commit_signing_bytes(chain_id: bytes, height: Height, view: View, digest: Digest,
                         time_ms: int) -> bytes:
    """The bytes a validator signs in its Commit message (and so in the certificate)."""
    return signing_bytes(chain_id, encode_commit_fields(view, height, digest, time_ms))


def commit_signing_prefix(chain_id: bytes, height: Height, view: View, digest: Digest) -> bytes:
    """What every signer of one commit signs before its own time: `commit_signing_bytes`
    is this followed by `pack(time_ms)` (the time is the message's last field, and a
    msgpack array is the encodings of its items in turn; 0 packs as one byte)."""
    return commit_signing_bytes(chain_id, height, view, digest, 0)[:-1]


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
        signers: set[ValidatorId] = set()
        prefix = commit_signing_prefix(chain_id, cert.height, cert.view, cert.digest)
        for validator, time_ms, signature in cert.signatures:
            if validator in signers or validator not in members:
                return False
            if not verifier(validator, prefix + pack(time_ms), signature):
                return False
            signers.add(validator)
        return len(signers) >= quorum_size(len(validators))
    except Exception:  # "never raises on junk" is the contract offline verifiers rely on
        return False


def certificate_to_fields(cert: CommitCertificate) -> list[object]:
    votes = [[validator, time_ms, signature] for validator, time_ms, signature in cert.signatures]
    return [cert.height, cert.view, cert.digest, votes]


def certificate_from_fields(value: object) -> CommitCertificate:
    # Every block fetched by sync carries a certificate: a well-formed one is taken by
    # type and size tests alone, and only one that is not goes through the checks that
    # say why.
    cert = _well_formed(value)
    return cert if cert is not None else _checked_fields(value)


def _well_formed(value: object) -> CommitCertificate | None:
    """The certificate `value` holds if it passes `_checked_fields` with exact types,
    else None."""
    if type(value) is not list or len(value) != 4:
        return None
    height, view, digest, votes = value
    if not (type(height) is int and 0 <= height <= MAX_UINT and type(view) is int
            and 0 <= view <= MAX_UINT and type(digest) is bytes and len(digest) == DIGEST_BYTES
            and type(votes) is list and len(votes) <= MAX_VALIDATORS):
        return None
    signatures: list[CommitSignature] = []
    previous = b""  # below every id (an id has at least one byte)
    for vote in votes:
        if type(vote) is not list or len(vote) != 3:
            return None
        validator, time_ms, signature = vote
        if not (type(validator) is bytes and 1 <= len(validator) <= MAX_VALIDATOR_ID_BYTES
                and validator > previous and type(time_ms) is int and 0 <= time_ms <= MAX_UINT
                and type(signature) is bytes and 1 <= len(signature) <= MAX_SIGNATURE_BYTES):
            return None
        signatures.append(CommitSignature(ValidatorId(validator), time_ms, signature))
        previous = validator
    return CommitCertificate(Height(height), View(view), Digest(digest), tuple(signatures))


def _checked_fields(value: object) -> CommitCertificate:
    fields = as_list(value, "certificate", length=4)
    height = Height(as_uint(fields[0], "certificate height"))
    view = View(as_uint(fields[1], "certificate view"))
    digest = Digest(as_bytes(fields[2], "certificate digest", DIGEST_BYTES, DIGEST_BYTES))
    raw_votes = as_list(fields[3], "certificate signatures", max_length=MAX_VALIDATORS)
    signatures: list[CommitSignature] = []
    for raw in raw_votes:
        vote = as_list(raw, "certificate signature", length=3)
        validator = ValidatorId(as_bytes(vote[0], "signer id", 1, MAX_VALIDATOR_ID_BYTES))
        time_ms = as_uint(vote[1], "vote time")
        signature = as_bytes(vote[2], "signature", 1, MAX_SIGNATURE_BYTES)
        if signatures and validator <= signatures[-1].validator:
            fail("certificate signatures must be sorted by validator id, without repeats")
        signatures.append(CommitSignature(validator, time_ms, signature))
    return CommitCertificate(height, view, digest, tuple(signatures))


def encode_certificate(cert: CommitCertificate) -> bytes:
    return pack(certificate_to_fields(cert))


def decode_certificate(data: bytes) -> CommitCertificate:
    """Decode a certificate; raises MalformedMessage (remote fault) on any malformed input."""
    return certificate_from_fields(unpack_canonical(data, "certificate"))


def make_certificate(
    height: Height, view: View, digest: Digest, votes: dict[ValidatorId, tuple[int, bytes]]
) -> CommitCertificate:
    """Build the canonical certificate from {validator: (time_ms, signature)}, sorted by id."""
    signatures = (CommitSignature(v, time_ms, sig) for v, (time_ms, sig) in sorted(votes.items()))
    return CommitCertificate(height, view, digest, tuple(signatures))
