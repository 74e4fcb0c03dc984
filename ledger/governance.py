"""Governance: how the consortium changes after genesis. Pure rules over the state.

Genesis states the policy (`GovernancePolicy`): how many of the governance voters
must vote for a change. The voters are the ministries admitted by genesis or by
governance itself (`g:voters`); a ministry added by one ministry's `add_member`
transaction is a member but not a voter, so no single ministry can make voters.

A `propose` transaction names an action, an effective height and an expiry
height, and counts as its proposer's vote; each `vote` adds one voter. The
transaction that reaches the threshold applies the action, effective from the
proposal's effective height: a member added then may sign from that block on, a
retired member may sign nothing from that block on (what it signed before keeps
its meaning), and a validator-set change is written as the set in force from
that height (`ledger.validator_sets`). Votes close at the expiry height, at least
MIN_PROPOSAL_LEAD_BLOCKS before the effective height, so the set of height h + 1
is fixed once block h - 1 is committed. A proposal not approved by its expiry
height has expired; nothing needs to happen at that height. From rules version 2
(`ledger.rules_version`), a proposal identical to an open one (action and effective
height) is refused: vote for that one. From rules version 3, the action
`revoke_credential` revokes a credential of a retired member, written when approved
(`ledger.governance_revocation`); from version 4, `revoke_credentials` revokes many
of them at once. From version 5 a voter may hold at most its share of the open
proposals (`open_places_share`), so that no voter can take every place. From version 7,
`replace_key` gives a member that lost its key, or had it stolen, a new one (its id
stays), and may distrust its earlier keys from a height; written when approved, its
new key's proof of possession checked when proposed; from version 8 a replacement is
refused approval once another of the same member was approved since it was proposed.
From version 10 each vote is kept with its height and key, and one cast with a key
distrusted there does not count (`ledger.governance_votes`); `confirm_admission` vouches
for a member whose admission by one ministry is in doubt, written when approved, the
admitting ministry's vote not counted. From version 12 an `add_member` carries the new
key's proof of possession (`ledger.admission`), checked when proposed, and the approving
vote refuses one proposed without it. What each action checks and writes is
`ledger.governance_actions`; the proposal record is `ledger.proposals`.

The voters change at a change's approval, not at its effective height: a ministry whose
retirement is approved votes no more (so `would_stall_governance` counts every approved
retirement), and the votes it cast before still count, as anything it signed keeps its
meaning. Replaying committed blocks depends on both (ARCHITECTURE.md, Governance).

State keys (under the Merkle root):
- `g:policy`: [threshold, voters, min_validators];
- `g:voters`: sorted member ids of the governance voters;
- `g:open`: ids of the proposals still collecting votes (at most MAX_OPEN_PROPOSALS);
- `g:recent`: ids of the last MAX_RECENT_PROPOSALS proposals, oldest first;
- `g:p:` + proposal id (the id of the proposing transaction): the proposal;
- `g:rules`: the rules versions scheduled by `set_rules_version` (`ledger.rules_version`);
- `g:replaced:` + member id: the height its key was last replaced at (from version 8).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from ledger.admission import check_admission_proof
from ledger.codec import decode, encode
from ledger.errors import MalformedInput, TxRejected
from ledger.governance_actions import apply_action, check_action
from ledger.governance_policy import POLICY_KEY as POLICY_KEY
from ledger.governance_policy import VOTERS_KEY as VOTERS_KEY
from ledger.governance_policy import GovernancePolicy
from ledger.governance_policy import load_policy as load_policy
from ledger.governance_policy import load_voters as load_voters
from ledger.governance_revocation import require_revocation_rules
from ledger.governance_votes import (
    CastVote,
    counted_only,
    counted_votes,
    votes_needed,
    with_vote,
)
from ledger.identity import MemberId, verify_signature
from ledger.key_events import replacement_message
from ledger.payloads import (
    AddMemberAction,
    ProposePayload,
    ReplaceKeyAction,
    RevokeCredentialAction,
    RevokeCredentialsAction,
    VotePayload,
)
from ledger.proposals import OPEN_PROPOSALS_KEY as OPEN_PROPOSALS_KEY
from ledger.proposals import PREFIX_PROPOSAL as PREFIX_PROPOSAL
from ledger.proposals import RECENT_PROPOSALS_KEY as RECENT_PROPOSALS_KEY
from ledger.proposals import Proposal as Proposal
from ledger.proposals import load_open_ids as load_open_ids
from ledger.proposals import load_proposal as load_proposal
from ledger.proposals import load_recent_ids as load_recent_ids
from ledger.proposals import open_proposals as open_proposals
from ledger.proposals import proposal_key as proposal_key
from ledger.records import Member
from ledger.rules_version import (
    DUPLICATE_PROPOSAL_REFUSED_FROM,
    KEY_REPLACEMENT_FROM,
    OPEN_PLACES_SHARED_FROM,
    REPLACED_SINCE_REFUSED_FROM,
    STOLEN_VOTES_SET_ASIDE_FROM,
    rules_version_at,
)
from ledger.validator_sets import StateReader, StateWriter

PREFIX_REPLACED = b"g:replaced:"
MAX_OPEN_PROPOSALS = 32
MAX_RECENT_PROPOSALS = 64  # listed by `senim governance list`, newest first
# A proposal may stay open and be scheduled at most this far ahead, so open ones
# expire and make room, and nobody schedules a change for the next century.
MAX_PROPOSAL_BLOCKS = 100_000


def genesis_governance_state(policy: GovernancePolicy, ministries: Iterable[MemberId]
                             ) -> dict[bytes, bytes]:
    return {POLICY_KEY: policy.encode(), VOTERS_KEY: encode(sorted(ministries)),
            OPEN_PROPOSALS_KEY: encode([]), RECENT_PROPOSALS_KEY: encode([])}


def why_cannot_apply(state: StateReader, proposal: Proposal, height: int) -> TxRejected | None:
    """Why the vote that would approve `proposal` in block `height` is refused as the
    state stands (its action checked as that vote checks it), or None. A read: it decides
    nothing, and a later change (a validator removed, a ministry added) may make it
    possible again.

    The audit paths of a revocation are not checked again: each passed when it was proposed
    (`propose` checks the action, under every rules version that accepts it), against the
    count of a batch its issuer, retired by then, can no longer write (a batch is made
    once, by its issuer), so each would pass again; the vote that approves it checks them
    all the same. Checking them took about 40% of `GET /v1/governance`'s CPU."""
    try:
        _check_applies(state, proposal, load_policy(state), height,
                       rules_version_at(state, height), paths_checked=True)
    except TxRejected as exc:
        return exc
    return None


