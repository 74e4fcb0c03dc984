"""Transcripts exported one row per course (mapping layout "course-rows"): each
student's rows form the record the one-row-per-student export gives, with the same
checks, and every fault is named by its own row and column."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from registrar import ExportResult, load_mapping, read_export
from registrar.mapping import parse_mapping
from registrar.schema import SchemaError
from registrar.validate import Taken
from tests.registrar.helpers import IINS, preview, write_csv, write_json, write_xlsx

SAMPLES = Path(__file__).parents[2] / "configs" / "registrar"
BY_COURSE = SAMPLES / "platonus_transcript_courses.csv"
COURSE_ROWS = load_mapping("platonus-course-rows")
# the sample's columns (after "№ п/п")
NAME, IIN, STUDENT_ID, PROGRAMME, GPA, TOTAL, CODE = 1, 2, 3, 4, 5, 6, 7
POINTS = 15


def sample_rows() -> list[list[str]]:
    """The shipped sample's header and its 12 rows: 3 students, 4 courses each."""
    with BY_COURSE.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle, delimiter=";"))


def read(path: Path, rows: list[list[Any]], **options: Any) -> ExportResult:
    return read_export(write_csv(path, rows, delimiter=";"), "transcript",
                       mapping=options.pop("mapping", COURSE_ROWS), **options)


def where(result: ExportResult) -> list[tuple[int | None, str | None, str]]:
    return [(p.row, p.column, p.code) for p in result.problems]


def wide_records() -> list[dict[str, str]]:
    wide = read_export(SAMPLES / "platonus_transcripts.csv", "transcript",
                       mapping=load_mapping("platonus"))
    assert wide.problems == []
    return wide.records


def test_the_sample_forms_the_records_of_the_one_row_per_student_sample() -> None:
    result = read_export(BY_COURSE, "transcript", mapping=COURSE_ROWS)
    assert result.problems == [] and result.count == 3
    assert result.records == wide_records()
    assert result.grouping is not None
    assert (result.grouping.rows, result.grouping.students, result.grouping.unplaced) == (
        12, 3, 0)
    shown = preview(result)
    assert shown.startswith("csv, utf-8-sig, delimiter ';': 12 rows, one per course, grouped "
                            "into 3 students' transcripts; 3 records ready, 0 problems")
    assert "rows 2-5:" in shown and "rows 6-9:" in shown


@pytest.mark.parametrize("suffix", [".xlsx", ".json"])
def test_a_workbook_or_json_list_of_course_rows_reads_the_same(tmp_path: Path,
                                                               suffix: str) -> None:
    rows = sample_rows()
    path = (write_xlsx(tmp_path / "t.xlsx", rows) if suffix == ".xlsx" else
            write_json(tmp_path / "t.json", [dict(zip(rows[0], row, strict=True))
                                             for row in rows[1:]]))
    result = read_export(path, "transcript", mapping=COURSE_ROWS)
    assert result.problems == [] and result.records == wide_records()


def test_an_export_sorted_by_course_forms_the_same_students(tmp_path: Path) -> None:
    header, *rows = sample_rows()
    by_course = sorted(rows, key=lambda row: (row[CODE], row[IIN]))
    result = read(tmp_path / "s.csv", [header, *by_course])
    assert result.problems == [] and result.grouping is not None
    assert result.grouping.students == 3
    for mixed, wide in zip(result.records, wide_records(), strict=True):
        lines = {k: v for k, v in mixed.items() if k.startswith("course.")}
        assert {k: v for k, v in mixed.items() if k not in lines} == {
            k: v for k, v in wide.items() if not k.startswith("course.")}
        # a student's lines, numbered in the order of their rows in the file
        assert sorted(lines.values()) == sorted(v for k, v in wide.items()
                                                if k.startswith("course."))
        assert [json.loads(v)["code"] for v in lines.values()] == [
            "HIS1103", "INF1101", "INF2104", "MAT1102"]
    assert "rows 2, 5, 8, 11:" in preview(result)


@pytest.mark.parametrize("column, value, said", [
    (GPA, "3.20", "'3.20' here, but this student's first row, row 2, gives '3.11'"),
    (NAME, "Иванова Анна", "'Иванова Анна' here, but this student's first row, row 2, "
                           "gives 'Иванова Анна Сергеевна'"),
    (STUDENT_ID, "", "no student_id here, but this student's first row, row 2, gives "
                     "'S00001'")])
