"""`senim issue`: a registrar's export in, signed-off credential documents out."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import click

from cli.client import MALFORMED_ANSWER, ClientError, NodeClient
from cli.commands import node_option
from cli.errors import EXIT_BAD_INPUT, EXIT_REFUSED, EXIT_UNREACHABLE
from cli.issue_checks import (
    ReaderOptions,
    accreditation_problem,
    check_export,
    issuer_preparing_alone,
    load_schema_or_fail,
    preparing_alone,
    registry_check,
    registry_for_key,
    write_corrections,
)
from cli.issue_dry_run import dry_run_export
from cli.issue_finish import finish_job, job_refused, register_committed, say_line, write_vcs
from cli.issue_job import IssueJob, sign_batch
from cli.issue_words import load_issuer_key, refuse_problems, sentence
from cli.job_files import credential_file_problem
from cli.job_folder import (
    JOB_STATES,
    MANIFEST_NAME,
    JobError,
    check_out_dir,
    crash_point,
    discard_credentials,
    file_sha256,
    load_manifest,
    never_sent,
    start_job,
    write_credentials,
)
from cli.job_interrupt import on_interrupt
from cli.job_registration import register_pending
from cli.language import lang_option
from cli.parallel_hashing import PooledBatchBuilder
from cli.spoken import Sentence, document_problem, echo, reason, refuse
from cli.worded_command import WordedCommand, WordedPath
from ledger.errors import InvalidDocument
from ledger.transactions import CREDENTIAL_TYPES
from node.files import load_key
from registrar import titles_said
from registrar.issued import REGISTRY_NAME, Earlier, RegistryError
from registrar.plain_spaces import plain_spaces_said


def _node_refused(exc: ClientError) -> None:
    refuse(reason(exc, "issue.node.error", why=str(exc)), exc.exit_code)


def _prepare(key_path: Path, credential_type: str, input_path: Path, out_dir: Path,
             node: NodeClient, options: ReaderOptions, again: bool = False) -> IssueJob:
    """Steps 1 and 2: read, check and hash everything (a record at a time, so only the
    hashed batch is held), then write every file before any send (`again`: in the
    folder of a job that stopped while preparing)."""
    with issuer_preparing_alone(key_path, say_line):
        if options.registry is None:  # one may be named beside the key since it was chosen
            options = registry_for_key(options, key_path, say_line)
        with preparing_alone(out_dir, options, say_line, key_path.resolve().parent):
            return _prepare_alone(key_path, credential_type, input_path, out_dir, node,
                                  options, again)


def _prepare_alone(key_path: Path, credential_type: str, input_path: Path, out_dir: Path,
                   node: NodeClient, options: ReaderOptions, again: bool) -> IssueJob:
    keys = load_issuer_key(key_path)
    # Whether this issuer may issue this type at all comes first: no point reading
    # 100,000 rows to be refused for it.
    try:
        status = node.status()
        members = node.request("GET", "/v1/members")["members"]
        problem = accreditation_problem(members, keys, credential_type)
        if problem:
            refuse(problem, EXIT_REFUSED)
        issuer_name = str(next(m["name"] for m in members
                               if m["member_id"] == keys.member_id.hex()))
    except ClientError as exc:
        _node_refused(exc)
    except MALFORMED_ANSWER as exc:
        why = f"{type(exc).__name__}: {exc}"
        refuse(Sentence("issue.node.malformed", f"{node.base_url} sent a malformed members "
                        f"answer ({why}): is it a Senim node?", url=node.base_url, why=why),
               EXIT_UNREACHABLE)
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

        echo(Sentence("issue.reading", f"reading and hashing {input_path} as {issuer_name}…",
                      path=input_path, issuer=issuer_name))
        result = check_export(input_path, credential_type, options, check, hash_record)
        try:  # records still with the workers: a refused one reads as check_export says it
            builder.drain()
        except InvalidDocument as exc:
            refuse(Sentence("issue.error.document", f"{input_path}: {exc}; nothing was issued",
                            path=input_path, why=document_problem(exc)), EXIT_BAD_INPUT)
        refuse_problems(input_path, result, check)
        changes = check.changes_said()
        if changes is not None:  # before the batch is signed: the registrar may still stop
            echo(sentence(changes))
        if result.grouping is not None:
            echo(Sentence("issue.grouped", f"{result.source.rows} rows, one per course, formed "
                          f"{result.count} {credential_type}s", rows=result.source.rows,
                          count=result.count, type=Sentence(f"type.{credential_type}")))
        if result.source.sheets > 1:
            echo(Sentence("issue.sheet_only", f"read the sheet {result.source.sheet!r} only, "
                          f"the first of {result.source.sheets}", sheet=result.source.sheet,
                          sheets=result.source.sheets))
        for line in [*titles_said(result.source), *plain_spaces_said(result.plain_spaces)]:
            echo(sentence(line))
        _, schema = load_schema_or_fail(credential_type, options)
        try:
            batch = builder.finish()
            tx, tx_id, expires_at = sign_batch(node, keys, credential_type, batch.root,
                                               len(batch.target_hashes))
        except InvalidDocument as exc:
            refuse(Sentence("issue.error.batch", str(exc), why=document_problem(exc)),
                   EXIT_BAD_INPUT)
        except ClientError as exc:
            _node_refused(exc)
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
        refuse(job_refused(exc), exc.exit_code)
    except RegistryError as exc:
        refuse(Sentence("issue.registry.pending_failed", f"cannot record the job in the "
                        f"issued-students registry: {exc}; nothing was submitted (finish "
                        f"with: senim issue --resume {out_dir})", why=str(exc), path=out_dir),
               EXIT_REFUSED)
    except OSError as exc:
        why = exc.strerror or str(exc)
        if not (out_dir / MANIFEST_NAME).exists():  # not a job yet: there is nothing to resume
            refuse(Sentence("issue.out.unwritable_new", f"cannot write the job folder "
                            f"{out_dir}: {why}; nothing was written or submitted (run the "
                            "same command again once that is fixed)", path=out_dir, why=why),
                   EXIT_REFUSED)
        refuse(Sentence("issue.out.unwritable", f"cannot write the job folder {out_dir}: "
                        f"{why}; nothing was submitted (finish with: senim issue --resume "
                        f"{out_dir})", path=out_dir, why=why), EXIT_REFUSED)
    echo(Sentence("issue.wrote", f"wrote {len(batch.target_hashes)} credential file(s) to "
                  f"{out_dir}; submitting the batch…", count=len(batch.target_hashes),
                  path=out_dir))
    return IssueJob(out_dir, node, say_line)


def _redo_preparation(out_dir: Path, key_path: Path | None, node: NodeClient) -> IssueJob:
    """A job stopped while writing files never sent anything: write them again."""
    manifest = load_manifest(out_dir)
    input_path, key = Path(manifest["input"]), Path(key_path or manifest["key"])
    try:
        unchanged = file_sha256(input_path) == manifest["input_sha256"]
    except OSError as exc:
        refuse(Sentence("issue.redo.unreadable", f"the job stopped before its files were "
                        f"written, and its input {input_path} cannot be read: {exc}",
                        path=input_path, why=exc.strerror or str(exc)), EXIT_BAD_INPUT)
    if not unchanged:
        refuse(Sentence("issue.redo.changed", f"the job stopped before its files were "
                        f"written, and its input {input_path} has changed since; nothing was "
                        "submitted: remove the folder and issue again", path=input_path),
               EXIT_BAD_INPUT)
    echo(Sentence("issue.redo.writing", f"the job stopped while writing files (nothing was "
                  f"sent); writing them again from {input_path}", path=input_path))
    discard_credentials(out_dir)
    (out_dir / f".{MANIFEST_NAME}.tmp").unlink(missing_ok=True)
    return _prepare(key, manifest["type"], input_path, out_dir, node,
                    ReaderOptions.from_json(manifest.get("reader") or {}), again=True)


@click.command("issue", cls=WordedCommand)
@click.option("--key", "key_path", type=click.Path(path_type=Path),
              help="The issuer's member key file (a dry run given it checks against the "
                   "registry the issuer's jobs use).")
@click.option("--type", "credential_type", type=click.Choice(CREDENTIAL_TYPES))
@click.option("--input", "input_path",
              type=WordedPath(exists=True, dir_okay=False, path_type=Path),
              help="Registrar export: CSV (, ; or tab), Excel .xlsx or a JSON list of objects.")
@click.option("--encoding", default=None,
              help="The export's text encoding (default: detected; e.g. cp1251, utf-16).")
@click.option("--mapping", default=None,
              help="Column names of the registrar's system: platonus, platonus-course-rows, "
                   "kundelik, 1c-zup or a TOML file.")
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
@lang_option
def issue_command(key_path: Path | None, credential_type: str | None, input_path: Path | None,
                  encoding: str | None, mapping: str | None, schema_path: str | None,
                  dry_run: bool, out_dir: Path | None, resume_dir: Path | None, node_url: str,
                  output_format: str, timeout_s: float, registry_path: str | None,
                  corrections: bool, language: str) -> None:
    """Issue one credential per record, all in one batch transaction.

    Every credential file is written (0600) before the batch is sent; a job that
    stops at any point is finished by `senim issue --resume DIR`. A student this
    issuer was already issued this type to (by the issued-students registry) is
    refused by row, unless --corrections."""
    node = NodeClient(node_url)
    node.budget_s = timeout_s
    if resume_dir is not None:
        if input_path or out_dir or credential_type:
            refuse(Sentence("issue.usage.resume_alone", "--resume DIR takes no --input, --out "
                            "or --type (the folder records them)"), EXIT_BAD_INPUT)
        _resume(resume_dir, key_path, node, timeout_s, output_format == "vc")
        return
    if registry_path is not None:
        registry_path = str(Path(registry_path).resolve())  # the job may resume elsewhere
    options = ReaderOptions(encoding, mapping, schema_path, registry_path, corrections)
    if key_path is not None:  # the issuer's own registry, wherever the job's folder is
        options = registry_for_key(options, key_path, say_line)
    if dry_run:
        keys = None if key_path is None else load_issuer_key(key_path)
        dry_run_export(credential_type, input_path, out_dir, options, keys, node)
        return
    missing = [name for name, value in (("--key", key_path), ("--type", credential_type),
                                        ("--input", input_path), ("--out", out_dir))
               if value is None]
    if missing:
        names = ", ".join(missing)
        refuse(Sentence("issue.usage.missing", f"give {names} (or --resume DIR to finish a "
                        "job)", names=names), EXIT_BAD_INPUT)
    assert key_path and credential_type and input_path and out_dir
    try:
        check_out_dir(out_dir)
    except JobError as exc:
        refuse(job_refused(exc), exc.exit_code)
    created = not out_dir.exists()
    try:
        with on_interrupt(out_dir):
            finish_job(_prepare(key_path, credential_type, input_path, out_dir, node, options),
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
        refuse(job_refused(exc), exc.exit_code)
    except ClientError as exc:
        _node_refused(exc)
    if manifest["chain_id"] != status["chain_id"]:
        refuse(Sentence("issue.resume.other_chain", f"{job_dir} is a job of chain "
                        f"{manifest['chain_id']!r}; the node serves {status['chain_id']!r}",
                        path=job_dir, job_chain=manifest["chain_id"],
                        chain=status["chain_id"]), EXIT_BAD_INPUT)
    if manifest["state"] == "committed":
        on_chain = (f"{job_dir}: batch {manifest['batch_root'][:16]}… is already on chain at "
                    f"height {manifest['issuance']['height']}")
        facts = {"path": job_dir, "batch": manifest["batch_root"][:16],
                 "height": manifest["issuance"]["height"]}
        if manifest.get("registered"):
            echo(Sentence("issue.resume.done", f"{on_chain}; nothing to do", **facts))
        else:
            _refuse_damaged_files(job_dir, manifest, node)
            echo(Sentence("issue.resume.registering", f"{on_chain}; recording its students in "
                          "the issued-students registry", **facts))
            register_committed(job_dir, manifest)
        if as_vc:
            write_vcs(job_dir, lambda: load_key(Path(key_path or manifest["key"])), node,
                      int(manifest["issuance"]["height"]))
        return
    state = str(manifest["state"])
    echo(Sentence("issue.resume.state", f"{job_dir}: resuming a job in state {state}",
                  path=job_dir, state=Sentence(f"issue.job_state.{state}", state)
                  if state in JOB_STATES else state))
    if manifest["state"] == "preparing":
        job = _redo_preparation(job_dir, key_path, node)
    else:
        _refuse_damaged_files(job_dir, manifest, node)
        job = IssueJob(job_dir, node, say_line)
    finish_job(job, timeout_s, node, key_path, as_vc)


def _refuse_damaged_files(job_dir: Path, manifest: dict[str, Any], node: NodeClient) -> None:
    """Before a kept batch is sent (again), or a committed job's students recorded: its
    credential files whole (cli/job_files.py), or a refusal saying what is lost and what
    mends it. A batch sent before is looked for on chain: committed since, it is said so
    (its credential on chain has no file but a backup), not that it may still commit."""
    problem = credential_file_problem(job_dir, manifest)
    if problem is None:
        return
    # a batch signed anew after its first was sent is prepared again: sent before all the same
    state = "submitted" if not never_sent(manifest) and manifest["state"] == "prepared" \
        else manifest["state"]
    if state in ("submitted", "refused"):
        try:
            on_chain = node.batch(manifest["issuer"], manifest["batch_root"])
        except (ClientError, *MALFORMED_ANSWER):
            on_chain = None  # not known: said as a batch that may still commit
        state = "committed" if on_chain is not None else state
    if state == "committed":
        refuse(Sentence("issue.resume.files_on_chain", f"{problem}: the batch is on chain, "
                        "but its students cannot be recorded in the issued-students registry "
                        "from this folder; restore its files from a backup, then run senim "
                        f"issue --resume {job_dir}", problem=problem, path=job_dir),
               EXIT_BAD_INPUT)
    if state in ("submitted", "refused"):  # refused after an earlier send: it may commit
        refuse(Sentence("issue.resume.files_sent_before", f"{problem}: the kept batch was not "
                        "sent again (it was sent before, and may still commit); restore the "
                        f"folder's files from a backup, then run senim issue --resume {job_dir}",
                        problem=problem, path=job_dir), EXIT_BAD_INPUT)
    refuse(Sentence("issue.resume.files_unsent", f"{problem}: the kept batch was not sent, "
                    "and nothing of this job is on chain; restore the folder's files from a "
                    "backup, or issue again from the input into a new folder",
                    problem=problem), EXIT_BAD_INPUT)
