"""`senim issue`: a registrar's export in, signed-off credential documents out."""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from cli.client import MALFORMED_ANSWER, ClientError, NodeClient
from cli.commands import load_key_or_fail, node_option
from cli.errors import EXIT_UNREACHABLE, fail
from cli.issue_checks import (
    ReaderOptions,
    accreditation_problem,
    check_export,
    corrections_of,
    load_schema_or_fail,
    preparing_alone,
    refuse_problems,
    register_job,
    register_pending,
    registry_check,
    registry_for_key,
    write_corrections,
)
from cli.issue_dry_run import dry_run_export
from cli.issue_job import IssueJob, JobPending, on_interrupt, sign_batch
from cli.job_folder import (
    CORRECTIONS_NAME,
    MANIFEST_NAME,
    JobError,
    check_out_dir,
    crash_point,
    discard_credentials,
    file_sha256,
    load_manifest,
    start_job,
    write_credentials,
)
from cli.parallel_hashing import PooledBatchBuilder
from cli.remote import RemoteFactsError
from cli.supersede_job import corrections_hint
from cli.vc import write_vc_copies
from ledger.errors import ConfigError, InvalidDocument
from ledger.identity import KeyPair
from ledger.transactions import CREDENTIAL_TYPES
from node.files import load_key
from registrar import titles_read_past
from registrar.issued import REGISTRY_NAME, Earlier, RegistryError


def _say(message: str) -> None:
    click.echo(message)


def _finish(job: IssueJob, timeout_s: float, node: NodeClient, key_path: Path | None,
            as_vc: bool = False) -> None:
    def issuer_keys() -> KeyPair:
        path = Path(key_path or job.manifest["key"])
        try:
            keys = load_key(path)
        except ConfigError as exc:
            raise JobError(f"the kept transaction expired and a new one needs the key: {exc}",
                           2) from exc
        if keys.member_id.hex() != job.manifest["issuer"]:
            raise JobError(f"{path} is not the key of issuer {job.manifest['issuer']}", 2)
        return keys

    def resign() -> tuple[bytes, str, int]:
        return sign_batch(node, issuer_keys(), job.manifest["type"],
                          bytes.fromhex(job.manifest["batch_root"]), int(job.manifest["count"]))

    # What is left of --timeout once the node was asked what preparing needed: the wait
    # ends with it however the node answers (NodeClient.budget_s bounds each request).
    left_s = timeout_s if node.budget_s is None else max(node.budget_s, 0.0)
    started = time.monotonic()
    try:
        try:
            issuance = job.run(left_s, resign)
        except ClientError as exc:  # the node stopped answering, or answered nonsense
            raise JobPending(f"the node did not say where the batch is: {exc}") from exc
    except JobPending as exc:
        # the budget, or the wait's deadline (the loop's moments between requests)
        spent = node.budget_s is not None and (
            node.budget_s <= 0 or time.monotonic() - started >= left_s)
        why = f"--timeout {timeout_s:g} s is up: " if spent else ""
        click.secho(f"pending: {why}{exc}; nothing is lost (the job folder holds every "
                    f"credential file and the signed batch), finish it with: senim issue "
                    f"--resume {job.job_dir}", fg="yellow", err=True)
        sys.exit(exc.exit_code)
    except JobError as exc:
        fail(str(exc), exc.exit_code)
    node.budget_s = None  # committed: writing VC copies is no wait for the batch
    manifest = job.manifest
    click.echo(f"issued {manifest['count']} {manifest['type']}(s) in batch "
               f"{manifest['batch_root'][:16]}… at height {issuance['height']}")
    click.echo(f"credential files: {job.job_dir}/credentials/ (mode 0600); "
               f"{job.job_dir}/manifest.json lists hashes only")
    _register(job.job_dir, manifest)
    if as_vc:
        _write_vcs(job.job_dir, issuer_keys, node, int(issuance["height"]))


