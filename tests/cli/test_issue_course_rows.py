"""`senim issue` with a transcript report of one row per course (--mapping
platonus-course-rows): the dry run says how many transcripts its rows formed, a real
run issues one credential per student, and the registry of issued students refuses
that student again at their first row.

`senim issue` runs in full against the in-memory node of test_issue_job.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import cli.issuing
from cli.main import main
from ledger.identity import KeyPair
from node.files import save_key
from registrar import load_mapping, read_export
from tests.cli.test_issue_job import AccreditedNode

SAMPLES = Path(__file__).resolve().parents[2] / "configs" / "registrar"
BY_COURSE = SAMPLES / "platonus_transcript_courses.csv"



def issue(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["issue", "--type", "transcript", "--mapping",
                                       "platonus-course-rows", *args])
    assert "Traceback" not in result.output and not isinstance(result.exception, AssertionError)
    return result.exit_code, result.output


def test_a_dry_run_says_how_many_transcripts_the_rows_formed(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch
                                                              ) -> None:
    monkeypatch.chdir(tmp_path)
    code, output = issue("--dry-run", "--input", str(BY_COURSE))
    assert code == 0, output
    assert "12 rows, one per course, grouped into 3 students' transcripts" in output
    assert "rows 2-5:" in output and "dry run: 3 record(s) read clean, NOT checked" in output


def test_a_layout_for_another_type_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["issue", "--dry-run", "--type", "diploma", "--mapping",
                                       "platonus-course-rows", "--input", str(BY_COURSE)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "mapping platonus-course-rows reads transcript exports, not diploma" in result.output


def test_rows_per_course_issue_one_transcript_per_student(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    node = AccreditedNode()
    node.accredited = "transcript"
    node.issuer = KeyPair.generate()
    save_key(tmp_path / "enu.key", node.issuer)
    monkeypatch.setattr(cli.issuing, "NodeClient", lambda url: node)
    monkeypatch.chdir(tmp_path)
    code, output = issue("--key", "enu.key", "--input", str(BY_COURSE), "--out", "job")
    assert code == 0, output
    assert "12 rows, one per course, formed 3 transcripts" in output
    assert "recorded 6 new student key(s)" in output  # IIN and student id of each
    files = sorted((tmp_path / "job" / "credentials").rglob("*.json"))
    issued = [{name: field["value"] for name, field in
               json.loads(path.read_text(encoding="utf-8"))["fields"].items()}
              for path in files]
    wide = read_export(SAMPLES / "platonus_transcripts.csv", "transcript",
                       mapping=load_mapping("platonus")).records
    assert sorted(issued, key=lambda r: r["iin"]) == wide

    # The next report repeats the second student, sorted by course: refused at the
    # first of that student's rows, and nothing is sent.
    with BY_COURSE.open(encoding="utf-8-sig", newline="") as handle:
        header, *rows = list(csv.reader(handle, delimiter=";"))
    again = tmp_path / "again.csv"
    with again.open("w", encoding="utf-8-sig", newline="") as handle:
        csv.writer(handle, delimiter=";").writerows(
            [header, *sorted(rows[4:8], key=lambda row: row[7], reverse=True)])
    sent = len(node.sent)
    code, output = issue("--key", "enu.key", "--input", str(again), "--out", "job2")
    assert code == 2, output
    assert "row 2, column 'ИИН'" in output and "[already-issued]" in output
    assert not (tmp_path / "job2").exists() and len(node.sent) == sent
