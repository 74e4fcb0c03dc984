"""Governance proposals in words: the change each makes, where it stands and what it still
lacks, as `senim governance list` and `vote` say them, each a `Sentence` said in the
ministry official's language (cli.spoken; English as it always read). The ledger's rules
version in words too, as `list` and `senim status` say it."""

from __future__ import annotations

from typing import Any

from cli.client import node_line, refusal_params
from cli.errors import EXIT_BAD_INPUT
from cli.language import catalogue
from cli.proposal_heights import votes_may_be_late
from cli.refusals import refusal
from cli.spoken import Joined, Sentence, refuse
from ledger.payloads import (
    ACTION_ADD_MEMBER,
    ACTION_ADD_VALIDATOR,
    ACTION_CONFIRM_ADMISSION,
    ACTION_REMOVE_VALIDATOR,
    ACTION_REPLACE_KEY,
    ACTION_RETIRE_MEMBER,
    ACTION_REVOKE_CREDENTIAL,
    ACTION_REVOKE_CREDENTIALS,
    ACTION_SET_RULES_VERSION,
)
from ledger.payloads_credentials import REVOCATION_REASONS
from ledger.rules_version import MAX_KNOWN_RULES_VERSION

# The actions said "<do> <who> from height H" (the member is all they name).
MEMBER_ACTIONS = (ACTION_ADD_VALIDATOR, ACTION_REMOVE_VALIDATOR, ACTION_RETIRE_MEMBER)


def who(member: dict[str, Any]) -> str:
    return str(member["name"] or member["member_id"][:16])


def names(members: list[dict[str, Any]], joiner: str = "and") -> Sentence | str:
    said = [who(m) for m in members]
    if len(said) == 1:
        return said[0]
    first = ", ".join(said[:-1])
    return Sentence("gov.names", f"{first} {joiner} {said[-1]}", first=first, last=said[-1])


def reason_words(code: str) -> Sentence:
    """A revocation's reason code in words (the portal's)."""
    english = REVOCATION_REASONS.get(code, "a coded reason")
    key = f"reason.{code}"
    return Sentence(key if key in catalogue("en") else "gov.coded_reason", english)


def describe(proposal: dict[str, Any]) -> Sentence:
    """The change in words, e.g. 'add Kaspi to the validators from height 104'."""
    action, height = proposal["action"], proposal["effective_height"]
    when = f"from height {height}"
    if action == ACTION_ADD_MEMBER:
        role = str(proposal["role"])
        article = "an" if role == "employer" else "a"  # of ROLES, the one said with a vowel
        role_key = f"gov.role.{role}"
        return Sentence("gov.do.add_member",
                        f"admit {proposal['name']} as {article} {role} member {when}",
                        name=proposal["name"], height=height,
                        role=Sentence(role_key) if role_key in catalogue("en") else role)
    if action == ACTION_SET_RULES_VERSION:
        return Sentence("gov.do.set_rules_version",
                        f"run the ledger rules of version {proposal['rules_version']} {when}",
                        version=proposal["rules_version"], height=height)
    if action == ACTION_REVOKE_CREDENTIAL:  # written when approved: no "from height"
        why = reason_words(proposal["revocation_reason"])
        return Sentence("gov.do.revoke_credential",
                        f"revoke credential {proposal['target_hash'][:16]}… of {who(proposal)} "
                        f"(batch {proposal['batch_root'][:16]}…) for {why}",
                        hash=proposal["target_hash"][:16], who=who(proposal),
                        batch=proposal["batch_root"][:16], reason=why)
    if action == ACTION_REVOKE_CREDENTIALS:
        credentials = list(proposal["credentials"])
        batches = len({c["batch_root"] for c in credentials})
        why = reason_words(proposal["revocation_reason"])
        return Sentence("gov.do.revoke_credentials",
                        f"revoke {len(credentials)} credential(s) of {who(proposal)} (in "
                        f"{batches} batch(es)) for {why}", count=len(credentials),
                        who=who(proposal), batches=batches, reason=why)
    if action == ACTION_CONFIRM_ADMISSION:  # written when approved: no "from height"
        key = str(proposal["public_key"])[:16]
        return Sentence("gov.do.confirm_admission", f"confirm the admission of "
                        f"{who(proposal)}, holding key {key}…, so that what it records "
                        "counts again", who=who(proposal), key=key)
    if action == ACTION_REPLACE_KEY:  # written when approved: no "from height"
        key, since = str(proposal["public_key"])[:16], proposal.get("compromised_from")
        if since is None:
            return Sentence("gov.do.replace_key", f"make {key}… the key of {who(proposal)}",
                            key=key, who=who(proposal))
        return Sentence("gov.do.replace_key_compromised", f"make {key}… the key of "
                        f"{who(proposal)}, and trust its earlier keys' signatures no more "
                        f"from height {since}", key=key, who=who(proposal), since=since)
    english = {ACTION_ADD_VALIDATOR: f"add {who(proposal)} to the validators {when}",
               ACTION_REMOVE_VALIDATOR: f"remove {who(proposal)} from the validators {when}",
               ACTION_RETIRE_MEMBER: f"retire {who(proposal)} {when}"}.get(
                   action, f"{action.replace('_', '-')} {who(proposal)} {when}")
    if action in MEMBER_ACTIONS:
        return Sentence(f"gov.do.{action}", english, who=who(proposal), height=height)
    # an action of a later release: its name as the node gives it
    return Sentence("gov.do.other", english, action=action.replace("_", "-"),
                    who=who(proposal), height=height)


