"""`senim issue`'s last steps, for a new job and a resumed one: send the kept batch and
wait for it, record the committed job's students in the issued-students registry, write
the VC copies if asked for; each line said in the registrar's language (cli.spoken)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from cli.client import ClientError, NodeClient
from cli.errors import EXIT_BAD_INPUT, EXIT_REFUSED
from cli.issue_checks import corrections_of
from cli.issue_job import IssueJob, JobPending, sign_batch
from cli.job_folder import CORRECTIONS_NAME, JobError
from cli.job_registration import register_job
from cli.node_answers import RemoteFactsError
from cli.spoken import Sentence, document_problem, echo, reason, refuse, say
from cli.supersede_job import corrections_hint
from cli.vc import only_this_machine, write_vc_copies
from ledger.errors import ConfigError, InvalidDocument
from ledger.identity import KeyPair
from node.files import load_key
from registrar.issued import RegistryError


def say_line(line: Sentence | str) -> None:
    """A line of the job's progress, in the registrar's language."""
    click.echo(say(line))


def job_refused(exc: JobError) -> Sentence:
    return reason(exc, "issue.job.other", why=str(exc))


def finish_job(job: IssueJob, timeout_s: float, node: NodeClient, key_path: Path | None,
               as_vc: bool = False) -> None:
    def issuer_keys() -> KeyPair:
        path = Path(key_path or job.manifest["key"])
        try:
            keys = load_key(path)
        except ConfigError as exc:
            raise JobError(Sentence("issue.job.key_needed", f"the kept transaction expired "
                                    f"and a new one needs the key: {exc}", why=str(exc)),
                           EXIT_BAD_INPUT) from exc
        if keys.member_id.hex() != job.manifest["issuer"]:
            raise JobError(Sentence("issue.job.wrong_key", f"{path} is not the key of issuer "
                                    f"{job.manifest['issuer']}", path=path,
                                    issuer=job.manifest["issuer"]), EXIT_BAD_INPUT)
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
            raise JobPending(Sentence("issue.pending.lost", f"the node did not say where the "
                                      f"batch is: {exc}", why=reason(
                                          exc, "issue.node.error", why=str(exc)))) from exc
    except JobPending as exc:
        # the budget, or the wait's deadline (the loop's moments between requests)
        spent = node.budget_s is not None and (
            node.budget_s <= 0 or time.monotonic() - started >= left_s)
        why = f"--timeout {timeout_s:g} s is up: " if spent else ""
        english = (f"pending: {why}{exc}; nothing is lost (the job folder holds every "
                   f"credential file and the signed batch), finish it with: senim issue "
                   f"--resume {job.job_dir}")
        click.secho(say(Sentence("issue.pending.timed_out" if spent else "issue.pending.stop",
                                 english, seconds=f"{timeout_s:g}", why=job_refused(exc),
                                 path=job.job_dir)), fg="yellow", err=True)
        sys.exit(exc.exit_code)
    except JobError as exc:
        refuse(job_refused(exc), exc.exit_code)
    node.budget_s = None  # committed: writing VC copies is no wait for the batch
    manifest = job.manifest
    echo(Sentence("issue.done.issued", f"issued {manifest['count']} {manifest['type']}(s) in "
                  f"batch {manifest['batch_root'][:16]}… at height {issuance['height']}",
                  count=manifest["count"], type=Sentence(f"type.{manifest['type']}"),
                  batch=manifest["batch_root"][:16], height=issuance["height"]))
    echo(Sentence("issue.done.files", f"credential files: {job.job_dir}/credentials/ (mode "
                  f"0600); {job.job_dir}/manifest.json lists hashes only", path=job.job_dir))
    register_committed(job.job_dir, manifest)
    if as_vc:
        write_vcs(job.job_dir, issuer_keys, node, int(issuance["height"]))


def register_committed(job_dir: Path, manifest: dict[str, Any]) -> None:
    """Step 6: the committed job goes into the issued-students registry."""
    try:
        path, added = register_job(job_dir, manifest)
    except (RegistryError, OSError, ValueError, KeyError) as exc:
        refuse(Sentence("issue.done.unregistered", f"the batch is on chain, but the "
                        f"issued-students registry was not updated: {exc}; fix that and run "
                        f"senim issue --resume {job_dir}", why=str(exc), path=job_dir),
               EXIT_REFUSED)
    # Several keys a student (IIN and student id): "48" of 24 graduates read as 48 people.
    named = ", ".join(str(name) for name in manifest.get("unique", ()))
    english = (f"recorded {added} new student key(s)" + (f" ({named} of each)" if named else "")
               + f" in the issued-students registry {path}")
    echo(Sentence("issue.done.recorded_keys", english, count=added, names=named, path=path)
         if named else Sentence("issue.done.recorded", english, count=added, path=path))
    pairs = corrections_of(job_dir)
    if pairs:
        hint = corrections_hint(job_dir)
        echo(Sentence("issue.done.corrections", f"this job corrects {len(pairs)} earlier "
                      f"credential(s), which verify as genuine until superseded; supersede "
                      f"each ({job_dir / CORRECTIONS_NAME} lists them) by its correction:\n"
                      f"  {hint}", count=len(pairs), listing=job_dir / CORRECTIONS_NAME,
                      hint=hint))


def write_vcs(job_dir: Path, issuer_keys: Callable[[], KeyPair], node: NodeClient,
              height: int) -> None:
    try:
        folder = write_vc_copies(job_dir, issuer_keys(), node, height)
    except (JobError, ConfigError, InvalidDocument, ClientError, RemoteFactsError,
            OSError) as exc:
        refuse(Sentence("issue.vc.failed", f"the batch is on chain, but its VC 2.0 copies were "
                        f"not written: {exc}; write them with senim issue --resume {job_dir} "
                        "--format vc", why=document_problem(exc)
                        if isinstance(exc, InvalidDocument) else str(exc), path=job_dir),
               EXIT_REFUSED)
    echo(Sentence("issue.vc.written", f"W3C VC 2.0 copies: {folder}/ (mode 0600)",
                  path=folder))
    if only_this_machine(node.base_url):  # their status lists are at --node
        click.secho(say(Sentence("cli.vc.status_local", None, url=node.base_url)),
                    fg="yellow", err=True)
