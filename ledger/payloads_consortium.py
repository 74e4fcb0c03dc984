"""The payloads that change the consortium itself: key rotation, stolen-key reports,
evidence of equivocation, and governance proposals and votes (`ledger/payloads.py`
holds membership, accreditation and suspension, the union of all and the decoder
by kind; `ledger/payloads_credentials.py` the payloads about credentials and
anchored documents)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ledger.errors import MalformedInput
from ledger.identity import MEMBER_ID_BYTES, PUBLIC_KEY_BYTES, SIGNATURE_BYTES, MemberId
from ledger.payload_fields import (
    HASH_BYTES,
    MAX_HEIGHT,
    ROLES,
    WireValue,
    items_of,
    require_bytes,
    require_choice,
    require_int,
    require_text,
)
from ledger.payloads_credentials import MAX_AUDIT_PATH, MAX_BATCH_COUNT, CredentialRef
from ledger.rules_version import MAX_RULES_VERSION
from storage.batch_tree import split_hashes

KIND_ROTATE_KEY = "rotate_key"
KIND_REPORT_COMPROMISE = "report_compromise"
KIND_SUBMIT_EVIDENCE = "submit_evidence"
# One signed consensus message of a piece of evidence. Conflicting votes are a few
# hundred bytes; two conflicting proposals with full blocks do not fit a transaction.
MAX_EVIDENCE_MESSAGE_BYTES = 24 * 1024
KIND_PROPOSE = "propose"
KIND_VOTE = "vote"

ACTION_ADD_MEMBER = "add_member"
ACTION_RETIRE_MEMBER = "retire_member"
ACTION_ADD_VALIDATOR = "add_validator"
ACTION_REMOVE_VALIDATOR = "remove_validator"
ACTION_SET_RULES_VERSION = "set_rules_version"
ACTION_REVOKE_CREDENTIAL = "revoke_credential"
ACTION_REVOKE_CREDENTIALS = "revoke_credentials"
ACTION_REPLACE_KEY = "replace_key"
ACTION_CONFIRM_ADMISSION = "confirm_admission"
# One `revoke_credentials` proposal names at most this many credentials (a cohort's
# diplomas in a few proposals, each still one vote of each voter), and their entries
# hold at most this many bytes, so that the proposing transaction fits MAX_TX_BYTES
# (64 KiB) with its envelope. An entry is 68 bytes and 32 a level of its audit path:
# 256 fit from batches of up to 32 credentials, 178 from a batch of 300 (9 levels).
MAX_REVOKED_PER_PROPOSAL = 256
MAX_REVOKED_LIST_BYTES = 62 * 1024
# An entry: batch root, credential hash, leaf index (4 bytes, big-endian: MAX_BATCH_COUNT
# fits), then the audit path's hashes.
_ENTRY_HEAD_BYTES = HASH_BYTES * 2 + 4
# The reasons the consortium may give for revoking a retired member's credential: a
# subset of REVOCATION_REASONS. Not "superseded" (only the issuer can issue the
# correction it would name) nor "withdrawn_by_issuer" (the issuer is gone).
CONSORTIUM_REVOCATION_REASONS = ("fraud", "court_decision", "issued_in_error", "other")
# A proposal's last vote must land at least this many blocks before its effective
# height: the validator set of height h + 1 is then fixed once block h - 1 is
# committed, so every replica knows who certifies the next block before entering it.
MIN_PROPOSAL_LEAD_BLOCKS = 2


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
        new_key, proof = items_of(value, 2, cls.KIND)
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
        public_key, from_height = items_of(value, 2, cls.KIND)
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
        first, second = items_of(value, 2, cls.KIND)
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
    """Governance: admit a member (full member from the effective height).
    `possession_proof`: the new key's signature of `ledger.admission.admission_message`,
    required from rules version `ADMISSION_PROOF_FROM` and refused before it (an action
    without one encodes as before, so older proposals keep their ids and decoding)."""

    action: ClassVar[str] = ACTION_ADD_MEMBER
    name: str
    role: str
    public_key: bytes
    possession_proof: bytes | None = None

    def to_array(self) -> list[WireValue]:
        proof: list[WireValue] = [] if self.possession_proof is None else [
            self.possession_proof]
        return [self.action, self.name, self.role, self.public_key, *proof]


@dataclass(frozen=True)
class MemberAction:
    """Governance: retire a member, or add it to / remove it from the validator set."""

    action: str  # one of MEMBER_ACTIONS
    member: MemberId

    def to_array(self) -> list[WireValue]:
        return [self.action, self.member]


@dataclass(frozen=True)
class RulesVersionAction:
    """Governance: execute blocks under ledger rules `version` from the effective height
    (`ledger.rules_version`)."""

    action: ClassVar[str] = ACTION_SET_RULES_VERSION
    version: int

    def to_array(self) -> list[WireValue]:
        return [self.action, self.version]


@dataclass(frozen=True)
class RevokeCredentialAction:
    """Governance: revoke `credential` of `issuer`, a member retired from the consortium
    (it may sign nothing, its own revocations included), for a coded `reason`. Written
    as the issuer's revocation of it, naming the proposal, when the proposal is approved;
    accepted from rules version `CONSORTIUM_REVOCATION_FROM` (`ledger.rules_version`)."""

    action: ClassVar[str] = ACTION_REVOKE_CREDENTIAL
    issuer: MemberId
    credential: CredentialRef
    reason: str

    def to_array(self) -> list[WireValue]:
        return [self.action, self.issuer, self.credential.to_array(), self.reason]


@dataclass(frozen=True)
class ReplaceKeyAction:
    """Governance: make `new_public_key` the key of `member` (its id stays), for a member
    that lost its key or had it stolen; `possession_proof` is the new key's signature of
    `ledger.key_events.replacement_message` (a domain of its own: no rotation's proof). With
    `compromised_from`, the member's earlier keys are not trusted from that height on.
    Written at the approval; accepted from rules version `KEY_REPLACEMENT_FROM`."""

    action: ClassVar[str] = ACTION_REPLACE_KEY
    member: MemberId
    new_public_key: bytes
    possession_proof: bytes
    compromised_from: int | None

    def to_array(self) -> list[WireValue]:
        return [self.action, self.member, self.new_public_key, self.possession_proof,
                self.compromised_from]

    @classmethod
    def from_array(cls, value: WireValue) -> ReplaceKeyAction:
        _, member, new_key, proof, compromised = items_of(value, 5, ACTION_REPLACE_KEY)
        return cls(MemberId(require_bytes(member, "member", MEMBER_ID_BYTES)),
                   require_bytes(new_key, "new public key", PUBLIC_KEY_BYTES),
                   require_bytes(proof, "possession proof", SIGNATURE_BYTES),
                   None if compromised is None
                   else require_int(compromised, "compromised-from height", 1, MAX_HEIGHT))


@dataclass(frozen=True)
class ConfirmAdmissionAction:
    """Governance: the consortium vouches for `member`, holding `public_key`, whose
    admission by one ministry's own `add_member` is in doubt (`ledger.distrust`: made
    with a key distrusted at its height), so that what it records counts again. Written
    at the approval; accepted from rules version `ADMISSION_CONFIRMED_FROM`."""

    action: ClassVar[str] = ACTION_CONFIRM_ADMISSION
    member: MemberId
    public_key: bytes

    def to_array(self) -> list[WireValue]:
        return [self.action, self.member, self.public_key]

    @classmethod
    def from_array(cls, value: WireValue) -> ConfirmAdmissionAction:
        _, member, public_key = items_of(value, 3, ACTION_CONFIRM_ADMISSION)
        return cls(MemberId(require_bytes(member, "member", MEMBER_ID_BYTES)),
                   require_bytes(public_key, "public key", PUBLIC_KEY_BYTES))


def _entry_of(ref: CredentialRef) -> bytes:
    return b"".join((ref.batch_root, ref.target_hash, ref.index.to_bytes(4, "big"), *ref.path))


def _ref_of(entry: WireValue, number: int) -> CredentialRef:
    what = f"revoked credential {number}"
    if (not isinstance(entry, bytes) or len(entry) < _ENTRY_HEAD_BYTES
            or (len(entry) - _ENTRY_HEAD_BYTES) % HASH_BYTES
            or (len(entry) - _ENTRY_HEAD_BYTES) // HASH_BYTES > MAX_AUDIT_PATH):
        raise MalformedInput(f"{what} must be its batch root, hash, 4-byte leaf index and "
                             f"an audit path of at most {MAX_AUDIT_PATH} hashes")
    index = int.from_bytes(entry[2 * HASH_BYTES:_ENTRY_HEAD_BYTES], "big")
    if index > MAX_BATCH_COUNT:
        raise MalformedInput(f"{what}: its leaf index must be at most {MAX_BATCH_COUNT}")
    return CredentialRef(entry[:HASH_BYTES], entry[HASH_BYTES:2 * HASH_BYTES], index,
                         tuple(split_hashes(entry[_ENTRY_HEAD_BYTES:])))


@dataclass(frozen=True)
class RevokeCredentialsAction:
    """Governance: revoke each of `credentials` of `issuer`, a retired member, for one
    coded `reason`; applied whole or not at all (`ledger.governance_revocation`), each
    written as `RevokeCredentialAction` writes its one. Accepted from rules version
    `BULK_REVOCATION_FROM`. On the wire each credential is one byte string (root, hash,
    leaf index, path: `_entry_of`), not an array of its own: a transaction holds at most
    MAX_TX_ARRAYS arrays, a bound checked before its kind is known."""

    action: ClassVar[str] = ACTION_REVOKE_CREDENTIALS
    issuer: MemberId
    credentials: tuple[CredentialRef, ...]
    reason: str

    def to_array(self) -> list[WireValue]:
        return [self.action, self.issuer, self.reason,
                [_entry_of(ref) for ref in self.credentials]]

    @classmethod
    def from_array(cls, value: WireValue) -> RevokeCredentialsAction:
        _, issuer, reason, entries = items_of(value, 4, ACTION_REVOKE_CREDENTIALS)
        if (not isinstance(entries, list)
                or not 1 <= len(entries) <= MAX_REVOKED_PER_PROPOSAL):
            raise MalformedInput(f"a revoke_credentials action names 1 to "
                                 f"{MAX_REVOKED_PER_PROPOSAL} credentials", "revoked_count",
                                 max=MAX_REVOKED_PER_PROPOSAL)
        size = sum(len(e) for e in entries if isinstance(e, bytes))
        if size > MAX_REVOKED_LIST_BYTES:
            raise MalformedInput(f"the revoked credentials take {size} bytes; at most "
                                 f"{MAX_REVOKED_LIST_BYTES} fit one proposal", "revoked_size",
                                 size=size, max=MAX_REVOKED_LIST_BYTES)
        return cls(MemberId(require_bytes(issuer, "issuer", MEMBER_ID_BYTES)),
                   tuple(_ref_of(entry, n) for n, entry in enumerate(entries, 1)),
                   require_choice(reason, CONSORTIUM_REVOCATION_REASONS, "revocation reason"))


def revoked_list_bytes(credentials: tuple[CredentialRef, ...] | list[CredentialRef]) -> int:
    """What `credentials` take of MAX_REVOKED_LIST_BYTES."""
    return sum(_ENTRY_HEAD_BYTES + HASH_BYTES * len(ref.path) for ref in credentials)


GovernanceAction = (AddMemberAction | MemberAction | RulesVersionAction
                    | RevokeCredentialAction | RevokeCredentialsAction | ReplaceKeyAction
                    | ConfirmAdmissionAction)
MEMBER_ACTIONS = (ACTION_RETIRE_MEMBER, ACTION_ADD_VALIDATOR, ACTION_REMOVE_VALIDATOR)
ACTIONS = (ACTION_ADD_MEMBER, *MEMBER_ACTIONS, ACTION_SET_RULES_VERSION,
           ACTION_REVOKE_CREDENTIAL, ACTION_REVOKE_CREDENTIALS, ACTION_REPLACE_KEY,
           ACTION_CONFIRM_ADMISSION)


def action_from_array(value: WireValue) -> GovernanceAction:
    if not isinstance(value, list) or not value:
        raise MalformedInput("a governance action must be a non-empty array")
    action = require_choice(value[0], ACTIONS, "governance action")
    if action == ACTION_ADD_MEMBER:
        _, name, role, public_key, *proof = items_of(value, 5 if len(value) == 5 else 4,
                                                     action)
        return AddMemberAction(require_text(name, "member name"),
                               require_choice(role, ROLES, "role"),
                               require_bytes(public_key, "public key", PUBLIC_KEY_BYTES),
                               *(require_bytes(item, "proof of possession", SIGNATURE_BYTES)
                                 for item in proof))
    if action == ACTION_SET_RULES_VERSION:
        _, version = items_of(value, 2, action)
        return RulesVersionAction(require_int(version, "rules version", 1, MAX_RULES_VERSION))
    if action == ACTION_REVOKE_CREDENTIAL:
        _, issuer, credential, reason = items_of(value, 4, action)
        return RevokeCredentialAction(
            MemberId(require_bytes(issuer, "issuer", MEMBER_ID_BYTES)),
            CredentialRef.from_array(credential, "revoked"),
            require_choice(reason, CONSORTIUM_REVOCATION_REASONS, "revocation reason"))
    if action == ACTION_REVOKE_CREDENTIALS:
        return RevokeCredentialsAction.from_array(value)
    if action == ACTION_REPLACE_KEY:
        return ReplaceKeyAction.from_array(value)
    if action == ACTION_CONFIRM_ADMISSION:
        return ConfirmAdmissionAction.from_array(value)
    _, member = items_of(value, 2, action)
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
        action, effective, expiry = items_of(value, 3, cls.KIND)
        payload = cls(action_from_array(action), require_int(effective, "effective height", 1),
                      require_int(expiry, "expiry height", 1))
        if payload.expiry_height + MIN_PROPOSAL_LEAD_BLOCKS > payload.effective_height:
            raise MalformedInput(f"the expiry height must be at least "
                                 f"{MIN_PROPOSAL_LEAD_BLOCKS} blocks before the effective "
                                 "height", "expiry_too_late", blocks=MIN_PROPOSAL_LEAD_BLOCKS)
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
        (proposal_id,) = items_of(value, 1, cls.KIND)
        return cls(require_bytes(proposal_id, "proposal id", HASH_BYTES))
