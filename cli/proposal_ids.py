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
from cli.errors import EXIT_BAD_INPUT, EXIT_REFUSED, EXIT_UNREACHABLE, fail
from cli.governance_words import describe

PROPOSAL_ID_CHARS = 64
# Fewer digits than this could name a proposal the officer did not mean among the listed.
MIN_PREFIX_CHARS = 4
MAX_LISTED_MATCHES = 5  # named in the refusal of a start shared by several


def _proposals(client: NodeClient) -> list[dict[str, Any]]:
    try:
        return list(client.request("GET", "/v1/governance")["proposals"])
    except ClientError as exc:
        fail(str(exc), exc.exit_code)
    except MALFORMED_ANSWER as exc:
        fail(f"{client.base_url} sent a malformed governance answer ({type(exc).__name__}): "
             "is it a Senim node?", EXIT_UNREACHABLE)


def resolve_proposal_id(client: NodeClient, given: str) -> tuple[bytes, dict[str, Any] | None]:
    """The whole id `given` starts (an ellipsis as `list` prints it is dropped), and the
    listed proposal it names (None for a whole id the node does not list: the ledger
    then says whether there is such a proposal)."""
    text = given.strip().lower().rstrip("…").rstrip(".")
    if not re.fullmatch(r"[0-9a-f]{1,64}", text):
        fail(f"the proposal id must be hex digits (all {PROPOSAL_ID_CHARS}, or the first "
             f"{MIN_PREFIX_CHARS} or more), got {given!r}", EXIT_BAD_INPUT)
    if len(text) == PROPOSAL_ID_CHARS:
        listed = [p for p in _proposals(client) if p["proposal_id"] == text]
        return bytes.fromhex(text), listed[0] if listed else None
    if len(text) < MIN_PREFIX_CHARS:
        fail(f"give at least the first {MIN_PREFIX_CHARS} hex digits of the proposal id, got "
             f"{given!r}", EXIT_BAD_INPUT)
    matches = [p for p in _proposals(client) if str(p["proposal_id"]).startswith(text)]
    if not matches:
        fail(f"no proposal the node lists starts with {text} (it lists the recent ones and "
             "every open one: senim governance list)", EXIT_REFUSED)
    if len(matches) > 1:
        named = "; ".join(f"{p['proposal_id'][:16]}… ({p['status']}: {describe(p)})"
                          for p in matches[:MAX_LISTED_MATCHES])
        more = (f"; and {len(matches) - MAX_LISTED_MATCHES} more"
                if len(matches) > MAX_LISTED_MATCHES else "")
        fail(f"{text} starts the ids of {len(matches)} proposals: {named}{more}; give more "
             "of the id", EXIT_BAD_INPUT)
    return bytes.fromhex(matches[0]["proposal_id"]), matches[0]
