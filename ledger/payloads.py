"""The payload of each transaction kind, as a typed value.

On the wire a payload is a msgpack array in a fixed order. This module is the
one place that turns such an array into a typed payload (checking every field)
and back: the ledger rules and everything else read named fields, never
positions. A builder checks a payload by the same decoder (`checked`), so what
a client may sign is exactly what a node may accept.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from ledger.codec import tagged_hash
from ledger.errors import MalformedInput
from ledger.identity import MEMBER_ID_BYTES, PUBLIC_KEY_BYTES, SIGNATURE_BYTES, MemberId

MAX_TEXT_CHARS = 200
MAX_AUDIT_PATH = 64
MAX_BATCH_COUNT = 10_000_000
HASH_BYTES = 32

KIND_ADD_MEMBER = "add_member"
KIND_ACCREDIT = "accredit"
KIND_SUSPEND = "suspend"
KIND_ISSUE_BATCH = "issue_batch"
KIND_REVOKE = "revoke"
KIND_ANCHOR = "anchor"
KIND_EMPLOYMENT_END = "employment_end"
KIND_ROTATE_KEY = "rotate_key"
KIND_REPORT_COMPROMISE = "report_compromise"
KIND_SUBMIT_EVIDENCE = "submit_evidence"
# One signed consensus message of a piece of evidence. Conflicting votes are a few
# hundred bytes; two conflicting proposals with full blocks do not fit a transaction.
MAX_EVIDENCE_MESSAGE_BYTES = 24 * 1024
MAX_HEIGHT = 2**63 - 1
KIND_PROPOSE = "propose"
KIND_VOTE = "vote"

ACTION_ADD_MEMBER = "add_member"
ACTION_RETIRE_MEMBER = "retire_member"
ACTION_ADD_VALIDATOR = "add_validator"
ACTION_REMOVE_VALIDATOR = "remove_validator"
# A proposal's last vote must land at least this many blocks before its effective
# height: the validator set of height h + 1 is then fixed once block h - 1 is
# committed, so every replica knows who certifies the next block before entering it.
MIN_PROPOSAL_LEAD_BLOCKS = 2

CREDENTIAL_TYPES = ("diploma", "certificate", "attestat", "transcript", "employment",
                    "recognition")
# Days since 1970-01-01; up to the year 2200, so a typo of a century is refused.
MAX_DAY_NUMBER = 84_000
ROLES = ("ministry", "university", "school", "employer")

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

WireValue = object  # a decoded msgpack value, not yet checked


def require_text(value: WireValue, what: str, max_chars: int = MAX_TEXT_CHARS) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > max_chars:
        raise MalformedInput(f"{what} must be non-empty text of at most {max_chars} characters")
    return value


def require_bytes(value: WireValue, what: str, size: int) -> bytes:
    if not isinstance(value, bytes) or len(value) != size:
        raise MalformedInput(f"{what} must be {size} bytes")
    return value


def require_int(value: WireValue, what: str, low: int = 0, high: int = 2**63 - 1) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise MalformedInput(f"{what} must be an integer in [{low}, {high}]")
    return value


def require_choice(value: WireValue, choices: tuple[str, ...], what: str) -> str:
    if not isinstance(value, str) or value not in choices:
        raise MalformedInput(f"{what} must be one of {', '.join(choices)}")
    return value


def note_hash(note: str, salt: bytes) -> bytes:
    """The salted hash of an off-chain note: shows the note existed, reveals nothing of it
    (the salt keeps a short or guessable note from being found by trying candidates)."""
    return tagged_hash(b"senim/note/v1", salt + note.encode())


def _optional_hash(value: WireValue, what: str) -> bytes | None:
    return None if value is None else require_bytes(value, what, HASH_BYTES)


def _items(value: WireValue, arity: int, kind: str) -> list[WireValue]:
    if not isinstance(value, list) or len(value) != arity:
        raise MalformedInput(f"{kind} payload must be an array of {arity} items")
    return list(value)


def _hashes(value: WireValue, what: str, max_items: int) -> tuple[bytes, ...]:
    if not isinstance(value, list) or len(value) > max_items:
        raise MalformedInput(f"{what} must be a list of at most {max_items} hashes")
    return tuple(require_bytes(item, f"{what} entry", HASH_BYTES) for item in value)


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
        name, role, public_key = _items(value, 3, cls.KIND)
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
        issuer, types, start, end = _items(value, 4, cls.KIND)
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
        issuer, reason = _items(value, 2, cls.KIND)
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
        ctype, root, count = _items(value, 3, cls.KIND)
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
        root, target, index, path = _items(value, 4, what)
        return cls(require_bytes(root, f"{what} batch root", HASH_BYTES),
                   require_bytes(target, f"{what} credential hash", HASH_BYTES),
                   require_int(index, f"{what} leaf index", 0, MAX_BATCH_COUNT),
                   _hashes(path, f"{what} audit path", MAX_AUDIT_PATH))


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
        root, target, index, path, reason, note, replaced_by = _items(value, 7, cls.KIND)
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
        (document_hash,) = _items(value, 1, cls.KIND)
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
        issuer, credential, start_day, end_day = _items(value, 4, cls.KIND)
        return cls(MemberId(require_bytes(issuer, "issuer", MEMBER_ID_BYTES)),
                   CredentialRef.from_array(credential, "employment record"),
                   require_int(start_day, "start day", 0, MAX_DAY_NUMBER),
                   require_int(end_day, "end day", 0, MAX_DAY_NUMBER))


@dataclass(frozen=True)
class RotateKeyPayload:
    """The sender (signing with its current key) moves to `new_public_key`. The
    `possession_proof` is the new key's signature over the chain id, the member id and
    the new key (`ledger.key_events.possession_message`): no one can take on a key it
    does not hold, or another member's key."""

    KIND: ClassVar[str] = KIND_ROTATE_KEY
    new_public_key: bytes
    possession_proof: bytes

    def to_array(self) -> list[WireValue]:
        return [self.new_public_key, self.possession_proof]

    @classmethod
    def from_array(cls, value: WireValue) -> RotateKeyPayload:
        new_key, proof = _items(value, 2, cls.KIND)
        return cls(require_bytes(new_key, "new public key", PUBLIC_KEY_BYTES),
                   require_bytes(proof, "proof of possession", SIGNATURE_BYTES))


