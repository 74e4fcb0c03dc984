"""`senim governance propose | vote | list`: change the consortium after genesis.

A governance voter (a ministry admitted by genesis or by governance) proposes an
action; it takes effect at its effective height once the genesis policy's
threshold of voters has voted for it (the proposer's own transaction counts).
`list` shows the policy, the validator sets, and each recent proposal with who
voted and how many votes it still needs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from cli.client import MALFORMED_ANSWER, ClientError, NodeClient
from cli.commands import (
    echo_answer,
    hex_bytes,
    key_option,
    load_key_or_fail,
    node_option,
    submit_and_report,
)
from cli.errors import EXIT_BAD_INPUT, EXIT_REFUSED, EXIT_UNREACHABLE, fail
from cli.governance_revoke import revoke_command
from cli.governance_words import describe, names, proposal_state, who
from cli.member_names import new_member_name, resolve_member, tell_apart
from cli.proposal_heights import DEFAULT_LEAD_BLOCKS, ProposalHeights, votes_may_be_late
from cli.proposal_ids import resolve_proposal_id
from consensus import quorum_size
from ledger.identity import PUBLIC_KEY_BYTES
from ledger.payloads import (
    ACTION_ADD_MEMBER,
    ACTION_ADD_VALIDATOR,
    ACTION_REVOKE_CREDENTIAL,
    ACTION_REVOKE_CREDENTIALS,
    ACTION_SET_RULES_VERSION,
    ACTIONS,
    MIN_PROPOSAL_LEAD_BLOCKS,
    ROLES,
    AddMemberAction,
    GovernanceAction,
    MemberAction,
    ProposePayload,
    RevokeCredentialAction,
    RevokeCredentialsAction,
    RulesVersionAction,
    VotePayload,
)
from ledger.rules_version import MAX_KNOWN_RULES_VERSION, MAX_RULES_VERSION


@click.group("governance")
def governance_group() -> None:
    """Propose and vote on changes to the consortium; list what is pending."""


governance_group.add_command(revoke_command)


@governance_group.command("propose")
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
@click.option("--public-key", "public_key_hex", default=None, help="add-member: its key (hex).")
@click.option("--rules-version", type=click.IntRange(1, MAX_RULES_VERSION), default=None,
              help="set-rules-version: the ledger rules version blocks run under from the "
                   f"effective height (this release knows versions up to "
                   f"{MAX_KNOWN_RULES_VERSION}; a node whose release does not know it stops "
                   "there until upgraded).")
@click.option("--effective-height", type=int, default=None,
              help=f"First block it applies to; default the head + {DEFAULT_LEAD_BLOCKS} (more "
                   "when many votes are needed: each may come after an idle spell).")
@click.option("--expiry-height", type=int, default=None,
              help=f"Last block votes count in; default {MIN_PROPOSAL_LEAD_BLOCKS} before the "
                   "effective height.")
@node_option
def propose(key_path: Path, action: str, member_hex: str | None, name: str | None,
            role: str | None, public_key_hex: str | None, rules_version: int | None,
            effective_height: int | None, expiry_height: int | None, node_url: str) -> None:
    """Propose an action (your transaction is your vote); prints the proposal id."""
    kind = action.replace("-", "_")
    governance_action: GovernanceAction
    member: str | None = None  # looked up once the node is at hand: it may be a name
    if kind != ACTION_SET_RULES_VERSION and rules_version is not None:
        fail("--rules-version is for set-rules-version only", EXIT_BAD_INPUT)
    if kind == ACTION_SET_RULES_VERSION:
        if rules_version is None or member_hex or name or role or public_key_hex:
            fail("set-rules-version needs --rules-version (and no --member, --name, --role or "
                 "--public-key)", EXIT_BAD_INPUT)
        governance_action = RulesVersionAction(rules_version)
    elif kind == ACTION_ADD_MEMBER:
        if name is None or role is None or public_key_hex is None or member_hex is not None:
            fail("add-member needs --name, --role and --public-key (and no --member)",
                  EXIT_BAD_INPUT)
        governance_action = AddMemberAction(
            name, role, hex_bytes(public_key_hex, PUBLIC_KEY_BYTES, "--public-key"))
    else:
        if member_hex is None or name or role or public_key_hex:
            fail(f"{action} needs --member (and no --name, --role or --public-key)",
                  EXIT_BAD_INPUT)
        member = member_hex
    keys = load_key_or_fail(key_path)
    reader = NodeClient(node_url, timeout_s=10)
    if kind == ACTION_ADD_MEMBER and isinstance(governance_action, AddMemberAction):
        governance_action = AddMemberAction(
            new_member_name(reader, governance_action.name), governance_action.role,
            governance_action.public_key)
    if member is not None:
        governance_action = MemberAction(kind, resolve_member(reader, member, "--member"))
    try:
        status = reader.status()
    except ClientError as exc:
        fail(str(exc), exc.exit_code)
    threshold, proposals = _governance(reader)
    heights = ProposalHeights(int(status["height"]), threshold)
    refusal = heights.refusal(effective_height, expiry_height)
    if refusal is not None:  # said in the terms given, not of an expiry computed from them
        fail(refusal, EXIT_BAD_INPUT)
    if effective_height is None:
        # Another voter's proposal of the same change is the usual reason to be here: a
        # second one for another height would split the votes.
        _refuse_if_open(proposals, governance_action, key_path)
        effective_height = heights.default_effective
    if expiry_height is None:
        expiry_height = effective_height - MIN_PROPOSAL_LEAD_BLOCKS
    result = submit_and_report(NodeClient(node_url), keys, ProposePayload(
        governance_action, effective_height, expiry_height), "proposal")
    click.echo(f"proposal id: {result['tx_id']} (effective at height {effective_height}, "
               f"votes close at height {expiry_height})")
    late = heights.warning(expiry_height)
    if late:
        click.secho(f"warning: {late}", fg="yellow", err=True)
    if isinstance(governance_action, RulesVersionAction):
        click.secho(f"warning: {_upgrade_due(governance_action.version, effective_height)}",
                    fg="yellow", err=True)
    if (isinstance(governance_action, MemberAction)
            and governance_action.action == ACTION_ADD_VALIDATOR):
        warning = _absent_validator(reader, status, governance_action, effective_height)
        if warning:
            click.secho(f"warning: {warning}", fg="yellow", err=True)


def _absent_validator(client: NodeClient, status: dict[str, Any], action: MemberAction,
                      effective: int) -> str | None:
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
    consequence = ("the chain stops at that height until enough validators run" if
                   running < needed else "start its node before then")
    return (f"{name}'s node is not connected to this node: from height {effective} "
            f"every block needs the votes of {needed} of {validators + 1} validators, and "
            f"{running} are reachable now without it; {consequence}")


def _governance(client: NodeClient) -> tuple[int, list[dict[str, Any]]]:
    """The policy's threshold and the listed proposals, as the node answers them."""
    try:
        answer = client.request("GET", "/v1/governance")
        return int(answer["policy"]["threshold"]), list(answer["proposals"])
    except ClientError as exc:
        fail(str(exc), exc.exit_code)
    except MALFORMED_ANSWER as exc:
        fail(f"{client.base_url} sent a malformed governance answer ({type(exc).__name__}): "
             "is it a Senim node?", EXIT_UNREACHABLE)


