"""The payloads by which members put their documents on record: issuing a batch of
credentials, revoking one of them, recording the end of an employment, and anchoring
a document's hash.

Kept apart from `ledger/payloads.py`, which holds who may do what (membership,
accreditation, suspension), the union of all payloads and the decoder by kind, and
from `ledger/payloads_consortium.py`, the payloads that change the consortium itself.
What belongs to these payloads alone is here with them: the closed list of revocation
reasons and the salted hash of an issuer's off-chain note. The credential types are
here too, since a batch is of one (an accreditation names some as well).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ledger.codec import tagged_hash
from ledger.errors import MalformedInput
from ledger.identity import MEMBER_ID_BYTES, MemberId
from ledger.payload_fields import (
    HASH_BYTES,
    WireValue,
    hashes_of,
    items_of,
    require_bytes,
    require_choice,
    require_int,
)

_new_object = object.__new__
_set_attribute = object.__setattr__  # past the frozen dataclass's refusal, once

MAX_AUDIT_PATH = 64
MAX_BATCH_COUNT = 10_000_000

KIND_ISSUE_BATCH = "issue_batch"
KIND_REVOKE = "revoke"
KIND_ANCHOR = "anchor"
KIND_EMPLOYMENT_END = "employment_end"

CREDENTIAL_TYPES = ("diploma", "certificate", "attestat", "transcript", "employment",
                    "recognition")
# Days since 1970-01-01; up to the year 2200, so a typo of a century is refused.
MAX_DAY_NUMBER = 84_000

# Reasons are codes from closed lists, never free text: whatever a registrar or a
# ministry types would be stored on every node for ever, and could be personal data.
# A note in words stays with the issuer; only its salted hash may go on chain.
REVOCATION_REASONS: dict[str, str] = {
    "issued_in_error": "issued in error",
    "superseded": "superseded by a corrected credential",
    "fraud": "fraud",
    "court_decision": "a court decision",
    "withdrawn_by_issuer": "withdrawn by the issuer",
    "other": "another reason (the issuer keeps the details)",
}
REASON_SUPERSEDED = "superseded"
NOTE_SALT_BYTES = 16
MAX_NOTE_CHARS = 2000


def note_hash(note: str, salt: bytes) -> bytes:
    """The salted hash of an off-chain note: shows the note existed, reveals nothing of it
    (the salt keeps a short or guessable note from being found by trying candidates)."""
    return tagged_hash(b"senim/note/v1", salt + note.encode())


def _optional_hash(value: WireValue, what: str) -> bytes | None:
    return None if value is None else require_bytes(value, what, HASH_BYTES)


@dataclass(frozen=True)
class IssueBatchPayload:
    KIND: ClassVar[str] = KIND_ISSUE_BATCH
    credential_type: str
    root: bytes
    count: int

    def to_array(self) -> list[WireValue]:
        return [self.credential_type, self.root, self.count]

    @classmethod
    def from_array(cls, value: WireValue) -> IssueBatchPayload:
        # Decoded once per issued batch at every node: a well-formed one is checked in
        # one expression and built past the frozen dataclass's __init__ (a call per
        # field); anything else is checked field by field, which says what is wrong.
        if type(value) is list and len(value) == 3:
            ctype, root, count = value
            if (type(ctype) is str and ctype in CREDENTIAL_TYPES and type(root) is bytes
                    and len(root) == HASH_BYTES and type(count) is int
                    and 1 <= count <= MAX_BATCH_COUNT):
                payload: IssueBatchPayload = _new_object(cls)
                _set_attribute(payload, "__dict__", {
                    "credential_type": ctype, "root": root, "count": count})
                return payload
        return cls.checked_from_array(value)

    @classmethod
    def checked_from_array(cls, value: WireValue) -> IssueBatchPayload:
        ctype, root, count = items_of(value, 3, cls.KIND)
        return cls(require_choice(ctype, CREDENTIAL_TYPES, "credential type"),
                   require_bytes(root, "batch root", HASH_BYTES),
                   require_int(count, "credential count", 1, MAX_BATCH_COUNT))


@dataclass(frozen=True)
class CredentialRef:
    """One credential of one of the sender's batches, with the proof that it is in it."""

    batch_root: bytes
    target_hash: bytes
    index: int
    path: tuple[bytes, ...]

    def to_array(self) -> list[WireValue]:
        return [self.batch_root, self.target_hash, self.index, list(self.path)]

    @classmethod
    def from_array(cls, value: WireValue, what: str) -> CredentialRef:
        root, target, index, path = items_of(value, 4, what)
        return cls(require_bytes(root, f"{what} batch root", HASH_BYTES),
                   require_bytes(target, f"{what} credential hash", HASH_BYTES),
                   require_int(index, f"{what} leaf index", 0, MAX_BATCH_COUNT),
                   hashes_of(path, f"{what} audit path", MAX_AUDIT_PATH))


