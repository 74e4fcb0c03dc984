"""What each governance action checks and writes once approved. Pure rules over the state.

`ledger.governance` holds the proposals and votes: a proposal's action is checked when
proposed and again by the vote that reaches the threshold (the state may have moved),
then applied by that vote. Adding a member makes a ministry a voter at once; retiring
one ends its vote at once and its signing at the effective height; a validator-set change
is written as the sets in force from the effective height (`ledger.validator_sets`); a
rules version is scheduled (`ledger.rules_version`); a retired member's credentials are
revoked at the approval (`ledger.governance_revocation`), and a member's key is replaced
at the approval (`ledger.key_events`).
"""

from __future__ import annotations

from dataclasses import replace

from ledger.codec import encode
from ledger.distrust import stolen_admission_in_state
from ledger.errors import TxRejected
from ledger.governance_policy import VOTERS_KEY, GovernancePolicy, load_voters
from ledger.governance_revocation import (
    apply_consortium_revocation,
    check_consortium_revocation,
)
from ledger.identity import MemberId, member_id_of
from ledger.key_events import check_key_replacement, key_holder, replace_member_key
from ledger.member_name_index import check_name_free, record_name
from ledger.payloads import (
    ACTION_ADD_VALIDATOR,
    ACTION_REMOVE_VALIDATOR,
    ACTION_RETIRE_MEMBER,
    AddMemberAction,
    ConfirmAdmissionAction,
    GovernanceAction,
    MemberAction,
    ReplaceKeyAction,
    RevokeCredentialAction,
    RevokeCredentialsAction,
    RulesVersionAction,
)
from ledger.records import Member, member_key
from ledger.rules_version import (
    ADMISSION_CONFIRMED_FROM,
    GOVERNANCE_KEY_HOLDERS_CHECKED_FROM,
    KEY_REPLACEMENT_FROM,
    REPORTS_UNDONE_FROM,
    RETIREMENT_RULES_FROM,
    apply_rules_version_change,
    check_rules_version_change,
)
from ledger.validator_sets import (
    MAX_VALIDATORS,
    StateReader,
    StateWriter,
    ValidatorSetRecord,
    set_change_heights,
    validator_set_at,
    write_validator_set,
)

# A ministry admitted by governance is a voter: at most this many.
MAX_VOTERS = 64


def _load_member(state: StateReader, member: bytes) -> Member | None:
    raw = state.get(member_key(member))
    return Member.decode(raw) if raw is not None else None


def _existing_member(state: StateReader, member_id: MemberId) -> Member:
    member = _load_member(state, member_id)
    if member is None:
        raise TxRejected("unknown_member", f"{member_id.hex()} is not a member",
                         member_id=member_id.hex())
    return member


def _require_version(rules_version: int, since: int, doing: str) -> None:
    if rules_version < since:
        raise TxRejected("rules_version_too_low", f"{doing} is accepted from rules version "
                         f"{since}; this block is under version {rules_version} (propose "
                         "set-rules-version first)", version=since, current=rules_version)


def _records_from(state: StateReader, height: int) -> list[ValidatorSetRecord]:
    """The set in force at `height` (as a record from there) and every later record."""
    later = [h for h in set_change_heights(state) if h > height]
    current = validator_set_at(state, height)
    return [ValidatorSetRecord.of(height, current.public_keys),
            *(validator_set_at(state, h) for h in later)]


def _member_from(state: StateReader, member_id: MemberId) -> int:
    """The height from which a voter signs: the effective height of its admission."""
    return _existing_member(state, member_id).added_height