def _by(votes: list[dict[str, Any]]) -> Sentence:
    if votes:
        said = names(votes)
        return Sentence("gov.by", f"by {said}", names=said)
    return Sentence("gov.by_none", "with no votes")


def cannot_apply_reason(proposal: dict[str, Any]) -> Sentence:
    """Why an open proposal can no longer apply: its refusal code's sentence (the node's
    own English)."""
    code = proposal.get("reason_code")
    key = f"refusal.{code}"
    reason = node_line(proposal["reason"])
    if isinstance(code, str) and key in catalogue("en"):
        return refusal(code, reason, refusal_params(proposal.get("reason_params")))
    return Sentence("issue.node.error", reason, why=reason)


def proposal_state(proposal: dict[str, Any], voters: list[dict[str, Any]], head: int
                   ) -> Sentence:
    """Where the proposal stands, as of the block after `head`, and what it still lacks;
    then which votes were cast with a key distrusted at their height (rules version 10;
    a node before it lists none)."""
    aside = list(proposal.get("votes_set_aside") or ())
    status = proposal["status"]
    if status in ("approved", "in_force"):  # it keeps only the votes that carried it
        state = _standing(proposal, proposal["votes"], voters, head)
        return Joined([state, *(_set_aside_since(vote, proposal) for vote in aside)]
                      ) if aside else state
    if status == "expired":  # it approved nothing: the votes as they were cast
        return _standing(proposal, proposal["votes"], voters, head)
    admitting = proposal.get("admitted_by")  # confirm_admission's (version 10)
    excluded = admitting["member_id"] if admitting else None
    own = [v for v in proposal["votes"] if v["member_id"] == excluded]
    aside = [vote for vote in aside if vote["member_id"] != excluded]  # said as its own
    not_counted = {vote["member_id"] for vote in aside} | {excluded}
    counted = [v for v in proposal["votes"] if v["member_id"] not in not_counted]
    # Asked of no one whose vote would not count: the admitting ministry's vote is refused.
    state = _standing(proposal, counted, [v for v in voters if v["member_id"] != excluded],
                      head)
    notes = [_set_aside_open(vote, proposal, {v["member_id"] for v in voters})
             for vote in aside]
    notes += [Sentence("gov.vote_not_counted.admitting", f" {who(v)}'s own vote does not "
                       "count: it admitted the member whose admission this confirms.",
                       who=who(v)) for v in own]
    return Joined([state, *notes]) if notes else state


def _set_aside_open(vote: dict[str, Any], proposal: dict[str, Any], current: set[str]
                    ) -> Sentence:
    """A vote of an open proposal cast with a key distrusted at its height: it counts for
    nothing; its ministry, if it did vote and is still a voter, votes again."""
    voter, cast, since = who(vote), int(vote["cast_at"]), int(vote["key_distrusted_from"])
    if _proposals_own(vote, proposal):
        return Sentence("gov.vote_set_aside.proposer", f" {voter}'s proposal was made at "
                        f"height {cast} with a key distrusted from height {since}, so its "
                        f"vote does not count: ask {voter} whether it proposed this.",
                        who=voter, cast=cast, since=since)
    if vote["member_id"] not in current:
        return Sentence("gov.vote_set_aside.former", f" {voter}'s vote does not count: it "
                        f"was cast at height {cast} with a key distrusted from height "
                        f"{since}, and {voter} may vote no more.", who=voter, cast=cast,
                        since=since)
    return Sentence("gov.vote_set_aside.open", f" {voter}'s vote does not count: it was cast "
                    f"at height {cast} with a key distrusted from height {since}; if {voter} "
                    "did vote, it votes again with the key it holds now.", who=voter,
                    cast=cast, since=since)


