"""`senim governance propose | vote | list | revoke`: change the consortium after genesis.

A governance voter (a ministry admitted by genesis or by governance) proposes an
action; it takes effect at its effective height once the genesis policy's
threshold of voters has voted for it (the proposer's own transaction counts).
`list` shows the policy, the validator sets, and each recent proposal with who
voted and how many votes it still needs (cli/governance_vote.py). Each says what it says
in the official's language, kk, ru or en (--lang, or the locale: cli.spoken).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from cli.admission_request import AdmissionRequested
from cli.client import MALFORMED_ANSWER, ClientError, NodeClient
from cli.commands import (
    hex_bytes,
    key_option,
    load_key_or_fail,
    node_option,
    refuse_key_nobody_holds,
    submit_and_report,
)
from cli.errors import EXIT_BAD_INPUT, EXIT_REFUSED, EXIT_UNREACHABLE
from cli.governance_revoke import revoke_command
from cli.governance_vote import GovernanceCommand, list_proposals, standing, vote
from cli.governance_words import describe, refuse_unknown_version
from cli.key_replacement import ReplacementAsked
from cli.language import lang_option
from cli.member_names import new_member_name, resolve_member
from cli.proposal_heights import DEFAULT_LEAD_BLOCKS, ProposalHeights
from cli.refusals import malformed, node_said
from cli.spoken import Sentence, echo, refuse, warn
from cli.worded_group import WordedGroup
from consensus import quorum_size
from ledger.identity import PUBLIC_KEY_BYTES
from ledger.payloads import (
    ACTION_ADD_MEMBER,
    ACTION_ADD_VALIDATOR,
    ACTION_CONFIRM_ADMISSION,
    ACTION_REPLACE_KEY,
    ACTION_REVOKE_CREDENTIAL,
    ACTION_REVOKE_CREDENTIALS,
    ACTION_SET_RULES_VERSION,
    ACTIONS,
    MIN_PROPOSAL_LEAD_BLOCKS,
    ROLES,
    AddMemberAction,
    ConfirmAdmissionAction,
    GovernanceAction,
    MemberAction,
    ProposePayload,
    ReplaceKeyAction,
    RevokeCredentialAction,
    RevokeCredentialsAction,
    RulesVersionAction,
)
from ledger.rules_version import MAX_KNOWN_RULES_VERSION, MAX_RULES_VERSION


@dataclass(frozen=True)
class AdmissionAsked:
    """confirm-admission's member as given (an id or a name, looked up once the node is at
    hand) and the key the ministry checked with it."""

    member: str
    public_key: bytes


@click.group("governance", cls=WordedGroup)
def governance_group() -> None:
    """Propose and vote on changes to the consortium; list what is pending."""


for _command in (revoke_command, vote, list_proposals):
    governance_group.add_command(_command)


@governance_group.command("propose", cls=GovernanceCommand)
@key_option("Your (ministry) member key file.")
@click.option("--action", required=True, type=click.Choice([
    a.replace("_", "-") for a in ACTIONS
    if a not in (ACTION_REVOKE_CREDENTIAL, ACTION_REVOKE_CREDENTIALS)]),
    help="(A retired member's credentials are revoked by `senim governance revoke`.)")
@click.option("--member", "member_hex", default=None,
              help="The member to retire, or to add to / remove from the validators: its id "
                   "(hex) or its name as `senim members` lists it.")
@click.option("--name", default=None, help="add-member: the organisation's name.")
@click.option("--role", default=None, type=click.Choice(ROLES), help="add-member: its role.")
@click.option("--public-key", "public_key_hex", default=None,
              help="add-member, confirm-admission: the member's key (hex).")
@click.option("--request", "request_path", default=None, type=click.Path(path_type=Path),
              help="replace-key: the member's request file (senim key request-replacement); "
                   "add-member: the organisation's (senim key request-admission).")
@click.option("--compromised-from", "compromised_from", type=click.IntRange(1), default=None,
              help="replace-key: the first block from which the member's earlier keys are "
                   "not trusted (credentials they signed from then on stop verifying).")
@click.option("--rules-version", type=click.IntRange(1, MAX_RULES_VERSION), default=None,
              help="set-rules-version: the ledger rules version blocks run under from the "
                   f"effective height (this release knows versions up to "
                   f"{MAX_KNOWN_RULES_VERSION}; a node whose release does not know it stops "
                   "there until upgraded).")
@click.option("--unknown-version", "unknown_version", is_flag=True,
              help="set-rules-version: propose a version this release does not know (a node "
                   "reaching it stops until upgraded to a release that knows it).")
@click.option("--effective-height", type=int, default=None,
              help=f"First block it applies to; default the head + {DEFAULT_LEAD_BLOCKS} (more "
                   "when many votes are needed: each may come after an idle spell).")
@click.option("--expiry-height", type=int, default=None,
              help=f"Last block votes count in; default {MIN_PROPOSAL_LEAD_BLOCKS} before the "
                   "effective height.")
@node_option
@lang_option
def propose(key_path: Path, action: str, member_hex: str | None, name: str | None,
            role: str | None, public_key_hex: str | None, request_path: Path | None,
            compromised_from: int | None, rules_version: int | None, unknown_version: bool,
            effective_height: int | None, expiry_height: int | None, node_url: str,
            language: str) -> None:
    """Propose an action (your transaction is your vote); prints the proposal id."""
    governance_action = _action(action, member_hex, name, role, public_key_hex, rules_version,
                                request_path, compromised_from)
    if isinstance(governance_action, RulesVersionAction) and not unknown_version:
        refuse_unknown_version(governance_action.version, "--unknown-version")
    keys = load_key_or_fail(key_path)
    reader = NodeClient(node_url, timeout_s=10)
    if isinstance(governance_action, ReplacementAsked):
        governance_action = governance_action.action(reader)
    if isinstance(governance_action, AdmissionRequested):
        admission = governance_action.admission(reader)
        refuse_key_nobody_holds(admission.public_key, str(governance_action.request))
        new_member_name(reader, admission.name)  # checked; the proof signs it as it stands
        governance_action = AddMemberAction(admission.name, admission.role,
                                            admission.public_key, admission.possession_proof)
    elif isinstance(governance_action, AddMemberAction):
        governance_action = AddMemberAction(
            new_member_name(reader, governance_action.name), governance_action.role,
            governance_action.public_key)
    if isinstance(governance_action, AdmissionAsked):
        governance_action = ConfirmAdmissionAction(
            resolve_member(reader, governance_action.member, "--member"),
            governance_action.public_key)
    if isinstance(governance_action, str):  # a member's id or name, looked up now
        governance_action = MemberAction(action.replace("-", "_"),
                                         resolve_member(reader, governance_action, "--member"))
    try:
        status = reader.status()
    except ClientError as exc:
        refuse(node_said(exc), exc.exit_code)
    threshold, proposals = _governance(reader)
    heights = ProposalHeights(int(status["height"]), threshold)
    refusal = heights.refusal(effective_height, expiry_height)
    if refusal is not None:  # said in the terms given, not of an expiry computed from them
        refuse(refusal, EXIT_BAD_INPUT)
    if effective_height is None:
        # Another voter's proposal of the same change is the usual reason to be here: a
        # second one for another height would split the votes.
        _refuse_if_open(proposals, governance_action, key_path, node_url)
        effective_height = heights.default_effective
    if expiry_height is None:
        expiry_height = effective_height - MIN_PROPOSAL_LEAD_BLOCKS
    result = submit_and_report(NodeClient(node_url), keys, ProposePayload(
        governance_action, effective_height, expiry_height), "proposal")
    if isinstance(governance_action, ReplaceKeyAction | ConfirmAdmissionAction):  # at approval
        echo(Sentence("gov.propose.done_at_approval", f"proposal id: {result['tx_id']} (it "
                      f"applies when approved; votes close at height {expiry_height})",
                      id=result["tx_id"], expiry=expiry_height))
    else:
        echo(Sentence("gov.propose.done", f"proposal id: {result['tx_id']} (effective at "
                      f"height {effective_height}, votes close at height {expiry_height})",
                      id=result["tx_id"], effective=effective_height, expiry=expiry_height))
    now = standing(reader, result["tx_id"])
    if now is not None and now.votes_to_ask > 0:  # the others are told how to add theirs
        echo(Sentence("gov.propose.vote_next", f"it needs {now.votes_to_ask} more vote(s) of "
                      f"the other governance voters by height {expiry_height}: each runs "
                      f"senim governance vote --key KEY {result['tx_id']}", id=result["tx_id"],
                      more=now.votes_to_ask, expiry=expiry_height))
    elif now is not None:  # approved by this proposal alone, say, or refused its approval
        echo(now.said, named=True)
        if now.approved_by_any_vote:
            echo(now.how_to_approve)
    late = heights.warning(expiry_height)
    if late:
        warn(late)
    if isinstance(governance_action, RulesVersionAction):
        warn(_upgrade_due(governance_action.version, effective_height))
    if (isinstance(governance_action, MemberAction)
            and governance_action.action == ACTION_ADD_VALIDATOR):
        warning = _absent_validator(reader, status, governance_action, effective_height)
        if warning:
            warn(warning)


def _action(action: str, member: str | None, name: str | None, role: str | None,
            public_key_hex: str | None, rules_version: int | None, request: Path | None,
            compromised_from: int | None
            ) -> GovernanceAction | ReplacementAsked | AdmissionAsked | AdmissionRequested | str:
    """The action the options give, or what it names that is read once the node is at
    hand (a member's id or name, a key replacement's request); options that do not go
    together end the command."""
    kind = action.replace("-", "_")
    if kind == ACTION_REPLACE_KEY:
        if request is None or member or name or role or public_key_hex or rules_version:
            refuse(Sentence("gov.propose.needs_request", "replace-key needs --request FILE "
                            "(the member makes it: senim key request-replacement), and no "
                            "--member, --name, --role, --public-key or --rules-version"),
                   EXIT_BAD_INPUT)
        return ReplacementAsked(request, compromised_from)
    if kind == ACTION_ADD_MEMBER and request is not None and compromised_from is None:
        if member or name or role or public_key_hex or rules_version:
            refuse(Sentence("gov.propose.needs_new_member", "add-member needs --request FILE "
                            "(the organisation makes it: senim key request-admission), or, on a "
                            "chain under rules version 11 or earlier, --name, --role and "
                            "--public-key (and no --member)"), EXIT_BAD_INPUT)
        return AdmissionRequested(request)
    if request is not None or compromised_from is not None:
        refuse(Sentence("gov.propose.request_alone", "--request is for replace-key and "
                        "add-member only, --compromised-from for replace-key"), EXIT_BAD_INPUT)
    if kind != ACTION_SET_RULES_VERSION and rules_version is not None:
        refuse(Sentence("gov.propose.rules_version_alone", "--rules-version is for "
                        "set-rules-version only"), EXIT_BAD_INPUT)
    if kind == ACTION_SET_RULES_VERSION:
        if rules_version is None or member or name or role or public_key_hex:
            refuse(Sentence("gov.propose.needs_rules_version", "set-rules-version needs "
                            "--rules-version (and no --member, --name, --role or "
                            "--public-key)"), EXIT_BAD_INPUT)
        return RulesVersionAction(rules_version)
    if kind == ACTION_CONFIRM_ADMISSION:
        # The key as the ministry checked it with the member, not as a node lists it: a
        # node lying in its registry would have its key confirmed.
        if member is None or public_key_hex is None or name or role:
            refuse(Sentence("gov.propose.needs_member_and_key", "confirm-admission needs "
                            "--member and --public-key (the key the member holds, as you "
                            "checked it with the member; and no --name or --role)"),
                   EXIT_BAD_INPUT)
        return AdmissionAsked(member, hex_bytes(public_key_hex, PUBLIC_KEY_BYTES,
                                                "--public-key"))
    if kind == ACTION_ADD_MEMBER:
        if name is None or role is None or public_key_hex is None or member is not None:
            refuse(Sentence("gov.propose.needs_new_member", "add-member needs --request FILE "
                            "(the organisation makes it: senim key request-admission), or, on a "
                            "chain under rules version 11 or earlier, --name, --role and "
                            "--public-key (and no --member)"), EXIT_BAD_INPUT)
        new_key = hex_bytes(public_key_hex, PUBLIC_KEY_BYTES, "--public-key")
        refuse_key_nobody_holds(new_key, "--public-key")
        return AddMemberAction(name, role, new_key)
    if member is None or name or role or public_key_hex:
        refuse(Sentence("gov.propose.needs_member", f"{action} needs --member (and no --name, "
                        "--role or --public-key)", action=action), EXIT_BAD_INPUT)
    return member


def _absent_validator(client: NodeClient, status: dict[str, Any], action: MemberAction,
                      effective: int) -> Sentence | None:
    """What a validator whose node is not running costs from the height it joins: every
    block then needs a quorum of the larger set, so with one more validator already down
    the chain stops there. Judged from the asked node's view; silent when it cannot say."""
    try:
        consensus = status["consensus"]
        running, validators = len(consensus["reachable"]), int(consensus["validators"])
        members = client.request("GET", "/v1/members")["members"]
        member = next(m for m in members if m["member_id"] == action.member.hex())
        name, key = str(member["name"]), member["public_key"]
        connected = {p["public_key"] for p in status["peers"] if p["authenticated"]}
    except (ClientError, StopIteration, AttributeError, *MALFORMED_ANSWER):
        return None
    if key in connected or status.get("member_id") == action.member.hex():
        return None
    needed = quorum_size(validators + 1)
    stops = running < needed
    consequence = ("the chain stops at that height until enough validators run" if
                   stops else "start its node before then")
    return Sentence("gov.propose.absent_stops" if stops else "gov.propose.absent",
                    f"{name}'s node is not connected to this node: from height {effective} "
                    f"every block needs the votes of {needed} of {validators + 1} validators, "
                    f"and {running} are reachable now without it; {consequence}", name=name,
                    effective=effective, needed=needed, total=validators + 1, running=running)