@dataclass(frozen=True)
class ReportCompromisePayload:
    """The sender's earlier key `public_key` was stolen: its signatures from `from_height`
    on are not trusted (credentials it signed before that height stay valid)."""

    KIND: ClassVar[str] = KIND_REPORT_COMPROMISE
    public_key: bytes
    from_height: int

    def to_array(self) -> list[WireValue]:
        return [self.public_key, self.from_height]

    @classmethod
    def from_array(cls, value: WireValue) -> ReportCompromisePayload:
        public_key, from_height = _items(value, 2, cls.KIND)
        return cls(require_bytes(public_key, "compromised public key", PUBLIC_KEY_BYTES),
                   require_int(from_height, "first untrusted height", 1, MAX_HEIGHT))


@dataclass(frozen=True)
class SubmitEvidencePayload:
    """Two signed consensus messages of one validator that conflict (same height, view
    and kind, different content), as the validator's peers received them."""

    KIND: ClassVar[str] = KIND_SUBMIT_EVIDENCE
    first: bytes
    second: bytes

    def to_array(self) -> list[WireValue]:
        return [self.first, self.second]

    @classmethod
    def from_array(cls, value: WireValue) -> SubmitEvidencePayload:
        first, second = _items(value, 2, cls.KIND)
        for message, what in ((first, "first"), (second, "second")):
            if (not isinstance(message, bytes) or not message
                    or len(message) > MAX_EVIDENCE_MESSAGE_BYTES):
                raise MalformedInput(f"{what} evidence message must be 1 to "
                                     f"{MAX_EVIDENCE_MESSAGE_BYTES} bytes")
        assert isinstance(first, bytes) and isinstance(second, bytes)
        if first == second:
            raise MalformedInput("the two evidence messages are the same message")
        return cls(first, second)


@dataclass(frozen=True)
class AddMemberAction:
    """Governance: admit a member (full member from the effective height)."""

    action: ClassVar[str] = ACTION_ADD_MEMBER
    name: str
    role: str
    public_key: bytes

    def to_array(self) -> list[WireValue]:
        return [self.action, self.name, self.role, self.public_key]


@dataclass(frozen=True)
class MemberAction:
    """Governance: retire a member, or add it to / remove it from the validator set."""

    action: str  # one of MEMBER_ACTIONS
    member: MemberId

    def to_array(self) -> list[WireValue]:
        return [self.action, self.member]


GovernanceAction = AddMemberAction | MemberAction
MEMBER_ACTIONS = (ACTION_RETIRE_MEMBER, ACTION_ADD_VALIDATOR, ACTION_REMOVE_VALIDATOR)
ACTIONS = (ACTION_ADD_MEMBER, *MEMBER_ACTIONS)


def action_from_array(value: WireValue) -> GovernanceAction:
    if not isinstance(value, list) or not value:
        raise MalformedInput("a governance action must be a non-empty array")
    action = require_choice(value[0], ACTIONS, "governance action")
    if action == ACTION_ADD_MEMBER:
        _, name, role, public_key = _items(value, 4, action)
        return AddMemberAction(require_text(name, "member name"),
                               require_choice(role, ROLES, "role"),
                               require_bytes(public_key, "public key", PUBLIC_KEY_BYTES))
    _, member = _items(value, 2, action)
    return MemberAction(action, MemberId(require_bytes(member, "member", MEMBER_ID_BYTES)))


@dataclass(frozen=True)
class ProposePayload:
    """Propose a governance action. It takes effect at `effective_height` if the
    governance threshold has voted for it by `expiry_height` (the proposer's own
    transaction is its first vote)."""

    KIND: ClassVar[str] = KIND_PROPOSE
    action: GovernanceAction
    effective_height: int
    expiry_height: int

    def to_array(self) -> list[WireValue]:
        return [self.action.to_array(), self.effective_height, self.expiry_height]

    @classmethod
    def from_array(cls, value: WireValue) -> ProposePayload:
        action, effective, expiry = _items(value, 3, cls.KIND)
        payload = cls(action_from_array(action), require_int(effective, "effective height", 1),
                      require_int(expiry, "expiry height", 1))
        if payload.expiry_height + MIN_PROPOSAL_LEAD_BLOCKS > payload.effective_height:
            raise MalformedInput(f"the expiry height must be at least "
                                 f"{MIN_PROPOSAL_LEAD_BLOCKS} blocks before the effective "
                                 "height")
        return payload


@dataclass(frozen=True)
class VotePayload:
    """Vote for an open proposal, named by the id of the transaction that proposed it."""

    KIND: ClassVar[str] = KIND_VOTE
    proposal_id: bytes

    def to_array(self) -> list[WireValue]:
        return [self.proposal_id]

    @classmethod
    def from_array(cls, value: WireValue) -> VotePayload:
        (proposal_id,) = _items(value, 1, cls.KIND)
        return cls(require_bytes(proposal_id, "proposal id", HASH_BYTES))


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
        raise MalformedInput(f"unknown transaction kind {kind!r}")
    return decoder(value)


def checked(payload: Payload) -> Payload:
    """The payload as a node would decode it: refused exactly when a node would refuse it."""
    return decode_payload(payload.KIND, payload.to_array())