def _proposals_own(vote: dict[str, Any], proposal: dict[str, Any]) -> bool:
    """Whether the vote is the proposal itself (not the proposer's vote cast again)."""
    return bool(vote["member_id"] == proposal["proposer"]["member_id"]
                and vote["cast_at"] == proposal["proposed_height"])


def _set_aside_since(vote: dict[str, Any], proposal: dict[str, Any]) -> Sentence:
    """A vote that carried an approval, cast with a key distrusted since at its height:
    the approval stands, and the ministries are told what it helped approve."""
    voter, cast, since = who(vote), int(vote["cast_at"]), int(vote["key_distrusted_from"])
    if _proposals_own(vote, proposal):
        return Sentence("gov.vote_set_aside.closed_proposer", f" {voter}'s proposal counted "
                        f"as its vote at the approval, but it was made at height {cast} with "
                        f"a key distrusted from height {since}: ask {voter} whether it "
                        "proposed this.", who=voter, cast=cast, since=since)
    return Sentence("gov.vote_set_aside.closed", f" {voter}'s vote counted at the approval, "
                    f"but it was cast at height {cast} with a key distrusted from height "
                    f"{since}: ask {voter} whether it voted.", who=voter, cast=cast,
                    since=since)


def _standing(proposal: dict[str, Any], votes: list[dict[str, Any]],
              voters: list[dict[str, Any]], head: int) -> Sentence:
    """The proposal's standing, `votes` being those that count."""
    status = proposal["status"]
    effective, expiry = proposal["effective_height"], proposal["expiry_height"]
    by = _by(votes) if votes or status == "expired" else Sentence(
        "gov.by_none_counted", "by no one whose vote counts")  # all set aside (version 10)
    if status == "in_force" and proposal["action"] in (ACTION_REVOKE_CREDENTIAL,
                                                       ACTION_REVOKE_CREDENTIALS):
        return Sentence("gov.state.revoked", f"Revoked at height {proposal['approved_height']}, "
                        f"approved {by}.", height=proposal["approved_height"], by=by)
    if status == "in_force" and proposal["action"] == ACTION_CONFIRM_ADMISSION:  # the same
        return Sentence("gov.state.confirmed", f"Confirmed at height "
                        f"{proposal['approved_height']}, approved {by}.",
                        height=proposal["approved_height"], by=by)
    if status == "in_force" and proposal["action"] == ACTION_REPLACE_KEY:  # at its approval
        return Sentence("gov.state.replaced", f"Replaced at height "
                        f"{proposal['approved_height']}, approved {by}.",
                        height=proposal["approved_height"], by=by)
    forward = proposal.get("brought_forward_to")
    if status in ("approved", "in_force") and isinstance(forward, int) and not isinstance(
            forward, bool):  # a later approval retires the member sooner (rules version 11)
        return Sentence("gov.state.brought_forward", f"Approved at height "
                        f"{proposal['approved_height']} {by}; a later approval brought the "
                        f"retirement forward to height {forward}, so nothing happens at height "
                        f"{effective}.", approved=proposal["approved_height"], by=by,
                        height=forward, effective=effective)
    if status == "in_force":
        return Sentence("gov.state.in_force", f"In force since height {effective}; approved at "
                        f"height {proposal['approved_height']} {by}.", effective=effective,
                        approved=proposal["approved_height"], by=by)
    if status == "approved":
        return Sentence("gov.state.approved", f"Approved at height {proposal['approved_height']} "
                        f"{by}; it takes effect at height {effective}, in {effective - head} "
                        "block(s).", approved=proposal["approved_height"], by=by,
                        effective=effective, blocks=effective - head)
    if status == "cannot_apply":  # open in the ledger, but its approving vote is refused
        return Sentence("gov.state.cannot_apply", "Can no longer apply as the chain stands (the "
                        "vote that would approve it is refused): "
                        f"{proposal['reason']}. Voted {by}; voting closes at height {expiry}.",
                        why=cannot_apply_reason(proposal), by=by, expiry=expiry)
    if status == "expired":
        return Sentence("gov.state.expired", f"Expired: voting closed at height {expiry} with "
                        f"the votes of {names(votes) if votes else 'no one'}; nothing changed.",
                        expiry=expiry, by=by)
    voted = {v["member_id"] for v in proposal["votes"]}  # one set aside: said after this
    missing = [v for v in voters if v["member_id"] not in voted]
    needed = int(proposal["votes_needed"])
    if needed == 0:  # a vote set aside counted again since the last vote (version 10)
        return Sentence("gov.state.open_enough", f"Open, voted {by}: it has the votes it "
                        f"needs, and the next vote of any voter approves it, by height "
                        f"{expiry}.", by=by, expiry=expiry)
    said_missing = names(missing) if missing else ""
    rest: Sentence | str = (Sentence("gov.state.not_voted", f"; not yet voted: {said_missing}.",
                                     names=said_missing) if missing else ".")
    former, late = _former_voters(votes, voters), votes_may_be_late(head, expiry, needed)
    return Sentence("gov.state.open", f"Open, voted {by}: it needs {needed} more "
                    f"vote{'s' if needed != 1 else ''} by height {expiry}{rest}{former}{late}",
                    by=by, needed=needed, expiry=expiry, rest=rest, former=former, late=late)