def refuse_key_awaiting_replacement(state: StateReader, public_key: bytes, height: int,
                                    rules_version: int) -> None:
    """From rules version 7, a key an open `replace_key` proposal names may be admitted as
    no member's: the request is public while the vote is open, and one ministry adding a
    member with it had the approving vote refused (`key_in_use`), request after request."""
    if rules_version < KEY_REPLACEMENT_FROM:
        return
    for proposal in open_proposals(state, height):
        action = proposal.action
        if isinstance(action, ReplaceKeyAction) and action.new_public_key == public_key:
            raise TxRejected("key_awaiting_replacement", f"proposal "
                             f"{proposal.proposal_id.hex()} would make this key "
                             f"{action.member.hex()}'s: it may be no other member's",
                             proposal=proposal.proposal_id.hex(),
                             member_id=action.member.hex())


def check_sender_active(sender: Member, height: int) -> None:
    """A member signs from its admission height until its retirement height."""
    if sender.retired_height is not None and sender.retired_height <= height:
        raise TxRejected("member_retired", f"{sender.name} was retired at height "
                         f"{sender.retired_height} and may no longer sign", member=sender.name,
                         height=sender.retired_height)
    if sender.added_height > height:
        raise TxRejected("not_yet_member", f"{sender.name} is a member from height "
                         f"{sender.added_height}", member=sender.name,
                         height=sender.added_height)


# ---- the two transaction kinds -----------------------------------------------------------

