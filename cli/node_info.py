"""`senim node | members`: run a node, and list the consortium's members (`senim status`
is cli.node_status). `members` speaks the reader's language, kk, ru or en (a ministry's
command, cli.spoken); `node` says its --help and usage errors in it, and logs in English
(JSON for collectors) whatever it is: a log is searched and collected, not read aloud."""

from __future__ import annotations

import datetime
import sys
from pathlib import Path
from typing import Any

import click

from cli.client import ClientError, NodeClient
from cli.commands import echo_answer, node_option
from cli.language import lang_option, lang_option_saying
from cli.refusals import node_said
from cli.spoken import Day, Joined, Sentence, refuse, say
from cli.worded_command import WordedCommand
from ledger.payload_fields import ROLES
from ledger.payloads import SUSPENSION_REASONS


@click.command("node", cls=WordedCommand)
@click.option("--config", "config_path", required=True, type=click.Path(path_type=Path),
              help="The node's config file (TOML; its paths are relative to its folder).")
@click.option("--resync", is_flag=True,
              help="Move data_dir/chain.ldb aside (renamed with the time, never deleted) and "
                   "start as a fresh node that syncs from its peers: by state sync with "
                   "[sync] state_sync = true, else block by block from genesis.")
@click.option("--log-format", "log_format", type=click.Choice(["text", "json"]), default=None,
              help="Log lines as text or as JSON (for collectors), over the config's "
                   "[log] format; also for a config that does not load.")
@lang_option_saying("The language of this command's --help and usage errors: Kazakh, "
                    "Russian or English. Default: from LC_ALL, LC_MESSAGES or LANG. The "
                    "node's log lines are English whatever it is.")
def node_command(config_path: Path, resync: bool, log_format: str | None,
                 language: str) -> None:
    """Run a node in the foreground until SIGTERM, SIGINT or SIGHUP."""
    try:  # importing the daemon takes most of a second
        from node.daemon import run
    except KeyboardInterrupt as exc:
        from node.start_interrupt import say_interrupted
        sys.exit(say_interrupted(config_path, log_format, exc))
    sys.exit(run(config_path, resync=resync, log_format=log_format))


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


def _key_replacement(member: dict[str, Any]) -> list[Sentence]:
    """The ministries' replacement of the member's key (`key_change`), which a ministry
    reading the list should know of: a rotation is the member's own affair, and unsaid; a
    change the chain no longer tells the kind of may have been a replacement, and is said."""
    change = member.get("key_change")
    by = change.get("by") if isinstance(change, dict) else None
    if not isinstance(change, dict) or by not in ("replacement", "unknown"):
        return []
    height, since = change.get("height"), change.get("distrusted_from")
    if not isinstance(height, int):
        return []
    if by == "unknown":
        return [Sentence("min.members.key_unrecorded", f"    its key changed at block {height}, "
                         "by its member or by governance: the chain no longer records which",
                         height=height)]
    if isinstance(since, int):
        return [Sentence("min.members.key_replaced_distrusted", f"    its key was replaced by "
                         f"governance at block {height}; its earlier keys are distrusted from "
                         f"block {since}", height=height, since=since)]
    return [Sentence("min.members.key_replaced", f"    its key was replaced by governance at "
                     f"block {height}", height=height)]


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
        key = member.get("public_key")
        if member["validator"] and isinstance(key, str):
            # what a node that knows only earlier keys lists under [p2p] observers to catch up
            lines.append(Sentence("min.members.validator_key", f"    its current key {key}",
                                  key=key))
        doubted = member.get("admission_doubted_from")
        if isinstance(doubted, int) and not isinstance(doubted, bool):
            lines.append(Sentence("min.members.admission_doubted", f"    admitted by its "
                                  f"ministry with a key declared stolen from height {doubted}: "
                                  "nothing it records is recognised, unless the ministries "
                                  "confirm it (from rules version 10: senim governance "
                                  "propose --action confirm-admission)", height=doubted))
        confirmed = member.get("admission_confirmed_height")
        if isinstance(confirmed, int) and not isinstance(confirmed, bool):
            lines.append(Sentence("min.members.admission_confirmed", f"    its admission, "
                                  f"once in doubt, was confirmed by the ministries' vote at "
                                  f"height {confirmed}", height=confirmed))
        lines += _key_replacement(member)
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
            distrusted_from = grant.get("key_distrusted_from")
            if isinstance(distrusted_from, int) and not isinstance(distrusted_from, bool):
                lines.append(Sentence("min.grant.doubted", "    granted with a ministry's key "
                                      f"declared stolen from height {distrusted_from}: nothing "
                                      "issued under it alone is relied on",
                                      height=distrusted_from))
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
