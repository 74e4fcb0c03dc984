"""`senim governance revoke`: a ministry proposes that the consortium revoke a credential
of a retired member (one that may sign nothing, its own revocations included).

The proposal is voted like any other (`senim governance vote`); the vote that reaches the
threshold writes the revocation (`ledger.governance_revocation`). What the ledger would
refuse is refused here first, unsent, in words: an issuer not retired, a credential this
network never recorded, one revoked already, one another open proposal revokes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from cli.client import MALFORMED_ANSWER, ClientError, NodeClient
from cli.commands import key_option, load_key_or_fail, node_option, submit_and_report
from cli.errors import EXIT_BAD_INPUT, EXIT_REFUSED, EXIT_UNREACHABLE, fail
from cli.proposal_heights import ProposalHeights
from cli.vc import is_vc_document
from cli.verify_files import load_checked_json
from ledger.credential_documents import ParsedDocument, parse_document
from ledger.errors import InvalidDocument, NewerFormat
from ledger.identity import MemberId
from ledger.payloads import (
    ACTION_REVOKE_CREDENTIAL,
    CONSORTIUM_REVOCATION_REASONS,
    MIN_PROPOSAL_LEAD_BLOCKS,
    CredentialRef,
    ProposePayload,
    RevokeCredentialAction,
)
from ledger.payloads_credentials import REVOCATION_REASONS
from ledger.rules_version import CONSORTIUM_REVOCATION_FROM
from ledger.vc.anchored import native_of_senim_vc
from storage.batch_tree import verify_inclusion


def _document(path: Path) -> ParsedDocument:
    """The credential in `path`: a Senim credential file, or a Senim VC of one (which
    names its batch in its `senim` section, as `senim revoke` reads it)."""
    try:
        document = load_checked_json(path)
        if isinstance(document, dict) and is_vc_document(document):
            document = native_of_senim_vc(document)
        return parse_document(document)
    except NewerFormat as exc:
        fail(f"{path}: {exc}; update senim to read it", EXIT_BAD_INPUT)
    except InvalidDocument as exc:
        fail(f"{path} is not a Senim credential file: {exc}", EXIT_BAD_INPUT)


def _ask(client: NodeClient, path: str) -> Any:
    try:
        return client.request("GET", path)
    except ClientError as exc:
        fail(str(exc), exc.exit_code)


def _refusal(client: NodeClient, doc: ParsedDocument, head: int) -> str | None:
    """Why the ledger would refuse to revoke it by governance now, in words, or None."""
    ref = f"/v1/batches/{doc.issuer.hex()}/{doc.batch_root.hex()}"
    members = _ask(client, "/v1/members")["members"]
    issuer = next((m for m in members if m["member_id"] == doc.issuer.hex()), None)
    if issuer is None:
        return (f"unknown credential: its issuer {doc.issuer.hex()} is no member of this "
                "network")
    name, retired = str(issuer["name"]), issuer["retired_height"]
    if retired is None:
        return (f"{name} is not retired: it revokes its own credentials (senim revoke); a "
                "ministry may suspend it (senim suspend) or propose its retirement first")
    if int(retired) > head + 1:
        return (f"{name} is retired only from height {retired} (the chain is at height "
                f"{head}); until then it revokes its own credentials")
    try:
        batch = client.request("GET", ref)
    except ClientError as exc:
        if exc.status != 404:
            fail(str(exc), exc.exit_code)
        return (f"unknown credential: {name} has no batch {doc.batch_root.hex()[:16]}… on "
                "this network; the credential was never issued here")
    if int(batch["count"]) != doc.batch_size or not verify_inclusion(
            doc.target_hash, doc.batch_index, doc.batch_size, doc.batch_path, doc.batch_root):
        return ("unknown credential: it is not in the batch it names (the file was altered); "
                "nothing of it is on chain to revoke")
    record = _ask(client, f"{ref}/credentials/{doc.target_hash.hex()}")
    if record["revoked"]:
        by = (f"by the consortium (proposal {record['proposal_id']})"
              if record.get("revoked_by") == "consortium" else f"by {name}")
        return (f"already revoked {by} at height {record['revoked_at_height']} "
                f"({record['revoked_at']}): {REVOCATION_REASONS.get(record['reason'], '')}")
    return None


def _rules_too_old(version: int, scheduled: list[dict[str, Any]]) -> str:
    said = (f"the chain runs ledger rules version {version}; revoking a retired member's "
            f"credential needs version {CONSORTIUM_REVOCATION_FROM}")
    due = [int(c["from_height"]) for c in scheduled
           if int(c["version"]) >= CONSORTIUM_REVOCATION_FROM]
    if due:
        return f"{said}, scheduled from height {min(due)}: propose it from then"
    return (f"{said} (senim governance propose --action set-rules-version --rules-version "
            f"{CONSORTIUM_REVOCATION_FROM}, once every node runs a release that knows it)")


def _open_twin(client: NodeClient, doc: ParsedDocument) -> dict[str, Any] | None:
    """An open proposal that already revokes this credential (any reason)."""
    proposals = _ask(client, "/v1/governance")["proposals"]
    return next((p for p in proposals if p["action"] == ACTION_REVOKE_CREDENTIAL
                 and p["status"] == "open" and p["member_id"] == doc.issuer.hex()
                 and p["batch_root"] == doc.batch_root.hex()
                 and p["target_hash"] == doc.target_hash.hex()), None)


@click.command("revoke")
@key_option("Your (ministry) member key file.")
@click.argument("credential", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--reason", required=True, type=click.Choice(CONSORTIUM_REVOCATION_REASONS),
              help="Why, as a code (the chain never holds free text).")
@click.option("--effective-height", type=int, default=None,
              help="Votes close 2 blocks before it; default the head + 100. The revocation "
                   "itself is written by the vote that reaches the threshold.")
@node_option
def revoke_command(key_path: Path, credential: Path, reason: str,
                   effective_height: int | None, node_url: str) -> None:
    """Propose that the consortium revoke CREDENTIAL (a credential file or a Senim VC) of a retired
    member; your transaction is your vote. Prints the proposal id for the other voters."""
    doc = _document(credential)
    keys = load_key_or_fail(key_path)
    client = NodeClient(node_url, timeout_s=10)
    try:
        status = client.status()
        head, chain_id = int(status["height"]), str(status["chain_id"])
        governance = _ask(client, "/v1/governance")
        threshold = int(governance["policy"]["threshold"])
        version, known = int(governance["rules"]["version"]), int(governance["rules"]["known"])
        if doc.chain_id != chain_id:
            fail(f"unknown credential: it was issued on network {doc.chain_id!r}; the node at "
                 f"{node_url} is on {chain_id!r}", EXIT_REFUSED)
        if known < CONSORTIUM_REVOCATION_FROM or version < CONSORTIUM_REVOCATION_FROM:
            fail(_rules_too_old(version, governance["rules"]["scheduled"]), EXIT_REFUSED)
        refusal = _refusal(client, doc, head)
        twin = _open_twin(client, doc)
    except ClientError as exc:
        fail(str(exc), exc.exit_code)
    except MALFORMED_ANSWER as exc:
        fail(f"{node_url} sent a malformed answer ({type(exc).__name__}): is it a Senim "
             "node?", EXIT_UNREACHABLE)
    if refusal is not None:
        fail(f"not proposed: {refusal}", EXIT_REFUSED)
    if twin is not None:
        fail(f"not proposed: proposal {twin['proposal_id']} already proposes to revoke this "
             f"credential, open until height {twin['expiry_height']}: vote for it (senim "
             f"governance vote --key {key_path} {twin['proposal_id']})", EXIT_REFUSED)
    heights = ProposalHeights(head, threshold)
    wrong = heights.refusal(effective_height, None)
    if wrong is not None:
        fail(wrong, EXIT_BAD_INPUT)
    effective = heights.default_effective if effective_height is None else effective_height
    action = RevokeCredentialAction(MemberId(doc.issuer), CredentialRef(
        doc.batch_root, doc.target_hash, doc.batch_index, tuple(doc.batch_path)), reason)
    result = submit_and_report(NodeClient(node_url), keys, ProposePayload(
        action, effective, effective - MIN_PROPOSAL_LEAD_BLOCKS), "proposal")
    proposal_id = result["tx_id"]
    if threshold <= 1:
        click.echo(f"revoked by the consortium at height {result['height']} (proposal "
                   f"{proposal_id})")
        return
    click.echo(f"proposal id: {proposal_id}; the credential is revoked once {threshold - 1} "
               f"more voter(s) vote for it, by height {effective - MIN_PROPOSAL_LEAD_BLOCKS}: "
               f"senim governance vote --key KEY {proposal_id}")
