"""The ledger rules: what a transaction may do. Pure functions over state.

Every rule first checks everything, then writes: a refused transaction changes
nothing. Each refusal carries a stable code and a sentence for people.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, assert_never

from ledger.admission import check_admission_proof
from ledger.block_state import BlockState
from ledger.equivocation import EvidenceCheck, apply_submit_evidence
from ledger.errors import BadSignature, TxRejected
from ledger.governance import (
    check_sender_active,
    propose,
    refuse_key_awaiting_replacement,
    vote,
)
from ledger.identity import MemberId, member_id_of, verify_signature
from ledger.key_events import (
    MAX_KEY_PERIODS,
    PERIODS_KEPT_FOR_GOVERNANCE,
    apply_report_compromise,
    apply_rotate_key,
    key_holder,
)
from ledger.member_name_index import check_name_free, record_name
from ledger.payloads import (
    AccreditPayload,
    AddMemberPayload,
    AnchorPayload,
    CredentialRef,
    EmploymentEndPayload,
    IssueBatchPayload,
    ProposePayload,
    ReportCompromisePayload,
    RevokePayload,
    RotateKeyPayload,
    SubmitEvidencePayload,
    SuspendPayload,
    VotePayload,
)
from ledger.records import (
    MAX_GRANTS_PER_ISSUER,
    PREFIX_MEMBER,
    Accreditation,
    Anchor,
    Batch,
    EmploymentEnd,
    Grant,
    Member,
    Revocation,
    accreditation_key,
    anchor_key,
    batch_key,
    batch_record,
    employment_end_key,
    member_key,
    revocation_key,
)
from ledger.rules_version import (
    ADMITTED_BY_RECORDED_FROM,
    EVIDENCE_BOUNDED_FROM,
    EVIDENCE_KINDS_KEPT_FROM,
    KEY_REPLACEMENT_FROM,
    MINISTRIES_BY_VOTE_FROM,
    REPORTS_UNDONE_FROM,
    rules_version_at,
)
from ledger.transactions import Transaction
from storage.batch_tree import verify_inclusion
from storage.state_tree import StateTree

MAX_TX_TTL_BLOCKS = 100_000


class StateReader(Protocol):
    def get(self, key: bytes) -> bytes | None: ...


class StateAccess(StateReader, Protocol):
    def set(self, key: bytes, value: bytes) -> None: ...


@dataclass(frozen=True)
class BlockContext:
    chain_id: str
    height: int
    time_ms: int
    # The rules version the block is executed under (`ledger.rules_version`): read from
    # the state before the block by `block_context`, never from this release's maximum.
    rules_version: int
    evidence_check: EvidenceCheck | None = None  # given by the node: consensus is not ours


def block_context(state: StateReader, chain_id: str, height: int, time_ms: int,
                  evidence_check: EvidenceCheck | None = None) -> BlockContext:
    """The context of block `height` executed on `state` (the state before it)."""
    return BlockContext(chain_id, height, time_ms, rules_version_at(state, height),
                        evidence_check)


def load_member(state: StateReader, member: bytes) -> Member | None:
    data = state.get(member_key(member))
    return Member.decode(data) if data is not None else None


def all_members(state: StateTree) -> list[tuple[MemberId, Member]]:
    """Every member on chain (genesis members and those added since), by id."""
    return [(MemberId(key[len(PREFIX_MEMBER):]), Member.decode(value))
            for key, value in state.items_with_prefix(PREFIX_MEMBER)]


def load_accreditation(state: StateReader, member: bytes) -> Accreditation:
    data = state.get(accreditation_key(member))
    return Accreditation.decode(data) if data is not None else Accreditation(())


def load_batch(state: StateReader, issuer: bytes, root: bytes) -> Batch | None:
    data = state.get(batch_key(issuer, root))
    return Batch.decode(data) if data is not None else None


def load_revocation(state: StateReader, issuer: bytes, batch_root: bytes, target_hash: bytes
                    ) -> Revocation | None:
    data = state.get(revocation_key(issuer, batch_root, target_hash))
    return Revocation.decode(data) if data is not None else None


def load_employment_end(state: StateReader, issuer: bytes, batch_root: bytes,
                        target_hash: bytes) -> EmploymentEnd | None:
    data = state.get(employment_end_key(issuer, batch_root, target_hash))
    return EmploymentEnd.decode(data) if data is not None else None


def load_anchor(state: StateReader, document_hash: bytes) -> Anchor | None:
    data = state.get(anchor_key(document_hash))
    return Anchor.decode(data) if data is not None else None


def check_envelope(
    state: StateAccess,
    tx: Transaction,
    ctx: BlockContext,
    is_committed: Callable[[bytes], bool],
    signature_known_good: bool = False,
) -> Member:
    """Checks common to every kind: sender, expiry, replay, signature."""
    sender = check_before_signature(state, tx, ctx, is_committed)
    check_signature(sender, tx, ctx, signature_known_good)
    return sender


def check_signature(sender: Member, tx: Transaction, ctx: BlockContext,
                    signature_known_good: bool = False) -> None:
    """The envelope's last check, for a sender `check_before_signature` returned."""
    # A signature checked at admission was checked against the key of that time: a member
    # that has ever rotated is checked again against its key now.
    known_good = signature_known_good and sender.key_rotated_height is None
    if not known_good and not verify_signature(
        sender.public_key, tx.signed_message(ctx.chain_id), tx.signature
    ):
        raise BadSignature(tx.sender, sender.public_key, sender.key_rotated_height is not None)


