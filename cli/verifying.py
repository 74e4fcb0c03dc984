"""`senim verify`, `senim disclose`, `senim revoke`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from node.client import DEFAULT_NODE, ClientError, NodeClient
from node.credentials import disclose, parse_document
from node.errors import ConfigError, InvalidDocument
from node.facts import RemoteFacts, RemoteFactsError, StateMoved
from node.identity import load_key
from node.transactions import KIND_REVOKE
from node.verification import Verdict, verify_anchor, verify_credential
from storage.batch_tree import audit_path

EXIT_INVALID = 1
EXIT_UNREACHABLE = 3


def _fail(message: str, code: int = 1) -> None:
    click.secho(f"error: {message}", fg="red", err=True)
    sys.exit(code)


def _load_json(path: Path) -> Any | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError):
        return None


def _print_verdict(verdict: Verdict, file: Path) -> None:
    colour = "green" if verdict.valid else "red"
    label = "VALID" if verdict.valid else verdict.status.upper()
    click.secho(f"{label}: {verdict.reason}", fg=colour, bold=True)
    click.echo(f"  file:   {file}")
    for number, check in enumerate(verdict.checks, start=1):
        mark = click.style("✔", fg="green") if check.ok else click.style("✘", fg="red")
        click.echo(f"  {number}. {mark} {check.detail}")
    click.echo(f"  source: {verdict.source}")


@click.command("verify")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--node", "node_url", default=DEFAULT_NODE, envvar="SENIM_NODE",
              show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable verdict.")
def verify_command(file: Path, node_url: str, as_json: bool) -> None:
    """Check a credential (or an anchored document) step by step. Exit 0 only if valid."""
    document = _load_json(file)
    is_credential = isinstance(document, dict) and "format" in document
    verdict: Verdict | None = None
    for _attempt in range(3):
        facts = RemoteFacts(node_url)
        try:
            chain_id = facts.get_json("/v1/status")["chain_id"]
            verdict = (verify_credential(document, facts, chain_id) if is_credential
                       else verify_anchor(file.read_bytes(), facts))
        except StateMoved:
            continue
        except RemoteFactsError as exc:
            _fail(str(exc), EXIT_UNREACHABLE)
            return
        verdict.source = facts.describe() + (
            f", state root {facts.state_root.hex()[:16]}…" if facts.state_root else "")
        break
    if verdict is None:
        _fail("the chain kept moving during verification; try again", EXIT_UNREACHABLE)
        return
    if as_json:
        click.echo(json.dumps({"file": str(file), **verdict.to_json()}, indent=2,
                              ensure_ascii=False))
    else:
        _print_verdict(verdict, file)
    sys.exit(0 if verdict.valid else EXIT_INVALID)


@click.command("disclose")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--hide", required=True, help="Comma-separated field names to hide.")
@click.option("--out", "out_file", required=True, type=click.Path(path_type=Path))
def disclose_command(file: Path, hide: str, out_file: Path) -> None:
    """Write a copy with some fields hidden (only salted hashes kept); it still verifies."""
    document = _load_json(file)
    if not isinstance(document, dict):
        _fail(f"{file} is not a credential document (JSON object)", 2)
        return
    names = [name.strip() for name in hide.split(",") if name.strip()]
    try:
        copy = disclose(document, names)
    except InvalidDocument as exc:
        _fail(str(exc), 2)
    out_file.write_text(json.dumps(copy, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    click.echo(f"wrote {out_file}: {len(names)} field(s) hidden ({', '.join(names)})")


def _revocation_target(target: str, manifest_path: Path | None
                       ) -> tuple[bytes, bytes, int, list[bytes]]:
    """(batch root, target hash, index, audit path) from a document or an id + manifest."""
    path = Path(target)
    if path.is_file():
        doc = parse_document(_load_json(path))
        return doc.batch_root, doc.target_hash, doc.batch_index, doc.batch_path
    if manifest_path is None:
        raise InvalidDocument("give a credential file, or an id with --manifest")
    manifest = _load_json(manifest_path)
    if not isinstance(manifest, dict):
        raise InvalidDocument(f"{manifest_path} is not a batch manifest")
    targets = [bytes.fromhex(t) for t in manifest["target_hashes"]]
    wanted = bytes.fromhex(target)
    if wanted not in targets:
        raise InvalidDocument(f"credential {target} is not in {manifest_path}")
    index = targets.index(wanted)
    return bytes.fromhex(manifest["batch_root"]), wanted, index, audit_path(targets, index)


@click.command("revoke")
@click.option("--key", "key_path", required=True, type=click.Path(path_type=Path))
@click.argument("target")
@click.option("--reason", required=True, help="Why (kept on chain: no personal data).")
@click.option("--manifest", "manifest_path", type=click.Path(exists=True, path_type=Path),
              help="The batch manifest, when TARGET is a credential id.")
@click.option("--node", "node_url", default=DEFAULT_NODE, envvar="SENIM_NODE",
              show_default=True)
def revoke_command(key_path: Path, target: str, reason: str, manifest_path: Path | None,
                   node_url: str) -> None:
    """Revoke a credential (FILE, or ID with --manifest). Only its issuer may."""
    try:
        keys = load_key(key_path)
        root, target_hash, index, path = _revocation_target(target, manifest_path)
    except (ConfigError, InvalidDocument, ValueError, KeyError) as exc:
        _fail(str(exc), 2)
    client = NodeClient(node_url)
    try:
        tx = client.make_tx(keys, KIND_REVOKE, [root, target_hash, index, path, reason])
        result = client.submit_and_wait(tx)
    except ClientError as exc:
        _fail(f"revocation refused: {exc} ({exc.code})")
    if result["status"] != "committed":
        _fail(f"revocation not committed: {result.get('reason', result['status'])}")
    click.echo(f"revoked {target_hash.hex()[:16]}… at height {result['height']}: {reason}")