def _governance(client: NodeClient) -> tuple[int, list[dict[str, Any]]]:
    """The policy's threshold and the listed proposals, as the node answers them."""
    try:
        answer = client.request("GET", "/v1/governance")
        return int(answer["policy"]["threshold"]), list(answer["proposals"])
    except ClientError as exc:
        refuse(node_said(exc), exc.exit_code)
    except MALFORMED_ANSWER as exc:
        refuse(malformed(client.base_url, "governance", type(exc).__name__), EXIT_UNREACHABLE)


def _refuse_if_open(proposals: list[dict[str, Any]], action: GovernanceAction,
                    key_path: Path, node: str) -> None:
    try:
        same = min((p for p in proposals if p["status"] == "open"
                    and _same_action(p, action)),
                   key=lambda p: int(p["effective_height"]), default=None)
    except MALFORMED_ANSWER as exc:
        refuse(malformed(node, "governance", type(exc).__name__), EXIT_UNREACHABLE)
    if same is not None:
        what, pid = describe(same), same["proposal_id"]
        refuse(Sentence("gov.propose.open_already", f"proposal {pid} already proposes to "
                        f"{what}, open until height {same['expiry_height']}: vote for it "
                        f"(senim governance vote --key {key_path} {pid}), or give "
                        "--effective-height to propose this for another height", id=pid,
                        what=what, expiry=same["expiry_height"], keyfile=key_path), EXIT_REFUSED)