def check_before_signature(state: StateReader, tx: Transaction, ctx: BlockContext,
                           is_committed: Callable[[bytes], bool]) -> Member:
    """The envelope's checks that come before its signature (cheap, and free of any
    key), in their order; returns the sender whose key the signature is checked by."""
    sender = (state.member(tx.sender) if type(state) is BlockState
              else load_member(state, tx.sender))
    if sender is None:
        raise TxRejected("unknown_sender", f"sender {tx.sender.hex()} is not a consortium member",
                         member_id=tx.sender.hex())
    check_sender_active(sender, ctx.height)
    if tx.expires_at < ctx.height:
        raise TxRejected("expired", f"transaction expired at height {tx.expires_at}",
                         height=tx.expires_at)
    if tx.expires_at > ctx.height + MAX_TX_TTL_BLOCKS:
        raise TxRejected(
            "expiry_too_far",
            f"expiry height {tx.expires_at} is more than {MAX_TX_TTL_BLOCKS} blocks ahead",
            height=tx.expires_at, limit=MAX_TX_TTL_BLOCKS)
    if is_committed(tx.tx_id):
        raise TxRejected("replayed", "transaction was already committed")
    return sender


def apply_transaction(state: StateAccess, tx: Transaction, sender: Member,
                      ctx: BlockContext) -> None:
    """Apply one authenticated transaction, or raise TxRejected having written nothing."""
    payload = tx.payload
    if isinstance(payload, IssueBatchPayload):
        _issue_batch(state, payload, tx, sender, ctx)
    elif isinstance(payload, AnchorPayload):
        _anchor(state, payload, tx, ctx)
    elif isinstance(payload, RevokePayload):
        _revoke(state, payload, tx, ctx)
    elif isinstance(payload, AddMemberPayload):
        _add_member(state, payload, tx.sender, sender, ctx)
    elif isinstance(payload, AccreditPayload):
        _accredit(state, payload, tx, sender, ctx)
    elif isinstance(payload, SuspendPayload):
        _suspend(state, payload, sender, ctx)
    elif isinstance(payload, EmploymentEndPayload):
        _employment_end(state, payload, tx, ctx)
    elif isinstance(payload, RotateKeyPayload):
        apply_rotate_key(state, payload, tx.sender, ctx.chain_id, ctx.height,
                         MAX_KEY_PERIODS - PERIODS_KEPT_FOR_GOVERNANCE
                         if ctx.rules_version >= KEY_REPLACEMENT_FROM else MAX_KEY_PERIODS)
    elif isinstance(payload, ReportCompromisePayload):
        apply_report_compromise(state, payload, tx.sender, ctx.height,
                                ctx.rules_version >= REPORTS_UNDONE_FROM)
    elif isinstance(payload, SubmitEvidencePayload):
        apply_submit_evidence(state, payload, tx.sender, tx.tx_id, ctx.chain_id, ctx.height,
                              ctx.evidence_check, ctx.rules_version >= EVIDENCE_BOUNDED_FROM,
                              ctx.rules_version >= EVIDENCE_KINDS_KEPT_FROM)
    elif isinstance(payload, ProposePayload):
        propose(state, payload, tx.tx_id, tx.sender, sender.public_key, ctx.height,
                ctx.time_ms, ctx.rules_version, ctx.chain_id)
    elif isinstance(payload, VotePayload):
        vote(state, payload, tx.sender, sender.public_key, ctx.height, ctx.time_ms,
             ctx.rules_version)
    else:
        assert_never(payload)