def _former_voters(votes: list[dict[str, Any]], voters: list[dict[str, Any]]
                   ) -> Sentence | str:
    """Votes of ministries that are voters no more. Only an approved retirement takes a
    voter away, at its approval; what a member signed before keeps its meaning, so the
    ledger counts those votes (ARCHITECTURE.md, Governance)."""
    current = {v["member_id"] for v in voters}
    former = [v for v in votes if v["member_id"] not in current]
    if not former:
        return ""
    if len(former) == 1:
        return Sentence("gov.former.one", f" {who(former[0])}'s vote still counts: it was cast "
                        "before its retirement was approved, and it may vote no more.",
                        who=who(former[0]))
    said = names(former)
    return Sentence("gov.former.many", f" The votes of {said} still count: they were cast "
                    "before their retirements were approved, and they may vote no more.",
                    names=said)


def rules_sentence(rules: dict[str, Any]) -> Sentence:
    """The rules version of the next block and the changes scheduled, as a node answers
    them in `rules` (`GET /v1/governance`, `/v1/status`)."""
    known = int(rules["known"])
    parts: list[Sentence] = [Sentence("gov.rules.now", f"version {rules['version']} (the node's "
                                      f"release knows up to {known})",
                                      version=rules["version"], known=known)]
    for change in rules["scheduled"]:
        version, height = int(change["version"]), int(change["from_height"])
        if version <= known:
            parts.append(Sentence("gov.rules.scheduled", f"; version {version} from height "
                                  f"{height}", version=version, height=height))
        else:
            parts.append(Sentence("gov.rules.unknown", f"; version {version} from height "
                                  f"{height}, which the node's release does not know: it "
                                  f"stops before block {height} unless upgraded",
                                  version=version, height=height))
    return Joined(parts)


def upgrade_due(rules: dict[str, Any]) -> bool:
    """Whether the node's release does not know a version scheduled in `rules`."""
    return any(int(change["version"]) > int(rules["known"]) for change in rules["scheduled"])


def refuse_unknown_version(version: int, flag: str) -> None:
    """Refuse, unsent, a rules version no release this one knows of runs: approved, every
    node stops at its height until upgraded to one that knows it, and no later proposal
    can go back to a lower version (a "110" typed for "11" halted a test consortium)."""
    if version > MAX_KNOWN_RULES_VERSION:
        refuse(Sentence("gov.rules_version_unknown", f"rules version {version} is later than "
                        f"any this release knows (up to {MAX_KNOWN_RULES_VERSION}): once "
                        "approved, every node stops at its height until upgraded to a release "
                        "that knows it, and no later proposal can go back. A typo? If a "
                        f"release that knows it is on its way, give {flag}",
                        version=version, known=MAX_KNOWN_RULES_VERSION, flag=flag),
               EXIT_BAD_INPUT)
