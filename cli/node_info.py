"""`senim node | status | members`: run a node, and read what a running node says
(`members` in the reader's language, kk, ru or en: a ministry's command, cli.spoken)."""

from __future__ import annotations

import contextlib
import datetime
import json
import sys
from pathlib import Path
from typing import Any

import click

from cli.client import MALFORMED_ANSWER, ClientError, NodeClient
from cli.commands import echo_answer, node_option
from cli.errors import fail
from cli.governance_words import Joined, rules_sentence, upgrade_due
from cli.language import lang_option
from cli.refusals import node_said
from cli.spoken import Day, Sentence, WordedCommand, refuse, say
from ledger.payload_fields import ROLES
from ledger.payloads import SUSPENSION_REASONS


@click.command("node")
@click.option("--config", "config_path", required=True, type=click.Path(path_type=Path),
              help="The node's config file (TOML; its paths are relative to its folder).")
@click.option("--resync", is_flag=True,
              help="Move data_dir/chain.ldb aside (renamed with the time, never deleted) and "
                   "start as a fresh node that syncs from its peers: by state sync with "
                   "[sync] state_sync = true, else block by block from genesis.")
@click.option("--log-format", "log_format", type=click.Choice(["text", "json"]), default=None,
              help="Log lines as text or as JSON (for collectors), over the config's "
                   "[log] format; also for a config that does not load.")
def node_command(config_path: Path, resync: bool, log_format: str | None) -> None:
    """Run a node in the foreground until SIGTERM or SIGINT."""
    try:  # importing the daemon takes most of a second
        from node.daemon import run
    except KeyboardInterrupt as exc:
        from node.start_interrupt import say_interrupted
        sys.exit(say_interrupted(config_path, log_format, exc))
    sys.exit(run(config_path, resync=resync, log_format=log_format))


@click.command()
@node_option
@click.option("--json", "as_json", is_flag=True, help="Print the raw status JSON.")
def status(node_url: str, as_json: bool) -> None:
    """Height, head hash, consensus, peers and mempool of a node."""
    try:
        info = NodeClient(node_url, timeout_s=10).status()
    except ClientError as exc:
        fail(str(exc), exc.exit_code)
    if as_json:
        click.echo(json.dumps(info, indent=2))
        return
    sets, listed = _validator_sets(node_url), _members(node_url)
    echo_answer(node_url, "status", lambda: _status_lines(info, node_url, sets, listed))


def _members(node_url: str) -> list[dict[str, Any]]:
    """The member records, best effort as the sets are."""
    try:
        answer = NodeClient(node_url, timeout_s=10).request("GET", "/v1/members")
        return list(answer["members"])
    except (ClientError, *MALFORMED_ANSWER):
        return []


def _validator_sets(node_url: str) -> list[dict[str, Any]]:
    """The sets governance has recorded, by height; none when the node cannot say (the
    status was read already, and is printed whatever this answers)."""
    try:
        sets = NodeClient(node_url, timeout_s=10).request("GET", "/v1/governance")
        return list(sets["validator_sets"])
    except (ClientError, *MALFORMED_ANSWER):
        return []


def _scheduled_role(info: dict[str, Any], sets: list[dict[str, Any]]) -> list[str]:
    """The change governance has scheduled for this node's own member: an operator who
    started a node for a validator-to-be read only 'consensus pbft (not a validator)'
    until the set took effect, with nothing saying the node was the one expected."""
    member, upcoming = info.get("member_id"), int(info["height"]) + 1
    if not isinstance(member, str):
        return []
    validating = bool(info.get("validator"))
    for record in sorted(sets, key=lambda r: int(r["from_height"])):
        height = int(record["from_height"])
        listed = member in {v["member_id"] for v in record["validators"]}
        if height > upcoming and listed != validating:
            change = ("joins the validators" if listed else "leaves the validators")
            return [f"scheduled {info['member'] or member} {change} at height {height}, in "
                    f"{height - int(info['height'])} block(s)"
                    + ("; keep this node running then" if listed else "")]
    return []


