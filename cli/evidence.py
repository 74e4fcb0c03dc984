"""`senim evidence list`: equivocation evidence on chain, in plain language.

Validators' nodes submit the evidence they find themselves (node/evidence_submit.py),
so there is nothing to submit by hand. The list is what the asked node's state
holds (`GET /v1/evidence/chain`); every member's node holds the same records. Said in
the reader's language, kk, ru or en (--lang, or the locale: cli.spoken); `--json` as the
node answers it.
"""

from __future__ import annotations

import json
from typing import Any

import click

from cli.client import ClientError, NodeClient
from cli.commands import node_option
from cli.errors import EXIT_UNREACHABLE
from cli.language import lang_option
from cli.refusals import node_said
from cli.spoken import Joined, Sentence, echo, refuse
from cli.worded_command import WordedCommand
from cli.worded_group import WordedGroup
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


def describe(row: dict[str, Any]) -> Sentence:
    """One record in a sentence."""
    kind = str(row["kind"])
    did = (Sentence(f"min.evidence.{kind}", WHAT_THEY_DID[kind]) if kind in WHAT_THEY_DID
           else Sentence("min.evidence.other_kind", f"equivocated ({kind})", kind=kind))
    who, by = _who(row["name"], row["member_id"]), _who(row["submitted_by_name"],
                                                        row["submitted_by"])
    tx = str(row["transaction"])[:16]
    said = Sentence("min.evidence.row", f"validator {who} {did} at height {row['height']}, view "
                    f"{row['view']}; submitted by {by} in block {row['submitted_height']} "
                    f"(transaction {tx})", who=who, did=did, height=row["height"],
                    view=row["view"], by=by, submitted=row["submitted_height"], tx=tx)
    stolen = row.get("key_compromised_from")
    if not isinstance(stolen, int) or isinstance(stolen, bool):
        return said
    # its key was distrusted from before the messages (reported stolen, or replaced):
    # whoever held it then may have made them
    return Joined([said, Sentence("min.evidence.stolen_key", f": signed with a key of {who} "
                                  f"distrusted from block {stolen} (reported stolen, or "
                                  "replaced), so a thief may have made these messages",
                                  who=who, height=stolen)])


def _malformed(what: str, english: str) -> ClientError:
    return ClientError(Sentence(f"min.evidence.{what}", english), "malformed")


def fetch_chain_evidence(client: NodeClient) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    after: str | None = None
    for _ in range(EVIDENCE_LIST_PAGES_MAX):
        query = f"?limit={EVIDENCE_PAGE_MAX}" + (f"&after={after}" if after else "")
        page = client.request("GET", "/v1/evidence/chain" + query)
        if not isinstance(page, dict) or not isinstance(page.get("evidence"), list):
            raise _malformed("malformed", "the node's evidence answer is malformed")
        rows += page["evidence"]
        after = page.get("next")
        if not after:
            return rows
        if not isinstance(after, str) or not all(c in "0123456789abcdef" for c in after):
            raise _malformed("bad_cursor", "the node's evidence cursor is malformed")
    raise ClientError(Sentence("min.evidence.too_many_pages", f"the node gave more than "
                               f"{EVIDENCE_LIST_PAGES_MAX} pages of evidence",
                               pages=EVIDENCE_LIST_PAGES_MAX), "malformed")


@click.group("evidence", cls=WordedGroup)
def evidence_group() -> None:
    """Evidence of misbehaving validators, as the chain holds it."""


class EvidenceList(WordedCommand):
    help_key = "evidence.list"  # `senim governance list` is another "list"


@evidence_group.command("list", cls=EvidenceList)
@node_option
@click.option("--json", "as_json", is_flag=True, help="The records as JSON.")
@lang_option
def list_command(node_url: str, as_json: bool, language: str) -> None:
    """Equivocation evidence on chain: who, what, at which height and view, submitted by
    whom and when (validators' nodes submit what they find)."""
    try:
        rows = fetch_chain_evidence(NodeClient(node_url))
        lines = [describe(row) for row in rows]
    except ClientError as exc:
        why = node_said(exc)
        refuse(Sentence("min.evidence.cannot", f"cannot list evidence: {exc} ({exc.code})",
                        why=why, code=exc.code), exc.exit_code)
    except (KeyError, TypeError, AttributeError):
        refuse(Sentence("min.evidence.cannot_malformed", "cannot list evidence: the node's "
                        "evidence answer is malformed"), EXIT_UNREACHABLE)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
    elif not rows:
        echo(Sentence("min.evidence.none", "no evidence on chain: no validator has been caught "
                      "equivocating"))
    else:
        echo(Sentence("min.evidence.count", f"{len(rows)} piece(s) of evidence on chain:",
                      count=len(rows)))
        for line in lines:
            # the node names the validators: printable only (cli.spoken.printable)
            echo(Sentence("min.evidence.item", f"  - {line}", item=line), named=True)
