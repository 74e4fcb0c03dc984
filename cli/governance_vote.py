"""`senim governance vote | list`: vote for a proposal, and list the policy, validator sets
and proposals, in the ministry official's language (cli.spoken; `--json` as the node
answers it, in every language)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from cli.client import MALFORMED_ANSWER, ClientError, NodeClient
from cli.commands import echo_answer, key_option, load_key_or_fail, node_option, submit_and_report
from cli.errors import EXIT_REFUSED, EXIT_UNREACHABLE
from cli.governance_list_notes import unknown_version_note, validator_set_lines
from cli.governance_words import (
    describe,
    names,
    proposal_state,
    refuse_unknown_version,
    rules_sentence,
)
from cli.language import lang_option
from cli.member_names import tell_apart
from cli.proposal_heights import votes_may_be_late
from cli.proposal_ids import resolve_proposal_id
from cli.refusals import malformed, node_said
from cli.spoken import Sentence, echo, refuse, say, warn
from cli.worded_command import WordedCommand
from ledger.payloads import ACTION_SET_RULES_VERSION, VotePayload
from ledger.rules_version import MAX_RULES_VERSION


class GovernanceCommand(WordedCommand):
    """A `senim governance` command: its --help words are the catalogue's
    `cli.help.governance.<name>.*` (`senim revoke`'s and `senim governance revoke`'s are
    not the same)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.help_key = f"governance.{self.name}"


@click.command("vote", cls=GovernanceCommand)
@key_option("Your (ministry) member key file.")
@click.argument("proposal_id")
@click.option("--unknown-version", "unknown_version", is_flag=True,
              help="Vote for a rules version this release does not know (a node reaching it "
                   "stops until upgraded to a release that knows it).")
@node_option
@lang_option
def vote(key_path: Path, proposal_id: str, unknown_version: bool, node_url: str,
         language: str) -> None:
    """Vote for an open proposal: PROPOSAL_ID is the id `propose` printed, or one from
    `list`, whole or its first digits (at least 4) when no other listed proposal's id
    starts with them."""
    keys = load_key_or_fail(key_path)
    reader = NodeClient(node_url, timeout_s=10)
    whole, listed = resolve_proposal_id(reader, proposal_id)
    payload = VotePayload(whole)
    if listed is not None and len(proposal_id.strip()) != 2 * len(whole):
        said = describe(listed)
        echo(Sentence("gov.proposal_is", f"proposal {whole.hex()}: {said}", id=whole.hex(),
                      what=said), named=True)
    if listed is not None and listed.get("action") == ACTION_SET_RULES_VERSION \
            and not unknown_version:
        version = listed.get("rules_version")
        # a listing that names no version (another release's node) is taken as unknown
        refuse_unknown_version(version if isinstance(version, int) and not isinstance(
            version, bool) else MAX_RULES_VERSION, "--unknown-version")
    _before_voting(reader, payload.proposal_id.hex())
    submit_and_report(NodeClient(node_url), keys, payload, "vote")
    _after_voting(reader, payload.proposal_id.hex())


def _after_voting(client: NodeClient, proposal_id: str) -> None:
    """Where the proposal stands now, in `list`'s words: the vote that approves a change
    said only 'committed', so the officer could not tell that the change is now due, and
    from which height. Best effort: the vote is in, whatever the node says next."""
    now = standing(client, proposal_id)
    if now is not None:
        echo(now.said_briefly, named=True)  # the node names the members


@dataclass(frozen=True)
class Standing:
    """A proposal as the node lists it now, and what `list` says of it."""

    proposal_id: str
    what: Sentence  # the change (describe)
    state: Sentence  # where it stands (proposal_state)
    status: str
    votes_needed: int

    @property
    def said(self) -> Sentence:
        """"proposal ID: the change. Where it stands." (whole_proposal)"""
        return _proposal_sentence("gov.proposal_full", "proposal", self.proposal_id,
                                  self.what, self.state)

    @property
    def said_briefly(self) -> Sentence:
        """As `said`, the id cut to its first 16 digits."""
        return Sentence("gov.proposal_now", f"proposal {self.proposal_id[:16]}…: {self.what}. "
                        f"{self.state}", id=self.proposal_id[:16], what=self.what,
                        state=self.state)

    @property
    def votes_to_ask(self) -> int:
        """The votes it still needs while it can take them (0 when any vote approves it,
        or none can: approved, expired, or its approving vote refused)."""
        return self.votes_needed if self.status == "open" else 0

    @property
    def approved_by_any_vote(self) -> bool:
        """Open with the votes it needs (a vote set aside counting again): the next vote of
        any voter, one that voted already included, approves it."""
        return self.status == "open" and self.votes_needed == 0

    @property
    def how_to_approve(self) -> Sentence:
        """The command that approves it, for `approved_by_any_vote`, as `list` gives it."""
        return Sentence("gov.propose.approve_next", "to approve it, any governance voter runs: "
                        f"senim governance vote --key KEY {self.proposal_id}",
                        id=self.proposal_id)


