"""Transcript course lines graded without a letter: pass/fail (physical education) and
the word grades of the five-point scale (older transcripts), read from the words an
office types, recorded as codes, left out of the GPA; anything else refused by row."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from registrar import load_mapping, read_export
from tests.registrar.helpers import IINS, write_csv, write_xlsx
from tests.registrar.test_academic import course, transcript_rows

COURSE_ROWS = load_mapping("platonus-course-rows")


@pytest.mark.parametrize("word, code", [
    ("зачтено", "pass"), ("Зачёт", "pass"), ("зач.", "pass"), ("сынақ", "pass"),
    ("есептелді", "pass"), ("Pass", "pass"), ("не зачтено", "fail"), ("незачёт", "fail"),
    ("есептелмеді", "fail"), ("отлично", "excellent"), ("өте жақсы", "excellent"),
    ("Өте жақсы", "excellent"), ("оте жаксы", "excellent"), ("хорошо", "good"),
    ("жақсы", "good"), ("удовлетворительно", "satisfactory"), ("удовл.", "satisfactory"),
    ("қанағаттанарлық", "satisfactory"), ("неудовлетворительно", "unsatisfactory"),
    ("қанағаттанарлықсыз", "unsatisfactory"), ("excellent", "excellent"),
    ("Good", "good"), ("satisfactory", "satisfactory")])
def test_a_word_grade_or_a_pass_is_recorded_as_its_code_outside_the_gpa(
        tmp_path: Path, word: str, code: str) -> None:
    # INF1 is an A over 5 credits: the GPA is 4.0 whatever the second line, which carries
    # no points; its 2 credits still count in the total.
    rows = transcript_rows(gpa="4.0", total="7", second=course("PE1", "2", word, "", ""))
    result = read_export(write_csv(tmp_path / "t.csv", rows), "transcript")
    assert result.problems == []
    line = json.loads(result.records[0]["course.02"])
    assert line["grade"] == code and "points" not in line


@pytest.mark.parametrize("word, numeric, points, column, said", [
    ("освобождён", "", "", "course2_grade", "is an exemption, no grade"),
    ("В+", "", "", "course2_grade", "is written with Cyrillic letters: type B+"),
    ("b+", "", "", "course2_grade", "a grade letter is a capital (B+)"),
    ("A\u2013", "", "", "course2_grade", "a dash where a grade letter has a hyphen"),
    ("зачтенo", "", "", "course2_grade", "mixes Latin and Cyrillic letters"),
    ("5", "", "", "course2_grade", "a course grade is a letter"),
    ("отлично", "", "4.0", "course2_points", "a course graded excellent carries no points"),
    ("отлично", "75", "", "course2_numeric", "a numeric grade of 75 is not excellent (90 to "
                                             "100 is)"),
    ("зачтено", "40", "", "course2_numeric", "a numeric grade of 40 is not pass (50 to 100")])
def test_a_grade_that_is_neither_is_refused_at_its_row_and_column(
        tmp_path: Path, word: str, numeric: str, points: str, column: str, said: str) -> None:
    rows = transcript_rows(gpa="4.0", total="7", second=course("PE1", "2", word, numeric,
                                                               points))
    result = read_export(write_csv(tmp_path / "t.csv", rows), "transcript")
    assert [(p.row, p.column) for p in result.problems] == [(2, column)], result.problems
    assert said in result.problems[0].message
    assert result.records == []


@pytest.mark.parametrize("zero", ["0", "0.00", "0,0"])
def test_a_pass_with_zero_points_reads_as_none(tmp_path: Path, zero: str) -> None:
    """Some exports write 0 points on a pass line where others leave the cell empty: it
    was refused by row ('leave its points empty'), a whole class over one cell."""
    rows = transcript_rows(gpa="4.0", total="7", second=course("PE1", "2", "зачтено", "",
                                                               zero))
    result = read_export(write_csv(tmp_path / "t.csv", rows), "transcript")
    assert result.problems == [], [str(p) for p in result.problems]
    line = json.loads(result.records[0]["course.02"])
    assert line["grade"] == "pass" and "points" not in line


def test_a_word_grade_in_its_band_with_its_numeric_is_accepted(tmp_path: Path) -> None:
    rows = transcript_rows(gpa="4.0", total="7", second=course("PE1", "2", "хорошо", "75", ""))
    result = read_export(write_csv(tmp_path / "t.csv", rows), "transcript")
    assert result.problems == []


def _old_transcript(tmp_path: Path, gpa: str, first: str, second: str) -> list[
        tuple[int | None, str | None, str]]:
    rows = transcript_rows(gpa=gpa, total="10", second=course("INF2", "5", second, "", ""))
    rows[1][rows[0].index("course1_grade")] = first
    for part in ("numeric", "points"):
        rows[1][rows[0].index(f"course1_{part}")] = ""
    result = read_export(write_csv(tmp_path / "o.csv", rows), "transcript")
    return [(p.row, p.column, p.message) for p in result.problems]


def test_a_transcript_of_word_grades_alone_states_no_gpa(tmp_path: Path) -> None:
    assert _old_transcript(tmp_path, "", "отлично", "хорошо") == []
    assert _old_transcript(tmp_path, "3.5", "отлично", "зачтено") == [
        (2, "gpa", "no course line carries a letter grade, so there is no GPA to state "
                   "(got 3.5): leave it empty")]
    assert _old_transcript(tmp_path, "", "A", "зачтено") == [
        (2, "gpa", "gpa is required: the course lines graded by letter give one")]


def test_one_row_per_course_in_cp1251_and_excel(tmp_path: Path) -> None:
    header = ["ФИО", "ИИН", "Образовательная программа", "GPA", "Всего кредитов ECTS",
              "Код дисциплины", "Дисциплина (рус)", "Кредиты ECTS", "Оценка"]
    student = ["Иванова Анна", IINS[0], "ИС", "3,67", "15"]
    rows = [header, [*student, "INF1", "Базы данных", "5", "A-"],
            [*student, "PE1", "Физическая культура", "2", "Зачтено"],
            [*student, "HIS1", "История", "5", "отлично"],
            [*student, "PRA1", "Практика", "3", "освобождена"]]
    path = tmp_path / "1c.csv"
    with path.open("w", encoding="cp1251", newline="") as handle:
        csv.writer(handle, delimiter=";").writerows(rows)
    result = read_export(path, "transcript", mapping=COURSE_ROWS)
    assert [(p.row, p.column) for p in result.problems] == [(5, "Оценка")]
    rows = [rows[0], *([*row[:4], "12", *row[5:]] for row in rows[1:4])]
    for made in (write_xlsx(tmp_path / "t.xlsx", rows), write_csv(tmp_path / "t.csv", rows)):
        result = read_export(made, "transcript", mapping=COURSE_ROWS)
        assert result.problems == [], made
        grades = [json.loads(result.records[0][f"course.0{n}"])["grade"] for n in (1, 2, 3)]
        assert grades == ["A-", "pass", "excellent"]


def test_a_kazakh_office_transcript_report_is_read_by_the_platonus_mapping(
        tmp_path: Path) -> None:
    header = ["Аты-жөні", "ЖСН", "Білім беру бағдарламасы", "GPA",
              "ECTS кредиттерінің барлығы", "Пән коды", "Пән (қаз)", "ECTS кредиттері", "Баға"]
    student = ["Сәрсенова Айгерім", IINS[0], "Ақпараттық жүйелер", "4", "10"]
    rows = [header, [*student, "INF1", "Деректер қоры", "5", "A"],
            [*student, "PE1", "Дене шынықтыру", "2", "сынақ"],
            [*student, "HIS1", "Қазақстан тарихы", "3", "өте жақсы"]]
    result = read_export(write_xlsx(tmp_path / "kk.xlsx", rows), "transcript",
                         mapping=COURSE_ROWS)
    assert result.problems == []
    grades = [json.loads(result.records[0][f"course.0{n}"])["grade"] for n in (1, 2, 3)]
    assert grades == ["A", "pass", "excellent"]
