"""What `GET /v1/governance` answers: policy, voters, validator sets and proposals.

A `revoke_credentials` proposal lists each credential it names (at most
MAX_REVOKED_PER_PROPOSAL), so that a ministry can see what it votes for, and `senim
governance revoke` can see that a credential is in an open proposal already; the answer
lists at most MAX_RECENT_PROPOSALS and MAX_OPEN_PROPOSALS proposals, so it stays bounded.
This is the definition; `node.governance_answers` keeps it, encoded, while what it shows
holds (with 32 such proposals it takes about a tenth of a second)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ledger.errors import TxRejected
from ledger.governance import (
    Proposal,
    load_open_ids,
    load_policy,
    load_proposal,
    load_recent_ids,
    load_voters,
    why_cannot_apply,
)
from ledger.governance_votes import (
    counted_votes,
    excluded_voter,
    set_aside_votes,
    votes_needed,
)
from ledger.key_events import validator_member
from ledger.payloads import (
    ACTION_RETIRE_MEMBER,
    AddMemberAction,
    ConfirmAdmissionAction,
    CredentialRef,
    ReplaceKeyAction,
    RevokeCredentialAction,
    RevokeCredentialsAction,
    RulesVersionAction,
)
from ledger.rules import StateReader, load_member
from ledger.rules_version import (
    MAX_KNOWN_RULES_VERSION,
    rules_version_at,
    scheduled_rules_versions,
)
from ledger.validator_sets import set_change_heights, validator_set_at
from node.key_changes import KeyChange, key_change

# Past set changes listed (the newest; every one stays in the state for proofs).
MAX_LISTED_SET_CHANGES = 16

# Why an open proposal's approving vote would be refused: `why_cannot_apply`, or what
# `node.governance_answers` kept of it.
Refusal = Callable[[StateReader, Proposal, int], TxRejected | None]


def _member(state: StateReader, member_id: bytes) -> dict[str, Any]:
    record = load_member(state, member_id)
    return {"member_id": member_id.hex(), "name": record.name if record else None}


def _action(state: StateReader, proposal: Proposal) -> dict[str, Any]:
    action = proposal.action
    if isinstance(action, AddMemberAction):
        return {"action": action.action, "name": action.name, "role": action.role,
                "public_key": action.public_key.hex()}
    if isinstance(action, RulesVersionAction):
        return {"action": action.action, "rules_version": action.version}
    if isinstance(action, RevokeCredentialAction):
        return {"action": action.action, **_member(state, action.issuer),
                **_credential(action.credential), "revocation_reason": action.reason}
    if isinstance(action, RevokeCredentialsAction):
        return {"action": action.action, **_member(state, action.issuer),
                "credentials": [_credential(ref) for ref in action.credentials],
                "revocation_reason": action.reason}
    if isinstance(action, ConfirmAdmissionAction):
        # The ministry that admitted it: its own vote does not count on the confirmation.
        admitting = excluded_voter(state, action)
        return {"action": action.action, **_member(state, action.member),
                "public_key": action.public_key.hex(),
                "admitted_by": None if admitting is None else _member(state, admitting)}
    if isinstance(action, ReplaceKeyAction):
        return {"action": action.action, **_member(state, action.member),
                "public_key": action.new_public_key.hex(),
                "compromised_from": action.compromised_from}
    said = {"action": action.action, **_member(state, action.member)}
    if action.action == ACTION_RETIRE_MEMBER and proposal.approved_height is not None:
        # A later approval may bring a retirement forward (rules version 11): this one's
        # height then comes and goes with nothing done.
        record = load_member(state, action.member)
        retired = None if record is None else record.retired_height
        said["brought_forward_to"] = (retired if retired is not None
                                      and retired < proposal.effective_height else None)
    return said


def _credential(ref: CredentialRef) -> dict[str, Any]:
    return {"batch_root": ref.batch_root.hex(), "target_hash": ref.target_hash.hex(),
            "index": ref.index}


def _status(state: StateReader, proposal: Proposal, height: int, why: Refusal | None
            ) -> dict[str, Any]:
    """The status, with `cannot_apply` for an open proposal whose approving vote the state
    refuses (the action done already, say): still open in the ledger, but shown as what it
    is; `reason` says why, as the refusal would."""
    status = proposal.status(height)
    refusal = (why or why_cannot_apply)(state, proposal, height) if status == "open" else None
    if refusal is None:
        return {"status": status, "reason": None}
    return {"status": "cannot_apply", "reason": refusal.message,
            "reason_code": refusal.code, "reason_params": refusal.params}


def proposal_json(state: StateReader, proposal: Proposal, height: int, threshold: int,
                  why: Refusal | None = None) -> dict[str, Any]:
    """One proposal as listed at the block `height` under a policy of `threshold`."""
    return {"proposal_id": proposal.proposal_id.hex(),
            **_status(state, proposal, height, why), **_action(state, proposal),
            "proposer": _member(state, proposal.proposer),
            "effective_height": proposal.effective_height,
            "expiry_height": proposal.expiry_height,
            "proposed_height": proposal.proposed_height,
            "approved_height": proposal.approved_height,
            "votes": [_member(state, v) for v in proposal.voters],
            **_votes(state, proposal, height, threshold)}


def _votes(state: StateReader, proposal: Proposal, height: int, threshold: int
           ) -> dict[str, Any]:
    """What the proposal still lacks, and its votes cast with a key distrusted at their
    height (`ledger.governance_votes`, from rules version 10): those of an open proposal
    count for nothing; an approved one keeps only the votes that carried it, so one listed
    was set aside after the approval, which stands."""
    version = rules_version_at(state, height)
    ballot = proposal.ballot(state)
    aside = set_aside_votes(state, ballot, version)
    needed = 0 if proposal.approved_height is not None else max(
        0, votes_needed(state, ballot, threshold) - counted_votes(state, ballot, version))
    return {"votes_needed": needed, "votes_set_aside": [
        {**_member(state, vote.voter), "cast_at": vote.cast_at,
         "key_distrusted_from": vote.distrusted_from} for vote in aside]}


def rules_json(state: StateReader, head_height: int) -> dict[str, Any]:
    """The rules version of the next block, the changes scheduled after it, and the highest
    this node's release knows (a node stops before a block under a later one)."""
    height = head_height + 1
    return {"version": rules_version_at(state, height),
            "scheduled": [{"from_height": c.from_height, "version": c.version}
                          for c in scheduled_rules_versions(state, height)],
            "known": MAX_KNOWN_RULES_VERSION}


