"""A proposal named by the start of its id, as `senim governance list` and `propose` print
it: `senim governance vote` took only the whole 64 hex digits, which an officer copies
from one terminal to another by hand. A start that names one of the proposals the node
lists (the recent ones and every open one) is that proposal; one naming several, or
none, is refused, saying which or why.
"""

from __future__ import annotations

import re
from typing import Any

from cli.client import MALFORMED_ANSWER, ClientError, NodeClient
from cli.errors import EXIT_BAD_INPUT, EXIT_REFUSED, EXIT_UNREACHABLE
from cli.governance_words import describe
from cli.refusals import malformed, node_said
from cli.spoken import Joined, Sentence, refuse

PROPOSAL_ID_CHARS = 64
# Fewer digits than this could name a proposal the officer did not mean among the listed.
MIN_PREFIX_CHARS = 4
MAX_LISTED_MATCHES = 5  # named in the refusal of a start shared by several


def _proposals(client: NodeClient) -> list[dict[str, Any]]:
    try:
        return list(client.request("GET", "/v1/governance")["proposals"])
    except ClientError as exc:
        refuse(node_said(exc), exc.exit_code)
    except MALFORMED_ANSWER as exc:
        refuse(malformed(client.base_url, "governance", type(exc).__name__), EXIT_UNREACHABLE)


def resolve_proposal_id(client: NodeClient, given: str) -> tuple[bytes, dict[str, Any] | None]:
    """The whole id `given` starts (an ellipsis as `list` prints it is dropped), and the
    listed proposal it names (None for a whole id the node does not list: the ledger
    then says whether there is such a proposal)."""
    text = given.strip().lower().rstrip("…").rstrip(".")
    if not re.fullmatch(r"[0-9a-f]{1,64}", text):
        refuse(Sentence("gov.id.not_hex", f"the proposal id must be hex digits (all "
                        f"{PROPOSAL_ID_CHARS}, or the first {MIN_PREFIX_CHARS} or more), got "
                        f"{given!r}", all=PROPOSAL_ID_CHARS, min=MIN_PREFIX_CHARS,
                        given=repr(given)), EXIT_BAD_INPUT)
    if len(text) == PROPOSAL_ID_CHARS:
        listed = [p for p in _proposals(client) if p["proposal_id"] == text]
        return bytes.fromhex(text), listed[0] if listed else None
    if len(text) < MIN_PREFIX_CHARS:
        refuse(Sentence("gov.id.too_short", f"give at least the first {MIN_PREFIX_CHARS} hex "
                        f"digits of the proposal id, got {given!r}", min=MIN_PREFIX_CHARS,
                        given=repr(given)), EXIT_BAD_INPUT)
    matches = [p for p in _proposals(client) if str(p["proposal_id"]).startswith(text)]
    if not matches:
        refuse(Sentence("gov.id.none", f"no proposal the node lists starts with {text} (it "
                        "lists the recent ones and every open one: senim governance list)",
                        text=text), EXIT_REFUSED)
    if len(matches) > 1:
        named = Joined([Sentence("gov.id.candidate", f"{p['proposal_id'][:16]}… "
                                 f"({p['status']}: {describe(p)})", id=p["proposal_id"][:16],
                                 status=_status(str(p["status"])), what=describe(p))
                        for p in matches[:MAX_LISTED_MATCHES]], "; ")
        left = len(matches) - MAX_LISTED_MATCHES
        more = (Sentence("gov.id.more", f"; and {left} more", count=left) if left > 0
                else "")
        refuse(Sentence("gov.id.ambiguous", f"{text} starts the ids of {len(matches)} "
                        f"proposals: {named}{more}; give more of the id", text=text,
                        count=len(matches), named=named, more=more), EXIT_BAD_INPUT)
    return bytes.fromhex(matches[0]["proposal_id"]), matches[0]


STATUSES = ("open", "cannot_apply", "expired", "approved", "in_force")


def _status(status: str) -> Sentence | str:
    """A proposal's status (`open`, `in_force`) in a word; one of a later release as the
    node names it."""
    return Sentence(f"gov.status.{status}", status) if status in STATUSES else status
