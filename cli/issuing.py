"""`senim issue`: a registrar's export in, signed-off credential documents out."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from cli.client import DEFAULT_NODE, ClientError, NodeClient
from cli.issue_job import (
    IssueJob,
    JobError,
    JobPending,
    check_out_dir,
    discard_credentials,
    file_sha256,
    load_manifest,
    sign_batch,
    start_job,
    write_credentials,
)
from cli.vc import write_vc_copies
from ledger.credentials import make_batch
from ledger.errors import ConfigError, InvalidDocument
from ledger.identity import KeyPair
from ledger.payloads import SUSPENSION_REASONS
from ledger.transactions import CREDENTIAL_TYPES
from node.files import load_key
from registrar import ExportResult, SchemaError, load_mapping, load_schema, preview, read_export

WHEN_FORMAT = "%Y-%m-%d %H:%M:%S UTC"  # how the node's API prints a time


PROBLEMS_SHOWN_MAX = 50  # a registrar reads the first ones; the count says how many more


@dataclass(frozen=True)
class ReaderOptions:
    """How an export is read: kept in the job, so --resume reads it the same way."""

    encoding: str | None = None
    mapping: str | None = None  # "platonus", "kundelik" or a TOML file
    schema: str | None = None  # a TOML file overriding the built-in schema

    def to_json(self) -> dict[str, str | None]:
        return {"encoding": self.encoding, "mapping": self.mapping, "schema": self.schema}


def read_records(path: Path, credential_type: str, options: ReaderOptions
                 ) -> tuple[list[dict[str, str]], ExportResult]:
    """The export's records, all of them clean, or a one-line error per problem and exit 2.

    Nothing is issued unless the whole file is clean (registrar/ decides what is)."""
    try:
        mapping = load_mapping(options.mapping) if options.mapping else None
        schema = (load_schema(credential_type, Path(options.schema)) if options.schema
                  else None)
        result = read_export(path, credential_type, encoding=options.encoding,
                             mapping=mapping, schema=schema)
    except SchemaError as exc:
        _fail(str(exc), 2)
        raise
    if result.problems:
        for problem in result.problems[:PROBLEMS_SHOWN_MAX]:
            click.echo(f"  {problem}", err=True)
        more = len(result.problems) - PROBLEMS_SHOWN_MAX
        if more > 0:
            click.echo(f"  … and {more} more", err=True)
        _fail(f"{path}: {len(result.problems)} problem(s); nothing was issued (fix the export, "
              "or try --dry-run to see the rows as they will read)", 2)
    return result.records, result


def _fail(message: str, code: int = 1) -> None:
    click.secho(f"error: {message}", fg="red", err=True)
    sys.exit(code)


def _say(message: str) -> None:
    click.echo(message)


def _accreditation_problem(members: list[dict[str, Any]], keys: KeyPair,
                           credential_type: str) -> str | None:
    """Refuse before writing files when the chain would refuse anyway, with the ledger's
    own codes; the ledger still decides."""
    me = next((m for m in members if m["member_id"] == keys.member_id.hex()), None)
    if me is None:
        return f"{keys.member_id.hex()} is not a consortium member (unknown_sender)"
    now = datetime.now(UTC)
    held: set[str] = set()
    causes: list[str] = []
    for grant in me["accreditations"]:
        held.update(grant["types"])
        if credential_type not in grant["types"]:
            continue
        if grant["suspended_height"] is not None:
            reason = grant.get("suspend_reason") or "other"
            causes.append(f"suspended since height {grant['suspended_height']} "
                          f"({SUSPENSION_REASONS.get(reason, reason)}) [issuer_suspended]")
            continue
        try:
            start = datetime.strptime(grant["from"], WHEN_FORMAT).replace(tzinfo=UTC)
            end = datetime.strptime(grant["until"], WHEN_FORMAT).replace(tzinfo=UTC)
        except (KeyError, TypeError, ValueError):
            return None  # a period this client cannot read: the ledger decides
        if start <= now < end:
            return None
        causes.append(f"accreditation starts on {start:%Y-%m-%d} [accreditation_not_started]"
                      if now < start else
                      f"accreditation ended on {end:%Y-%m-%d} [accreditation_ended]")
    if causes:
        return f"{me['name']} may not issue {credential_type} credentials now: " + \
            "; ".join(causes)
    if held:
        return (f"{me['name']} is not accredited for {credential_type} "
                f"(accredited for: {', '.join(sorted(held))}) [type_not_accredited]")
    return f"{me['name']} is not accredited to issue anything [not_accredited]"


def _finish(job: IssueJob, timeout_s: float, node: NodeClient, key_path: Path | None,
            as_vc: bool = False) -> None:
    def issuer_keys() -> KeyPair:
        path = Path(key_path or job.manifest["key"])
        keys = load_key(path)
        if keys.member_id.hex() != job.manifest["issuer"]:
            raise JobError(f"{path} is not the key of issuer {job.manifest['issuer']}", 2)
        return keys

    def resign() -> tuple[bytes, str, int]:
        return sign_batch(node, issuer_keys(), job.manifest["type"],
                          bytes.fromhex(job.manifest["batch_root"]), int(job.manifest["count"]))

    try:
        issuance = job.run(timeout_s, resign)
    except JobPending as exc:
        click.secho(f"pending: {exc}; nothing is lost, finish it with: senim issue --resume "
                    f"{job.job_dir}", fg="yellow", err=True)
        sys.exit(exc.exit_code)
    except JobError as exc:
        _fail(str(exc), exc.exit_code)
        raise
    manifest = job.manifest
    click.echo(f"issued {manifest['count']} {manifest['type']}(s) in batch "
               f"{manifest['batch_root'][:16]}… at height {issuance['height']}")
    click.echo(f"credential files: {job.job_dir}/credentials/ (mode 0600); "
               f"{job.job_dir}/manifest.json lists hashes only")
    if as_vc:
        _write_vcs(job.job_dir, issuer_keys, node, int(issuance["height"]))


def _write_vcs(job_dir: Path, issuer_keys: Callable[[], KeyPair], node: NodeClient,
               height: int) -> None:
    try:
        folder = write_vc_copies(job_dir, issuer_keys(), node, height)
    except (JobError, ConfigError, InvalidDocument, ClientError, OSError) as exc:
        _fail(f"the batch is on chain, but its VC 2.0 copies were not written: {exc}; "
              f"write them with senim issue --resume {job_dir} --format vc")
        raise
    click.echo(f"W3C VC 2.0 copies: {folder}/ (mode 0600)")


def _prepare(key_path: Path, credential_type: str, input_path: Path, out_dir: Path,
             node: NodeClient, options: ReaderOptions) -> IssueJob:
    """Steps 1 and 2: read and check everything, then write every file before any send."""
    try:
        keys = load_key(key_path)
    except ConfigError as exc:
        _fail(str(exc), 2)
    # Whether this issuer may issue this type at all comes first: no point reading
    # 100,000 rows to be refused for it.
    try:
        status = node.status()
        members = node.request("GET", "/v1/members")["members"]
    except ClientError as exc:
        _fail(str(exc))
    problem = _accreditation_problem(members, keys, credential_type)
    if problem:
        _fail(problem)
    records, _ = read_records(input_path, credential_type, options)
    if not records:
        _fail(f"{input_path} holds no records", 2)
    issuer_name = next(m["name"] for m in members if m["member_id"] == keys.member_id.hex())
    click.echo(f"hashing {len(records)} {credential_type} record(s) as {issuer_name}…")
    try:
        batch = make_batch(records, credential_type, status["chain_id"], keys.member_id,
                           issuer_name)
        tx, tx_id, expires_at = sign_batch(node, keys, credential_type, batch.root,
                                           len(batch.target_hashes))
    except InvalidDocument as exc:
        _fail(str(exc), 2)
    except ClientError as exc:
        _fail(str(exc))
    del records  # the batch holds every field now; keep one copy in memory, not two
    try:
        manifest = start_job(out_dir, credential_type=credential_type,
                             chain_id=status["chain_id"], issuer_name=issuer_name, keys=keys,
                             key_path=key_path, input_path=input_path,
                             reader=options.to_json())
        write_credentials(out_dir, manifest, batch, tx, tx_id, expires_at)
    except JobError as exc:
        _fail(str(exc), exc.exit_code)
    except OSError as exc:
        _fail(f"cannot write the job folder {out_dir}: {exc}; nothing was submitted "
              f"(finish with: senim issue --resume {out_dir})")
    click.echo(f"wrote {len(batch.target_hashes)} credential file(s) to {out_dir}; "
               "submitting the batch…")
    return IssueJob(out_dir, node, _say)


def _redo_preparation(out_dir: Path, key_path: Path | None, node: NodeClient) -> IssueJob:
    """A job stopped while writing files never sent anything: write them again."""
    manifest = load_manifest(out_dir)
    input_path, key = Path(manifest["input"]), Path(key_path or manifest["key"])
    try:
        unchanged = file_sha256(input_path) == manifest["input_sha256"]
    except OSError as exc:
        _fail(f"the job stopped before its files were written, and its input "
              f"{input_path} cannot be read: {exc}", 2)
    if not unchanged:
        _fail(f"the job stopped before its files were written, and its input {input_path} "
              "has changed since; nothing was submitted: remove the folder and issue again", 2)
    click.echo(f"the job stopped while writing files (nothing was sent); writing them again "
               f"from {input_path}")
    discard_credentials(out_dir)
    for name in ("manifest.json", ".manifest.json.tmp"):
        (out_dir / name).unlink(missing_ok=True)
    reader = manifest.get("reader") or {}
    return _prepare(key, manifest["type"], input_path, out_dir, node,
                    ReaderOptions(reader.get("encoding"), reader.get("mapping"),
                                  reader.get("schema")))


@click.command("issue")
@click.option("--key", "key_path", type=click.Path(path_type=Path),
              help="The issuer's member key file.")
@click.option("--type", "credential_type", type=click.Choice(CREDENTIAL_TYPES))
@click.option("--input", "input_path",
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Registrar export: CSV (, ; or tab), Excel .xlsx or a JSON list of objects.")
@click.option("--encoding", default=None,
              help="The export's text encoding (default: detected; e.g. cp1251, utf-16).")
@click.option("--mapping", default=None,
              help="Column names of the registrar's system: platonus, kundelik or a TOML file.")
@click.option("--schema", "schema_path", default=None,
              help="A TOML file overriding the credential type's built-in schema.")
@click.option("--dry-run", is_flag=True,
              help="Read and check the export, show the first rows as the documents will "
                   "read and every problem; issue nothing.")
@click.option("--out", "out_dir", type=click.Path(path_type=Path),
              help="A new or empty directory: the job's folder.")
@click.option("--resume", "resume_dir", type=click.Path(path_type=Path),
              help="Finish the job in this folder, from whatever state it stopped in.")
@click.option("--node", "node_url", default=DEFAULT_NODE, envvar="SENIM_NODE",
              show_default=True)
@click.option("--format", "output_format", type=click.Choice(["native", "vc"]),
              default="native", show_default=True,
              help="vc: also write each credential as a W3C VC 2.0 in DIR/vc/.")
@click.option("--timeout", "timeout_s", default=120.0, show_default=True,
              help="Seconds to wait for the batch to commit (then exit 75: resume later).")
def issue_command(key_path: Path | None, credential_type: str | None, input_path: Path | None,
                  encoding: str | None, mapping: str | None, schema_path: str | None,
                  dry_run: bool, out_dir: Path | None, resume_dir: Path | None, node_url: str,
                  output_format: str, timeout_s: float) -> None:
    """Issue one credential per record, all in one batch transaction.

    Every credential file is written (0600) before the batch is sent; a job that
    stops at any point is finished by `senim issue --resume DIR`."""
    node = NodeClient(node_url)
    if resume_dir is not None:
        if input_path or out_dir or credential_type:
            _fail("--resume DIR takes no --input, --out or --type (the folder records them)", 2)
        _resume(resume_dir, key_path, node, timeout_s, output_format == "vc")
        return
    options = ReaderOptions(encoding, mapping, schema_path)
    if dry_run:
        _dry_run(credential_type, input_path, options)
        return
    missing = [name for name, value in (("--key", key_path), ("--type", credential_type),
                                        ("--input", input_path), ("--out", out_dir))
               if value is None]
    if missing:
        _fail(f"give {', '.join(missing)} (or --resume DIR to finish a job)", 2)
    assert key_path and credential_type and input_path and out_dir
    try:
        check_out_dir(out_dir)
    except JobError as exc:
        _fail(str(exc), exc.exit_code)
    created = not out_dir.exists()
    try:
        _finish(_prepare(key_path, credential_type, input_path, out_dir, node, options),
                timeout_s, node, key_path, output_format == "vc")
    except KeyboardInterrupt:
        if (out_dir / "manifest.json").exists():
            _fail(f"interrupted; nothing is lost: finish with senim issue --resume {out_dir}",
                  130)
        _fail("interrupted before any file was written; nothing was issued", 130)
    finally:
        if created and out_dir.is_dir() and not any(out_dir.iterdir()):
            out_dir.rmdir()  # a refused batch leaves nothing behind


def _dry_run(credential_type: str | None, input_path: Path | None,
             options: ReaderOptions) -> None:
    if credential_type is None or input_path is None:
        _fail("--dry-run needs --type and --input", 2)
        raise AssertionError("unreachable")
    try:
        mapping = load_mapping(options.mapping) if options.mapping else None
        schema = (load_schema(credential_type, Path(options.schema)) if options.schema
                  else None)
        result = read_export(input_path, credential_type, encoding=options.encoding,
                             mapping=mapping, schema=schema)
    except SchemaError as exc:
        _fail(str(exc), 2)
        raise
    click.echo(preview(result))
    if result.problems:
        _fail(f"{len(result.problems)} problem(s): nothing would be issued", 2)
    click.echo(f"dry run: {len(result.records)} record(s) would be issued; nothing was sent")


def _resume(job_dir: Path, key_path: Path | None, node: NodeClient, timeout_s: float,
            as_vc: bool) -> None:
    try:
        manifest = load_manifest(job_dir)
        status = node.status()
    except JobError as exc:
        _fail(str(exc), exc.exit_code)
    except ClientError as exc:
        _fail(str(exc))
    if manifest["chain_id"] != status["chain_id"]:
        _fail(f"{job_dir} is a job of chain {manifest['chain_id']!r}; the node serves "
              f"{status['chain_id']!r}", 2)
    if manifest["state"] == "committed":
        click.echo(f"{job_dir}: batch {manifest['batch_root'][:16]}… is already on chain at "
                   f"height {manifest['issuance']['height']}; nothing to do")
        if as_vc:
            _write_vcs(job_dir, lambda: load_key(Path(key_path or manifest["key"])), node,
                       int(manifest["issuance"]["height"]))
        return
    click.echo(f"{job_dir}: resuming a job in state {manifest['state']}")
    if manifest["state"] == "preparing":
        job = _redo_preparation(job_dir, key_path, node)
    else:
        job = IssueJob(job_dir, node, _say)
    try:
        _finish(job, timeout_s, node, key_path, as_vc)
    except KeyboardInterrupt:
        _fail(f"interrupted; nothing is lost: finish with senim issue --resume {job_dir}", 130)
