"""`senim status`: what a running node says of itself, in its operator's language (--lang
kk|ru|en, or the locale: cli.spoken). The validators are run by ministries and
universities, whose IT staff read Kazakh or Russian as readily as English; English is as
it was, and --json is the node's own answer, the same in every language."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import click

from cli.client import MALFORMED_ANSWER, ClientError, NodeClient
from cli.commands import echo_answer, node_option
from cli.governance_words import rules_sentence, upgrade_due
from cli.language import Words, lang_option
from cli.refusals import node_said
from cli.spoken import Moment, Sentence, printable, refuse, spoken
from cli.worded_command import WordedCommand

# What the node says of its consensus and its peers, each in words (one not listed here,
# from a node of another release, is said as the node wrote it).
MODES = ("follower", "solo")
PHASES = ("idle", "executing", "preparing", "committing", "view-change")
DIRECTIONS = ("inbound", "outbound")
MEMBER_WIDTH = 48  # characters of a peer's member name in its row


@click.command("status", cls=WordedCommand)
@node_option
@click.option("--json", "as_json", is_flag=True, help="Print the raw status JSON.")
@lang_option
def status(node_url: str, as_json: bool, language: str) -> None:
    """Height, head hash, consensus, peers and mempool of a node."""
    try:
        info = NodeClient(node_url, timeout_s=10).status()
    except ClientError as exc:
        refuse(node_said(exc), exc.exit_code)
    if as_json:
        click.echo(json.dumps(info, indent=2))
        return
    sets, listed = _validator_sets(node_url), _members(node_url)
    echo_answer(node_url, "status", lambda: _status_lines(info, node_url, sets, listed),
                styled=True)


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


class Line:
    """One line of the status, in a colour (None: the terminal's)."""

    def __init__(self, sentence: Sentence, colour: str | None = None, bold: bool = False
                 ) -> None:
        self.sentence, self.colour, self.bold = sentence, colour, bold

    def said(self, words: Words) -> str:
        # printable before it is coloured: the node names itself, its members and peers
        # (cli.commands.echo_answer)
        text = printable(self.sentence.said(words))
        # bold=False would write 'normal intensity', which the lines never did
        return click.style(text, fg=self.colour, bold=self.bold or None) if self.colour else text


def _scheduled_role(info: dict[str, Any], sets: list[dict[str, Any]]) -> list[Line]:
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
            name, left = info["member"] or member, height - int(info["height"])
            english = (f"scheduled {name} "
                       f"{'joins' if listed else 'leaves'} the validators at height {height}, "
                       f"in {left} block(s)" + ("; keep this node running then" if listed else ""))
            return [Line(Sentence("stat.scheduled.joins" if listed else "stat.scheduled.leaves",
                                  english, name=name, height=height, left=left))]
    return []


def _key_replaced(info: dict[str, Any], listed: list[dict[str, Any]]) -> list[Line]:
    """A node still signing with a key its member rotated away from, or the ministries
    replaced: its status read 'joins the validators at height 21; keep this node running'
    (the rotation's set change, read as its own), then 'no quorum … until enough of them
    return', though the others refuse that key for good. Which of the two, and at which
    block, as the node's `key_change` says (a node before it does not: both are named)."""
    key, member = info.get("public_key"), info.get("member_id")
    record = next((r for r in listed if r.get("member_id") == member), None)
    current = None if record is None else record.get("public_key")
    if not isinstance(key, str) or not isinstance(current, str) or current == key:
        return []
    name = info["member"] or member
    change = record.get("key_change") if record is not None else None
    by = change.get("by") if isinstance(change, dict) else None
    height = change.get("height") if isinstance(change, dict) else None
    if by == "rotation" and isinstance(height, int):
        how = Sentence("stat.key_how.rotated", f"the member rotated away from it at block "
                       f"{height}", height=height)
    elif by == "replacement" and isinstance(height, int):
        how = Sentence("stat.key_how.replaced", f"the ministries replaced it by governance at "
                       f"block {height}", height=height)
    elif by == "unknown" and isinstance(height, int):
        how = Sentence("stat.key_how.unrecorded", f"the member rotated away from it at block "
                       f"{height}, or the ministries replaced it then; the chain no longer "
                       "records which", height=height)
    else:
        how = Sentence("stat.key_how.either", "the member rotated away from it, or the "
                       "ministries replaced it")
    english = (f"old key   this node signs with {key[:16]}…, which is no longer {name}'s key "
               f"({how}): the other nodes refuse it; restart this node with the member's "
               f"current key ({current[:16]}…)")
    return [Line(Sentence("stat.key_replaced", english, key=key[:16], name=name,
                          current=current[:16], how=how), "yellow", bold=True)]


def _retirement(info: dict[str, Any], listed: list[dict[str, Any]]) -> list[Line]:
    """The retirement governance has approved for this node's own member: its node's
    status read as an outage ('no quorum … nothing commits until enough of them
    return'), with only its log saying why."""
    member = info.get("member_id")
    for record in listed:
        retired = record.get("retired_height")
        if record.get("member_id") != member or retired is None:
            continue
        name, height, retired = info["member"] or member, int(info["height"]), int(retired)
        now = retired <= height + 2  # its peers drop it from block retired - 1
        when = (f"is retired from the consortium from block {retired}" if now else
                f"retires from the consortium at block {retired}, in {retired - height} "
                "block(s)")
        # In the node's own log's words (node.validators.own_retirement).
        english = (f"retired   {name} {when}: from block {retired - 1} on, the other nodes no "
                   "longer connect to this one, so its chain stops there and its answers grow "
                   "out of date; stop it once it is no longer needed")
        return [Line(Sentence("stat.retired.now" if now else "stat.retired.later", english,
                              name=name, retired=retired, left=retired - height,
                              last=retired - 1), "yellow")]
    return []


def _consensus(consensus_info: dict[str, Any]) -> Line:
    mode = consensus_info.get("mode", "?")
    if mode == "pbft":
        phase = str(consensus_info["phase"])
        return Line(Sentence(
            "stat.pbft", f"consensus PBFT, {consensus_info['validators']} validators "
            f"(tolerates {consensus_info['max_faulty']} faulty); view {consensus_info['view']}, "
            f"primary {consensus_info['primary']}, phase {phase}",
            validators=consensus_info["validators"], faulty=consensus_info["max_faulty"],
            view=consensus_info["view"], primary=consensus_info["primary"],
            phase=_named("stat.phase", phase, PHASES)))
    return Line(Sentence("stat.not_validator", f"consensus {mode} (not a validator)",
                         mode=_named("stat.mode", str(mode), MODES)))


def _named(prefix: str, value: str, known: tuple[str, ...]) -> Sentence | str:
    """A word of the node's answer in the reader's words, when the catalogue has it."""
    return Sentence(f"{prefix}.{value}", value) if value in known else value


def _reachability(consensus_info: dict[str, Any]) -> list[Line]:
    reachable, unreachable = consensus_info.get("reachable"), consensus_info.get("unreachable")
    if not (isinstance(reachable, list) and isinstance(unreachable, list)):
        return []
    total, seen = len(reachable) + len(unreachable), len(reachable)
    english = f"validators {seen} of {total} reachable from this node"
    if unreachable:
        names = ", ".join(unreachable)
        lines = [Line(Sentence("stat.reachable_some", f"{english}; unreachable: {names}",
                               seen=seen, total=total, names=names), "yellow")]
    else:
        lines = [Line(Sentence("stat.reachable", english, seen=seen, total=total))]
    if seen < int(consensus_info.get("quorum", total)):
        lines.append(Line(Sentence(
            "stat.no_quorum", f"no quorum: {seen} of {total} validators reachable; nothing "
            "commits until enough of them return", seen=seen, total=total), "red", bold=True))
    return lines


class PeerRow(Sentence):
    """One connection, a row of a table whose columns are as wide as the reader's words."""

    def __init__(self, peer: dict[str, Any]) -> None:
        super().__init__("stat.peer")
        self.member, self.address = str(peer["member"])[:MEMBER_WIDTH], str(peer["address"])
        self.role = "validator" if peer.get("validator") else "follower"
        self.auth = "authenticated" if peer["authenticated"] else "handshaking"
        self.direction, self.up = str(peer["direction"]), peer["connected_s"]

    def said(self, words: Words) -> str:
        if words.language == "en":
            return (f"  {self.member:<48} {self.role:<9} {self.auth:<13} "
                    f"{self.direction:<8} {self.address} up {self.up}s")
        cells = []
        for value, column in ((self.role, ("validator", "follower")),
                              (self.auth, ("authenticated", "handshaking")),
                              (self.direction, DIRECTIONS)):
            said = words.t(f"stat.peer.{value}") if value in column else value
            cells.append(said.ljust(max(len(words.t(f"stat.peer.{word}")) for word in column)))
        return " ".join([f"  {self.member:<{MEMBER_WIDTH}}", *cells, self.address,
                         words.t("stat.peer.up", seconds=self.up)])


def status_lines(info: dict[str, Any], node_url: str,
                 sets: list[dict[str, Any]] | None = None,
                 listed: list[dict[str, Any]] | None = None) -> list[Line]:
    """`senim status`'s lines, each said in the reader's language."""
    member = info["member"] or Sentence("stat.observer", "observer")
    lines = [Line(Sentence("stat.node", f"node      {info['node']} ({member}) at {node_url}",
                           node=info["node"], member=member, url=node_url)),
             Line(Sentence("stat.chain", f"chain     {info['chain_id']}",
                           chain=info["chain_id"])),
             Line(Sentence("stat.height", f"height    {info['height']}  head "
                           f"{info['head_hash'][:16]}…  ({info['head_time']})",
                           height=info["height"], head=info["head_hash"][:16],
                           time=Moment(str(info["head_time"])))),
             Line(Sentence("stat.mempool", f"mempool   {info['mempool']['transactions']} tx, "
                           f"{info['mempool']['bytes']} bytes",
                           transactions=info["mempool"]["transactions"],
                           bytes=info["mempool"]["bytes"]))]
    consensus_info = info.get("consensus", {})
    lines.append(_consensus(consensus_info))
    # Best effort, as the sets were asked for: the status itself was read whole.
    replaced: list[Line] = []
    with contextlib.suppress(*MALFORMED_ANSWER):
        replaced = _key_replaced(info, listed or [])
    lines += replaced
    with contextlib.suppress(*MALFORMED_ANSWER):
        lines += [] if replaced else _scheduled_role(info, sets or [])
    retirement: list[Line] = []
    with contextlib.suppress(*MALFORMED_ANSWER):
        retirement = _retirement(info, listed or [])
    lines += retirement
    # A retired member's node, or one on a replaced key, is dropped by its peers for good:
    # not an outage to wait out
    reachability = _reachability(consensus_info)
    if replaced or any(line.sentence.key == "stat.retired.now" for line in retirement):
        reachability = [line for line in reachability if line.sentence.key != "stat.no_quorum"]
    lines += reachability
    if consensus_info.get("behind"):
        lines.append(Line(Sentence("stat.behind", f"catching up: {consensus_info['behind']} "
                                   "block(s) behind", behind=consensus_info["behind"]),
                          "yellow"))
    if "rules" in info:  # a node of a release before rules versions has none
        rules = rules_sentence(info["rules"])
        lines.append(Line(Sentence("stat.rules", f"rules     {rules}", rules=rules),
                          "yellow" if upgrade_due(info["rules"]) else None))
    peers = info.get("peers", [])
    lines.append(Line(Sentence("stat.peers", f"peers     {len(peers)}", count=len(peers))))
    lines += [Line(PeerRow(peer)) for peer in peers]
    return lines


def _status_lines(info: dict[str, Any], node_url: str,
                  sets: list[dict[str, Any]] | None = None,
                  listed: list[dict[str, Any]] | None = None) -> list[str]:
    """`status_lines`, said (an answer of the wrong shape raises here, before any is
    printed: cli.commands.echo_answer)."""
    words = spoken()
    return [line.said(words) for line in status_lines(info, node_url, sets, listed)]
