"""What a CSV's two rows are not: a title's label and its value over the header's empty
first cell, a column exported twice over a student's values. Each is read as it was
before two-row headers were read (registrar.csv_header), never as a header's first row
that would put a row number in a credential; and a group's name the mapping reads with
none of its columns is named in the problem, not passed over in silence."""

from __future__ import annotations

from pathlib import Path

from registrar import ExportResult, load_mapping, read_export
from tests.registrar.helpers import only, preview, valid_iins, write_csv, write_xlsx

SCHOOL = "Алматы қаласының № 12 мектеп-гимназиясы"
IINS = valid_iins(3)


def _read(path: Path, rows: list[list[str]], credential: str, mapping: str
          ) -> ExportResult:
    return read_export(write_csv(path, rows, delimiter=";"), credential,
                       mapping=load_mapping(mapping))


def test_a_school_title_over_the_row_number_column_stays_a_title(tmp_path: Path) -> None:
    # read as one header, column 1's row numbers were issued as the school: "School = 1"
    iins = valid_iins(2, "080808")
    result = _read(tmp_path / "t4.csv", [
        ["Мектеп", SCHOOL, "", "", "", ""],
        ["", "Оқушының аты-жөні", "ЖСН", "Бітірген күні", "Алгебра", "Физика"],
        ["1", "Әсел Нұрланова", iins[0], "25.05.2026", "5", "4"],
        ["2", "Дәулет Сәрсенов", iins[1], "25.05.2026", "5", "4"]], "attestat", "kundelik")
    assert result.records == []
    assert (result.source.header_top, result.source.titles) == (None, ((1, f"Мектеп | {SCHOOL}"),))
    problem = only(result, "empty-header")
    assert (problem.row, problem.column) == (3, "#1")
    assert only(result, "missing-column").column == "school"
    assert "header on rows" not in preview(result)


def test_a_qualification_title_over_the_row_number_column_stays_a_title(
        tmp_path: Path) -> None:
    # read as one header, the qualification was the row number: "Qualification = 1"
    result = _read(tmp_path / "t1.csv", [
        ["Квалификация", "Бакалавр", "", "", "", ""],
        ["", "ФИО", "ИИН", "Образовательная программа", "Академическая степень",
         "Дата окончания"],
        ["1", "Асель Нурланова", IINS[0], "Информационные системы", "Бакалавр",
         "30.06.2026"]], "diploma", "platonus")
    assert result.records == []
    assert result.source.titles == ((1, "Квалификация | Бакалавр"),)
    assert only(result, "empty-header").column == "#1"
    assert only(result, "missing-column").column == "qualification"


def test_a_title_naming_a_column_of_the_header_is_read_past(tmp_path: Path) -> None:
    # read as one header, "Квалификация" named two columns and the file was refused
    result = _read(tmp_path / "t2.csv", [
        ["Квалификация", "Бакалавр", "", "", "", ""],
        ["", "ФИО", "ИИН", "Образовательная программа", "Квалификация", "Дата окончания"],
        ["", "Асель Нурланова", IINS[0], "Информационные системы", "Бакалавр",
         "30.06.2026"],
        ["", "Нурлан Абенов", IINS[1], "Информационные системы", "Магистр", "30.06.2026"]],
        "diploma", "platonus")
    assert result.problems == [], result.problems
    assert [r["qualification"] for r in result.records] == ["Бакалавр", "Магистр"]
    assert (result.source.header_top, result.source.header_row) == (None, 2)
    assert result.source.titles == ((1, "Квалификация | Бакалавр"),)


def test_a_column_exported_twice_over_a_students_iins_is_a_duplicate(
        tmp_path: Path) -> None:
    # read as a group "ИИН", row 2's IINs were the columns' names in every problem
    rows = [["", "ИИН", "ИИН", "ФИО", "Дата окончания"],
            ["", IINS[0], IINS[0], "", ""],
            ["", IINS[1], IINS[1], "Студент 1", "30.06.2026"]]
    result = _read(tmp_path / "dup.csv", rows, "diploma", "platonus")
    problem = only(result, "duplicate-header")
    assert (problem.row, problem.column) == (1, "ИИН")
    assert result.source.header_top is None
    assert not any(IINS[0] in (p.column or "") for p in result.problems), result.problems


def test_a_name_repeated_over_a_students_names_is_a_duplicate(tmp_path: Path) -> None:
    rows = [["ФИО", "ФИО", "ИИН", "Дата окончания"],
            ["Асель Нурланова", "Асель Нурланова", "", ""],
            ["Нурлан Абенов", "Нурлан Абенов", IINS[1], "30.06.2026"]]
    result = _read(tmp_path / "dup.csv", rows, "diploma", "platonus")
    assert only(result, "duplicate-header").column == "ФИО"
    assert result.source.header_top is None


def test_a_group_name_the_mapping_does_not_read_is_named(tmp_path: Path) -> None:
    # "Дисциплина 1" with a line break and its semester after it: the mapping reads
    # "Дисциплина {n}: код", so each column fell back to its bare name, unknown, and no
    # problem named the group
    group = "Дисциплина 1\n(осенний семестр)"
    rows = [["ФИО", "ИИН", "Образовательная программа", "Всего кредитов ECTS", group,
             "", "", ""],
            ["", "", "", "", "код", "название (рус)", "кредиты ECTS", "оценка"],
            ["Асель Нурланова", IINS[0], "ИС", "5", "ИС101", "Программирование", "5",
             "зачтено"]]
    result = _read(tmp_path / "q.csv", rows, "transcript", "platonus")
    problem = only(result, "two-row-header")
    assert (problem.row, problem.column) == (2, "#5")
    assert problem.message.startswith(
        f"the mapping reads 'код' neither alone nor under the group {group!r} (written in "
        "row 1 over columns 5-8), nor any name joined with that group's")
    assert len(result.problems) == 1 and result.records == []


def test_a_merged_group_name_the_mapping_does_not_read_is_named(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "q.xlsx", [
        ["ФИО", "ИИН", "Образовательная программа", "Всего кредитов ECTS",
         "Дисциплина первая", None, None, None],
        [None, None, None, None, "код", "название (рус)", "кредиты ECTS", "оценка"],
        ["Асель Нурланова", IINS[0], "ИС", "5", "ИС101", "Программирование", "5",
         "зачтено"]], merges=["A1:A2", "B1:B2", "C1:C2", "D1:D2", "E1:H1"])
    result = read_export(path, "transcript", mapping=load_mapping("platonus"))
    problem = only(result, "merged-header")
    assert (problem.row, problem.column) == (2, "E")
    assert problem.message.startswith(
        "the mapping reads 'код' neither alone nor under the group 'Дисциплина первая' "
        "(the cells E1:H1)")
