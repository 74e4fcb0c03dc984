"""`senim export-vc` and the VC 2.0 branch of `senim verify`."""

from __future__ import annotations

import http.client
import json
import os
import sys
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from cli.client import DEFAULT_NODE, MALFORMED_ANSWER, ClientError, NodeClient
from cli.commands import print_verdict
from cli.deadline import Deadline
from cli.deadline_http import deadline_opener
from cli.errors import EXIT_UNREACHABLE
from cli.errors import fail as _fail
from cli.job_folder import CREDENTIALS_DIR, credential_files
from cli.language import Words
from cli.remote import (
    NODE_RECORD_ERRORS,
    RemoteFacts,
    RemoteFactsError,
    StateMoved,
    UntrustedAnswer,
    check_fresh,
    read_bounded,
)
from cli.verdict_words import print_verdict_words, verdict_sentence
from cli.verify_files import DOCUMENT_FILE_BYTES_MAX, refuse_out_over_input
from ledger.credential_documents import parse_document
from ledger.errors import ConfigError, InvalidDocument, MalformedInput
from ledger.genesis import Genesis
from ledger.identity import KeyPair
from ledger.vc.export import to_vc
from ledger.vc.issuer_keys import check_export_key
from ledger.vc.verify import VcVerdict, verify_vc
from ledger.verification import Check, when
from node.files import UnfitFile, load_key
from node.files import read_bounded as read_file_bounded
from node.validators import certifies_by_keys

EXIT_INVALID = 1
EXIT_USAGE = 2
MAX_STATUS_LIST_BYTES = 1 << 20
STATUS_TIMEOUT_S = 10.0
VC_DIR = "vc"  # `senim issue --format vc` writes DIR/vc/<folder>/<name>.vc.json


def is_vc_document(document: Any) -> bool:
    """A W3C VC (a JSON object with an @context), as opposed to a native document."""
    return isinstance(document, dict) and "@context" in document and "format" not in document