def _register(job_dir: Path, manifest: dict[str, Any]) -> None:
    """Step 6: the committed job goes into the issued-students registry."""
    try:
        path, added = register_job(job_dir, manifest)
    except (RegistryError, OSError, ValueError, KeyError) as exc:
        fail(f"the batch is on chain, but the issued-students registry was not updated: "
             f"{exc}; fix that and run senim issue --resume {job_dir}", 1)
    # Several keys a student (IIN and student id): "48" of 24 graduates read as 48 people.
    named = ", ".join(str(name) for name in manifest.get("unique", ()))
    click.echo(f"recorded {added} new student key(s)" + (f" ({named} of each)" if named else "")
               + f" in the issued-students registry {path}")
    pairs = corrections_of(job_dir)
    if pairs:
        click.echo(f"this job corrects {len(pairs)} earlier credential(s), which verify as "
                   f"genuine until superseded; supersede each ({job_dir / CORRECTIONS_NAME} "
                   f"lists them) by its correction:\n  {corrections_hint(job_dir)}")

def _write_vcs(job_dir: Path, issuer_keys: Callable[[], KeyPair], node: NodeClient,
               height: int) -> None:
    try:
        folder = write_vc_copies(job_dir, issuer_keys(), node, height)
    except (JobError, ConfigError, InvalidDocument, ClientError, RemoteFactsError,
            OSError) as exc:
        fail(f"the batch is on chain, but its VC 2.0 copies were not written: {exc}; "
              f"write them with senim issue --resume {job_dir} --format vc")
        raise
    click.echo(f"W3C VC 2.0 copies: {folder}/ (mode 0600)")


def _prepare(key_path: Path, credential_type: str, input_path: Path, out_dir: Path,
             node: NodeClient, options: ReaderOptions, again: bool = False) -> IssueJob:
    """Steps 1 and 2: read, check and hash everything (a record at a time, so only the
    hashed batch is held), then write every file before any send (`again`: in the
    folder of a job that stopped while preparing)."""
    with preparing_alone(out_dir, options, _say):
        return _prepare_alone(key_path, credential_type, input_path, out_dir, node, options,
                              again)


