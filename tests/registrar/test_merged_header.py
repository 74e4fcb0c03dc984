"""A workbook header of more than one cell (merged cells) is named once, at the header,
in the registrar's words, instead of a problem at every row under it. A header of two
rows tied by merged cells is read, or refused, by registrar.header_rows
(tests/registrar/test_header_rows.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from registrar import load_mapping, read_export
from tests.registrar.helpers import DIPLOMA_HEADER, IINS, diploma_row, only, write_xlsx

SCHOOL = "Алматы қаласының № 12 мектеп-гимназиясы"


def test_a_group_name_merged_across_named_columns_is_named_at_the_header(
        tmp_path: Path) -> None:
    header = ["Оқушының аты-жөні", "ЖСН", "Бағалар", None, "Мектеп", "Бітірген күні"]
    path = write_xlsx(tmp_path / "g.xlsx", [
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
    path = write_xlsx(tmp_path / "w.xlsx", rows, ["E1:G1"])
    problem = only(read_export(path, "diploma"), "merged-header")
    assert (problem.row, problem.column) == (1, "graduation_date")
    assert problem.message.startswith("the header cell is merged over E1:G1, so columns F-G "
                                      "have no names of their own")
    assert problem.message.endswith("(row 3 holds a value under it, in column G)")
    # merged across for width alone, with nothing under it: read as before
    rows[2][-1] = None
    result = read_export(write_xlsx(tmp_path / "v.xlsx", rows, ["E1:G1"]), "diploma")
    assert result.problems == [] and len(result.records) == 2


def test_a_header_merged_down_over_an_empty_row_reads_as_before(tmp_path: Path) -> None:
    rows: list[list[Any]] = [DIPLOMA_HEADER, [None] * 5, diploma_row(0), diploma_row(1)]
    path = write_xlsx(tmp_path / "d.xlsx", rows, [f"{c}1:{c}2" for c in "ABCDE"])
    result = read_export(path, "diploma")
    assert result.problems == [] and [r["iin"] for r in result.records] == IINS[:2]
