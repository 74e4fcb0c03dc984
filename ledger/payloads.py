"""The payload of each transaction kind, as a typed value.

On the wire a payload is a msgpack array in a fixed order. This module is the
one place that turns such an array into a typed payload (checking every field)
and back: the ledger rules and everything else read named fields, never
positions. A builder checks a payload by the same decoder (`checked`), so what
a client may sign is exactly what a node may accept. The field checks live in
`ledger/payload_fields.py`, the payloads about credentials (issue, revoke,
employment end, anchor) in `ledger/payloads_credentials.py`, the payloads that
change the consortium itself (keys, evidence, governance) in
`ledger/payloads_consortium.py`; this module holds the rest (membership,
accreditation and suspension), the union of all and the decoder by kind.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from ledger.errors import MalformedInput, Unrecognised
from ledger.identity import MEMBER_ID_BYTES, PUBLIC_KEY_BYTES, SIGNATURE_BYTES, MemberId
from ledger.payload_fields import (
    ROLES,
    WireValue,
    items_of,
    require_bytes,
    require_choice,
    require_int,
    require_text,
)
from ledger.payloads_consortium import (
    ACTION_ADD_MEMBER,
    ACTION_ADD_VALIDATOR,
    ACTION_CONFIRM_ADMISSION,
    ACTION_REMOVE_VALIDATOR,
    ACTION_REPLACE_KEY,
    ACTION_RETIRE_MEMBER,
    ACTION_REVOKE_CREDENTIAL,
    ACTION_REVOKE_CREDENTIALS,
    ACTION_SET_RULES_VERSION,
    ACTIONS,
    CONSORTIUM_REVOCATION_REASONS,
    KIND_PROPOSE,
    KIND_REPORT_COMPROMISE,
    KIND_ROTATE_KEY,
    KIND_SUBMIT_EVIDENCE,
    KIND_VOTE,
    MIN_PROPOSAL_LEAD_BLOCKS,
    AddMemberAction,
    ConfirmAdmissionAction,
    GovernanceAction,
    MemberAction,
    ProposePayload,
    ReplaceKeyAction,
    ReportCompromisePayload,
    RevokeCredentialAction,
    RevokeCredentialsAction,
    RotateKeyPayload,
    RulesVersionAction,
    SubmitEvidencePayload,
    VotePayload,
    action_from_array,
)
from ledger.payloads_credentials import (
    CREDENTIAL_TYPES,
    KIND_ANCHOR,
    KIND_EMPLOYMENT_END,
    KIND_ISSUE_BATCH,
    KIND_REVOKE,
    AnchorPayload,
    CredentialRef,
    EmploymentEndPayload,
    IssueBatchPayload,
    RevokePayload,
)

KIND_ADD_MEMBER = "add_member"
KIND_ACCREDIT = "accredit"
KIND_SUSPEND = "suspend"

# A code from a closed list, never free text, like a revocation's reason (see
# REVOCATION_REASONS in ledger/payloads_credentials.py for why).
SUSPENSION_REASONS: dict[str, str] = {
    "investigation": "under investigation",
    "licence_revoked": "licence revoked",
    "reorganisation": "reorganisation",
    # Said in parentheses after a suspension's height: no parentheses of its own.
    "other": "another reason, whose details the ministry keeps",
}


@dataclass(frozen=True)
class AddMemberPayload:
    """A ministry's own admission of a member. `possession_proof`: the new key's signature
    of `ledger.admission.admission_message`, required from rules version
    `ADMISSION_PROOF_FROM` and refused before it; a payload without one is the three items
    of every earlier block, which decode and execute as they did."""

    KIND: ClassVar[str] = KIND_ADD_MEMBER
    name: str
    role: str
    public_key: bytes
    possession_proof: bytes | None = None

    def to_array(self) -> list[WireValue]:
        proof: list[WireValue] = [] if self.possession_proof is None else [
            self.possession_proof]
        return [self.name, self.role, self.public_key, *proof]

    @classmethod
    def from_array(cls, value: WireValue) -> AddMemberPayload:
        arity = 4 if isinstance(value, list) and len(value) == 4 else 3
        name, role, public_key, *proof = items_of(value, arity, cls.KIND)
        return cls(require_text(name, "member name"), require_choice(role, ROLES, "role"),
                   require_bytes(public_key, "public key", PUBLIC_KEY_BYTES),
                   *(require_bytes(item, "proof of possession", SIGNATURE_BYTES)
                     for item in proof))


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


# What other modules import from here, including the fields and the consortium and
# credential payloads kept in their own modules. Every payload type is imported from
# here (nearly a hundred modules do); the few users of the credential payloads'
# constants and `note_hash` import those from ledger.payloads_credentials.
__all__ = [
    "ACTIONS",
    "ACTION_ADD_MEMBER",
    "ACTION_ADD_VALIDATOR",
    "ACTION_CONFIRM_ADMISSION",
    "ACTION_REMOVE_VALIDATOR",
    "ACTION_REPLACE_KEY",
    "ACTION_RETIRE_MEMBER",
    "ACTION_REVOKE_CREDENTIAL",
    "ACTION_REVOKE_CREDENTIALS",
    "ACTION_SET_RULES_VERSION",
    "CONSORTIUM_REVOCATION_REASONS",
    "KIND_ACCREDIT",
    "KIND_ADD_MEMBER",
    "KIND_SUSPEND",
    "MIN_PROPOSAL_LEAD_BLOCKS",
    "ROLES",
    "SUSPENSION_REASONS",
    "AccreditPayload",
    "AddMemberAction",
    "AddMemberPayload",
    "AnchorPayload",
    "ConfirmAdmissionAction",
    "CredentialRef",
    "EmploymentEndPayload",
    "GovernanceAction",
    "IssueBatchPayload",
    "MemberAction",
    "Payload",
    "ProposePayload",
    "ReplaceKeyAction",
    "ReportCompromisePayload",
    "RevokeCredentialAction",
    "RevokeCredentialsAction",
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
    "require_bytes",
    "require_int",
]