def _prepare_alone(key_path: Path, credential_type: str, input_path: Path, out_dir: Path,
                   node: NodeClient, options: ReaderOptions, again: bool) -> IssueJob:
    keys = load_key_or_fail(key_path)
    # Whether this issuer may issue this type at all comes first: no point reading
    # 100,000 rows to be refused for it.
    try:
        status = node.status()
        members = node.request("GET", "/v1/members")["members"]
        problem = accreditation_problem(members, keys, credential_type)
        if problem:
            fail(problem)
        issuer_name = str(next(m["name"] for m in members
                               if m["member_id"] == keys.member_id.hex()))
    except ClientError as exc:
        fail(str(exc), exc.exit_code)
    except MALFORMED_ANSWER as exc:
        fail(f"{node.base_url} sent a malformed members answer ({type(exc).__name__}: {exc}): "
             "is it a Senim node?", EXIT_UNREACHABLE)
    chain_id = status["chain_id"]
    _, check = registry_check(credential_type, options, out_dir, chain_id,
                              keys.member_id.hex())
    corrected: list[tuple[int, int, Earlier]] = []
    # Big batches are hashed in worker processes (cli/parallel_hashing.py); the pool
    # ends with this block, whatever happens in it.
    with PooledBatchBuilder(credential_type, chain_id, keys.member_id,
                            issuer_name) as builder:

        def hash_record(row: int, record: dict[str, str]) -> None:
            if not builder:
                crash_point("hashing")
            if row in check.corrected:
                corrected.append((len(builder), row, check.corrected.pop(row)))
            builder.add(record)

        click.echo(f"reading and hashing {input_path} as {issuer_name}…")
        result = check_export(input_path, credential_type, options, check, hash_record)
        try:  # records still with the workers: a refused one reads as check_export says it
            builder.drain()
        except InvalidDocument as exc:
            fail(f"{input_path}: {exc}; nothing was issued", 2)
        refuse_problems(input_path, result)
        if result.grouping is not None:
            click.echo(f"{result.source.rows} rows, one per course, formed {result.count} "
                       f"{credential_type}s")
        if result.source.sheets > 1:
            click.echo(f"read the sheet {result.source.sheet!r} only, the first of "
                       f"{result.source.sheets}")
        for line in titles_read_past(result.source):
            click.echo(line)
        _, schema = load_schema_or_fail(credential_type, options)
        try:
            batch = builder.finish()
            tx, tx_id, expires_at = sign_batch(node, keys, credential_type, batch.root,
                                               len(batch.target_hashes))
        except InvalidDocument as exc:
            fail(str(exc), 2)
        except ClientError as exc:
            fail(str(exc), exc.exit_code)
    try:
        manifest = start_job(out_dir, credential_type=credential_type, chain_id=chain_id,
                             issuer_name=issuer_name, keys=keys, key_path=key_path,
                             input_path=input_path, reader=options.to_json(),
                             unique=schema.unique, again=again)
        if corrected:
            write_corrections(out_dir, manifest, batch.target_hashes, corrected)
        write_credentials(out_dir, manifest, batch, tx, tx_id, expires_at, lambda: (
            register_pending(out_dir, manifest, batch.target_hashes, batch.root)))
    except JobError as exc:
        fail(str(exc), exc.exit_code)
    except RegistryError as exc:
        fail(f"cannot record the job in the issued-students registry: {exc}; nothing was "
             f"submitted (finish with: senim issue --resume {out_dir})")
    except OSError as exc:
        if not (out_dir / MANIFEST_NAME).exists():  # not a job yet: there is nothing to resume
            fail(f"cannot write the job folder {out_dir}: {exc.strerror or exc}; nothing was "
                 "written or submitted (run the same command again once that is fixed)")
        fail(f"cannot write the job folder {out_dir}: {exc.strerror or exc}; nothing was "
             f"submitted (finish with: senim issue --resume {out_dir})")
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
        fail(f"the job stopped before its files were written, and its input "
             f"{input_path} cannot be read: {exc}", 2)
    if not unchanged:
        fail(f"the job stopped before its files were written, and its input {input_path} "
             "has changed since; nothing was submitted: remove the folder and issue again", 2)
    click.echo(f"the job stopped while writing files (nothing was sent); writing them again "
               f"from {input_path}")
    discard_credentials(out_dir)
    (out_dir / f".{MANIFEST_NAME}.tmp").unlink(missing_ok=True)
    return _prepare(key, manifest["type"], input_path, out_dir, node,
                    ReaderOptions.from_json(manifest.get("reader") or {}), again=True)


@click.command("issue")
@click.option("--key", "key_path", type=click.Path(path_type=Path),
              help="The issuer's member key file (a dry run given it checks against the "
                   "registry the issuer's jobs use).")
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
@node_option
@click.option("--format", "output_format", type=click.Choice(["native", "vc"]),
              default="native", show_default=True,
              help="vc: also write each credential as a W3C VC 2.0 in DIR/vc/.")
@click.option("--timeout", "timeout_s", default=120.0, show_default=True,
              callback=lambda _, __, value: _seconds(value),
              help="Seconds the command may spend on the node in all: asking it, sending "
                   "the batch and waiting for it to commit, however slowly the node answers "
                   "(then exit 75: the job folder keeps everything; --resume it later).")
@click.option("--registry", "registry_path", default=None,
              help=f"The issued-students registry (default: the one the issuer's first job "
                   f"named beside its key, else {REGISTRY_NAME} beside the --out folder, or "
                   "in the current directory for a dry run without --out or --key).")
@click.option("--corrections", is_flag=True,
              help="Rows naming students already issued this type are corrected credentials "
                   "(to supersede the old ones with), not errors.")
