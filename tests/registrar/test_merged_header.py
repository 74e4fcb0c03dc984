"""A workbook header of more than one row or cell (merged cells) is named once, at the
header, in the registrar's words, instead of a problem at every row under it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openpyxl

from registrar import load_mapping, read_export
from tests.registrar.helpers import DIPLOMA_HEADER, IINS, diploma_row, only, valid_iins

SCHOOL = "Алматы қаласының № 12 мектеп-гимназиясы"


def _workbook(path: Path, rows: list[list[Any]], merges: list[str]) -> Path:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    for reference in merges:
        sheet.merge_cells(reference)
    workbook.save(path)
    return path


def _journal(path: Path, merges: list[str]) -> Path:
    # An e-journal's attestat list: each student column's name merged down over two rows,
    # the subjects' names in the second row under "Пәндер" merged across them.
    iins = valid_iins(2, "080808")
    return _workbook(path, [
        ["Оқушының аты-жөні", "ЖСН", "Мектеп", "Бітірген күні", "Пәндер", None],
        [None, None, None, None, "Алгебра", "Физика"],
        *[["Әсел Нұрланова", iin, SCHOOL, "2026-05-25", 5, 4] for iin in iins]], merges)


def test_a_header_of_two_rows_is_named_once_at_its_second_row(tmp_path: Path) -> None:
    path = _journal(tmp_path / "11a.xlsx", ["A1:A2", "B1:B2", "C1:C2", "D1:D2", "E1:F1"])
    result = read_export(path, "attestat", mapping=load_mapping("kundelik"))
    problem = only(result, "merged-header")
    assert (problem.row, problem.column) == (2, None)
    assert problem.message == (
        "the row is part of the header: the cells A1:A2 merge it with row 1; a header is "
        "one row: give each column its own name in row 1 and delete row 2")
    # rows 3 and 4 are not blamed: before, row 2 was read as a student (a value in a
    # column with no header, at every row)
    assert not [p for p in result.problems if p.row is not None and p.row > 2]


def test_a_group_name_merged_across_named_columns_is_named_at_the_header(
        tmp_path: Path) -> None:
    header = ["Оқушының аты-жөні", "ЖСН", "Бағалар", None, "Мектеп", "Бітірген күні"]
    path = _workbook(tmp_path / "g.xlsx", [
        header, ["Әсел Нұрланова", IINS[0], 5, 4, SCHOOL, "2026-05-25"]], ["C1:D1"])
    result = read_export(path, "attestat", mapping=load_mapping("kundelik"))
    problem = only(result, "merged-header")
    assert (problem.row, problem.column) == (1, "Бағалар")
    assert problem.message == (
        "the header cell is merged over C1:D1, so column D has no name of its own: unmerge it "
        "and give each column its own name in row 1")
    assert len(result.problems) == 1  # not "column 4 has no header", "unknown-column"...


def test_a_last_header_merged_across_is_named_when_a_row_holds_a_value_under_it(
        tmp_path: Path) -> None:
    rows = [[*DIPLOMA_HEADER, None, None], [*diploma_row(0), None, None],
            [*diploma_row(1), None, "с отличием"]]
    path = _workbook(tmp_path / "w.xlsx", rows, ["E1:G1"])
    problem = only(read_export(path, "diploma"), "merged-header")
    assert (problem.row, problem.column) == (1, "graduation_date")
    assert problem.message.startswith("the header cell is merged over E1:G1, so columns F-G "
                                      "have no names of their own")
    assert problem.message.endswith("(row 3 holds a value under it, in column G)")
    # merged across for width alone, with nothing under it: read as before
    rows[2][-1] = None
    result = read_export(_workbook(tmp_path / "v.xlsx", rows, ["E1:G1"]), "diploma")
    assert result.problems == [] and len(result.records) == 2


def test_a_header_merged_with_a_title_row_above_is_named(tmp_path: Path) -> None:
    # Row 1 holds two values (read past as a title), row 2 is the header, but the name
    # of its first column stands in row 1, merged down.
    rows: list[list[Any]] = [
        ["full_name", None, None, None, "Бітіру"],
        [None, "iin", "programme", "qualification", "graduation_date"],
        diploma_row(0)]
    path = _workbook(tmp_path / "t.xlsx", rows, ["A1:A2"])
    problem = only(read_export(path, "diploma"), "merged-header")
    assert (problem.row, problem.column) == (2, "A")
    assert problem.message.startswith("the header is row 2, but the cells A1:A2 merge it "
                                      "with row 1 above, which holds the name")


def test_a_header_merged_down_over_an_empty_row_reads_as_before(tmp_path: Path) -> None:
    rows: list[list[Any]] = [DIPLOMA_HEADER, [None] * 5, diploma_row(0), diploma_row(1)]
    path = _workbook(tmp_path / "d.xlsx", rows, [f"{c}1:{c}2" for c in "ABCDE"])
    result = read_export(path, "diploma")
    assert result.problems == [] and [r["iin"] for r in result.records] == IINS[:2]