def test_a_row_disagreeing_on_a_student_value_names_its_row_column_and_the_first_value(
        tmp_path: Path, column: int, value: str, said: str) -> None:
    rows = sample_rows()
    rows[3][column] = value  # the first student's third course: spreadsheet row 4
    result = read(tmp_path / "d.csv", rows)
    assert where(result) == [(4, rows[0][column], "inconsistent")]
    assert said in result.problems[0].message
    assert result.records == [] and result.count == 0


def test_one_student_value_written_two_ways_is_one_value(tmp_path: Path) -> None:
    """Compared as the record will hold them: a date in either accepted form, a number
    by its value (trailing zeros, a decimal comma, 5 and 5.0); the first row's is kept."""
    header, *rows = sample_rows()
    header = [*header, "Дата выдачи"]
    rows = [[*row, "2026-06-30"] for row in rows]
    rows[1][GPA], rows[2][GPA], rows[3][GPA] = "3.110", "3,11", "3.1100"  # rows 3-5
    rows[1][TOTAL], rows[2][TOTAL] = "22.0", "22,00"
    rows[3][-1] = "30.06.2026"
    result = read(tmp_path / "w.csv", [header, *rows])
    assert result.problems == [] and result.count == 3
    first = result.records[0]
    assert (first["gpa"], first["total_credits"], first["issue_date"]) == (
        "3.11", "22", "2026-06-30")
    rows[3][GPA] = "3.12"  # a real difference is still named by its row
    result = read(tmp_path / "d.csv", [header, *rows])
    assert where(result) == [(5, "GPA", "inconsistent")]
    assert "'3.12' here, but this student's first row, row 2, gives '3.11'" in \
        result.problems[0].message


def test_course_codes_are_one_course_only_when_written_alike(tmp_path: Path) -> None:
    """A code is recorded as written (format "code"), so codes differing in case or
    inner spaces are two courses, as the transcript would show them; only the spaces
    around a value, which every value loses, do not count."""
    rows = sample_rows()
    rows[3][CODE] = " INF1101 "  # student 1's row 4 repeats row 2's course
    result = read(tmp_path / "t.csv", rows)
    assert where(result) == [(4, "Код дисциплины", "duplicate-course")]
    rows[3][CODE] = "inf 1101"
    result = read(tmp_path / "c.csv", rows)
    assert result.problems == [] and result.count == 3
    codes = [json.loads(v)["code"] for k, v in sorted(result.records[0].items())
             if k.startswith("course.")]
    assert codes == ["INF1101", "MAT1102", "inf 1101", "INF2104"]