def _retirement(info: dict[str, Any], listed: list[dict[str, Any]]) -> list[str]:
    """The retirement governance has approved for this node's own member: its node's
    status read as an outage ('no quorum … nothing commits until enough of them
    return'), with only its log saying why."""
    member = info.get("member_id")
    for record in listed:
        retired = record.get("retired_height")
        if record.get("member_id") != member or retired is None:
            continue
        name, height, retired = info["member"] or member, int(info["height"]), int(retired)
        when = (f"is retired from the consortium from block {retired}"
                if retired <= height + 2 else  # its peers drop it from block retired - 1
                f"retires from the consortium at block {retired}, in {retired - height} "
                "block(s)")
        # In the node's own log's words (node.validators.own_retirement).
        return [click.style(
            f"retired   {name} {when}: from block {retired - 1} on, the other nodes no "
            "longer connect to this one, so its chain stops there and its answers grow out "
            "of date; stop it once it is no longer needed", fg="yellow")]
    return []


def _status_lines(info: dict[str, Any], node_url: str,
                  sets: list[dict[str, Any]] | None = None,
                  listed: list[dict[str, Any]] | None = None) -> list[str]:
    lines = [f"node      {info['node']} ({info['member'] or 'observer'}) at {node_url}",
             f"chain     {info['chain_id']}",
             f"height    {info['height']}  head {info['head_hash'][:16]}…  "
             f"({info['head_time']})",
             f"mempool   {info['mempool']['transactions']} tx, "
             f"{info['mempool']['bytes']} bytes"]
    consensus_info = info.get("consensus", {})
    if consensus_info.get("mode") == "pbft":
        lines.append(f"consensus PBFT, {consensus_info['validators']} validators "
                     f"(tolerates {consensus_info['max_faulty']} faulty); view "
                     f"{consensus_info['view']}, primary {consensus_info['primary']}, "
                     f"phase {consensus_info['phase']}")
    else:
        lines.append(f"consensus {consensus_info.get('mode', '?')} (not a validator)")
    # Best effort, as the sets were asked for: the status itself was read whole.
    with contextlib.suppress(*MALFORMED_ANSWER):
        lines += _scheduled_role(info, sets or [])
    with contextlib.suppress(*MALFORMED_ANSWER):
        lines += _retirement(info, listed or [])
    reachable, unreachable = consensus_info.get("reachable"), consensus_info.get("unreachable")
    if isinstance(reachable, list) and isinstance(unreachable, list):
        total = len(reachable) + len(unreachable)
        line = f"validators {len(reachable)} of {total} reachable from this node"
        if unreachable:
            line += "; unreachable: " + ", ".join(unreachable)
        lines.append(click.style(line, fg="yellow" if unreachable else None))
        if len(reachable) < int(consensus_info.get("quorum", total)):
            lines.append(click.style(
                f"no quorum: {len(reachable)} of {total} validators reachable; nothing "
                "commits until enough of them return", fg="red", bold=True))
    if consensus_info.get("behind"):
        lines.append(click.style(f"catching up: {consensus_info['behind']} block(s) behind",
                                 fg="yellow"))
    if "rules" in info:  # a node of a release before rules versions has none
        lines.append(click.style(f"rules     {rules_sentence(info['rules'])}",
                                 fg="yellow" if upgrade_due(info["rules"]) else None))
    peers = info.get("peers", [])
    lines.append(f"peers     {len(peers)}")
    for peer in peers:
        auth = "authenticated" if peer["authenticated"] else "handshaking"
        role = "validator" if peer.get("validator") else "follower"
        lines.append(f"  {peer['member'][:48]:<48} {role:<9} {auth:<13} "
                     f"{peer['direction']:<8} {peer['address']} up {peer['connected_s']}s")
    return lines


@click.command("members", cls=WordedCommand)
@node_option
@lang_option
def members(node_url: str, language: str) -> None:
    """List consortium members, their ids and accreditations."""
    try:
        answer = NodeClient(node_url, timeout_s=10).request("GET", "/v1/members")
    except ClientError as exc:
        refuse(node_said(exc), exc.exit_code)
    echo_answer(node_url, "members", lambda: [say(line) for line in member_lines(answer)])