def write_private(path: Path, document: Any) -> None:
    """Credential files hold personal data: owner-only (0600), like key files."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")


def batch_signer_key(node_url: str, issuer: bytes, batch_root: bytes) -> bytes | None:
    """The key that signed the batch, read with a state proof (None: the member's first
    key, for a batch recorded before keys could rotate)."""
    for _attempt in range(3):
        try:
            batch = RemoteFacts(node_url).batch(issuer, batch_root)
        except StateMoved:
            continue
        except MalformedInput as exc:
            raise RemoteFactsError(f"the node's batch record is malformed: {exc}") from exc
        if batch is None:
            raise RemoteFactsError("the node has no such batch on chain")
        return batch.signer_key
    raise RemoteFactsError("the chain kept moving while the batch was read; try again")


def write_vc_copies(job_dir: Path, keys: KeyPair, node: NodeClient, height: int) -> Path:
    """A VC 2.0 of each committed credential of an issuing job, beside the native files
    (same folder and name under DIR/vc/, mode 0600); status lists are the node's. Each
    is signed with `keys`, which must be the key that signed the batch."""
    block = node.request("GET", f"/v1/blocks/{height}")
    now_ms = int(time.time() * 1000)
    checked: set[bytes] = set()
    for path in credential_files(job_dir):
        document = json.loads(read_file_bounded(path, DOCUMENT_FILE_BYTES_MAX,
                                                "credential file").data)
        parsed = parse_document(document)
        if parsed.batch_root not in checked:
            check_export_key(keys, parsed.issuer,
                             batch_signer_key(node.base_url, parsed.issuer, parsed.batch_root))
            checked.add(parsed.batch_root)
        credential = to_vc(document, keys, node.base_url, height, int(block["time_ms"]),
                           now_ms)
        relative = path.relative_to(job_dir / CREDENTIALS_DIR)
        out = job_dir / VC_DIR / relative.parent / (path.stem + ".vc.json")
        out.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_private(out, credential)
    return job_dir / VC_DIR


@click.command("export-vc")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--key", "key_path", required=True, type=click.Path(path_type=Path),
              help="The issuer's member key file (the VC is signed with it).")
@click.option("--out", "out_file", required=True, type=click.Path(path_type=Path))
@click.option("--node", "node_url", default=DEFAULT_NODE, envvar="SENIM_NODE",
              show_default="$SENIM_NODE or " + DEFAULT_NODE,
              help="A node to read the batch's block height and time.")
@click.option("--status-base", "status_base", default=None,
              help="Public base URL of the node serving status lists [default: --node].")
def export_vc_command(file: Path, key_path: Path, out_file: Path, node_url: str,
                      status_base: str | None) -> None:
    """Export a Senim credential (as disclosed) as a W3C VC 2.0 signed by its issuer."""
    refuse_out_over_input(file, out_file, "the VC")
    try:
        document = json.loads(read_file_bounded(file, DOCUMENT_FILE_BYTES_MAX,
                                                "credential").data)
        parsed = parse_document(document)
        keys = load_key(key_path)
    except UnfitFile as exc:  # /dev/zero, a named pipe, a folder, or too large
        _fail(str(exc), EXIT_USAGE)
        raise
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        _fail(f"{file} is not JSON: {exc}", EXIT_USAGE)
        raise
    except (InvalidDocument, ConfigError) as exc:
        _fail(str(exc), EXIT_USAGE)
        raise
    client = NodeClient(node_url)
    try:
        batch = client.request(
            "GET", f"/v1/batches/{parsed.issuer.hex()}/{parsed.batch_root.hex()}")
        height = int(batch["height"])
        block_time_ms = int(client.request("GET", f"/v1/blocks/{height}")["time_ms"])
        signer_key = batch_signer_key(node_url, parsed.issuer, parsed.batch_root)
    except (ClientError, RemoteFactsError) as exc:
        _fail(f"cannot read the batch from {node_url}: {exc}", EXIT_UNREACHABLE)
        raise
    except MALFORMED_ANSWER as exc:
        _fail(f"{node_url} sent a malformed batch answer ({type(exc).__name__}: {exc}): is "
              "it a Senim node?", EXIT_UNREACHABLE)
        raise
    try:
        check_export_key(keys, parsed.issuer, signer_key)
        credential = to_vc(document, keys, status_base or node_url, height, block_time_ms,
                           int(time.time() * 1000))
    except InvalidDocument as exc:
        _fail(str(exc), EXIT_USAGE)
        raise
    try:
        write_private(out_file, credential)
    except OSError as exc:
        _fail(f"cannot write {out_file}: {exc}", EXIT_USAGE)
    click.echo(f"wrote {out_file}: W3C VC 2.0 signed by {credential['issuer']['id'][:32]}…, "
               f"{len(parsed.revealed)} field(s) shown; verify with `senim verify {out_file}`")


def fetch_status_list(url: str, deadline: Deadline | None = None) -> dict[str, Any] | None:
    """A status list credential over HTTP(S), bounded in size and time (within the
    command's `deadline`, when it has one)."""
    if not url.startswith(("http://", "https://")):
        return None
    left = STATUS_TIMEOUT_S if deadline is None else min(STATUS_TIMEOUT_S, deadline.left())
    try:
        # The URL is the credential's: its host may trickle header lines, which only a
        # deadline on every read ends off the main thread (cli.deadline_http).
        with deadline_opener(time.monotonic() + left).open(url, timeout=left) as response:
            listed = json.loads(read_bounded(response, url, MAX_STATUS_LIST_BYTES, left))
    except (urllib.error.URLError, OSError, ValueError, RecursionError, RemoteFactsError,
            http.client.HTTPException):
        return None
    return listed if isinstance(listed, dict) else None


def unconfirmed(verdict: VcVerdict) -> VcVerdict:
    """A VC with a good signature that no Senim chain records is no confirmed credential:
    anyone can sign one, naming any university, with a key of their own. The VC-API still
    says it verifies (that is all a W3C verifier promises); an employer is told otherwise,
    as the portal tells it, and gets exit 1."""
    detail = ("not recorded on the Senim network: only its signature was checked, and anyone "
              "can sign a credential with a key of their own, so neither its issuer nor its "
              "contents are confirmed")
    verdict.checks.append(Check("senim", False, detail))
    verdict.valid, verdict.status = False, "unconfirmed"
    verdict.reason = f"valid signature by {verdict.issuer[:40]}…, but {detail}"
    return verdict


def verify_vc_file(document: Any, file: Path, node_url: str, as_json: bool,
                   genesis: Genesis | None = None, max_age_s: float | None = None,
                   deadline: Deadline | None = None, words: Words | None = None) -> None:
    """`senim verify` on a VC 2.0: the standard checks, then Senim's against a node; with
    `genesis`, the node's answer is checked as a light client checks it (cli.remote)."""
    now = datetime.now(tz=UTC)
    certified = certifies_by_keys(genesis.chain_id) if genesis else None
    verdict: VcVerdict | None = None
    for _attempt in range(3):
        facts = RemoteFacts(node_url, certified=certified, genesis=genesis, deadline=deadline)
        try:
            chain_id = None if "senim" not in document else (
                genesis.chain_id if genesis else facts.get_json("/v1/status")["chain_id"])
            verdict = verify_vc(document, now, facts if chain_id else None, chain_id,
                                lambda url: fetch_status_list(url, deadline))
        except StateMoved:
            continue
        except UntrustedAnswer as exc:
            verdict = VcVerdict(False, "untrusted", f"the node's answer cannot be trusted: "
                                f"{exc}", [Check("certified", False, str(exc))])
        except NODE_RECORD_ERRORS as exc:
            _fail(f"the node sent a record that does not decode: {exc}", EXIT_UNREACHABLE)
        except RemoteFactsError as exc:
            _fail(f"cannot check the chain at {node_url}: {exc}", EXIT_UNREACHABLE)
        break
    if verdict is None:
        _fail("the chain kept moving during verification; try again", EXIT_UNREACHABLE)
        raise AssertionError("unreachable")
    if deadline is not None:
        deadline.settle()
    if verdict.valid and "senim" not in document:
        verdict = unconfirmed(verdict)
    if verdict.status == "expired" and verdict.facts.get("validity") == "not_yet_valid":
        verdict.status = "not_yet_valid"  # the VC-API's "expired" stands for either end
    after = [f"note: {warning}" for warning in verdict.warnings]
    if facts.state_root is not None:
        label = "source" if words is None or words.language == "en" else words.t("cli.source")
        after.append(f"{label}: {facts.describe()}")
    if facts.header is not None:
        verdict.facts["as_of_height"] = facts.header.height
        verdict.facts["as_of_time"] = when(facts.header.time_ms)
        verdict = check_fresh(verdict, facts.header.time_ms, max_age_s)
    if as_json:
        click.echo(json.dumps({"file": str(file), **verdict.to_json()}, indent=2,
                              ensure_ascii=False))
    else:
        # A file refused before its issuer was read names none.
        about = f" (W3C VC 2.0, issuer {verdict.issuer})" if verdict.issuer else " (W3C VC)"
        if words is None or words.language == "en":
            print_verdict(verdict, f"{file}{about}", after)
        else:
            print_verdict_words(verdict, words, verdict_sentence(verdict, words),
                                f"{file}{about}", document, after)
    sys.exit(0 if verdict.valid else EXIT_INVALID)


@click.command("tls-cert")
@click.option("--cert", "cert_path", required=True, type=click.Path(path_type=Path))
@click.option("--key", "key_path", required=True, type=click.Path(path_type=Path))
@click.option("--host", "hosts", multiple=True, default=["127.0.0.1", "localhost"],
              show_default=True, help="A name or IP the certificate is for (repeatable).")
def tls_cert_command(cert_path: Path, key_path: Path, hosts: tuple[str, ...]) -> None:
    """Make a self-signed TLS certificate for a testnet node's HTTPS listener."""
    from node.tls import make_self_signed

    if key_path.exists() or cert_path.exists():
        _fail(f"{key_path} or {cert_path} exists; not overwriting", EXIT_USAGE)
    try:
        make_self_signed(cert_path, key_path, list(hosts), datetime.now(tz=UTC))
    except OSError as exc:
        if key_path.exists() and not cert_path.exists():
            key_path.unlink()  # made just now (checked above): leave no key without its cert
        _fail(f"cannot write {exc.filename}: {exc.strerror or exc}", EXIT_USAGE)
    click.echo(f"wrote {cert_path} and {key_path} (0600) for {', '.join(hosts)}; set "
               "[vc] https_listen, tls_cert and tls_key in the node's config")
