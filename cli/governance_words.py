"""Governance proposals in words: the change each makes, where it stands and what it still
lacks, as `senim governance list` and `vote` say them."""

from __future__ import annotations

from typing import Any

from cli.proposal_heights import votes_may_be_late
from ledger.payloads import (
    ACTION_ADD_MEMBER,
    ACTION_ADD_VALIDATOR,
    ACTION_REMOVE_VALIDATOR,
    ACTION_RETIRE_MEMBER,
    ACTION_REVOKE_CREDENTIAL,
    ACTION_REVOKE_CREDENTIALS,
    ACTION_SET_RULES_VERSION,
)
from ledger.payloads_credentials import REVOCATION_REASONS


def who(member: dict[str, Any]) -> str:
    return str(member["name"] or member["member_id"][:16])


def names(members: list[dict[str, Any]], joiner: str = "and") -> str:
    said = [who(m) for m in members]
    return said[0] if len(said) == 1 else f"{', '.join(said[:-1])} {joiner} {said[-1]}"


def describe(proposal: dict[str, Any]) -> str:
    """The change in words, e.g. 'add Kaspi to the validators from height 104'."""
    action, when = proposal["action"], f"from height {proposal['effective_height']}"
    if action == ACTION_ADD_MEMBER:
        role = str(proposal["role"])
        article = "an" if role == "employer" else "a"  # of ROLES, the one said with a vowel
        return f"admit {proposal['name']} as {article} {role} member {when}"
    if action == ACTION_SET_RULES_VERSION:
        return f"run the ledger rules of version {proposal['rules_version']} {when}"
    if action == ACTION_REVOKE_CREDENTIAL:  # written when approved: no "from height"
        return (f"revoke credential {proposal['target_hash'][:16]}… of {who(proposal)} "
                f"(batch {proposal['batch_root'][:16]}…) for "
                f"{REVOCATION_REASONS.get(proposal['revocation_reason'], 'a coded reason')}")
    if action == ACTION_REVOKE_CREDENTIALS:
        credentials = list(proposal["credentials"])
        batches = len({c["batch_root"] for c in credentials})
        return (f"revoke {len(credentials)} credential(s) of {who(proposal)} (in {batches} "
                f"batch(es)) for "
                f"{REVOCATION_REASONS.get(proposal['revocation_reason'], 'a coded reason')}")
    return {ACTION_ADD_VALIDATOR: f"add {who(proposal)} to the validators {when}",
            ACTION_REMOVE_VALIDATOR: f"remove {who(proposal)} from the validators {when}",
            ACTION_RETIRE_MEMBER: f"retire {who(proposal)} {when}"}.get(
                action, f"{action.replace('_', '-')} {who(proposal)} {when}")


def proposal_state(proposal: dict[str, Any], voters: list[dict[str, Any]], head: int) -> str:
    """Where the proposal stands, as of the block after `head`, and what it still lacks."""
    votes, status = proposal["votes"], proposal["status"]
    effective = proposal["effective_height"]
    by = f"by {names(votes)}" if votes else "with no votes"
    if status == "in_force" and proposal["action"] in (ACTION_REVOKE_CREDENTIAL,
                                                       ACTION_REVOKE_CREDENTIALS):
        return f"Revoked at height {proposal['approved_height']}, approved {by}."
    if status == "in_force":
        return f"In force since height {effective}; approved at height " \
               f"{proposal['approved_height']} {by}."
    if status == "approved":
        return (f"Approved at height {proposal['approved_height']} {by}; it takes effect at "
                f"height {effective}, in {effective - head} block(s).")
    if status == "cannot_apply":  # open in the ledger, but its approving vote is refused
        return (f"Can no longer apply as the chain stands (the vote that would approve it is "
                f"refused): {proposal['reason']}. Voted {by}; voting closes at height "
                f"{proposal['expiry_height']}.")
    if status == "expired":
        return (f"Expired: voting closed at height {proposal['expiry_height']} with the votes "
                f"of {names(votes) if votes else 'no one'}; nothing changed.")
    voted = {v["member_id"] for v in votes}
    missing = [v for v in voters if v["member_id"] not in voted]
    needed = int(proposal["votes_needed"])
    return (f"Open, voted {by}: it needs {needed} more vote{'s' if needed != 1 else ''} by "
            f"height {proposal['expiry_height']}"
            + (f"; not yet voted: {names(missing)}." if missing else ".")
            + _former_voters(votes, voters)
            + votes_may_be_late(head, int(proposal["expiry_height"]), needed))


def _former_voters(votes: list[dict[str, Any]], voters: list[dict[str, Any]]) -> str:
    """Votes of ministries that are voters no more. Only an approved retirement takes a
    voter away, at its approval; what a member signed before keeps its meaning, so the
    ledger counts those votes (ARCHITECTURE.md, Governance)."""
    current = {v["member_id"] for v in voters}
    former = [v for v in votes if v["member_id"] not in current]
    if not former:
        return ""
    if len(former) == 1:
        return (f" {who(former[0])}'s vote still counts: it was cast before its retirement "
                "was approved, and it may vote no more.")
    return (f" The votes of {names(former)} still count: they were cast before their "
            "retirements were approved, and they may vote no more.")
