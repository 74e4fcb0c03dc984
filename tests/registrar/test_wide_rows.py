"""Rows and headers wider than what they hold: reading costs what the file holds (and
the header's columns), not rows x 16,384 (registrar/far_values.py, rows.MAX_HEADER_COLUMNS)."""

from __future__ import annotations

import time
import zipfile
from collections.abc import Sequence
from pathlib import Path

import openpyxl
import pytest

from registrar import read_export
from registrar.rows import MAX_HEADER_COLUMNS, READ_PAST_COLUMNS, header_columns
from registrar.schema import MAX_GROUP_ITEMS, load_schema
from tests.registrar.helpers import DIPLOMA_HEADER, diploma_row, write_csv, write_xlsx

SHEET = "xl/worksheets/sheet1.xml"


def with_rows(tmp_path: Path, rows: Sequence[Sequence[str | None]], extra: str = "") -> Path:
    """A workbook of the diploma header and `rows`, with the XML rows `extra` after them."""
    base = write_xlsx(tmp_path / "base.xlsx", [DIPLOMA_HEADER, *rows])
    path = tmp_path / "export.xlsx"
    with zipfile.ZipFile(base) as source, \
            zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for name in source.namelist():
            data = source.read(name)
            if name == SHEET:
                data = data.decode().replace("</sheetData>", extra + "</sheetData>").encode()
            target.writestr(name, data)
    return path


def far_rows(first: int, count: int, cell: str) -> str:
    return "".join(f'<row r="{n}">{cell.format(n=n)}</row>' for n in range(first, first + count))


def test_rows_of_one_empty_cell_in_xfd_read_in_time_of_what_they_hold(tmp_path: Path) -> None:
    # before: each such row was built 16,384 cells wide and read cell by cell, some 6 ms
    # a row (2,000 rows: 12 s of CPU); now the rows are read no wider than the header
    path = with_rows(tmp_path, [diploma_row(0), diploma_row(1)],
                     far_rows(4, 2000, '<c r="XFD{n}" s="0"/>'))
    started = time.process_time()
    result = read_export(path, "diploma")
    spent = time.process_time() - started
    assert result.ok and result.count == 2, result.problems
    assert spent < 4, spent


def test_a_value_past_the_header_is_still_refused_at_its_column(tmp_path: Path) -> None:
    started = time.process_time()
    path = with_rows(tmp_path, [diploma_row(0)], far_rows(
        3, 2000, '<c r="XFD{n}" t="inlineStr"><is><t>x</t></is></c>'))
    result = read_export(path, "diploma")
    assert time.process_time() - started < 4
    first = result.problems[0]
    assert (first.row, first.column, first.code) == (3, "XFD", "long-row")
    assert first.said is not None and first.said.key == "reg.sheet.beyond_header"
    assert result.problem_count == 2000


def test_past_the_header_whitespace_is_nothing_and_a_number_or_word_is_a_value(
        tmp_path: Path) -> None:
    # shared strings of spaces (openpyxl writes text as shared strings), an inline one,
    # and an empty number cell: as before, nothing; a number and a word: a value
    path = with_rows(tmp_path, [[*diploma_row(0), None, "  "], [*diploma_row(1), " ", None],
                                [*diploma_row(2), None, None, "word"]],
                     '<row r="5"><c r="G5" t="inlineStr"><is><t> </t></is></c>'
                     '<c r="H5"><v></v></c></row>'
                     '<row r="6"><c r="Z6"><v>7</v></c></row>')
    result = read_export(path, "diploma")
    assert [(p.row, p.column, p.code) for p in result.problems] == [
        (4, "H", "long-row"), (6, "Z", "long-row")]


def test_a_row_blank_under_the_header_with_a_value_past_it_is_refused(tmp_path: Path) -> None:
    path = with_rows(tmp_path, [diploma_row(0)],
                     '<row r="3"><c r="XFD3" t="inlineStr"><is><t>x</t></is></c></row>')
    result = read_export(path, "diploma")
    assert [(p.row, p.column, p.code) for p in result.problems] == [(3, "XFD", "long-row")]


def test_a_header_spanning_thousands_of_columns_is_refused_at_once(tmp_path: Path) -> None:
    header = DIPLOMA_HEADER + [f"c{i}" for i in range(MAX_HEADER_COLUMNS)]
    result = read_export(write_xlsx(tmp_path / "wide.xlsx", [header, diploma_row(0)]),
                         "diploma")
    assert [(p.row, p.code) for p in result.problems] == [(1, "too-large")]
    said = result.problems[0].said
    assert said is not None and said.key == "reg.header.too_wide"
    assert dict(said.params)["width"] == MAX_HEADER_COLUMNS + 5