def _require_ministry(sender: Member, action: str) -> None:
    if sender.role != "ministry":
        # Of the roles only "employer" is said with a vowel ("a university", by its sound).
        article = "an" if sender.role == "employer" else "a"
        raise TxRejected("not_a_ministry", f"only a ministry may {action}; sender is "
                         f"{article} {sender.role}", role=sender.role)


def _named(state: StateReader, member: MemberId) -> str:
    """A member as a refusal names it: the name an operator knows it by, and its id."""
    record = load_member(state, member)
    return f"{record.name} ({member.hex()})" if record is not None else member.hex()


def _member_params(state: StateReader, member: MemberId) -> dict[str, str | int]:
    """A member as a refusal's params name it: its name when it has a record, and its id."""
    record = load_member(state, member)
    return {"member_id": member.hex(), **({} if record is None else {"member": record.name})}


def _add_member(state: StateAccess, payload: AddMemberPayload, sender_id: MemberId,
                sender: Member, ctx: BlockContext) -> None:
    _require_ministry(sender, "add members")
    if payload.role == "ministry" and ctx.rules_version >= MINISTRIES_BY_VOTE_FROM:
        raise TxRejected("ministry_by_vote", "a ministry is admitted by the consortium's "
                         "vote: propose it (governance's add-member)")
    check_admission_proof(payload.public_key, payload.name, payload.role,
                          payload.possession_proof, ctx.rules_version, ctx.chain_id)
    new_id = member_id_of(payload.public_key)
    holder = key_holder(state, payload.public_key)
    if load_member(state, new_id) is not None or holder:
        raise TxRejected("already_member", f"this key is already a member's: "
                         f"{_named(state, holder or new_id)}",
                         **_member_params(state, holder or new_id))
    refuse_key_awaiting_replacement(state, payload.public_key, ctx.height, ctx.rules_version)
    check_name_free(state, payload.name, ctx.rules_version)
    member = Member(payload.name, payload.role, payload.public_key, False, ctx.height,
                    added_by=sender_id if ctx.rules_version >= ADMITTED_BY_RECORDED_FROM
                    else None)
    state.set(member_key(new_id), member.encode())
    record_name(state, payload.name, new_id, ctx.rules_version)


def _accredit(state: StateAccess, payload: AccreditPayload, tx: Transaction, sender: Member,
              ctx: BlockContext) -> None:
    _require_ministry(sender, "accredit issuers")
    issuer = payload.issuer
    if load_member(state, issuer) is None:
        raise TxRejected("unknown_issuer", f"{issuer.hex()} is not a consortium member",
                         member_id=issuer.hex())
    current = load_accreditation(state, issuer)
    if len(current.grants) >= MAX_GRANTS_PER_ISSUER:
        raise TxRejected("too_many_grants", f"issuer already has {MAX_GRANTS_PER_ISSUER} grants",
                         limit=MAX_GRANTS_PER_ISSUER)
    grant = Grant(payload.types, payload.not_before_ms, payload.not_after_ms, tx.sender,
                  ctx.height)
    state.set(accreditation_key(issuer), Accreditation((*current.grants, grant)).encode())


def _suspend(state: StateAccess, payload: SuspendPayload, sender: Member,
             ctx: BlockContext) -> None:
    _require_ministry(sender, "suspend issuers")
    issuer = payload.issuer
    current = load_accreditation(state, issuer)
    active = [g.suspended_height is None and g.not_after_ms > ctx.time_ms for g in current.grants]
    if not any(active):
        suspended = [g.suspended_height for g in current.grants
                     if g.suspended_height is not None]
        why = (f"it is suspended already, from height {max(suspended)}" if suspended
               else "its accreditation has ended" if current.grants
               else "it was never accredited")
        raise TxRejected("not_accredited", f"{_named(state, issuer)} has no active "
                         f"accreditation to suspend: {why}", **_member_params(state, issuer))
    # Effective from the next block: an issuance earlier in this same block then
    # verifies as accredited, exactly as the ledger accepted it.
    grants = tuple(g.suspended(ctx.height + 1, ctx.time_ms, payload.reason) if is_active else g
                   for g, is_active in zip(current.grants, active, strict=True))
    state.set(accreditation_key(issuer), Accreditation(grants).encode())


