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

from cli.client import ClientError, NodeClient
from cli.commands import (
    echo_answer,
    hex_bytes,
    key_option,
    load_key_or_fail,
    node_option,
    submit_and_report,
)
from cli.errors import EXIT_BAD_INPUT, fail
from ledger.identity import MEMBER_ID_BYTES, PUBLIC_KEY_BYTES, MemberId
from ledger.payloads import (
    ACTION_ADD_MEMBER,
    ACTIONS,
    MIN_PROPOSAL_LEAD_BLOCKS,
    ROLES,
    AddMemberAction,
    GovernanceAction,
    MemberAction,
    ProposePayload,
    VotePayload,
)

# Default lead of a change over the head, in blocks: time for the other voters.
DEFAULT_LEAD_BLOCKS = 100


@click.group("governance")
def governance_group() -> None:
    """Propose and vote on changes to the consortium; list what is pending."""


@governance_group.command("propose")
@key_option("Your (ministry) member key file.")
@click.option("--action", required=True, type=click.Choice([a.replace("_", "-")
                                                           for a in ACTIONS]))
@click.option("--member", "member_hex", default=None,
              help="Member id (hex) to retire, or to add to / remove from the validators.")
@click.option("--name", default=None, help="add-member: the organisation's name.")
@click.option("--role", default=None, type=click.Choice(ROLES), help="add-member: its role.")
@click.option("--public-key", "public_key_hex", default=None, help="add-member: its key (hex).")
@click.option("--effective-height", type=int, default=None,
              help=f"First block it applies to; default the head + {DEFAULT_LEAD_BLOCKS}.")
@click.option("--expiry-height", type=int, default=None,
              help=f"Last block votes count in; default {MIN_PROPOSAL_LEAD_BLOCKS} before the "
                   "effective height.")
@node_option
def propose(key_path: Path, action: str, member_hex: str | None, name: str | None,
            role: str | None, public_key_hex: str | None, effective_height: int | None,
            expiry_height: int | None, node_url: str) -> None:
    """Propose an action (your transaction is your vote); prints the proposal id."""
    kind = action.replace("-", "_")
    governance_action: GovernanceAction
    if kind == ACTION_ADD_MEMBER:
        if name is None or role is None or public_key_hex is None or member_hex is not None:
            fail("add-member needs --name, --role and --public-key (and no --member)",
                  EXIT_BAD_INPUT)
        governance_action = AddMemberAction(
            name, role, hex_bytes(public_key_hex, PUBLIC_KEY_BYTES, "--public-key"))
    else:
        if member_hex is None or name or role or public_key_hex:
            fail(f"{action} needs --member (and no --name, --role or --public-key)",
                  EXIT_BAD_INPUT)
        governance_action = MemberAction(
            kind, MemberId(hex_bytes(member_hex, MEMBER_ID_BYTES, "--member")))
    keys = load_key_or_fail(key_path)
    if effective_height is None:
        try:
            head = int(NodeClient(node_url, timeout_s=10).status()["height"])
        except ClientError as exc:
            fail(str(exc), exc.exit_code)
        effective_height = head + DEFAULT_LEAD_BLOCKS
    if expiry_height is None:
        expiry_height = effective_height - MIN_PROPOSAL_LEAD_BLOCKS
    result = submit_and_report(NodeClient(node_url), keys, ProposePayload(
        governance_action, effective_height, expiry_height), "proposal")
    click.echo(f"proposal id: {result['tx_id']} (effective at height {effective_height}, "
               f"votes close at height {expiry_height})")


@governance_group.command("vote")
@key_option("Your (ministry) member key file.")
@click.argument("proposal_id")
@node_option
def vote(key_path: Path, proposal_id: str, node_url: str) -> None:
    """Vote for an open proposal (the id `propose` printed, or from `list`)."""
    payload = VotePayload(hex_bytes(proposal_id, 32, "the proposal id"))
    submit_and_report(NodeClient(node_url), load_key_or_fail(key_path), payload, "vote")


def _who(member: dict[str, Any]) -> str:
    return str(member["name"] or member["member_id"][:16])


def _describe(proposal: dict[str, Any]) -> str:
    action = proposal["action"].replace("_", "-")
    if proposal["action"] == ACTION_ADD_MEMBER:
        return f"{action} {proposal['name']} ({proposal['role']})"
    return f"{action} {_who(proposal)}"


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
    echo_answer(node_url, "governance", lambda: _governance_lines(answer))


def _governance_lines(answer: dict[str, Any]) -> list[str]:
    policy = answer["policy"]
    voters = ", ".join(_who(v) for v in answer["voters"])
    lines = [f"as of height {answer['height']}: a change needs {policy['threshold']} of the "
             f"{len(answer['voters'])} voters ({voters}); at least "
             f"{policy['min_validators']} validators"]
    for record in answer["validator_sets"]:
        names = ", ".join(_who(v) for v in record["validators"])
        lines.append(f"validators from height {record['from_height']}: {names}")
    if not answer["proposals"]:
        lines.append("no proposals")
    for proposal in answer["proposals"]:
        votes = ", ".join(_who(v) for v in proposal["votes"])
        status = proposal["status"]
        if status == "open":
            status += (f", needs {proposal['votes_needed']} more vote(s) by height "
                       f"{proposal['expiry_height']}")
        lines.append(f"{proposal['proposal_id']}  {_describe(proposal)} at height "
                     f"{proposal['effective_height']}: {status}; voted: {votes}")
    return lines