def _refuse_if_open(proposals: list[dict[str, Any]], action: GovernanceAction,
                    key_path: Path) -> None:
    try:
        same = min((p for p in proposals if p["status"] == "open"
                    and _same_action(p, action)),
                   key=lambda p: int(p["effective_height"]), default=None)
    except MALFORMED_ANSWER as exc:
        fail(f"the node sent a malformed governance answer ({type(exc).__name__}): is it a "
             "Senim node?", EXIT_UNREACHABLE)
    if same is not None:
        fail(f"proposal {same['proposal_id']} already proposes to {describe(same)}, open "
             f"until height {same['expiry_height']}: vote for it (senim governance vote "
             f"--key {key_path} {same['proposal_id']}), or give --effective-height to "
             "propose this for another height")


def rules_sentence(rules: dict[str, Any]) -> str:
    """The rules version of the next block and the changes scheduled, as a node answers
    them in `rules` (`GET /v1/governance`, `/v1/status`)."""
    known = int(rules["known"])
    text = f"version {rules['version']} (the node's release knows up to {known})"
    for change in rules["scheduled"]:
        version, height = int(change["version"]), int(change["from_height"])
        text += (f"; version {version} from height {height}"
                 + ("" if version <= known else ", which the node's release does not know: "
                    f"it stops before block {height} unless upgraded"))
    return text


def upgrade_due(rules: dict[str, Any]) -> bool:
    """Whether the node's release does not know a version scheduled in `rules`."""
    return any(int(change["version"]) > int(rules["known"]) for change in rules["scheduled"])


def _upgrade_due(version: int, effective: int) -> str:
    return (f"once approved, a node whose release does not know rules version {version} "
            f"stops before block {effective} until its operator upgrades it (this release "
            f"knows versions up to {MAX_KNOWN_RULES_VERSION})")


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
    return bool(proposal["member_id"] == action.member.hex())


