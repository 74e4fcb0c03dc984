"""What `senim issue` says of rows held by a job stopped before it sent its batch (state
prepared, never sent: cli.job_folder.never_sent), decided per job: none of that job's rows
says it may be on chain, and when one row gives one of its student ids with another IIN,
its other rows point to that row, not to `--resume` (which would issue the IIN that row
calls wrong). A job prepared again after its first batch was sent (signed anew, then
stopped) is one that may be on chain.

`senim issue` runs in full against the in-memory node of test_issue_job.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cli.job_folder import load_manifest, save_manifest
from tests.cli.issued_registry_work import STUDENTS, export, issue
from tests.cli.test_issue_job import AccreditedNode
from tests.cli.test_issued_registry_rows import with_values

RUNS = ((), ("--dry-run",), ("--corrections",))


def stopped_once_signed(folder: Path, node: AccreditedNode,
                        monkeypatch: pytest.MonkeyPatch) -> Path:
    """Students 0-2 in the job `first`, killed once its batch was signed, before its send."""
    def stopped_at(name: str) -> None:
        if name == "prepared":
            raise SystemExit(137)

    with monkeypatch.context() as patched:
        patched.setattr("cli.job_folder.crash_point", stopped_at)
        code, output = issue("--input", str(export(folder / "class.csv", [0, 1, 2])),
                             "--out", "first")
    assert code == 137 and not node.mempool and not node.batches, output
    return (folder / "first").resolve()


def rows_said(output: str, row: int) -> list[str]:
    return [line for line in output.splitlines() if line.strip().startswith(f"row {row},")]


def test_a_job_signed_anew_after_a_send_and_stopped_may_be_on_chain(
        work: tuple[Path, AccreditedNode], monkeypatch: pytest.MonkeyPatch) -> None:
    folder, node = work
    job = stopped_once_signed(folder, node, monkeypatch)
    manifest = load_manifest(job)
    manifest["sent_before"] = True  # as cli.issue_job._resign leaves it, stopped at once
    save_manifest(job, manifest)
    changed = with_values(export(folder / "c2.csv", [0, 1, 2]), 1, iin=STUDENTS[4]["iin"])
    for extra in RUNS:
        code, output = issue("--input", str(changed), "--out", "c2", *extra)
        assert code == 2 and "delete the folder" not in output, output
        assert "nothing of that job was sent" not in output and "is on chain" not in output
        assert f"finish that job first with senim issue --resume {job}" in output
        assert "may be on chain already" in " ".join(rows_said(output, 2)), output
