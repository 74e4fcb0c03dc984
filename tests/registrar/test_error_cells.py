"""An Excel error and a text that reads as one: refused by cell with the same code from a
CSV as from a workbook, each said for what it is (registrar.excel_marks)."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from registrar import read_export
from tests.registrar.helpers import DIPLOMA_HEADER, diploma_row, only, write_csv, write_xlsx


def _workbook_with_text(path: Path, programme: str) -> Path:
    """A workbook whose row 3 programme is the text `programme` (a text cell, not an
    error: typed into a cell formatted as text, or written so by a program)."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in (DIPLOMA_HEADER, diploma_row(0), diploma_row(1)):
        sheet.append(row)
    cell = sheet.cell(row=3, column=3)
    cell.value, cell.data_type = programme, "s"
    workbook.save(path)
    return path


@pytest.mark.parametrize("error", ["#N/A", "#VALUE!", "#REF!"])
def test_an_excel_error_is_one_code_and_sentence_from_a_csv_and_a_workbook(
        tmp_path: Path, error: str) -> None:
    # a CSV's "#N/A" was bad-format, a workbook's excel-error: one mistake, two codes
    rows = [DIPLOMA_HEADER, diploma_row(0), diploma_row(1, programme=error)]
    found = [only(read_export(path, "diploma"), "excel-error") for path in (
        write_csv(tmp_path / "export.csv", rows, delimiter=";"),
        write_xlsx(tmp_path / "export.xlsx", rows))]
    assert {(p.row, p.column, p.message) for p in found} == {
        (3, "programme", f"the cell holds the Excel error {error}")}
    assert {p.said.key for p in found if p.said} == {"reg.sheet.excel_error"}


@pytest.mark.parametrize("text", ["#N/A", " #n/a ", "#Н/Д", "#ЗНАЧ!"])
def test_a_workbook_text_reading_as_an_error_is_refused_as_text(tmp_path: Path,
                                                                text: str) -> None:
    # A text cell "#N/A" was said to hold "the Excel error #N/A", which it does not; and
    # Russian Excel's "#Н/Д" typed as text (a workbook stores errors in English) was
    # issued as the programme.
    result = read_export(_workbook_with_text(tmp_path / "typed.xlsx", text), "diploma")
    problem = only(result, "excel-error")
    assert (problem.row, problem.column) == (3, "programme")
    assert problem.said is not None and problem.said.key == "reg.sheet.error_text"
    assert problem.message.startswith(f"the cell holds the text {text.strip()}, which is how "
                                      "Excel marks a missing or failed value")
    assert result.records == []


def test_a_text_holding_an_error_name_among_words_is_a_value(tmp_path: Path) -> None:
    path = _workbook_with_text(tmp_path / "words.xlsx", "Информатика #N/A")
    result = read_export(path, "diploma")
    assert result.problems == [] and result.records[1]["programme"] == "Информатика #N/A"


def test_a_formula_in_a_csv_is_still_bad_format(tmp_path: Path) -> None:
    rows = [DIPLOMA_HEADER, diploma_row(0, programme="=ВПР(A2;Лист2!A:B;2;0)")]
    problem = only(read_export(write_csv(tmp_path / "f.csv", rows), "diploma"), "bad-format")
    assert problem.said is not None and problem.said.key == "reg.value.formula"