def standing(client: NodeClient, proposal_id: str) -> Standing | None:
    """Where the proposal stands as the node lists it, or None when the node does not say:
    the proposal's transaction is in, whatever the node answers next. What it still needs
    is the node's count, not the policy's threshold less the proposer's vote: on a
    confirm-admission the admitting ministry's vote does not count, and another ministry's
    proposal may approve it at once (`ledger.governance_votes.votes_needed`)."""
    try:
        answer = client.request("GET", "/v1/governance")
        tell_apart(client, answer)
        head, voters = int(answer["height"]), list(answer["voters"])
        proposal = next(p for p in answer["proposals"] if p["proposal_id"] == proposal_id)
        return Standing(proposal_id, describe(proposal), proposal_state(proposal, voters, head),
                        str(proposal["status"]), int(proposal["votes_needed"]))
    except (ClientError, StopIteration, *MALFORMED_ANSWER):
        return None


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
        said = whole_proposal(proposal, voters, head)
        late = votes_may_be_late(head, int(proposal["expiry_height"]), needed)
    except ClientError as exc:
        refuse(node_said(exc), exc.exit_code)
    except MALFORMED_ANSWER as exc:
        refuse(malformed(client.base_url, "governance", type(exc).__name__), EXIT_UNREACHABLE)
    # The ledger refuses a vote in a block after the expiry height, and a vote reaching
    # the threshold of a change it no longer allows; it takes a vote short of it.
    if status == "expired" or (status == "cannot_apply" and needed <= 1):
        refuse(Sentence("gov.vote.not_sent", f"vote not sent: {said}", said=said), EXIT_REFUSED)
    if status == "cannot_apply":
        warn(said)
    elif status == "open" and late:
        warn(Sentence("gov.proposal_late", f"proposal {proposal_id}:{late}", id=proposal_id,
                      late=late))


def whole_proposal(proposal: dict[str, Any], voters: list[dict[str, Any]], head: int,
                   key: str = "gov.proposal_full", english: str = "proposal") -> Sentence:
    """"proposal ID: the change. Where it stands." (`list` says "Proposal" with a capital)."""
    return _proposal_sentence(key, english, proposal["proposal_id"], describe(proposal),
                              proposal_state(proposal, voters, head))


def _proposal_sentence(key: str, english: str, proposal_id: str, what: Sentence,
                       state: Sentence) -> Sentence:
    return Sentence(key, f"{english} {proposal_id}: {what}. {state}", id=proposal_id,
                    what=what, state=state)


@click.command("list", cls=GovernanceCommand)
@click.option("--json", "as_json", is_flag=True, help="Print the node's answer as JSON.")
@node_option
@lang_option
def list_proposals(as_json: bool, node_url: str, language: str) -> None:
    """The policy, validator sets and recent proposals: who voted, what is pending."""
    try:
        answer = NodeClient(node_url, timeout_s=10).request("GET", "/v1/governance")
    except ClientError as exc:
        refuse(node_said(exc), exc.exit_code)
    if as_json:
        click.echo(json.dumps(answer, indent=2))
        return
    tell_apart(NodeClient(node_url, timeout_s=10), answer)
    echo_answer(node_url, "governance", lambda: [say(line) for line in _lines(answer)])


def _lines(answer: dict[str, Any]) -> list[Sentence]:
    policy, voters, head = answer["policy"], answer["voters"], int(answer["height"])
    voting = names(voters)
    lines = [Sentence("gov.list.policy", f"As of height {head}, a change needs the votes of "
                      f"{policy['threshold']} of the {len(voters)} governance voters "
                      f"({voting}); the validators may not fall below "
                      f"{policy['min_validators']}.", head=head, threshold=policy["threshold"],
                      voters=len(voters), names=voting, min=policy["min_validators"])]
    lines += validator_set_lines(answer["validator_sets"])
    if "rules" in answer:  # a node of a release before rules versions has none
        rules = rules_sentence(answer["rules"])
        lines.append(Sentence("gov.list.rules", f"Ledger rules: {rules}.", rules=rules))
    if not answer["proposals"]:
        lines.append(Sentence("gov.list.none", "No proposals."))
    for proposal in answer["proposals"]:
        lines.append(whole_proposal(proposal, voters, head, "gov.list.proposal", "Proposal"))
        note = unknown_version_note(proposal, answer.get("rules"))
        if note is not None:
            lines.append(note)
    # The list says who has not voted; without these, not how they do it. A proposal that
    # has the votes it needs (a vote set aside counting again) is approved by the next vote
    # of any voter, one that voted already included.
    needed = [int(p["votes_needed"]) for p in answer["proposals"] if p["status"] == "open"]
    if any(more > 0 for more in needed):
        lines.append(Sentence("gov.list.how_to_vote", "To vote for an open proposal, a voter "
                              "that has not voted yet runs: senim governance vote --key KEY "
                              "PROPOSAL_ID (the id's first 8 digits are enough unless another "
                              "proposal starts with them)."))
    if 0 in needed:
        lines.append(Sentence("gov.list.how_to_approve", "To approve an open proposal that has "
                              "the votes it needs, any voter runs: senim governance vote --key "
                              "KEY PROPOSAL_ID (the id's first 8 digits are enough unless "
                              "another proposal starts with them)."))
    return lines