def governance_json(state: StateReader, head_height: int) -> dict[str, Any]:
    """As of the committed block `head_height`; statuses are those of the next block."""
    height = head_height + 1
    threshold = load_policy(state).threshold
    return {"height": head_height, **frame_json(state, head_height),
            "proposals": [proposal_json(state, p, height, threshold)
                          for p in _listed(state, height)]}


def frame_json(state: StateReader, head_height: int) -> dict[str, Any]:
    """The answer's members before `proposals` (which is last): policy, rules, voters and
    validator sets."""
    changes = set_change_heights(state)[-MAX_LISTED_SET_CHANGES:]
    said: dict[bytes, tuple[dict[str, Any], KeyChange | None]] = {}  # each key looked up once

    def validator(public_key: bytes) -> dict[str, Any]:
        if public_key not in said:
            member = validator_member(state, public_key)
            said[public_key] = (_member(state, member), key_change(state, member, public_key))
        named, change = said[public_key]
        # with the key: a rotation's set names the same members as the one before, and only
        # the keys tell that it changed; `key_change`: whether the member rotated it or the
        # ministries replaced it (`senim governance list`). Fresh objects for each set.
        return {**named, "public_key": public_key.hex(),
                "key_change": None if change is None else dict(change)}

    return {
        "policy": load_policy(state).to_json(),
        "rules": rules_json(state, head_height),
        "voters": [_member(state, v) for v in load_voters(state)],
        "validator_sets": [
            {"from_height": record.from_height,
             "validators": [validator(v.public_key) for v in record.validators]}
            for record in (validator_set_at(state, h) for h in changes)],
    }


def considered_ids(state: StateReader) -> tuple[list[bytes], list[bytes]]:
    """The ids of the proposals the answer may list, in its order: the recent ones, newest
    first (each listed if stored), then the open ones older than those (each listed if
    still open at the height)."""
    recent = load_recent_ids(state)[::-1]
    shown = set(recent)
    return recent, [pid for pid in load_open_ids(state) if pid not in shown]


def _listed(state: StateReader, height: int) -> list[Proposal]:
    """The proposals listed (each read once: a `revoke_credentials` proposal is up to 62 KiB
    to decode)."""
    recent, older = considered_ids(state)
    found = (load_proposal(state, pid) for pid in recent)
    return [p for p in found if p is not None] + [
        p for p in (load_proposal(state, pid) for pid in older)
        if p is not None and p.status(height) == "open"]


def shown_until(state: StateReader, proposal: Proposal, next_height: int) -> int | None:
    """The first next-block height above `next_height` at which the proposal may be shown
    otherwise with the same state (`Proposal.status`, `why_cannot_apply`, and whether an
    older open one is listed change only there): an open proposal expires after its expiry
    height; an approved one is in force from its effective height; revoking a retired
    issuer's credentials is refused until its retirement height; which votes count may
    change where a scheduled rules version is in force (`_votes`)."""
    heights = [rules_shown_until(state, next_height)]
    if proposal.approved_height is None:
        heights.append(proposal.expiry_height + 1)
        if isinstance(proposal.action, RevokeCredentialAction | RevokeCredentialsAction):
            issuer = load_member(state, proposal.action.issuer)
            if issuer is not None and issuer.retired_height is not None:
                heights.append(issuer.retired_height)
    elif proposal.status(next_height) == "approved":
        heights.append(proposal.effective_height)
    return min((height for height in heights if height is not None and height > next_height),
               default=None)


def rules_shown_until(state: StateReader, next_height: int) -> int | None:
    """The first height above `next_height` at which a scheduled rules version is in
    force (`rules_json`: the version and those still to come change there)."""
    scheduled = scheduled_rules_versions(state, next_height)
    return min((c.from_height for c in scheduled if c.from_height > next_height), default=None)