@dataclass(frozen=True)
class RevokePayload:
    """Revoke `credential` for a coded `reason`. `note_hash` is the salted hash of the
    issuer's off-chain note, if any. A credential superseded by a corrected one names
    its replacement (another credential of the same issuer) in `replaced_by`."""

    KIND: ClassVar[str] = KIND_REVOKE
    credential: CredentialRef
    reason: str
    note_hash: bytes | None = None
    replaced_by: CredentialRef | None = None

    def to_array(self) -> list[WireValue]:
        return [*self.credential.to_array(), self.reason, self.note_hash,
                None if self.replaced_by is None else self.replaced_by.to_array()]

    @classmethod
    def from_array(cls, value: WireValue) -> RevokePayload:
        root, target, index, path, reason, note, replaced_by = items_of(value, 7, cls.KIND)
        payload = cls(CredentialRef.from_array([root, target, index, path], "revoked"),
                      require_choice(reason, tuple(REVOCATION_REASONS), "revocation reason"),
                      _optional_hash(note, "note hash"),
                      None if replaced_by is None
                      else CredentialRef.from_array(replaced_by, "replacement"))
        if (payload.reason == REASON_SUPERSEDED) != (payload.replaced_by is not None):
            raise MalformedInput("a revocation names a replacement exactly when its reason "
                                 f"is {REASON_SUPERSEDED}")
        if payload.replaced_by is not None and (
                payload.replaced_by.target_hash == payload.credential.target_hash):
            raise MalformedInput("a credential cannot replace itself", "replaces_itself")
        return payload


@dataclass(frozen=True)
class AnchorPayload:
    KIND: ClassVar[str] = KIND_ANCHOR
    document_hash: bytes

    def to_array(self) -> list[WireValue]:
        return [self.document_hash]

    @classmethod
    def from_array(cls, value: WireValue) -> AnchorPayload:
        (document_hash,) = items_of(value, 1, cls.KIND)
        return cls(require_bytes(document_hash, "document hash", HASH_BYTES))


@dataclass(frozen=True)
class EmploymentEndPayload:
    """An employer records that an employment it issued ended on `end_day`.

    Names the record by issuer, batch root and credential hash (with the audit path
    proving it is in the batch) and gives the start and end as day numbers (days since
    1970-01-01, UTC), so the ledger can refuse an end before the start. Nothing else:
    no name, no position, nothing a person could be found by."""

    KIND: ClassVar[str] = KIND_EMPLOYMENT_END
    issuer: MemberId
    credential: CredentialRef
    start_day: int
    end_day: int

    def to_array(self) -> list[WireValue]:
        return [self.issuer, self.credential.to_array(), self.start_day, self.end_day]

    @classmethod
    def from_array(cls, value: WireValue) -> EmploymentEndPayload:
        issuer, credential, start_day, end_day = items_of(value, 4, cls.KIND)
        return cls(MemberId(require_bytes(issuer, "issuer", MEMBER_ID_BYTES)),
                   CredentialRef.from_array(credential, "employment record"),
                   require_int(start_day, "start day", 0, MAX_DAY_NUMBER),
                   require_int(end_day, "end day", 0, MAX_DAY_NUMBER))