def _upgrade_due(version: int, effective: int) -> Sentence:
    return Sentence("gov.propose.upgrade_due", f"once approved, a node whose release does not "
                    f"know rules version {version} stops before block {effective} until its "
                    f"operator upgrades it (this release knows versions up to "
                    f"{MAX_KNOWN_RULES_VERSION})", version=version, effective=effective,
                    known=MAX_KNOWN_RULES_VERSION)


def _same_action(proposal: dict[str, Any], action: GovernanceAction) -> bool:
    if proposal["action"] != action.action:
        return False
    if isinstance(action, RulesVersionAction):
        return bool(proposal["rules_version"] == action.version)
    if isinstance(action, AddMemberAction):
        return bool(proposal["public_key"] == action.public_key.hex())
    if isinstance(action, RevokeCredentialAction):
        return bool(proposal["target_hash"] == action.credential.target_hash.hex()
                    and proposal["batch_root"] == action.credential.batch_root.hex())
    if isinstance(action, RevokeCredentialsAction):  # `senim governance revoke` checks these
        return False
    if isinstance(action, ReplaceKeyAction):
        # Another key for the same member is another change: a ministry proposing the
        # member's request was told to vote for a proposal making someone else's key its
        # key (a thief's request, proposed first).
        return bool(proposal["member_id"] == action.member.hex()
                    and proposal.get("public_key") == action.new_public_key.hex()
                    and proposal.get("compromised_from") == action.compromised_from)
    if isinstance(action, ConfirmAdmissionAction):  # of the key it names, as above
        return bool(proposal["member_id"] == action.member.hex()
                    and proposal.get("public_key") == action.public_key.hex())
    return bool(proposal["member_id"] == action.member.hex())
