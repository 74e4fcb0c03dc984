"""`senim evidence list`: equivocation evidence on chain, in plain language.

Validators' nodes submit the evidence they find themselves (node/evidence_submit.py),
so there is nothing to submit by hand. The list is what the asked node's state
holds (`GET /v1/evidence/chain`); every member's node holds the same records.
"""

from __future__ import annotations

import json
from typing import Any

import click

from cli.client import ClientError, NodeClient
from cli.commands import node_option
from cli.errors import EXIT_UNREACHABLE, fail
from node.evidence import EVIDENCE_PAGE_MAX

# The chain keeps at most ledger.equivocation.MAX_EVIDENCE_RECORDS (4,096): this many
# pages hold them all, and a node that keeps answering "more" cannot keep us forever.
EVIDENCE_LIST_PAGES_MAX = 50

WHAT_THEY_DID = {
    "conflicting-pre-prepare": "proposed two different blocks",
    "conflicting-prepare": "sent prepare votes for two different blocks",
    "conflicting-commit": "sent commit votes for two different blocks",
}


def _who(name: Any, member_id: Any) -> str:
    short = str(member_id)[:16]
    return f"{name} ({short})" if name else short


def describe(row: dict[str, Any]) -> str:
    """One record in a sentence."""
    did = WHAT_THEY_DID.get(row["kind"], f"equivocated ({row['kind']})")
    return (f"validator {_who(row['name'], row['member_id'])} {did} at height "
            f"{row['height']}, view {row['view']}; submitted by "
            f"{_who(row['submitted_by_name'], row['submitted_by'])} in block "
            f"{row['submitted_height']} (transaction {str(row['transaction'])[:16]})")


def fetch_chain_evidence(client: NodeClient) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    after: str | None = None
    for _ in range(EVIDENCE_LIST_PAGES_MAX):
        query = f"?limit={EVIDENCE_PAGE_MAX}" + (f"&after={after}" if after else "")
        page = client.request("GET", "/v1/evidence/chain" + query)
        if not isinstance(page, dict) or not isinstance(page.get("evidence"), list):
            raise ClientError("the node's evidence answer is malformed", "malformed")
        rows += page["evidence"]
        after = page.get("next")
        if not after:
            return rows
        if not isinstance(after, str) or not all(c in "0123456789abcdef" for c in after):
            raise ClientError("the node's evidence cursor is malformed", "malformed")
    raise ClientError(f"the node gave more than {EVIDENCE_LIST_PAGES_MAX} pages of evidence",
                      "malformed")


@click.group("evidence")
def evidence_group() -> None:
    """Evidence of misbehaving validators, as the chain holds it."""


@evidence_group.command("list")
@node_option
@click.option("--json", "as_json", is_flag=True, help="The records as JSON.")
def list_command(node_url: str, as_json: bool) -> None:
    """Equivocation evidence on chain: who, what, at which height and view, submitted by
    whom and when (validators' nodes submit what they find)."""
    try:
        rows = fetch_chain_evidence(NodeClient(node_url))
        lines = [describe(row) for row in rows]
    except ClientError as exc:
        fail(f"cannot list evidence: {exc} ({exc.code})", exc.exit_code)
    except (KeyError, TypeError, AttributeError):
        fail("cannot list evidence: the node's evidence answer is malformed", EXIT_UNREACHABLE)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
    elif not rows:
        click.echo("no evidence on chain: no validator has been caught equivocating")
    else:
        click.echo(f"{len(rows)} piece(s) of evidence on chain:")
        for line in lines:
            click.echo(f"  - {line}")