@pytest.mark.parametrize("suffix", ["xlsx", "csv"])
def test_a_transcript_of_as_many_courses_as_a_record_holds_reads(tmp_path: Path,
                                                                   suffix: str) -> None:
    # before: a header past 1,024 columns was refused, though the transcript schema
    # allows MAX_GROUP_ITEMS course lines of 9 parts (114 courses were too many)
    parts = [part.name for part in load_schema("transcript").lines[0].parts]
    assert len(parts) == 9
    header = ["full_name", "iin", "programme", "total_credits"] + [
        f"course{n}_{part}" for n in range(1, MAX_GROUP_ITEMS + 1) for part in parts]
    row = ["Әсел Нұрланова", diploma_row(0)[1], "Ақпараттық жүйелер",
           str(MAX_GROUP_ITEMS * 5)]
    for n in range(1, MAX_GROUP_ITEMS + 1):
        row += [f"C{n:03d}", "Пән", "Дисциплина", "Subject", "1", "5", "pass", "", ""]
    write = write_xlsx if suffix == "xlsx" else write_csv
    result = read_export(write(tmp_path / f"transcript.{suffix}", [header, row]),
                         "transcript")
    assert result.problems == [] and result.count == 1
    assert len([key for key in result.records[0] if key.startswith("course")]) \
        == MAX_GROUP_ITEMS


def test_a_header_at_the_limit_is_read(tmp_path: Path) -> None:
    limit = header_columns(load_schema("diploma"))
    header = DIPLOMA_HEADER + [""] * (limit - 6) + ["note"]
    result = read_export(write_xlsx(tmp_path / "wide.xlsx", [header, diploma_row(0)]),
                         "diploma")
    assert {p.code for p in result.problems} == {"unknown-column"}


def test_a_header_wider_than_its_schema_fills_is_refused_naming_that_limit(
        tmp_path: Path) -> None:
    # each row below is filled to the header's width: before, any schema's header might
    # span MAX_HEADER_COLUMNS, and 20,000 short diploma rows under 2,500 columns cost 29 s
    limit = len(load_schema("diploma").fields) + READ_PAST_COLUMNS
    assert header_columns(load_schema("diploma")) == limit < MAX_HEADER_COLUMNS
    header = DIPLOMA_HEADER + [f"c{i}" for i in range(limit - 4)]
    result = read_export(write_xlsx(tmp_path / "wide.xlsx", [header, diploma_row(0)]),
                         "diploma")
    assert [(p.row, p.code) for p in result.problems] == [(1, "too-large")]
    said = result.problems[0].said
    assert said is not None and dict(said.params) == {"width": limit + 1, "max": limit}


@pytest.mark.parametrize("gap", [12, 150])
def test_a_list_under_a_far_title_is_judged_by_all_its_rows_hold(tmp_path: Path,
                                                                  gap: int) -> None:
    # The header is row 1, a title naming no column, and the list stands past its width,
    # under a header below where one is looked for. Its rows' IINs still make the sheet a
    # list (registrar.cover_page.PeopleRows), not a cover page to move behind the list on
    # the second sheet, as before the rows were read no wider than the header; and so
    # below a gap of more blank rows than are read whole (ROWS_JUDGED_WHOLE, counted in
    # rows holding a cell: before, in rows, and 150 blank ones hid the list)
    written: list[list[str]] = [["Список выпускников 2026"], *([] for _ in range(gap)),
                                DIPLOMA_HEADER, diploma_row(0), diploma_row(1)]
    workbook = openpyxl.Workbook()
    first = workbook.active
    assert first is not None
    for row in written:
        first.append(row)
    workbook.create_sheet("Лист2").append(DIPLOMA_HEADER)
    workbook.save(tmp_path / "titled.xlsx")
    result = read_export(tmp_path / "titled.xlsx", "diploma")
    assert "no-header" not in result.problem_codes
    assert [(p.row, p.code) for p in result.problems if p.row != 1] == [
        (gap + 2, "long-row"), (gap + 3, "long-row"), (gap + 4, "long-row")]


def test_a_title_over_thousands_of_far_values_is_read_in_time(tmp_path: Path) -> None:
    # only the first rows below such a header are read whole (cover_page.ROWS_JUDGED_WHOLE)
    base = write_xlsx(tmp_path / "base.xlsx", [["Список"]])
    path = tmp_path / "titled.xlsx"
    with zipfile.ZipFile(base) as source, \
            zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for name in source.namelist():
            data = source.read(name)
            if name == SHEET:
                data = data.decode().replace("</sheetData>", far_rows(
                    2, 2000, '<c r="XFD{n}" t="inlineStr"><is><t>x</t></is></c>')
                    + "</sheetData>").encode()
            target.writestr(name, data)
    started = time.process_time()
    result = read_export(path, "diploma")
    assert time.process_time() - started < 4
    assert result.problem_count > 2000  # each row past the header, and the header's own


@pytest.mark.parametrize("cell", ['<c r="Z2"><is><t>x</t></is></c>',
                                  '<c r="Z2" t="inlineStr"><v>x</v></c>',
                                  '<c r="Z2" t="s"><is><t>x</t></is></c>'])
def test_a_far_cell_openpyxl_reads_as_empty_is_no_value(tmp_path: Path, cell: str) -> None:
    # openpyxl reads an inline string's <is> only with t="inlineStr", and then no <v>:
    # before, such a cell past the header was refused as a value there
    path = with_rows(tmp_path, [], '<row r="2">' + "".join(
        f'<c r="{column}2" t="inlineStr"><is><t>{value}</t></is></c>'
        for column, value in zip("ABCDE", diploma_row(0), strict=True)) + cell + "</row>")
    result = read_export(path, "diploma")
    assert result.problems == [] and result.count == 1