def _issue_batch(state: StateAccess, payload: IssueBatchPayload, tx: Transaction,
                 sender: Member, ctx: BlockContext) -> None:
    credential_type = payload.credential_type
    if not (type(state) is BlockState
            and state.may_issue(tx.sender, credential_type, ctx.height, ctx.time_ms)):
        accreditation = load_accreditation(state, tx.sender)
        if accreditation.grant_covering(credential_type, ctx.height, ctx.time_ms) is None:
            code, why = accreditation.why_not(credential_type, ctx.height, ctx.time_ms)
            raise TxRejected(code, f"{sender.name} may not issue {credential_type} now: "
                             f"{why}", member=sender.name, type=credential_type)
    key = batch_key(tx.sender, payload.root)  # read and written: made once
    stored = state.get(key)
    if stored is not None:
        Batch.decode(stored)  # as `load_batch`: a record that does not decode is damage
        raise TxRejected("duplicate_batch", "you already issued a batch with this root")
    state.set(key, batch_record(tx.sender, credential_type, payload.count, ctx.height,
                                ctx.time_ms, tx.tx_id, sender.public_key))


def _own_batch_holding(state: StateReader, issuer: MemberId, ref: CredentialRef,
                       unknown_code: str, not_in_code: str,
                       doing: str = "revoke or replace it") -> Batch:
    """The sender's batch that `ref` proves to hold its credential (or a refusal)."""
    # Only the issuer may revoke, supersede or end: the batch is looked up among its own.
    batch = load_batch(state, issuer, ref.batch_root)
    if batch is None:
        raise TxRejected(unknown_code, f"you issued no batch with this root "
                         f"({ref.batch_root.hex()[:16]}…); only the issuer of a credential "
                         f"may {doing}", batch=ref.batch_root.hex()[:16])
    if not verify_inclusion(ref.target_hash, ref.index, batch.count, ref.path, ref.batch_root):
        raise TxRejected(not_in_code, "the credential is not in this batch (bad audit path)")
    return batch


def _revoke(state: StateAccess, payload: RevokePayload, tx: Transaction,
            ctx: BlockContext) -> None:
    revoked = payload.credential
    batch = _own_batch_holding(state, tx.sender, revoked, "unknown_batch", "not_in_batch")
    existing = load_revocation(state, tx.sender, revoked.batch_root, revoked.target_hash)
    if existing is not None:
        raise TxRejected("already_revoked", f"already revoked at height {existing.height}",
                         height=existing.height)
    replaced_by = None
    if payload.replaced_by is not None:
        replacement = _own_batch_holding(state, tx.sender, payload.replaced_by,
                                         "unknown_replacement", "replacement_not_in_batch")
        if replacement.credential_type != batch.credential_type:
            raise TxRejected("replacement_type_mismatch",
                             f"a {batch.credential_type} can only be superseded by a "
                             f"{batch.credential_type}, not a {replacement.credential_type}",
                             type=batch.credential_type, other=replacement.credential_type)
        replaced_by = (payload.replaced_by.batch_root, payload.replaced_by.target_hash)
    revocation = Revocation(revoked.batch_root, payload.reason, ctx.height, ctx.time_ms,
                            tx.sender, payload.note_hash, replaced_by)
    state.set(revocation_key(tx.sender, revoked.batch_root, revoked.target_hash),
              revocation.encode())


def _anchor(state: StateAccess, payload: AnchorPayload, tx: Transaction,
            ctx: BlockContext) -> None:
    existing = load_anchor(state, payload.document_hash)
    if existing is not None:
        raise TxRejected(
            "already_anchored",
            f"document already anchored by {existing.member.hex()} at height {existing.height}",
            **_member_params(state, existing.member), height=existing.height)
    state.set(anchor_key(payload.document_hash), Anchor(tx.sender, ctx.height, ctx.time_ms,
                                                        tx.tx_id).encode())


def _employment_end(state: StateAccess, payload: EmploymentEndPayload, tx: Transaction,
                    ctx: BlockContext) -> None:
    if payload.issuer != tx.sender:
        raise TxRejected("not_record_issuer", f"the employment record was issued by "
                         f"{payload.issuer.hex()}; only its issuer may record its end")
    record = payload.credential
    batch = _own_batch_holding(state, tx.sender, record, "unknown_batch", "not_in_batch",
                               "record the end of its employment")
    if batch.credential_type != "employment":
        raise TxRejected("not_employment_record", f"the batch holds {batch.credential_type} "
                         "credentials, not employment records")
    existing = load_employment_end(state, tx.sender, record.batch_root, record.target_hash)
    if existing is not None:
        raise TxRejected("already_ended", f"its end was already recorded at height "
                         f"{existing.height}", height=existing.height)
    if payload.end_day < payload.start_day:
        raise TxRejected("end_before_start", f"the end (day {payload.end_day}) is before the "
                         f"start (day {payload.start_day})")
    end = EmploymentEnd(payload.start_day, payload.end_day, ctx.height, ctx.time_ms, tx.sender)
    state.set(employment_end_key(tx.sender, record.batch_root, record.target_hash),
              end.encode())
