"""What `senim issue` says of rows held by a job stopped before it sent its batch (state
prepared, never sent: cli.job_folder.never_sent), decided per job: none of that job's rows
says it may be on chain, and when one row gives one of its student ids with another IIN,
its other rows point to that row, not to `--resume` (which would issue the IIN that row
calls wrong). A job prepared again after its first batch was sent (signed anew, then
stopped) is one that may be on chain.

`senim issue` runs in full against the in-memory node of test_issue_job.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cli.job_folder import load_manifest, save_manifest
from tests.cli.issued_registry_work import STUDENTS, export, issue, stopped_once_signed
from tests.cli.test_issue_job import AccreditedNode
from tests.cli.test_issued_registry_rows import with_values

RUNS = ((), ("--dry-run",), ("--corrections",))


def rows_said(output: str, row: int) -> list[str]:
    return [line for line in output.splitlines() if line.strip().startswith(f"row {row},")]


def test_rows_of_a_job_never_sent_beside_a_changed_iin_point_to_that_row(
        work: tuple[Path, AccreditedNode], monkeypatch: pytest.MonkeyPatch) -> None:
    folder, node = work
    job = stopped_once_signed(folder, node, monkeypatch)
    # students 0-2 again, student 1 (row 3) with another IIN
    changed = with_values(export(folder / "c2.csv", [0, 1, 2]), 1, iin=STUDENTS[4]["iin"])
    for extra in RUNS:
        code, output = issue("--input", str(changed), "--out", "c2", *extra)
        assert code == 2 and "--resume" not in output and "may be on chain" not in output, \
            output
        assert f"delete the folder {job}" in " ".join(rows_said(output, 3)), output
        for row in (2, 4):
            said = rows_said(output, row)
            assert len(said) == 2, output  # its iin and its student id
            assert all("none of its credentials is on chain; row 3 gives one of its students "
                       f"another iin: if that iin is right, delete the folder {job}" in line
                       for line in said), said
    for lang, row_3 in (("kk", "3-жол оның бір студентіне басқа"),
                        ("ru", "строка 3 даёт одному из его студентов другое")):
        code, output = issue("--input", str(changed), "--out", "c2", "--lang", lang)
        assert code == 2 and output.count(row_3) == 4 and "--resume" not in output, output
    shutil.rmtree(job)  # done as row 3 says: its IIN is the right one
    code, output = issue("--input", str(changed), "--out", "c2")
    assert code == 0 and len(node.batches) == 1, output


def test_rows_of_a_job_never_sent_are_not_said_to_be_maybe_on_chain(
        work: tuple[Path, AccreditedNode], monkeypatch: pytest.MonkeyPatch) -> None:
    folder, node = work
    job = stopped_once_signed(folder, node, monkeypatch)
    code, output = issue("--input", str(export(folder / "c2.csv", [0, 2])), "--out", "c2")
    assert code == 2 and "may be on chain" not in output, output
    assert output.count("stopped before it sent its batch, so none of its credentials is on "
                        f"chain: finish that job first with senim issue --resume {job}") == 4
    for lang, none_on_chain in (("kk", "оның бірде-бір құжаты тізбекте жоқ: алдымен"),
                                ("ru", "ни одного его документа в цепочке нет: сначала")):
        code, output = issue("--input", str(export(folder / "c2.csv", [0, 2])), "--out", "c2",
                             "--lang", lang)
        assert code == 2 and output.count(none_on_chain) == 4, output


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
