"""What `senim issue` says of rows the issued-students registry knows: a row whose IIN
and student id do not name one earlier credential (a mistyped IIN) is no student issued
before; the last line's advice fits the rows found; a dry run's corrections count only
rows that would be issued.

`senim issue` runs in full against the in-memory node of test_issue_job.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.issue_words import taken_fix
from cli.issued_check import IssuedCheck
from cli.language import Words
from cli.main import main
from tests.cli.issued_registry_work import (
    STUDENTS,
    export,
    issue,
    left_pending,
    stopped_once_signed,
)
from tests.cli.test_issue_job import AccreditedNode

MAY_BE_RIGHT = "The export itself may be right"


def with_values(path: Path, row: int, **values: str) -> Path:
    """`path` with data row `row` (0 the first) given `values` in place of its own."""
    lines = path.read_text().splitlines()
    header = lines[0].split(",")
    cells = lines[row + 1].split(",")
    for name, value in values.items():
        cells[header.index(name)] = value
    lines[row + 1] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")
    return path


def last_line(output: str) -> str:
    return output.strip().splitlines()[-1]


@pytest.mark.parametrize("student_id", ["S-NEW-0004", STUDENTS[2]["student_id"]])
def test_a_new_student_given_an_issued_students_iin_is_told_to_check_the_row(
        work: tuple[Path, AccreditedNode], student_id: str) -> None:
    # Student 4, new, typed with student 1's IIN: "already issued ... may be right" led
    # the registrar to supersede student 1's diploma. Their ids differ (a new id, or
    # student 2's, issued to another student): the row names no one student issued.
    folder, node = work
    code, output = issue("--input", str(export(folder / "c1.csv", [0, 1, 2])), "--out", "c1")
    assert code == 0, output
    second = with_values(export(folder / "c2.csv", [3, 4]), 1, iin=STUDENTS[1]["iin"],
                         student_id=student_id)
    for extra in ((), ("--dry-run",), ("--corrections",), ("--corrections", "--dry-run")):
        code, output = issue("--input", str(second), "--out", "c2", *extra)
        assert code == 2 and "row 3, column 'iin'" in output, output
        assert "[issued-mismatch]" in output and "[already-issued]" not in output
        assert "but not with this row's student_id: check the row" in output
        assert MAY_BE_RIGHT not in output and "correct credentials issued" not in output
    assert len(node.batches) == 1
    for lang, said in (("kk", "жолды тексеріңіз"), ("ru", "проверьте строку")):
        code, output = issue("--input", str(second), "--out", "c2", "--lang", lang)
        assert code == 2 and said in output and "[issued-mismatch]" in output, output
    # the same student, both values theirs: issued before, and the export may be right
    code, output = issue("--input", str(export(folder / "c3.csv", [1])), "--out", "c3")
    assert code == 2 and output.count("[already-issued]") == 2 and MAY_BE_RIGHT in output


def test_the_last_line_advises_what_fits_the_rows_found(
        work: tuple[Path, AccreditedNode]) -> None:
    folder, node = work
    left_pending(folder, node)  # students 0-2 in the unfinished job `first`
    for extra in ((), ("--dry-run",), ("--corrections",), ("--corrections", "--dry-run")):
        code, output = issue("--input", "class.csv", "--out", "second", *extra)
        line = last_line(output)
        assert code == 2 and MAY_BE_RIGHT in line and "--resume" in line, output
        assert "--corrections" not in line and "already issued out" not in line, line
    resumed = CliRunner().invoke(main, ["issue", "--resume", "first"])
    assert resumed.exit_code == 0, resumed.output
    for extra in ((), ("--dry-run",)):  # all issued now: nothing to resume
        code, output = issue("--input", "class.csv", "--out", "second", *extra)
        line = last_line(output)
        assert code == 2 and "take the students already issued out" in line, output
        assert "--corrections" in line and "--resume" not in line, line
    # one of each: both said
    left_pending(folder, node, (3,), "third")
    export(folder / "both.csv", [0, 3])
    code, output = issue("--input", "both.csv", "--out", "fourth")
    line = last_line(output)
    assert code == 2 and "--resume" in line and "already issued out" in line, output


def test_the_advice_names_employees_for_an_employer() -> None:
    check = IssuedCheck(None, "employment", None, False, unique=("iin", "employee_id"))
    check.issued_rows.add(2)
    for language, said in (("en", "take the employees already issued out"),
                           ("kk", "құжаты бұрын берілген қызметкерлерді"),
                           ("ru", "уберите из выгрузки сотрудников")):
        assert said in taken_fix(check).said(Words(language))
    check.unfinished_rows.add(3)
    assert "employees" in taken_fix(check).said(Words("en"))


def test_a_refused_row_is_not_counted_a_correction(
        work: tuple[Path, AccreditedNode]) -> None:
    folder, _ = work
    code, output = issue("--input", str(export(folder / "c1.csv", [0, 1, 2])), "--out", "c1")
    assert code == 0, output
    second = export(folder / "c2.csv", [3, 1, 2])
    code, output = issue("--input", str(second), "--corrections", "--dry-run")
    assert code == 0 and "2 row(s) correct credentials issued earlier (first: row 3)" in output
    # student 1's row refused for its date: it would not be issued, so corrects nothing
    with_values(second, 1, graduation_date="46203")
    code, output = issue("--input", str(second), "--corrections", "--dry-run")
    assert code == 2 and "[bad-format]" in output, output
    assert "1 row(s) correct credentials issued earlier (first: row 4)" in output


def test_a_student_issued_without_a_student_id_is_the_same_student_given_one(
        work: tuple[Path, AccreditedNode]) -> None:
    # The student id is optional: a diploma recorded with the IIN alone names no other
    # student id, so the row giving one is that student, issued before.
    folder, node = work
    first = export(folder / "c1.csv", [0, 1, 2])
    for row in range(3):
        with_values(first, row, student_id="")
    code, output = issue("--input", str(first), "--out", "c1")
    assert code == 0, output
    second = export(folder / "c2.csv", [1])
    code, output = issue("--input", str(second), "--out", "c2")
    assert code == 2 and "[already-issued]" in output and MAY_BE_RIGHT in output, output
    assert "[issued-mismatch]" not in output
    code, output = issue("--input", str(second), "--out", "c2", "--corrections")
    assert code == 0 and "this job corrects 1 earlier credential" in output, output
    assert "changing the" not in output  # the IIN is the one issued
    assert len(node.batches) == 2


def test_an_iin_corrected_under_the_same_student_id_is_a_correction(
        work: tuple[Path, AccreditedNode]) -> None:
    folder, node = work
    code, output = issue("--input", str(export(folder / "c1.csv", [0, 1, 2])), "--out", "c1")
    assert code == 0, output
    # student 1's diploma was issued with a mistyped IIN; the row gives the right one
    second = with_values(export(folder / "c2.csv", [1]), 0, iin=STUDENTS[4]["iin"])
    code, output = issue("--input", str(second), "--corrections", "--dry-run")
    assert code == 0 and "1 row(s) correct credentials issued earlier" in output, output
    assert "corrections changing the iin their credential was issued with: 1 (first: row 2)" \
        in output
    for lang, said in (("kk", "түзетулер: 1"), ("ru", "исправлений, меняющих")):
        code, output = issue("--input", str(second), "--corrections", "--dry-run",
                             "--lang", lang)
        assert code == 0 and said in output, output
    # without --corrections it is told apart from a student issued before, and the way on
    code, output = issue("--input", str(second), "--out", "c2")
    assert code == 2 and "[issued-mismatch]" in output and "with another iin" in output, output
    assert "if this iin corrects the one issued, issue with --corrections" in output
    for lang, said in (("kk", "--corrections арқылы"), ("ru", "с другим значением поля")):
        code, output = issue("--input", str(second), "--out", "c2", "--lang", lang)
        assert code == 2 and said in output and "[issued-mismatch]" in output, output
    code, output = issue("--input", str(second), "--out", "c2", "--corrections")
    assert code == 0 and "changing the iin" in output, output
    assert "this job corrects 1 earlier credential" in output and len(node.batches) == 2
    # the mistyped IIN the other way round (an issued IIN, a new student id) still is none
    third = with_values(export(folder / "c3.csv", [3]), 0, iin=STUDENTS[0]["iin"])
    code, output = issue("--input", str(third), "--out", "c3", "--corrections")
    assert code == 2 and "[issued-mismatch]" in output, output
    assert "but not with this row's student_id: check the row" in output


def test_a_credential_keeps_the_values_it_was_issued_with_once_corrected(
        work: tuple[Path, AccreditedNode]) -> None:
    # Student 1's diploma was issued with student 4's IIN, then corrected to student 1's
    # own: the correction took over its student id in the registry, which left the old
    # diploma seeming issued without one, so student 4 (never issued, the owner of that
    # IIN) passed as a correction of student 1's diploma and would have superseded it.
    folder, node = work
    first = with_values(export(folder / "c1.csv", [0, 1, 2]), 1, iin=STUDENTS[4]["iin"])
    code, output = issue("--input", str(first), "--out", "c1")
    assert code == 0, output
    code, output = issue("--input", str(export(folder / "c2.csv", [1])), "--out", "c2",
                         "--corrections")
    assert code == 0 and "changing the iin" in output, output
    fourth = export(folder / "c3.csv", [4])
    for extra in ((), ("--dry-run",), ("--corrections",), ("--corrections", "--dry-run")):
        code, output = issue("--input", str(fourth), "--out", "c3", *extra)
        assert code == 2 and "[issued-mismatch]" in output, output
        assert "but not with this row's student_id: check the row" in output
        assert "[already-issued]" not in output and "correct credentials issued" not in output
    assert len(node.batches) == 2


def test_an_iin_changed_under_a_student_id_of_an_unfinished_job_says_finish_it_first(
        work: tuple[Path, AccreditedNode]) -> None:
    # Student 1's diploma is in a job not yet committed; the row gives student 1's id with
    # another IIN. It was "check the row" (issued-mismatch) even under --corrections,
    # though once that job commits it is a correction: what comes first is --resume.
    folder, node = work
    left_pending(folder, node)  # students 0-2 in the unfinished job `first`
    changed = with_values(export(folder / "c2.csv", [1]), 0, iin=STUDENTS[4]["iin"])
    for extra in ((), ("--dry-run",), ("--corrections",), ("--corrections", "--dry-run")):
        code, output = issue("--input", str(changed), "--out", "c2", *extra)
        assert code == 2 and "[already-issued]" in output, output
        assert "[issued-mismatch]" not in output and "with another iin" in output
        assert "finish that job first with senim issue --resume" in output
        assert "then, if this iin corrects the one it holds, issue with --corrections" in output
        line = last_line(output)
        assert MAY_BE_RIGHT in line and "--resume" in line, line
    for lang, said in (("kk", "алдымен сол тапсырманы аяқтаңыз"),
                       ("ru", "сначала завершите то задание")):
        code, output = issue("--input", str(changed), "--out", "c2", "--lang", lang)
        assert code == 2 and said in output and "--corrections" in output, output
    assert len(node.mempool) == 1 and not node.batches  # the first job's alone, uncommitted
    # done as said: the job finished, the row is the IIN corrected under --corrections
    resumed = CliRunner().invoke(main, ["issue", "--resume", "first"])
    assert resumed.exit_code == 0, resumed.output
    code, output = issue("--input", str(changed), "--out", "c2")
    assert code == 2 and "[issued-mismatch]" in output and "with another iin" in output
    code, output = issue("--input", str(changed), "--out", "c2", "--corrections")
    assert code == 0 and "changing the iin" in output, output
    assert "this job corrects 1 earlier credential" in output


def test_an_iin_changed_under_a_student_id_of_a_job_never_sent_says_delete_it(
        work: tuple[Path, AccreditedNode], monkeypatch: pytest.MonkeyPatch) -> None:
    # Student 1 is in a job stopped before it sent its batch; the row gives student 1's
    # id with another IIN. "Finish with --resume" would have issued the IIN the registrar
    # now holds wrong: nothing of that job was sent, so its folder may go instead.
    folder, node = work
    job = stopped_once_signed(folder, node, monkeypatch)
    changed = with_values(export(folder / "c2.csv", [1]), 0, iin=STUDENTS[4]["iin"])
    for extra in ((), ("--dry-run",), ("--corrections",)):
        code, output = issue("--input", str(changed), "--out", "c2", *extra)
        assert code == 2 and "[already-issued]" in output, output
        assert "nothing of that job was sent" in output and f"delete the folder {job}" in output
        assert "--resume" not in output, output
        line = last_line(output)
        assert MAY_BE_RIGHT in line and "what is said of it above" in line, line
    # one sentence each: delete the folder, then run the same command again
    for lang, said, again in (
            ("kk", "одан ештеңе жіберілмеген", f"{job} қалтасын жойып (оның бірде-бір құжаты "
             "берілмеген: оның жолдарын осы не басқа экспортта қайта беріңіз), мұны қайта "
             "іске қосыңыз;"),
            ("ru", "ничего не отправлено", f"удалите папку {job} (ни один её документ не "
             "выдан: подайте её строки снова, в этой выгрузке или в другой) и запустите ту же "
             "команду снова;")):
        code, output = issue("--input", str(changed), "--out", "c2", "--lang", lang)
        assert code == 2 and said in output and "--resume" not in output, output
        assert again in output, output
    # done as said: the folder deleted, the row is issued with the IIN it gives
    shutil.rmtree(folder / "first")
    code, output = issue("--input", str(changed), "--out", "c2")
    assert code == 0 and len(node.batches) == 1, output
