"""Title rows above a CSV or Excel header: read past only when no student's row can be
among them, and each named with its row number (registrar.rows.find_header)."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from registrar import Mapping, load_mapping, read_export
from tests.registrar.helpers import (
    DIPLOMA_HEADER,
    IINS,
    diploma_row,
    preview,
    write_csv,
    write_xlsx,
)

RUSSIAN_HEADER = ["ФИО", "ИИН", "Образовательная программа", "Квалификация",
                  "Дата окончания", "GPA"]
# the same label/value title rows as three offices write them, with the header below
TITLED = {
    "ru": ([["Казахский национальный университет имени аль-Фараби"],
            ["Факультет", "Информационных технологий", "Курс", "4"],
            ["Специальность", "6B06102 Информационные системы", "Группа", "ИС-21-1"]],
           RUSSIAN_HEADER, "platonus"),
    "kk": ([["Әл-Фараби атындағы Қазақ ұлттық университеті"],
            ["Факультет", "Ақпараттық технологиялар", "Курс", "4"],
            ["Мамандық", "6B06102 Ақпараттық жүйелер", "Топ", "АЖ-21-1"]],
           ["Аты-жөні", "ЖСН", "Білім беру бағдарламасы", "Біліктілік", "Бітірген күні",
            "GPA"], "kazakh"),
    "en": ([["Al-Farabi Kazakh National University"],
            ["Faculty", "Information Technology", "Year", "4"],
            ["Speciality", "6B06102 Information Systems", "Group", "IS-21-1"]],
           [*DIPLOMA_HEADER, "gpa"], "identity"),
}
BIN = "060540001234"  # a legal entity's number, registered in May 2006
KAZAKH_MAPPING = """name = "kazakh"
[columns]
"Аты-жөні" = "full_name"
"ЖСН" = "iin"
"Білім беру бағдарламасы" = "programme"
"Біліктілік" = "qualification"
"Бітірген күні" = "graduation_date"
"GPA" = "gpa"
"""


def _mapping(name: str, tmp_path: Path) -> Mapping | None:
    if name == "identity":
        return None
    if name == "kazakh":
        path = tmp_path / "kazakh.toml"
        path.write_text(KAZAKH_MAPPING, encoding="utf-8")
        name = str(path)
    return load_mapping(name)


def _student(index: int) -> list[Any]:
    return [*diploma_row(index), "3.45"]


@pytest.mark.parametrize("language", sorted(TITLED))
def test_label_value_title_rows_are_read_past_and_each_named(tmp_path: Path,
                                                             language: str) -> None:
    # Kazakh university systems put the faculty, course, speciality and group above the
    # header as label/value cells: row 2 stopped the search, and every column of the
    # file came out unknown.
    titles, header, name = TITLED[language]
    rows: list[list[Any]] = [*titles, header, _student(0), _student(1)]
    xlsx = write_xlsx(tmp_path / "t.xlsx", rows)
    workbook = openpyxl.load_workbook(xlsx)
    workbook.worksheets[0].merge_cells("A1:F1")
    workbook.save(xlsx)
    text = write_csv(tmp_path / "t.csv", rows, encoding="utf-8-sig", delimiter=";")
    mapping = _mapping(name, tmp_path)
    for result in (read_export(xlsx, "diploma", mapping=mapping),
                   read_export(text, "diploma", mapping=mapping)):
        assert result.problems == [] and [r["iin"] for r in result.records] == IINS[:2]
        assert result.source.header_row == 4
        named = [" | ".join(cells) for cells in titles]
        assert result.source.titles == tuple(enumerate(named, start=1))
        shown = preview(result)
        assert ("header on row 4; read past 3 title rows above it (check that none is a "
                "student's):\n" + "".join(f"  row {n}: {t}\n" for n, t in enumerate(named, 1))
                + "row 5:\n") in shown
    assert read_export(text, "diploma", mapping=mapping).source.delimiter == ";"


def test_titles_with_dates_numbers_and_a_row_number_column(tmp_path: Path) -> None:
    # An Excel sheet writes its printing date and course as a date and a number, and a
    # "№" column (read past by the mapping) stands first: the labels fall under the IIN
    # and date columns, and a date under the IIN column is no student's IIN. The
    # university's BIN has an IIN's check digit, but no birth date: no student's IIN.
    header = ["№", "ФИО", "ИИН", "Дата рождения", "Образовательная программа",
              "Квалификация", "Дата окончания"]
    rows: list[list[Any]] = [
        ["БИН", BIN],
        ["Дата печати", None, datetime.date(2026, 7, 1), "Курс", 4],
        ["Факультет", "ИТ", "Курс", 4, "Группа", "ИС-21-1"],
        [], header,
        [1, *diploma_row(0)[:2], "15.03.2005", *diploma_row(0)[2:4], "30.06.2026"]]
    mapping = load_mapping("platonus")
    for result in (read_export(write_xlsx(tmp_path / "d.xlsx", rows), "diploma",
                               mapping=mapping),
                   read_export(write_csv(tmp_path / "d.csv", rows, "utf-8-sig", ";"),
                               "diploma", mapping=mapping)):
        assert result.problems == [] and [r["iin"] for r in result.records] == IINS[:1]
        assert result.source.header_row == 5
        assert result.source.titles == (
            (1, f"БИН | {BIN}"), (2, "Дата печати | 2026-07-01 | Курс | 4"),
            (3, "Факультет | ИТ | Курс | 4 | Группа | ИС-21-1"))


def test_an_academic_year_in_a_title_row_is_no_students_number(tmp_path: Path) -> None:
    # "Оқу жылы | 2025-2026" put the year range under the IIN column, where any number
    # of four digits or more stopped the search as a possibly mistyped IIN.
    titles = [["Евразийский национальный университет имени Л.Н. Гумилёва"],
              ["Факультет", "Информационных технологий", "Курс", "4"],
              ["Оқу жылы", "2025–2026", "Топ", "ВТ-22"],
              ["Учебный год", "2025 / 2026", "Группа", "ВТ-22", "Форма: очная"]]
    rows: list[list[Any]] = [*titles, RUSSIAN_HEADER, _student(0)]
    result = read_export(write_csv(tmp_path / "y.csv", rows, "utf-8-sig", ";"), "diploma",
                         mapping=load_mapping("platonus"))
    assert result.problems == [] and [r["iin"] for r in result.records] == IINS[:1]
    assert result.source.header_row == 5
    # two years that do not follow each other are no academic year: still a number
    rows[2] = ["Оқу жылы", "2025-2027", "Топ", "ВТ-22"]
    result = read_export(write_csv(tmp_path / "n.csv", rows, "utf-8-sig", ";"), "diploma",
                         mapping=load_mapping("platonus"))
    assert result.source.header_row == 1


# A student's row with a few empty cells, under the Russian header: its IIN or a date
# stands in its column, written right or wrong, or nothing says it is no student's.
STUDENT_ROWS = [
    ["Нұрланова Әсел", IINS[2], "Информационные системы", "", ""],  # the IIN
    ["Нұрланова Әсел", IINS[2]],  # two values, the second an IIN
    ["Нұрланова Әсел", "", "", "Бакалавр", "30.06.2026"],  # a date
    ["Нұрланова Әсел", "05031550001", "Информационные системы", "", ""],  # IIN mistyped
    ["Нұрланова Әсел", "", "Информационные системы", "", "30 июня 2026"],  # date in words
    ["Нұрланова Әсел", "", "Информационные системы", "Бакалавр", ""],  # no IIN, no date
    ["Нұрланова Әсел", "5,03155E+11", "ИС", "Бакалавр", "2026"],  # Excel's shortened IIN
]


@pytest.mark.parametrize("student", STUDENT_ROWS)
def test_a_students_row_with_empty_cells_stops_the_search(tmp_path: Path,
                                                           student: list[str]) -> None:
    # Above a recognised header, below a title the search would read past: the file is
    # read from row 1, its header's problems reported as they always were.
    rows: list[list[Any]] = [["Список выпускников 2026"], student, RUSSIAN_HEADER,
                             _student(0)]
    mapping = load_mapping("platonus")
    for result in (read_export(write_xlsx(tmp_path / "s.xlsx", rows), "diploma",
                               mapping=mapping),
                   read_export(write_csv(tmp_path / "s.csv", rows, "utf-8-sig", ";"),
                               "diploma", mapping=mapping)):
        assert result.source.header_row == 1 and result.source.titles == ()
        found = [(p.row, p.column, p.code) for p in result.problems]
        assert (1, "Список выпускников 2026", "unknown-column") in found
        assert (1, "iin", "missing-column") in found
        assert result.records == [] and "read past" not in preview(result)
        assert ("row 3 looks like the header, but row 2 above it is no title (it may be a "
                "student's row), so the file is read from row 1: put the header on row 1 "
                "and every student's row below it\n") in preview(result)


def test_a_row_of_values_above_a_repeated_header_is_never_read_past(tmp_path: Path) -> None:
    # Row 1's header has one column misspelt (four known: still the header), and the
    # header is repeated below, as printed exports repeat it on each page. (A header
    # with one column known: test_a_row_of_values_above_a_repeated_header_...)
    misspelt = ["Ф.И.О.", "ИИН студента", "Программа", "Квалификация", "Дата"]
    for student in STUDENT_ROWS:
        rows: list[list[Any]] = [misspelt, student, RUSSIAN_HEADER, _student(0)]
        result = read_export(write_xlsx(tmp_path / "r.xlsx", rows), "diploma",
                             mapping=load_mapping("platonus"))
        assert result.source.header_row == 1 and result.source.titles == ()
        assert (1, "Ф.И.О.", "unknown-column") in [(p.row, p.column, p.code)
                                                  for p in result.problems]
        assert result.records == [] and result.source.unread_header == (3, 2)


def test_a_title_row_as_wide_as_the_header_or_without_evidence_stops(tmp_path: Path) -> None:
    # Label/value cells across the whole header, or all left of the IIN and date columns
    # (nothing there says the row is no student's): read from row 1 as before.
    header = ["№", "ФИО", "Образовательная программа", "Квалификация", "ИИН",
              "Дата окончания"]
    for title in (["Факультет", "ИТ", "Курс", "4", "Группа", "ИС-21-1"],
                  ["Факультет", "ИТ", "Курс", "4"]):
        rows: list[list[Any]] = [title, header, [1, *diploma_row(0)[:1],
                                                 *diploma_row(0)[2:4], IINS[0], "2026-06-30"]]
        result = read_export(write_xlsx(tmp_path / "w.xlsx", rows), "diploma",
                             mapping=load_mapping("platonus"))
        assert result.source.header_row == 1 and result.records == []
        assert (1, "Факультет", "unknown-column") in [(p.row, p.column, p.code)
                                                     for p in result.problems]
        assert result.source.unread_header == (2, 1)
def test_title_rows_above_the_header_are_read_past_and_named(tmp_path: Path) -> None:
    # University lists open with a title merged across the columns, the faculty and a
    # blank row, then the header: the whole file was refused, row by row ("long-row").
    titles: list[list[Any]] = [["Түлектер тізімі 2026"], ["Факультет:", "Ақпараттық жүйелер"],
                               []]
    rows: list[list[Any]] = [*titles, DIPLOMA_HEADER, diploma_row(0), diploma_row(1)]
    path = write_xlsx(tmp_path / "t.xlsx", rows)
    workbook = openpyxl.load_workbook(path)
    workbook.worksheets[0].merge_cells("A1:E1")
    workbook.save(path)
    text = write_csv(tmp_path / "t.csv", rows, encoding="utf-8-sig",
                     delimiter=";")
    for result in (read_export(path, "diploma"), read_export(text, "diploma")):
        assert result.problems == [] and [r["iin"] for r in result.records] == IINS[:2]
        assert result.source.header_row == 4
        assert result.source.titles == ((1, "Түлектер тізімі 2026"),
                                        (2, "Факультет: | Ақпараттық жүйелер"))
        assert ("header on row 4; read past 2 title rows above it (check that none is a "
                "student's):\n  row 1: Түлектер тізімі 2026\n"
                "  row 2: Факультет: | Ақпараттық жүйелер\n") in preview(result)
    assert read_export(text, "diploma").source.delimiter == ";"
    # a row's problem is named at its row, and its header's at the header's
    bad = [*titles, [*DIPLOMA_HEADER, "gpa", "x"], [*diploma_row(0), "5", "1"]]
    result = read_export(write_xlsx(tmp_path / "b.xlsx", bad), "diploma")
    assert [(p.row, p.column, p.code) for p in result.problems] == [
        (4, "x", "unknown-column"), (5, "gpa", "bad-format")]


def test_a_row_of_values_is_never_read_past_as_a_title(tmp_path: Path) -> None:
    # Row 1's header has one column misspelt (four known: still the header), and the
    # header is repeated below, as printed exports repeat it on each page. (A header
    # with one column known: test_a_row_of_values_above_a_repeated_header_...)
    misspelt = ["ФИО", *DIPLOMA_HEADER[1:]]
    rows: list[list[Any]] = [misspelt, diploma_row(0), DIPLOMA_HEADER, diploma_row(1)]
    for result in (read_export(write_xlsx(tmp_path / "r.xlsx", rows), "diploma"),
                   read_export(write_csv(tmp_path / "r.csv", rows), "diploma")):
        assert result.source.header_row == 1 and result.source.titles == ()
        assert (1, "ФИО", "unknown-column") in [(p.row, p.column, p.code)
                                               for p in result.problems]
        assert result.records == []
    # three values, a number of four digits under the IIN column (as a student's IIN,
    # mistyped): no title, read as the header as before
    rows = [["Список", "2026", "ИТ"], DIPLOMA_HEADER, diploma_row(0)]
    result = read_export(write_xlsx(tmp_path / "t.xlsx", rows), "diploma")
    assert result.source.header_row == 1 and result.records == []
    assert (1, "Список", "unknown-column") in [(p.row, p.column, p.code)
                                              for p in result.problems]