@governance_group.command("vote")
@key_option("Your (ministry) member key file.")
@click.argument("proposal_id")
@node_option
def vote(key_path: Path, proposal_id: str, node_url: str) -> None:
    """Vote for an open proposal: PROPOSAL_ID is the id `propose` printed, or one from
    `list`, whole or its first digits (at least 4) when no other listed proposal's id
    starts with them."""
    keys = load_key_or_fail(key_path)
    reader = NodeClient(node_url, timeout_s=10)
    whole, listed = resolve_proposal_id(reader, proposal_id)
    payload = VotePayload(whole)
    if listed is not None and len(proposal_id.strip()) != 2 * len(whole):
        click.echo(f"proposal {whole.hex()}: {describe(listed)}")
    _before_voting(reader, payload.proposal_id.hex())
    submit_and_report(NodeClient(node_url), keys, payload, "vote")
    _after_voting(reader, payload.proposal_id.hex())


def _after_voting(client: NodeClient, proposal_id: str) -> None:
    """Where the proposal stands now, in `list`'s words: the vote that approves a change
    said only 'committed', so the officer could not tell that the change is now due, and
    from which height. Best effort: the vote is in, whatever the node says next."""
    try:
        answer = client.request("GET", "/v1/governance")
        tell_apart(client, answer)
        head, voters = int(answer["height"]), list(answer["voters"])
        proposal = next(p for p in answer["proposals"] if p["proposal_id"] == proposal_id)
        click.echo(f"proposal {proposal_id[:16]}…: {describe(proposal)}. "
                   f"{proposal_state(proposal, voters, head)}")
    except (ClientError, StopIteration, *MALFORMED_ANSWER):
        return


def _before_voting(client: NodeClient, proposal_id: str) -> None:
    """Refuse, unsent, a vote the ledger would refuse because the proposal can no longer
    apply (voting closed, or this vote would approve a change the chain no longer allows);
    warn of one that may land after voting closes. Said in `list`'s words. A proposal the
    node does not list, or one approved already, is left to the node's own refusal."""
    try:
        answer = client.request("GET", "/v1/governance")
        tell_apart(client, answer)
        head, voters = int(answer["height"]), list(answer["voters"])
        proposal = next((p for p in answer["proposals"] if p["proposal_id"] == proposal_id),
                        None)
        if proposal is None:
            return
        status, needed = proposal["status"], int(proposal["votes_needed"])
        said = (f"proposal {proposal_id}: {describe(proposal)}. "
                f"{proposal_state(proposal, voters, head)}")
        late = votes_may_be_late(head, int(proposal["expiry_height"]), needed)
    except ClientError as exc:
        fail(str(exc), exc.exit_code)
    except MALFORMED_ANSWER as exc:
        fail(f"{client.base_url} sent a malformed governance answer ({type(exc).__name__}): "
             "is it a Senim node?", EXIT_UNREACHABLE)
    # The ledger refuses a vote in a block after the expiry height, and a vote reaching
    # the threshold of a change it no longer allows; it takes a vote short of it.
    if status == "expired" or (status == "cannot_apply" and needed <= 1):
        fail(f"vote not sent: {said}", EXIT_REFUSED)
    if status == "cannot_apply":
        click.secho(f"warning: {said}", fg="yellow", err=True)
    elif status == "open" and late:
        click.secho(f"warning: proposal {proposal_id}:{late}", fg="yellow", err=True)


@governance_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the node's answer as JSON.")
@node_option
def list_proposals(as_json: bool, node_url: str) -> None:
    """The policy, validator sets and recent proposals: who voted, what is pending."""
    try:
        answer = NodeClient(node_url, timeout_s=10).request("GET", "/v1/governance")
    except ClientError as exc:
        fail(str(exc), exc.exit_code)
    if as_json:
        click.echo(json.dumps(answer, indent=2))
        return
    tell_apart(NodeClient(node_url, timeout_s=10), answer)
    echo_answer(node_url, "governance", lambda: _governance_lines(answer))


def _governance_lines(answer: dict[str, Any]) -> list[str]:
    policy, voters, head = answer["policy"], answer["voters"], int(answer["height"])
    lines = [f"As of height {head}, a change needs the votes of {policy['threshold']} of "
             f"the {len(voters)} governance voters ({names(voters)}); the validators may "
             f"not fall below {policy['min_validators']}."]
    for record in answer["validator_sets"]:
        listed = ", ".join(who(v) for v in record["validators"])
        lines.append(f"Validators from height {record['from_height']}: {listed}.")
    if "rules" in answer:  # a node of a release before rules versions has none
        lines.append(f"Ledger rules: {rules_sentence(answer['rules'])}.")
    if not answer["proposals"]:
        lines.append("No proposals.")
    for proposal in answer["proposals"]:
        lines.append(f"Proposal {proposal['proposal_id']}: {describe(proposal)}. "
                     f"{proposal_state(proposal, voters, head)}")
    return lines