def check_action(state: StateReader, action: GovernanceAction, effective: int,
                 policy: GovernancePolicy, height: int, rules_version: int, *,
                 paths_checked: bool = False) -> None:
    """Whether the action may apply, approved in block `height` under `rules_version`,
    effective at `effective` (`paths_checked`: see `check_consortium_revocation`)."""
    if isinstance(action, RevokeCredentialAction | RevokeCredentialsAction):
        check_consortium_revocation(state, action, height, rules_version,
                                    paths_checked=paths_checked)
        return
    if isinstance(action, RulesVersionAction):
        check_rules_version_change(state, action.version, effective)
        return
    if isinstance(action, ConfirmAdmissionAction):
        _check_confirmation(state, action, rules_version)
        return
    if isinstance(action, AddMemberAction):
        new_id = member_id_of(action.public_key)
        existing = _load_member(state, new_id)
        holder = (key_holder(state, action.public_key)
                  if rules_version >= GOVERNANCE_KEY_HOLDERS_CHECKED_FROM else None)
        if existing is None and holder is not None:
            existing, new_id = _load_member(state, holder), holder
        if existing is not None:
            raise TxRejected("already_member", f"this key is already a member's: "
                             f"{existing.name} ({new_id.hex()})", member=existing.name)
        check_name_free(state, action.name, rules_version)
        if action.role == "ministry" and len(load_voters(state)) >= MAX_VOTERS:
            raise TxRejected("too_many_voters", f"governance has {MAX_VOTERS} voters already",
                             limit=MAX_VOTERS)
        return
    if isinstance(action, ReplaceKeyAction):
        _require_version(rules_version, KEY_REPLACEMENT_FROM, "replacing a member's key")
    member = _existing_member(state, action.member)
    # A retirement approved for a later height leaves the member signing until then: its
    # key may still be replaced (a thief's signatures distrusted) meanwhile, and from rules
    # version 11 it may be brought forward (a thief's proposal to retire a ministry 100,000
    # blocks on, once approved, left it signing that long).
    if member.retired_height is not None and not (
            isinstance(action, ReplaceKeyAction) and member.retired_height > height) and not (
            rules_version >= RETIREMENT_RULES_FROM and isinstance(action, MemberAction)
            and action.action == ACTION_RETIRE_MEMBER and member.retired_height > effective):
        raise TxRejected("already_retired", f"{member.name} is retired from height "
                         f"{member.retired_height}", member=member.name,
                         height=member.retired_height)
    if isinstance(action, ReplaceKeyAction):
        check_key_replacement(state, action.member, action.new_public_key,
                              action.compromised_from, height)
        return
    records = _records_from(state, effective)
    holding = [r for r in records if member.public_key in r.public_keys]
    if action.action == ACTION_RETIRE_MEMBER:
        if holding:
            raise TxRejected("still_validator", f"{member.name} validates at height "
                             f"{holding[0].from_height}; remove it from the validator set first",
                             member=member.name, height=holding[0].from_height)
        voters = load_voters(state)
        # From rules version 11 only voters that can sign now are counted: the retired one
        # votes no more from its approval on (not from its effective height), and a
        # ministry the consortium admitted for a later height is a voter whose votes are
        # refused until then (`not_yet_member`). Counted, it let the voters that could
        # sign fall below the threshold, and governance stalled meanwhile.
        left = [v for v in voters if v != action.member and (
            rules_version < RETIREMENT_RULES_FROM or _member_from(state, v) <= height)]
        if action.member in voters and len(left) < policy.threshold:
            raise TxRejected("would_stall_governance", f"retiring {member.name} would leave "
                             f"fewer voters than the threshold of {policy.threshold}",
                             member=member.name, threshold=policy.threshold)
    elif action.action == ACTION_ADD_VALIDATOR:
        if member.added_height > effective:
            raise TxRejected("not_yet_member", f"{member.name} is a member only from height "
                             f"{member.added_height}", member=member.name,
                             height=member.added_height)
        if member.public_key in records[0].public_keys:
            raise TxRejected("already_validator", f"{member.name} already validates at "
                             f"height {effective}", member=member.name, height=effective)
        if any(len(r.validators) >= MAX_VALIDATORS for r in records):
            raise TxRejected("too_many_validators", f"a set holds at most {MAX_VALIDATORS}",
                             limit=MAX_VALIDATORS)
    elif action.action == ACTION_REMOVE_VALIDATOR:
        if member.public_key not in records[0].public_keys:
            raise TxRejected("not_a_validator", f"{member.name} does not validate at height "
                             f"{effective}", member=member.name, height=effective)
        floor = max(1, policy.min_validators)
        if any(len(r.validators) - 1 < floor for r in holding):
            raise TxRejected("too_few_validators", f"the set may not shrink below {floor} "
                             "validators (the genesis governance policy's min_validators)",
                             limit=floor)


def _check_confirmation(state: StateReader, action: ConfirmAdmissionAction,
                        rules_version: int) -> None:
    """Only an admission in doubt is confirmed, and only of the key the proposal names: a
    confirmation of one not in doubt would outlast a theft found later, and the ministries
    vouch for the member holding the key they checked."""
    _require_version(rules_version, ADMISSION_CONFIRMED_FROM, "confirming a member's admission")
    member = _existing_member(state, action.member)
    if member.public_key != action.public_key:
        raise TxRejected("member_key_changed", f"{member.name} holds another key than this "
                         "proposal names: propose it anew with its key now, if the "
                         "consortium still vouches for it", member=member.name)
    if stolen_admission_in_state(state, member) is None:
        raise TxRejected("admission_not_doubted", f"{member.name}'s admission is not in "
                         "doubt: it was not made by a ministry with a key distrusted at its "
                         "height, or it is confirmed already", member=member.name)


def apply_action(state: StateWriter, action: GovernanceAction, effective: int,
                 proposal_id: bytes, proposer: MemberId, height: int, time_ms: int,
                 rules_version: int) -> None:
    """Apply the action of the approved proposal `proposal_id` (of `proposer`) in block
    `height` (at `time_ms`, under `rules_version`), effective at `effective`."""
    if isinstance(action, RevokeCredentialAction | RevokeCredentialsAction):
        apply_consortium_revocation(state, action, proposal_id, proposer, height, time_ms)
        return
    if isinstance(action, RulesVersionAction):
        apply_rules_version_change(state, action.version, effective)
        return
    if isinstance(action, AddMemberAction):
        new_id = member_id_of(action.public_key)
        state.set(member_key(new_id), Member(action.name, action.role, action.public_key,
                                             False, effective).encode())
        record_name(state, action.name, new_id, rules_version)
        if action.role == "ministry":
            state.set(VOTERS_KEY, encode(sorted([*load_voters(state), new_id])))
        return
    if isinstance(action, ConfirmAdmissionAction):  # written at its approval, as replace_key
        confirmed = _load_member(state, action.member)
        assert confirmed is not None, "checked by check_action"
        state.set(member_key(action.member),
                  replace(confirmed, admission_confirmed=height).encode())
        return
    if isinstance(action, ReplaceKeyAction):  # at the approval: a thief's time is short
        replace_member_key(state, action.member, action.new_public_key,
                           action.compromised_from, height,
                           undo_reports=rules_version >= REPORTS_UNDONE_FROM)
        return
    assert isinstance(action, MemberAction)
    member = _load_member(state, action.member)
    assert member is not None, "checked by check_action"
    key = member.public_key
    if action.action == ACTION_RETIRE_MEMBER:
        state.set(member_key(action.member), replace(member, retired_height=effective).encode())
        state.set(VOTERS_KEY, encode([v for v in load_voters(state) if v != action.member]))
        return
    for record in _records_from(state, effective):
        keys = [k for k in record.public_keys if k != key]
        if action.action == ACTION_ADD_VALIDATOR:
            keys.append(key)
        write_validator_set(state, ValidatorSetRecord.of(record.from_height, keys))