def test_a_json_item_without_a_student_column_is_the_one_row_named(tmp_path: Path) -> None:
    """An item lacking a required key has its missing-column at its own row; the rows
    of the same student that give the value are not blamed for disagreeing with it
    (nor it for disagreeing with them)."""
    rows = sample_rows()
    items = [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
    del items[4]["ФИО"]  # Petrov's first row, item 5
    del items[10]["ФИО"]  # Kim's third row, item 11
    result = read_export(write_json(tmp_path / "n.json", items), "transcript",
                         mapping=COURSE_ROWS)
    assert where(result) == [(5, "full_name", "missing-column"),
                             (11, "full_name", "missing-column")]


def test_the_same_course_twice_for_one_student(tmp_path: Path) -> None:
    rows = sample_rows()
    rows[7] = [*rows[5][:CODE], *rows[8][CODE:]]  # student 2's row 8 repeats row 9's course
    result = read(tmp_path / "c.csv", rows)
    assert where(result) == [(9, "Код дисциплины", "duplicate-course")]
    assert "course INF2104 is on row 8 too" in result.problems[0].message
    # the same course for two students is no fault
    assert read(tmp_path / "ok.csv", sample_rows()).problems == []


def test_a_row_naming_no_student_is_refused_and_holds_back_every_total(
        tmp_path: Path) -> None:
    """Its course may be anyone's: the totals of the student it was cut from would be
    wrong for want of it, so no total is judged until the row is fixed."""
    rows = sample_rows()
    rows[6][IIN] = ""
    result = read(tmp_path / "k.csv", rows)
    assert where(result) == [(7, "ИИН", "missing")]
    assert "whose course this row is" in result.problems[0].message
    assert result.grouping is not None and result.grouping.unplaced == 1
    assert "(1 row naming no student)" in preview(result)


def test_a_row_the_reader_refuses_holds_back_every_total(tmp_path: Path) -> None:
    """A hidden row, one with an Excel error, a short CSV row, a file cut short: the
    reader refuses the row (or what follows) before it reaches a student, whose totals,
    judged without that course, would be refused at the student's first row though
    they are right; correcting them to match would make them wrong once the row is
    fixed. Only the row's own problem is said."""
    rows = sample_rows()
    hidden = write_xlsx(tmp_path / "h.xlsx", rows)
    workbook = openpyxl.load_workbook(hidden)
    assert workbook.active is not None
    workbook.active.row_dimensions[3].hidden = True
    workbook.active["O7"] = "#VALUE!"
    workbook.save(hidden)
    result = read_export(hidden, "transcript", mapping=COURSE_ROWS)
    assert where(result) == [(3, None, "hidden-row"), (7, "Баллы", "excel-error")]
    short = [row[:] for row in rows]
    short[2] = short[2][:-1]
    assert where(read(tmp_path / "s.csv", short)) == [(3, "Цифровой эквивалент", "short-row")]
    cut = write_csv(tmp_path / "cut.csv", rows, delimiter=";")
    text = cut.read_text(encoding="utf-8")  # a quote inside: the CSV ends there
    cut.write_text(text.replace(";Calculus;1;6;C+", ';"Calc"ulus;1;6;C+'), encoding="utf-8")
    assert [code for *_, code in where(read_export(cut, "transcript", mapping=COURSE_ROWS))
            ] == ["malformed"]


def test_a_course_line_fault_is_named_at_its_own_row(tmp_path: Path) -> None:
    rows = sample_rows()
    rows[6][POINTS] = "2.0"  # B carries 3.0 points
    rows[11][GPA] = rows[12][GPA] = rows[10][GPA] = rows[9][GPA] = "3.50"
    result = read(tmp_path / "l.csv", rows)
    assert where(result) == [(7, "Цифровой эквивалент", "inconsistent"),
                             (10, "GPA", "inconsistent")]
    assert result.problems[1].message == ("the course lines give a GPA of 3.16, not 3.50 "
                                          "(this student's rows: 10-13)")


def test_a_row_without_a_course_and_a_missing_course_column(tmp_path: Path) -> None:
    rows = sample_rows()
    rows[2][CODE:] = [""] * (len(rows[0]) - CODE)
    assert where(read(tmp_path / "n.csv", rows)) == [(3, "Код дисциплины", "missing")]
    grade = rows[0].index("Оценка")
    no_grade = [row[:grade] + row[grade + 1:] for row in sample_rows()]
    assert where(read(tmp_path / "g.csv", no_grade)) == [
        (1, "course_grade", "missing-column")]  # once, not on every row


def test_a_student_with_more_courses_than_a_transcript_holds(tmp_path: Path) -> None:
    header = ["full_name", "iin", "programme", "gpa", "total_credits", "course_code",
              "course_credits", "course_grade"]
    mapping = parse_mapping({"layout": "course-rows"}, "own")

    def courses(count: int) -> list[list[str]]:
        return [header, *(["Әсел", IINS[0], "ИС", "4.0", str(count), f"C{n}", "1", "A"]
                          for n in range(count))]

    full = read(tmp_path / "190.csv", courses(190), mapping=mapping)
    assert full.problems == [] and len(full.records[0]) == 5 + 190
    over = read(tmp_path / "191.csv", courses(192), mapping=mapping)
    assert where(over) == [(192, None, "line-count")]  # said once, at the first too many
    assert "more than 190 courses" in over.problems[0].message


def test_kazakh_letters_lost_by_cp1251_are_found_in_names_and_course_titles(
        tmp_path: Path) -> None:
    rows = sample_rows()
    for row in rows[1:5]:
        row[NAME] = "Әсел Қайратқызы Нұрланова"
    path = tmp_path / "cp.csv"
    with path.open("w", encoding="cp1251", errors="replace", newline="") as handle:
        csv.writer(handle, delimiter=";").writerows(rows)
    result = read_export(path, "transcript", mapping=COURSE_ROWS)
    found = set(where(result))
    assert {(row, "ФИО", "lost-letter") for row in range(2, 6)} <= found
    assert (2, "Дисциплина (каз)", "lost-letter") in found  # Бағдарламалау
    assert {code for _, _, code in found} == {"lost-letter"} and result.records == []


def test_a_kazakh_course_title_lost_in_a_one_row_per_student_export(tmp_path: Path) -> None:
    """The same check in the other layout: a course title shows on the document as
    the name does."""
    lines = (SAMPLES / "platonus_transcripts.csv").read_text(encoding="utf-8-sig")
    path = tmp_path / "wide.csv"
    path.write_bytes(lines.encode("cp1251", errors="replace"))
    result = read_export(path, "transcript", mapping=load_mapping("platonus"))
    assert (2, "Дисциплина 1: название (каз)", "lost-letter") in where(result)


def test_a_student_issued_before_or_twice_is_named_at_their_first_row(
        tmp_path: Path) -> None:
    rows = sample_rows()
    for row in rows[9:13]:
        row[STUDENT_ID] = "S00002"  # student 3 given student 2's ID
    issued_to = rows[1][IIN]

    def issued(row: int, values: dict[str, str], sound: bool) -> list[Taken]:
        return [(field, "already-issued", f"issued in job 7 ({row})")
                for field, value in values.items() if value == issued_to]

    result = read(tmp_path / "i.csv", rows, issued=issued)
    assert where(result) == [(2, "ИИН", "already-issued"),
                             (10, "ID студента", "duplicate-student")]
    assert result.problems[0].message == "issued in job 7 (2)"
    assert "the same student_id as row 6" in result.problems[1].message


def test_a_student_whose_totals_are_wrong_still_holds_their_student_id(
        tmp_path: Path) -> None:
    rows = sample_rows()
    for row in rows[5:9]:
        row[GPA] = "3.9"  # student 2's lines give 3.24
    for row in rows[9:13]:
        row[STUDENT_ID] = "S00002"  # student 3 given student 2's ID
    result = read(tmp_path / "t.csv", rows)
    assert where(result) == [(6, "GPA", "inconsistent"),
                             (10, "ID студента", "duplicate-student")]


def test_clean_records_reach_the_sink_with_their_first_row(tmp_path: Path) -> None:
    header, *rows = sample_rows()
    got: list[tuple[int, str]] = []
    result = read(tmp_path / "s.csv", [header, *sorted(rows, key=lambda r: r[CODE])],
                  on_record=lambda row, record: got.append((row, record["iin"])))
    assert result.problems == [] and result.count == 3
    assert got == [(2, rows[0][IIN]), (3, rows[4][IIN]), (4, rows[8][IIN])]


def test_a_column_of_the_other_layout_says_which_mapping_reads_it(tmp_path: Path) -> None:
    wide = read_export(BY_COURSE, "transcript", mapping=load_mapping("platonus"))
    unknown = [p for p in wide.problems if p.code == "unknown-column"]
    assert unknown[0].column == "Код дисциплины"
    assert "--mapping platonus-course-rows" in unknown[0].message
    numbered = read(tmp_path / "n.csv", [["course1_code"], ["X"]],
                    mapping=parse_mapping({"layout": "course-rows"}, "own"))
    message = next(p.message for p in numbered.problems if p.column == "course1_code")
    assert "one row per course, whose columns are course_<part>" in message
    # and the shipped mapping knows its system's other layout, as "platonus" does
    by_student = read_export(SAMPLES / "platonus_transcripts.csv", "transcript",
                             mapping=COURSE_ROWS)
    unknown = [p for p in by_student.problems if p.code == "unknown-column"]
    assert unknown[0].column == "Дисциплина 1: код"
    assert all("a numbered course column" in p.message for p in unknown), unknown


def test_a_layout_that_cannot_be_used_is_refused_before_anything_is_read(
        tmp_path: Path) -> None:
    with pytest.raises(SchemaError, match="layout must be"):
        parse_mapping({"layout": "per-course"}, "own")
    with pytest.raises(SchemaError, match="reads transcript exports, not diploma"):
        read_export(BY_COURSE, "diploma", mapping=COURSE_ROWS)
    with pytest.raises(SchemaError, match="one row per course"):  # a mapping of any type
        read_export(BY_COURSE, "diploma", mapping=parse_mapping({"layout": "course-rows"},
                                                                "own"))
