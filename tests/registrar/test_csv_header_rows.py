"""A CSV header split over two rows, as 1C, Platonus and school e-journals export it: a
group's name in the first cell of its span, the cells after it left empty (or the name
written in each), the second row naming each column. Read as one header when each column
has one name, the dry run naming both rows; refused by row and column (by number, as
every CSV problem names one) when a column's name is a guess (registrar.csv_header,
registrar.header_rows)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from registrar import ExportResult, load_mapping, read_export
from tests.registrar.helpers import IINS, only, preview, valid_iins, write_csv

SCHOOL = "Алматы қаласының № 12 мектеп-гимназиясы"
COURSE = ["код", "название (рус)", "кредиты ECTS", "оценка"]
STUDENT = ["Әсел Нұрланова", IINS[0], "Информационные системы", "5", "ИС101",
           "Программирование", "5", "зачтено"]


def _journal(path: Path, top: list[Any], second: list[Any], **written: Any) -> ExportResult:
    iins = valid_iins(2, "080808")
    rows = [top, second, *[["Әсел Нұрланова", iin, SCHOOL, "2026-05-25", 5, 4]
                           for iin in iins]]
    return read_export(write_csv(path, rows, **written), "attestat",
                       mapping=load_mapping("kundelik"))


def test_a_journals_group_over_an_empty_cell_is_read_as_one_header(tmp_path: Path) -> None:
    # refused before: row 2 was a student's, missing every field
    result = _journal(tmp_path / "11a.csv",
                      ["Оқушының аты-жөні", "ЖСН", "Мектеп", "Бітірген күні", "Пәндер", ""],
                      ["", "", "", "", "Алгебра", "Физика"])
    assert result.problems == [], result.problems
    assert [r["subject.physics"] for r in result.records] == ["4", "4"]
    assert (result.source.header_top, result.source.header_row) == (1, 2)
    shown = preview(result)
    assert ("header on rows 1-2: one header split over two rows, a group's name in row 1 "
            "standing over the empty cells after it (or written in each)") in shown
    assert "row 3:" in shown and "row 4:" in shown


def test_a_group_name_written_in_each_of_its_cells_is_one_group(tmp_path: Path) -> None:
    result = _journal(tmp_path / "r.csv",
                      ["Оқушының аты-жөні", "ЖСН", "Мектеп", "Бітірген күні", "Пәндер",
                       "Пәндер"], ["", "", "", "", "Алгебра", "Физика"])
    assert result.problems == [], result.problems
    assert result.records[0]["subject.algebra"] == "5"


def test_a_platonus_course_group_is_read_as_its_pattern(tmp_path: Path) -> None:
    top = ["ФИО", "ИИН", "Образовательная программа", "Всего кредитов ECTS",
           "Дисциплина 1", "", "", ""]
    path = write_csv(tmp_path / "t.csv", [top, ["", "", "", "", *COURSE], STUDENT])
    result = read_export(path, "transcript", mapping=load_mapping("platonus"))
    assert result.problems == [], result.problems
    assert result.records[0]["course.01"] == (
        '{"code":"ИС101","credits":"5","grade":"pass","title_ru":"Программирование"}')


def test_a_messy_russian_excel_export_is_read(tmp_path: Path) -> None:
    # What Russian-locale Excel and 1C save: a byte-order mark, ';', CRLF, title lines
    # with the rest of their cells empty, the group row, the names, and the used range's
    # empty columns after the last; and the same as cp1251, without the mark.
    width = 10
    rows: list[list[str]] = [
        ["Выпуск 2026", *[""] * (width - 1)],
        ["Кафедра: Информационные системы", *[""] * (width - 1)],
        ["ФИО", "ИИН", "Образовательная программа", "Всего кредитов ECTS",
         "Дисциплина 1", "", "", "", "", ""],
        ["", "", "", "", *COURSE, "", ""],
        [*STUDENT, "", ""],
        ["Нурлан Абенов", IINS[1], "Информационные системы", "5", "ИС102", "Базы данных",
         "5", "зачтено", "", ""]]
    for encoding in ("utf-8-sig", "cp1251"):
        if encoding == "cp1251":
            rows[4][0] = "Асель Нурланова"  # cp1251 holds no Kazakh letters
        path = tmp_path / f"{encoding}.csv"
        with path.open("w", encoding=encoding, newline="") as handle:
            for row in rows:
                handle.write(";".join(row) + "\r\n")
        result = read_export(path, "transcript", mapping=load_mapping("platonus"))
        assert result.problems == [], (encoding, result.problems)
        source = result.source
        assert (source.encoding, source.delimiter) == (encoding, ";")
        assert (source.header_top, source.header_row) == (3, 4)
        assert source.titles == ((1, "Выпуск 2026"), (2, "Кафедра: Информационные системы"))
        assert [r["full_name"] for r in result.records] == [rows[4][0], "Нурлан Абенов"]
        assert result.records[1]["course.01"] == (
            '{"code":"ИС102","credits":"5","grade":"pass","title_ru":"Базы данных"}')
        shown = preview(result)
        # the header's first row, not the one find_header found by its names
        assert "header on row 3; read past 2 title rows above it" in shown
        assert "header on rows 3-4: one header split over two rows" in shown


def test_a_group_row_that_is_no_title_is_the_headers_first_row(tmp_path: Path) -> None:
    # three groups, none over the IIN or a date, read as no title: the file was read
    # from row 1 ("row 2 looks like the header, but row 1 above it is no title")
    path = write_csv(tmp_path / "g.csv", [
        ["Жеке деректер", "", "Оқу", "", "Құжат", ""],
        ["Аты-жөні", "ЖСН", "Білім беру бағдарламасы", "Біліктілік", "Үздік",
         "Бітірген күні"],
        ["Әсел Нұрланова", IINS[0], "ИС", "Бакалавр", "", "2026-06-30"]])
    result = read_export(path, "diploma", mapping=load_mapping("platonus"))
    assert result.problems == [], result.problems
    assert (result.source.header_top, result.source.unread_header) == (1, None)
    assert "looks like the header" not in preview(result)


def test_a_known_name_over_an_empty_cell_above_the_header_stands_down(
        tmp_path: Path) -> None:
    # the header found by its names is row 2; "Оқушының аты-жөні" names column 1 from
    # row 1, as a name merged down both rows does in a workbook
    result = _journal(tmp_path / "d.csv",
                      ["Оқушының аты-жөні", "Мектеп туралы", "", "", "Пәндер", ""],
                      ["", "ЖСН", "Мектеп", "Бітірген күні", "Алгебра", "Физика"])
    assert result.problems == [], result.problems
    assert result.source.header_top == 1


def test_a_title_over_the_cells_after_it_stays_a_title(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "t.csv", [
        ["Список выпускников 2026", "", "", "", ""],
        ["full_name", "iin", "programme", "qualification", "graduation_date"],
        ["Әсел Нұрланова", IINS[0], "ИС", "Бакалавр", "2026-06-30"]])
    result = read_export(path, "diploma")
    assert result.problems == [], result.problems
    assert (result.source.header_top, result.source.titles) == (
        None, ((1, "Список выпускников 2026"),))


def test_a_column_named_in_both_rows_is_refused_by_row_and_number(tmp_path: Path) -> None:
    rows: list[list[Any]] = [
        ["full_name", "", "", "", "Бітіру", "Құжат", ""],
        ["", "iin", "programme", "qualification", "graduation_date", "honours",
         "diploma_number"],
        ["Әсел Нұрланова", IINS[0], "ИС", "Бакалавр", "2026-06-30", "", "Д-1"]]
    result = read_export(write_csv(tmp_path / "t.csv", rows), "diploma")
    problem = only(result, "two-row-header")
    assert (problem.row, problem.column) == (1, "#5")
    assert problem.message.startswith(
        "column 5 has a name in row 1 ('Бітіру') and another in row 2 ('graduation_date'), "
        "and rows 1 and 2 are one header by the group names in row 1")
    assert len(result.problems) == 1 and result.records == []


def test_a_group_column_left_unnamed_is_refused(tmp_path: Path) -> None:
    result = _journal(tmp_path / "u.csv",
                      ["Оқушының аты-жөні", "ЖСН", "Мектеп", "Бітірген күні", "Пәндер",
                       "Пәндер", "Пәндер"], ["", "", "", "", "Алгебра", "", "Физика"])
    problem = only(result, "two-row-header")
    assert (problem.row, problem.column) == (2, "#6")
    assert problem.message.startswith("column 6 stands under 'Пәндер' (written in row 1 "
                                      "over columns 5-7) but has no name in row 2")


def test_a_name_the_mapping_reads_alone_and_under_its_group_is_refused(
        tmp_path: Path) -> None:
    mapping = tmp_path / "m.toml"
    mapping.write_text('name = "m"\n[columns]\n"ФИО" = "full_name"\n"ИИН" = "iin"\n'
                       '"Образовательная программа" = "programme"\n"Код" = "course1_code"\n'
                       '[patterns]\n"Дисциплина {n}: Код" = "course{n}_code"\n',
                       encoding="utf-8")
    path = write_csv(tmp_path / "t.csv", [
        ["ФИО", "ИИН", "Образовательная программа", "Дисциплина 2", ""],
        ["", "", "", "Код", "оценка"], [*STUDENT[:3], "ИС101", "5"]])
    problem = only(read_export(path, "transcript", mapping=load_mapping(str(mapping))),
                   "two-row-header")
    assert (problem.row, problem.column) == (2, "#4")
    assert problem.message.startswith("'Код' under 'Дисциплина 2' names two columns the "
                                      "mapping reads, 'Код' and 'Дисциплина 2: Код'")


def test_three_rows_tied_are_refused(tmp_path: Path) -> None:
    # row 2, the header found by its names, is tied to row 1 by the name over its empty
    # first cell, and to row 3 by its group "Пәндер"; row 1 holds three values, as no
    # label-and-value title does
    iin = valid_iins(1, "080808")[0]
    path = write_csv(tmp_path / "3.csv", [
        ["Оқушының аты-жөні", "Мектеп туралы", "", "", "", "Ескерту"],
        ["", "ЖСН", "Мектеп", "Бітірген күні", "Пәндер", ""],
        ["", "", "", "", "Алгебра", "Физика"],
        ["Әсел Нұрланова", iin, SCHOOL, "2026-05-25", "5", "4"]])
    problem = only(read_export(path, "attestat", mapping=load_mapping("kundelik")),
                   "two-row-header")
    assert (problem.row, problem.column) == (2, "#1")
    assert problem.message.startswith("rows 1, 2 and 3 each hold part of one header")


def test_a_refused_headers_rows_are_not_named_as_titles(tmp_path: Path) -> None:
    # the dry run said "read past 1 title row above it: row 1: Аты-жөні | Оқу | Күні"
    # beside the refusal saying that rows 1 and 2 are one header
    path = write_csv(tmp_path / "t.csv", [
        ["Аты-жөні", "", "Оқу", "", "Күні"],
        ["", "ЖСН", "Білім беру бағдарламасы", "Біліктілік", "Бітірген күні"],
        ["Әсел Нұрланова", IINS[0], "ИС", "Бакалавр", "2026-06-30"]])
    result = read_export(path, "diploma", mapping=load_mapping("platonus"))
    assert (only(result, "two-row-header").row, result.source.titles) == (1, ())
    assert "title row" not in preview(result)