def propose(state: StateWriter, payload: ProposePayload, proposal_id: bytes,
            sender_id: MemberId, sender_key: bytes, height: int, time_ms: int,
            rules_version: int, chain_id: str) -> None:
    voters = load_voters(state)
    policy = load_policy(state)
    _require_voter(sender_id, voters)
    if payload.expiry_height < height:
        raise TxRejected("proposal_expiry_passed", f"the expiry height {payload.expiry_height} "
                         f"has passed (this block is {height})", expiry=payload.expiry_height,
                         height=height)
    if payload.effective_height > height + MAX_PROPOSAL_BLOCKS:
        raise TxRejected("effective_height_too_far", f"the effective height may be at most "
                         f"{MAX_PROPOSAL_BLOCKS} blocks ahead", limit=MAX_PROPOSAL_BLOCKS)
    open_now = open_proposals(state, height)
    if rules_version >= DUPLICATE_PROPOSAL_REFUSED_FROM:  # version 1 chains hold duplicates
        _refuse_duplicate(payload, open_now)
    if isinstance(payload.action, RevokeCredentialAction | RevokeCredentialsAction):
        require_revocation_rules(payload.action, rules_version)
    still_open = [p.proposal_id for p in open_now]
    if len(still_open) >= MAX_OPEN_PROPOSALS:
        raise TxRejected("too_many_open_proposals", f"{MAX_OPEN_PROPOSALS} proposals are "
                         "open; vote on them or let them expire first",
                         limit=MAX_OPEN_PROPOSALS)
    if rules_version >= OPEN_PLACES_SHARED_FROM:
        _refuse_past_share(sender_id, open_now, len(voters))
    proposal = Proposal(proposal_id, sender_id, payload.action, payload.effective_height,
                        payload.expiry_height, height, (sender_id,), None,
                        (CastVote(height, sender_key),)
                        if rules_version >= STOLEN_VOTES_SET_ASIDE_FROM else None)
    _check_applies(state, proposal, policy, height, rules_version)
    if isinstance(payload.action, ReplaceKeyAction):  # checked once: the proof never changes
        _require_possession(payload.action, chain_id)
    if isinstance(payload.action, AddMemberAction):  # its signature likewise, once
        check_admission_proof(payload.action.public_key, payload.action.name,
                              payload.action.role, payload.action.possession_proof,
                              rules_version, chain_id)
    ballot = proposal.ballot(state)
    if counted_votes(state, ballot, rules_version) >= votes_needed(state, ballot,
                                                                   policy.threshold):
        _apply(state, proposal, height, time_ms, rules_version)
        proposal = replace(proposal, approved_height=height)
    else:
        still_open.append(proposal_id)
    state.set(OPEN_PROPOSALS_KEY, encode(still_open))
    state.set(RECENT_PROPOSALS_KEY,
              encode([*load_recent_ids(state), proposal_id][-MAX_RECENT_PROPOSALS:]))
    state.set(proposal_key(proposal_id), proposal.encode())


def _check_applies(state: StateReader, proposal: Proposal, policy: GovernancePolicy,
                   height: int, rules_version: int, *, paths_checked: bool = False) -> None:
    """The action's own checks (`check_action`); for a member to admit, that no open
    replacement names its key; for a key to replace, that no other replacement of it was
    approved since (the proposals are this module's to read)."""
    check_action(state, proposal.action, proposal.effective_height, policy, height,
                 rules_version, paths_checked=paths_checked)
    if isinstance(proposal.action, AddMemberAction):
        # From version 12 the approving vote too needs the proof: one proposed before it
        # carries none, and would admit a key nobody showed it holds.
        check_admission_proof(proposal.action.public_key, proposal.action.name,
                              proposal.action.role, proposal.action.possession_proof,
                              rules_version, None)
        refuse_key_awaiting_replacement(state, proposal.action.public_key, height,
                                        rules_version)
    if (isinstance(proposal.action, ReplaceKeyAction)
            and rules_version >= REPLACED_SINCE_REFUSED_FROM):
        replaced = _replaced_since(state, proposal.action.member, proposal.proposed_height)
        if replaced is not None:
            raise TxRejected("replaced_since", f"this member's key was replaced at height "
                             f"{replaced}, since this proposal was made at height "
                             f"{proposal.proposed_height}: approving it would move the "
                             "member again; propose it anew if it is still wanted",
                             height=replaced, proposed=proposal.proposed_height)


def _replaced_since(state: StateReader, member: MemberId, proposed: int) -> int | None:
    """The height of a replacement of the member's key approved at or after `proposed`
    (the same block counts: the order within it is not the proposal's), or None. An
    approval under version 7 recorded no height, and the recent proposals may show one."""
    recorded = last_replaced_height(state, member)
    if recorded is not None and recorded >= proposed:
        return recorded
    for proposal_id in load_recent_ids(state):
        other = load_proposal(state, proposal_id)
        if (other is not None and isinstance(other.action, ReplaceKeyAction)
                and other.action.member == member and other.approved_height is not None
                and other.approved_height >= proposed):
            return other.approved_height
    return None


def last_replaced_height(state: StateReader, member: MemberId) -> int | None:
    """The height of the member's last key replacement recorded (from rules version 8)."""
    raw = state.get(PREFIX_REPLACED + member)
    if raw is None:
        return None
    height = decode(raw)
    if not isinstance(height, int) or isinstance(height, bool):
        raise MalformedInput("stored replacement height is malformed")
    return height


def _require_possession(action: ReplaceKeyAction, chain_id: str) -> None:
    """A replacement key must be one its member holds, as a rotation's must: else the
    consortium could put a key in a member's name that the member never had."""
    message = replacement_message(chain_id, action.member, action.new_public_key)
    if not verify_signature(action.new_public_key, message, action.possession_proof):
        raise TxRejected("bad_possession_proof", "the proof of possession is not the new "
                         "key's signature over this chain, member and key")