def issue_command(key_path: Path | None, credential_type: str | None, input_path: Path | None,
                  encoding: str | None, mapping: str | None, schema_path: str | None,
                  dry_run: bool, out_dir: Path | None, resume_dir: Path | None, node_url: str,
                  output_format: str, timeout_s: float, registry_path: str | None,
                  corrections: bool) -> None:
    """Issue one credential per record, all in one batch transaction.

    Every credential file is written (0600) before the batch is sent; a job that
    stops at any point is finished by `senim issue --resume DIR`. A student this
    issuer was already issued this type to (by the issued-students registry) is
    refused by row, unless --corrections."""
    node = NodeClient(node_url)
    node.budget_s = timeout_s
    if resume_dir is not None:
        if input_path or out_dir or credential_type:
            fail("--resume DIR takes no --input, --out or --type (the folder records them)", 2)
        _resume(resume_dir, key_path, node, timeout_s, output_format == "vc")
        return
    if registry_path is not None:
        registry_path = str(Path(registry_path).resolve())  # the job may resume elsewhere
    options = ReaderOptions(encoding, mapping, schema_path, registry_path, corrections)
    if key_path is not None:  # the issuer's own registry, wherever the job's folder is
        options = registry_for_key(options, key_path, _say)
    if dry_run:
        issuer = None if key_path is None else load_key_or_fail(key_path).member_id.hex()
        dry_run_export(credential_type, input_path, out_dir, options, issuer)
        return
    missing = [name for name, value in (("--key", key_path), ("--type", credential_type),
                                        ("--input", input_path), ("--out", out_dir))
               if value is None]
    if missing:
        fail(f"give {', '.join(missing)} (or --resume DIR to finish a job)", 2)
    assert key_path and credential_type and input_path and out_dir
    try:
        check_out_dir(out_dir)
    except JobError as exc:
        fail(str(exc), exc.exit_code)
    created = not out_dir.exists()
    try:
        with on_interrupt(out_dir):
            _finish(_prepare(key_path, credential_type, input_path, out_dir, node, options),
                    timeout_s, node, key_path, output_format == "vc")
    finally:
        if created and out_dir.is_dir() and not any(out_dir.iterdir()):
            out_dir.rmdir()  # a refused batch leaves nothing behind


def _seconds(value: float) -> float:
    if math.isnan(value) or value < 0:  # nan would never be reached: the wait never ends
        raise click.BadParameter(f"{value} is not a number of seconds, 0 or more")
    return value


def _resume(job_dir: Path, key_path: Path | None, node: NodeClient, timeout_s: float,
            as_vc: bool) -> None:
    with on_interrupt(job_dir):
        _resume_job(job_dir, key_path, node, timeout_s, as_vc)


def _resume_job(job_dir: Path, key_path: Path | None, node: NodeClient, timeout_s: float,
                as_vc: bool) -> None:
    try:
        manifest = load_manifest(job_dir)
        status = node.status()
    except JobError as exc:
        fail(str(exc), exc.exit_code)
    except ClientError as exc:
        fail(str(exc), exc.exit_code)
    if manifest["chain_id"] != status["chain_id"]:
        fail(f"{job_dir} is a job of chain {manifest['chain_id']!r}; the node serves "
              f"{status['chain_id']!r}", 2)
    if manifest["state"] == "committed":
        on_chain = (f"{job_dir}: batch {manifest['batch_root'][:16]}… is already on chain at "
                    f"height {manifest['issuance']['height']}")
        if manifest.get("registered"):
            click.echo(f"{on_chain}; nothing to do")
        else:
            click.echo(f"{on_chain}; recording its students in the issued-students registry")
            _register(job_dir, manifest)
        if as_vc:
            _write_vcs(job_dir, lambda: load_key(Path(key_path or manifest["key"])), node,
                       int(manifest["issuance"]["height"]))
        return
    click.echo(f"{job_dir}: resuming a job in state {manifest['state']}")
    if manifest["state"] == "preparing":
        job = _redo_preparation(job_dir, key_path, node)
    else:
        job = IssueJob(job_dir, node, _say)
    _finish(job, timeout_s, node, key_path, as_vc)
