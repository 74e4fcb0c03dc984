"""Merged cells in a column the mapping reads past (a row number, "№ п/п") are no problem,
as nothing of them is issued; a row of merged cells of its own that is no student's (a
signature below the list) is said as the stray row it is (registrar.merge_sweep)."""

from __future__ import annotations

from pathlib import Path

from registrar import ExportResult, read_export
from registrar.mapping import load_mapping
from tests.registrar.helpers import IINS, write_xlsx

HEADER = ["№ п/п", "ФИО", "ИИН", "Образовательная программа", "Квалификация",
          "Дата окончания"]


Row = list[str | int | None]


def rows(count: int) -> list[Row]:
    students: list[Row] = [[n + 1, f"Студент {'АБВГД'[n]}", IINS[n], "Информатика",
                            "Бакалавр", "30.06.2026"] for n in range(count)]
    return [[*HEADER], *students]


def read(path: Path) -> ExportResult:
    return read_export(path, "diploma", mapping=load_mapping("platonus"))


def test_a_row_number_merged_down_is_no_problem(tmp_path: Path) -> None:
    # before: refused, "the cell is inside the merged cells A2:A3 ... unmerge them"
    written = rows(3)
    written[2][0] = None
    result = read(write_xlsx(tmp_path / "numbers.xlsx", written, merges=["A2:A3"]))
    assert result.ok and result.count == 3, result.problems


def test_a_merge_over_a_column_read_past_and_one_read_is_said_at_the_one_read(
        tmp_path: Path) -> None:
    written = rows(3)  # B2 is covered too, after the range's first cell A2
    written[2][0] = written[2][1] = None
    result = read(write_xlsx(tmp_path / "both.xlsx", written, merges=["A2:B3"]))
    assert [(p.row, p.column, p.code) for p in result.problems] == [
        (2, "ФИО", "merged-cells"), (3, "ФИО", "merged-cells")]


def test_a_signature_merged_across_below_the_list_is_said_to_be_deleted(
        tmp_path: Path) -> None:
    # before: "the cell is inside the merged cells B6:C6 ...: unmerge them and fill in
    # every cell", for a row that should not be in the export at all
    written: list[Row] = [*rows(2), [], [], [None, "Ректор", None, None, None, None]]
    result = read(write_xlsx(tmp_path / "signed.xlsx", written, merges=["B6:C6"]))
    assert [(p.row, p.column, p.code) for p in result.problems] == [(6, None, "not-a-student")]
    said = result.problems[0].said
    assert said is not None and said.key == "reg.row.stray"


def test_a_programme_merged_down_over_students_is_still_refused(tmp_path: Path) -> None:
    written = rows(3)
    written[2][3] = None
    result = read(write_xlsx(tmp_path / "programme.xlsx", written, merges=["D2:D3"]))
    assert [(p.row, p.column, p.code) for p in result.problems] == [
        (3, "Образовательная программа", "merged-cells")]
