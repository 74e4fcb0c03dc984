"""A workbook header split over two rows by merged cells, as 1C, Platonus and school
e-journals write it: read as one header when each column has one name, the dry run
naming both rows; refused by row and column when a column's name is a guess
(registrar.header_rows)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from registrar import load_mapping, read_export
from tests.registrar.helpers import IINS, only, preview, valid_iins, write_xlsx

SCHOOL = "Алматы қаласының № 12 мектеп-гимназиясы"
COURSE = ["код", "название (рус)", "кредиты ECTS", "оценка"]


def _journal(path: Path, subjects: list[Any]) -> Path:
    # each student column's name merged down over two rows, the subjects named in the
    # second row under "Пәндер" merged across them
    iins = valid_iins(2, "080808")
    return write_xlsx(path, [
        ["Оқушының аты-жөні", "ЖСН", "Мектеп", "Бітірген күні", "Пәндер", None],
        [None, None, None, None, *subjects],
        *[["Әсел Нұрланова", iin, SCHOOL, "2026-05-25", 5, 4] for iin in iins]],
        ["A1:A2", "B1:B2", "C1:C2", "D1:D2", "E1:F1"])


def test_a_journals_two_row_header_is_read_and_named_in_the_dry_run(tmp_path: Path) -> None:
    # refused before: "the row is part of the header ... delete row 2"
    path = _journal(tmp_path / "11a.xlsx", ["Алгебра", "Физика"])
    result = read_export(path, "attestat", mapping=load_mapping("kundelik"))
    assert result.problems == [], result.problems
    assert [r["subject.algebra"] for r in result.records] == ["5", "5"]
    assert result.records[0]["subject.physics"] == "4"
    assert (result.source.header_top, result.source.header_row) == (1, 2)
    shown = preview(result)
    assert "header on rows 1-2: one header split over two rows" in shown
    assert "row 3:" in shown and "row 4:" in shown


def _transcript(path: Path, top: list[Any], second: list[Any], merges: list[str]) -> Path:
    student = ["Әсел Нұрланова", IINS[0], "Информационные системы", "5", "ИС101",
               "Программирование", "5", "зачтено"]
    return write_xlsx(path, [top, second, student], merges)


def test_a_platonus_course_group_is_read_as_its_pattern(tmp_path: Path) -> None:
    # "Дисциплина 1" merged over its four columns, their names below: the mapping reads
    # "Дисциплина 1: код", never "код" alone
    path = _transcript(tmp_path / "t.xlsx", [
        "ФИО", "ИИН", "Образовательная программа", "Всего кредитов ECTS", "Дисциплина 1",
        None, None, None], [None, None, None, None, *COURSE],
        ["A1:A2", "B1:B2", "C1:C2", "D1:D2", "E1:H1"])
    result = read_export(path, "transcript", mapping=load_mapping("platonus"))
    assert result.problems == [], result.problems
    assert result.records[0]["course.01"] == (
        '{"code":"ИС101","credits":"5","grade":"pass","title_ru":"Программирование"}')


def test_a_group_row_above_a_header_found_by_its_names_is_joined(tmp_path: Path) -> None:
    # Row 1 holds the group alone (a title, as find_header judged it): row 2's "код"...
    # were unknown columns.
    path = _transcript(tmp_path / "g.xlsx", [None, None, None, None, "Дисциплина 1"],
                       ["ФИО", "ИИН", "Образовательная программа", "Всего кредитов ECTS",
                        *COURSE], ["E1:H1"])
    result = read_export(path, "transcript", mapping=load_mapping("platonus"))
    assert result.problems == [], result.problems
    assert (result.source.header_top, result.source.titles) == (1, ())


def test_a_column_named_in_both_rows_is_refused_by_row_and_column(tmp_path: Path) -> None:
    rows: list[list[Any]] = [
        ["full_name", None, None, None, "Бітіру"],
        [None, "iin", "programme", "qualification", "graduation_date"],
        ["Әсел Нұрланова", IINS[0], "ИС", "Бакалавр", "2026-06-30"]]
    problem = only(read_export(write_xlsx(tmp_path / "t.xlsx", rows, ["A1:A2"]), "diploma"),
                   "merged-header")
    assert (problem.row, problem.column) == (1, "E")
    assert problem.message.startswith("column E has a name in row 1 ('Бітіру') and another "
                                      "in row 2 ('graduation_date')")


def test_a_group_column_left_unnamed_is_refused(tmp_path: Path) -> None:
    path = _journal(tmp_path / "u.xlsx", ["Алгебра", None])
    problem = only(read_export(path, "attestat", mapping=load_mapping("kundelik")),
                   "merged-header")
    assert (problem.row, problem.column) == (2, "F")
    assert problem.message.startswith("column F stands under 'Пәндер' (the cells E1:F1) "
                                      "but has no name in row 2")


def test_a_name_merged_down_over_three_rows_ties_no_rows(tmp_path: Path) -> None:
    rows: list[list[Any]] = [
        ["full_name", "iin", "programme", "qualification", "graduation_date"],
        [None] * 5, [None] * 5, ["Әсел Нұрланова", IINS[0], "ИС", "Бакалавр", "2026-06-30"]]
    result = read_export(write_xlsx(tmp_path / "d.xlsx", rows, ["A1:A3"]), "diploma")
    assert result.problems == [] and result.source.header_top is None  # read as before


def test_a_group_row_that_is_no_title_is_the_headers_first_row(tmp_path: Path) -> None:
    # three groups, none over the IIN or a date, read as no title: the file is read from
    # row 1, whose merged cells tie it to row 2; the dry run said "row 2 looks like the
    # header, but row 1 above it is no title" all the same
    path = write_xlsx(tmp_path / "g.xlsx", [
        ["Жеке деректер", None, "Оқу", None, "Құжат", None],
        ["Аты-жөні", "ЖСН", "Білім беру бағдарламасы", "Біліктілік", "Үздік",
         "Бітірген күні"],
        ["Әсел Нұрланова", IINS[0], "ИС", "Бакалавр", None, "2026-06-30"]],
        ["A1:B1", "C1:D1", "E1:F1"])
    result = read_export(path, "diploma", mapping=load_mapping("platonus"))
    assert result.problems == [], result.problems
    assert (result.source.header_top, result.source.unread_header) == (1, None)
    assert "looks like the header" not in preview(result)