def _standing(member: dict[str, Any], height: int | None) -> Sentence:
    """What the member may do now, and what governance has scheduled for it. `height` is
    the node's head (absent from older nodes): the next block is the first one open."""
    added, retired = member.get("added_height") or 0, member.get("retired_height")
    upcoming = None if height is None else height + 1
    if retired is not None and (upcoming is None or retired <= upcoming):
        return Sentence("min.members.retired", f"retired at height {retired}; it signs nothing "
                        "from then on", height=retired)
    if upcoming is not None and added > upcoming:
        return Sentence("min.members.later", f"a member from height {added}; it signs nothing "
                        "before then", height=added)
    kind = "validator" if member["validator"] else "member"
    if retired is not None:
        return Sentence(f"min.members.{kind}_retires", f"a {kind}; retires at height {retired}, "
                        "signing nothing from then on", height=retired)
    return Sentence(f"min.members.{kind}", f"a {kind}")


def member_lines(answer: dict[str, Any]) -> list[Sentence]:
    """`senim members`' lines, each said in the reader's language."""
    height = answer.get("height")
    height = height if isinstance(height, int) and not isinstance(height, bool) else None
    lines = [] if height is None else [Sentence("min.members.head", f"Members as of height "
                                                f"{height}:", height=height)]
    now = datetime.datetime.now(datetime.UTC)
    for member in answer["members"]:
        standing, role = _standing(member, height), str(member["role"])
        lines.append(Sentence("min.members.line", f"{member['member_id']}  {member['name']} "
                              f"({role}): {standing}", id=member["member_id"],
                              name=member["name"], standing=standing,
                              role=Sentence(f"gov.role.{role}") if role in ROLES else role))
        retired = member.get("retired_height")
        gone = retired is not None and height is not None and retired <= height + 1
        for grant in member["accreditations"]:
            state = (Sentence("min.grant.retired", f"ended with its retirement at height "
                              f"{retired}: it signs nothing from then on", height=retired)
                     if gone else _grant_state(grant, now))
            types = [str(t) for t in grant["types"]]
            lines.append(Sentence("min.grant.line", f"    accredited for {', '.join(types)} from "
                                  f"{grant['from']} until {grant['until']}; {state}",
                                  types=Joined([Sentence(f"type.{t}", t) for t in types], ", "),
                                  start=Day(str(grant["from"])), end=Day(str(grant["until"])),
                                  state=state))
    return lines


def _grant_state(grant: dict[str, Any], now: datetime.datetime) -> Sentence:
    """Whether the member may issue under `grant` now. A period over, or not begun, covers
    no block, though the ledger still holds it: a grant recorded with --force for a
    period gone by read "active". Now is this machine's clock, as the next block's time
    will be (BFT time: the median of the validators' clocks)."""
    if grant["suspended_height"] is not None:
        reason, height = grant.get("suspend_reason"), grant["suspended_height"]
        words = SUSPENSION_REASONS.get(reason, reason) if isinstance(reason, str) else None
        if not words:
            return Sentence("min.grant.suspended", f"suspended from height {height}",
                            height=height)
        key = f"issue.suspension.{reason}"
        return Sentence("min.grant.suspended_why", f"suspended from height {height} ({words})",
                        height=height, why=Sentence(key, words) if reason in SUSPENSION_REASONS
                        else str(reason))
    if _utc(grant["until"]) <= now:
        return Sentence("min.grant.ended", "ended: it covers nothing issued from then on")
    if _utc(grant["from"]) > now:
        return Sentence("min.grant.not_begun", "not begun: it covers nothing issued before then")
    return Sentence("min.grant.active", "active")


def _utc(text: str) -> datetime.datetime:
    """A time as nodes give it ("2026-09-01 00:00:00 UTC")."""
    return datetime.datetime.strptime(text, "%Y-%m-%d %H:%M:%S UTC").replace(
        tzinfo=datetime.UTC)
