"""The payload of each transaction kind, as a typed value.

On the wire a payload is a msgpack array in a fixed order. This module is the
one place that turns such an array into a typed payload (checking every field)
and back: the ledger rules and everything else read named fields, never
positions. A builder checks a payload by the same decoder (`checked`), so what
a client may sign is exactly what a node may accept. The field checks live in
`ledger/payload_fields.py`, the payloads that change the consortium itself (keys,
evidence, governance) in `ledger/payloads_consortium.py`; this module holds the
rest, their union and the decoder by kind.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from ledger.codec import tagged_hash
from ledger.errors import MalformedInput, Unrecognised
from ledger.identity import MEMBER_ID_BYTES, PUBLIC_KEY_BYTES, MemberId
from ledger.payload_fields import (
    HASH_BYTES,
    MAX_HEIGHT,
    MAX_TEXT_CHARS,
    ROLES,
    WireValue,
    hashes_of,
    items_of,
    require_bytes,
    require_choice,
    require_int,
    require_text,
)
from ledger.payloads_consortium import (
    ACTION_ADD_MEMBER,
    ACTION_ADD_VALIDATOR,
    ACTION_REMOVE_VALIDATOR,
    ACTION_RETIRE_MEMBER,
    ACTION_SET_RULES_VERSION,
    ACTIONS,
    KIND_PROPOSE,
    KIND_REPORT_COMPROMISE,
    KIND_ROTATE_KEY,
    KIND_SUBMIT_EVIDENCE,
    KIND_VOTE,
    MAX_EVIDENCE_MESSAGE_BYTES,
    MEMBER_ACTIONS,
    MIN_PROPOSAL_LEAD_BLOCKS,
    AddMemberAction,
    GovernanceAction,
    MemberAction,
    ProposePayload,
    ReportCompromisePayload,
    RotateKeyPayload,
    RulesVersionAction,
    SubmitEvidencePayload,
    VotePayload,
    action_from_array,
)

_new_object = object.__new__
_set_attribute = object.__setattr__  # past the frozen dataclass's refusal, once

MAX_AUDIT_PATH = 64
MAX_BATCH_COUNT = 10_000_000

KIND_ADD_MEMBER = "add_member"
KIND_ACCREDIT = "accredit"
KIND_SUSPEND = "suspend"
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
SUSPENSION_REASONS: dict[str, str] = {
    "investigation": "under investigation",
    "licence_revoked": "licence revoked",
    "reorganisation": "reorganisation",
    "other": "another reason (the ministry keeps the details)",
}
NOTE_SALT_BYTES = 16
MAX_NOTE_CHARS = 2000


def note_hash(note: str, salt: bytes) -> bytes:
    """The salted hash of an off-chain note: shows the note existed, reveals nothing of it
    (the salt keeps a short or guessable note from being found by trying candidates)."""
    return tagged_hash(b"senim/note/v1", salt + note.encode())


def _optional_hash(value: WireValue, what: str) -> bytes | None:
    return None if value is None else require_bytes(value, what, HASH_BYTES)


@dataclass(frozen=True)
class AddMemberPayload:
    KIND: ClassVar[str] = KIND_ADD_MEMBER
    name: str
    role: str
    public_key: bytes

    def to_array(self) -> list[WireValue]:
        return [self.name, self.role, self.public_key]

    @classmethod
    def from_array(cls, value: WireValue) -> AddMemberPayload:
        name, role, public_key = items_of(value, 3, cls.KIND)
        return cls(require_text(name, "member name"), require_choice(role, ROLES, "role"),
                   require_bytes(public_key, "public key", PUBLIC_KEY_BYTES))


@dataclass(frozen=True)
class AccreditPayload:
    KIND: ClassVar[str] = KIND_ACCREDIT
    issuer: MemberId
    types: tuple[str, ...]
    not_before_ms: int
    not_after_ms: int

    def to_array(self) -> list[WireValue]:
        return [self.issuer, list(self.types), self.not_before_ms, self.not_after_ms]

    @classmethod
    def from_array(cls, value: WireValue) -> AccreditPayload:
        issuer, types, start, end = items_of(value, 4, cls.KIND)
        if not isinstance(types, list) or not types or len(types) > len(CREDENTIAL_TYPES):
            raise MalformedInput("credential types must be a non-empty list")
        checked_types = tuple(require_choice(t, CREDENTIAL_TYPES, "credential type")
                              for t in types)
        not_before = require_int(start, "accreditation start (ms)")
        not_after = require_int(end, "accreditation end (ms)")
        if not_after <= not_before:
            raise MalformedInput("accreditation must end after it starts")
        return cls(MemberId(require_bytes(issuer, "issuer", MEMBER_ID_BYTES)), checked_types,
                   not_before, not_after)


@dataclass(frozen=True)
class SuspendPayload:
    KIND: ClassVar[str] = KIND_SUSPEND
    issuer: MemberId
    reason: str

    def to_array(self) -> list[WireValue]:
        return [self.issuer, self.reason]

    @classmethod
    def from_array(cls, value: WireValue) -> SuspendPayload:
        issuer, reason = items_of(value, 2, cls.KIND)
        return cls(MemberId(require_bytes(issuer, "issuer", MEMBER_ID_BYTES)),
                   require_choice(reason, tuple(SUSPENSION_REASONS), "suspension reason"))


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
            raise MalformedInput("a credential cannot replace itself")
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


Payload = (AddMemberPayload | AccreditPayload | SuspendPayload | IssueBatchPayload
           | RevokePayload | AnchorPayload | EmploymentEndPayload | RotateKeyPayload
           | ReportCompromisePayload | SubmitEvidencePayload | ProposePayload | VotePayload)

_DECODERS: dict[str, Callable[[WireValue], Payload]] = {
    KIND_ADD_MEMBER: AddMemberPayload.from_array,
    KIND_ACCREDIT: AccreditPayload.from_array,
    KIND_SUSPEND: SuspendPayload.from_array,
    KIND_ISSUE_BATCH: IssueBatchPayload.from_array,
    KIND_REVOKE: RevokePayload.from_array,
    KIND_ANCHOR: AnchorPayload.from_array,
    KIND_EMPLOYMENT_END: EmploymentEndPayload.from_array,
    KIND_ROTATE_KEY: RotateKeyPayload.from_array,
    KIND_REPORT_COMPROMISE: ReportCompromisePayload.from_array,
    KIND_SUBMIT_EVIDENCE: SubmitEvidencePayload.from_array,
    KIND_PROPOSE: ProposePayload.from_array,
    KIND_VOTE: VotePayload.from_array,
}


def decode_payload(kind: str, value: WireValue) -> Payload:
    """The typed payload of a transaction of `kind`, every field checked."""
    decoder = _DECODERS.get(kind)
    if decoder is None:
        raise Unrecognised(f"unknown transaction kind {kind[:40]!r}")
    return decoder(value)


def checked(payload: Payload) -> Payload:
    """The payload as a node would decode it: refused exactly when a node would refuse it."""
    return decode_payload(payload.KIND, payload.to_array())


# What other modules import from here, including the fields and consortium payloads
# kept in their own modules.
__all__ = [
    "ACTIONS",
    "ACTION_ADD_MEMBER",
    "ACTION_ADD_VALIDATOR",
    "ACTION_REMOVE_VALIDATOR",
    "ACTION_RETIRE_MEMBER",
    "ACTION_SET_RULES_VERSION",
    "CREDENTIAL_TYPES",
    "HASH_BYTES",
    "KIND_ACCREDIT",
    "KIND_ADD_MEMBER",
    "KIND_ANCHOR",
    "KIND_EMPLOYMENT_END",
    "KIND_ISSUE_BATCH",
    "KIND_PROPOSE",
    "KIND_REPORT_COMPROMISE",
    "KIND_REVOKE",
    "KIND_ROTATE_KEY",
    "KIND_SUBMIT_EVIDENCE",
    "KIND_SUSPEND",
    "KIND_VOTE",
    "MAX_AUDIT_PATH",
    "MAX_BATCH_COUNT",
    "MAX_DAY_NUMBER",
    "MAX_EVIDENCE_MESSAGE_BYTES",
    "MAX_HEIGHT",
    "MAX_NOTE_CHARS",
    "MAX_TEXT_CHARS",
    "MEMBER_ACTIONS",
    "MIN_PROPOSAL_LEAD_BLOCKS",
    "NOTE_SALT_BYTES",
    "REASON_SUPERSEDED",
    "REVOCATION_REASONS",
    "ROLES",
    "SUSPENSION_REASONS",
    "_DECODERS",
    "AccreditPayload",
    "AddMemberAction",
    "AddMemberPayload",
    "AnchorPayload",
    "CredentialRef",
    "EmploymentEndPayload",
    "GovernanceAction",
    "IssueBatchPayload",
    "MemberAction",
    "Payload",
    "ProposePayload",
    "ReportCompromisePayload",
    "RevokePayload",
    "RotateKeyPayload",
    "RulesVersionAction",
    "SubmitEvidencePayload",
    "SuspendPayload",
    "VotePayload",
    "WireValue",
    "action_from_array",
    "checked",
    "decode_payload",
    "hashes_of",
    "items_of",
    "note_hash",
    "require_bytes",
    "require_choice",
    "require_int",
    "require_text",
]
