"""What a job stopped by Ctrl-C says and does: one line, read from its folder's state
(cli/issue_job.py), saying what is issued and what finishes it, then exit 130.

`senim issue --dry-run` stops the same way, with a line of its own.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

import click

from cli.errors import EXIT_INTERRUPTED
from cli.job_folder import JobError, NoJob, load_manifest, never_sent
from cli.spoken import Sentence, say


def interrupted_line(job_dir: Path) -> Sentence:
    """What a job stopped by Ctrl-C leaves, read from its folder: whether anything is
    issued, and what finishes it."""
    try:
        manifest = load_manifest(job_dir)
    except NoJob:
        return Sentence("issue.stopped.nothing", "stopped before any credential file was "
                        "written: nothing was issued or sent, and running the same command "
                        "again is safe")
    except JobError as exc:
        return Sentence("issue.stopped.other", f"stopped; {exc}",
                        why=getattr(exc, "sentence", None) or str(exc))
    resume = f"senim issue --resume {job_dir}"
    state, count = manifest.get("state"), manifest.get("count")
    if state == "preparing":
        return Sentence("issue.stopped.preparing", f"stopped while writing the credential "
                        f"files: nothing was sent, so none of them is issued; finish with "
                        f"{resume} (it writes them again)", resume=resume)
    if state == "prepared" and never_sent(manifest):
        return Sentence("issue.stopped.prepared", f"stopped before the batch was sent: its "
                        f"{count} credential files are written and the signed batch is kept, "
                        f"but none is issued yet; finish with {resume} (these students are "
                        "refused in any other job until then)", count=count, resume=resume)
    if state in ("prepared", "submitted", "refused"):  # prepared: signed anew, sent before
        return Sentence("issue.stopped.sending", f"stopped while sending the batch or waiting "
                        f"for it: its {count} credentials (their files written) may be on "
                        f"chain or commit later; {resume} finds out and finishes the job, "
                        "sending nothing twice", count=count, resume=resume)
    height = (manifest.get("issuance") or {}).get("height")
    folder = job_dir / "credentials"
    issued = (f"all {count} {manifest.get('type')} credentials are issued (height {height}), "
              f"their files in {folder}")
    if not manifest.get("registered"):
        return Sentence("issue.stopped.unregistered", f"stopped after the batch committed: "
                        f"{issued}; the issued-students registry does not record them yet: "
                        f"run {resume}", count=count, height=height, folder=folder,
                        resume=resume)
    return Sentence("issue.stopped.done", f"stopped after the job finished: {issued}, recorded "
                    f"in the issued-students registry (VC copies, if asked for: {resume} "
                    "--format vc)", count=count, height=height, folder=folder, resume=resume)


@contextmanager
def on_interrupt(job_dir: Path) -> Iterator[None]:
    """Ctrl-C anywhere in a job: one line saying what its folder holds and what is
    issued (interrupted_line), exit 130."""
    try:
        yield
    except KeyboardInterrupt:
        stop_interrupted(interrupted_line(job_dir))


def stop_interrupted(line: Sentence) -> NoReturn:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C does not cut this short
    click.secho(say(Sentence("issue.interrupted", f"interrupted: {line}", line=line)),
                fg="yellow", err=True)
    sys.exit(EXIT_INTERRUPTED)