def open_places_share(voters: int) -> int:
    """How many open proposals one voter may hold from rules version
    OPEN_PLACES_SHARED_FROM: an equal part of MAX_OPEN_PROPOSALS, so that whatever one
    voter proposes, every other voter still has places of its own (8 each among 4). While
    the voters stay the same, that is: the open proposals of a voter retired since, or the
    larger share of one held before a voter was admitted, keep their places until each is
    approved or expires."""
    return max(1, MAX_OPEN_PROPOSALS // max(1, voters))


def _refuse_past_share(sender_id: MemberId, open_now: list[Proposal], voters: int) -> None:
    share = open_places_share(voters)
    held = sum(1 for other in open_now if other.proposer == sender_id)
    if held >= share:
        raise TxRejected("open_share_used", f"you hold {held} open proposals, your share "
                         f"of the {MAX_OPEN_PROPOSALS} places among {voters} voters; vote "
                         "on others' or let yours be approved or expire first", held=held,
                         limit=MAX_OPEN_PROPOSALS, voters=voters)


def _refuse_duplicate(payload: ProposePayload, open_now: list[Proposal]) -> None:
    for other in open_now:
        # An identical proposal would only split the voters between two ids, so that
        # neither reaches the threshold; the same action for another height is allowed,
        # or one proposal scheduled far off could stop any sooner one until it expires.
        if (other.action == payload.action
                and other.effective_height == payload.effective_height):
            raise TxRejected("duplicate_proposal", f"proposal {other.proposal_id.hex()} "
                             f"already proposes this for height {other.effective_height}, "
                             f"open until height {other.expiry_height}: vote for it instead",
                             proposal=other.proposal_id.hex(), height=other.effective_height,
                             expiry=other.expiry_height)


def vote(state: StateWriter, payload: VotePayload, sender_id: MemberId, sender_key: bytes,
         height: int, time_ms: int, rules_version: int) -> None:
    _require_voter(sender_id, load_voters(state))
    proposal = load_proposal(state, payload.proposal_id)
    if proposal is None:
        raise TxRejected("unknown_proposal", f"no proposal {payload.proposal_id.hex()[:16]}…",
                         proposal=payload.proposal_id.hex()[:16])
    status = proposal.status(height)
    if status == "expired":
        raise TxRejected("proposal_expired", f"voting closed at height "
                         f"{proposal.expiry_height}", height=proposal.expiry_height)
    if status != "open":
        raise TxRejected("proposal_closed", f"already approved at height "
                         f"{proposal.approved_height}",
                         **({} if proposal.approved_height is None
                            else {"height": proposal.approved_height}))
    policy = load_policy(state)
    ballot = proposal.ballot(state)
    needed = votes_needed(state, ballot, policy.threshold)
    ballot = with_vote(state, ballot, sender_id, sender_key, height, needed, rules_version)
    proposal = replace(proposal, voters=ballot.voters, votes_cast=ballot.casts)
    if counted_votes(state, ballot, rules_version) >= needed:
        # The state may have moved since the proposal: the action is checked again, and
        # a vote that would apply an action no longer possible is refused.
        _check_applies(state, proposal, policy, height, rules_version)
        kept = counted_only(state, ballot, rules_version)  # before the action moves a key
        _apply(state, proposal, height, time_ms, rules_version)
        proposal = replace(proposal, voters=kept.voters, votes_cast=kept.casts,
                           approved_height=height)
        state.set(OPEN_PROPOSALS_KEY, encode([pid for pid in load_open_ids(state)
                                              if pid != proposal.proposal_id]))
    state.set(proposal_key(proposal.proposal_id), proposal.encode())


def _require_voter(sender_id: MemberId, voters: list[MemberId]) -> None:
    if sender_id not in voters:
        raise TxRejected("not_a_voter", "only the governance voters (the ministries admitted "
                         "by genesis or by governance, less those whose retirement is "
                         "approved) may propose or vote")


def _apply(state: StateWriter, proposal: Proposal, height: int, time_ms: int,
           rules_version: int) -> None:
    apply_action(state, proposal.action, proposal.effective_height, proposal.proposal_id,
                 proposal.proposer, height, time_ms, rules_version)
    if (isinstance(proposal.action, ReplaceKeyAction)
            and rules_version >= REPLACED_SINCE_REFUSED_FROM):
        state.set(PREFIX_REPLACED + proposal.action.member, encode(height))
