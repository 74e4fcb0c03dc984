"""Rows that name no student, inside the list: a header repeated on each printed page
(1C and Platonus print it so) and a totals row. Each is refused for what it lacks,
never as a student given twice."""

from __future__ import annotations

from pathlib import Path

from registrar import ExportResult, load_mapping, read_export
from tests.registrar.helpers import IINS, write_csv

HEADER = ["ФИО", "ИИН", "ID студента", "Образовательная программа", "Квалификация",
          "Дата окончания"]


def row(index: int) -> list[str]:
    return ["Әсел Нұрланова", IINS[index], f"S{index}", "Информатика", "Бакалавр",
            "30.06.2026"]


def read(path: Path, rows: list[list[str]]) -> ExportResult:
    return read_export(write_csv(path, rows), "diploma", mapping=load_mapping("platonus"))


def test_a_header_repeated_on_each_page_is_no_student_given_twice(tmp_path: Path) -> None:
    rows = [HEADER, row(0), row(1), HEADER, row(2), row(3), HEADER, row(4)]
    found = read(tmp_path / "pages.csv", rows).problems
    assert {p.code for p in found} == {"bad-format"}, found
    assert [(p.row, p.column) for p in found] == [(4, "ИИН"), (4, "Дата окончания"),
                                                  (7, "ИИН"), (7, "Дата окончания")]


def test_a_totals_row_per_group_is_no_student_given_twice(tmp_path: Path) -> None:
    totals = ["Итого", "", "Итого", "2", "", ""]  # too wide to read as a stray line
    found = read(tmp_path / "totals.csv", [HEADER, row(0), totals, row(1), totals]).problems
    assert "duplicate-student" not in {p.code for p in found}, found
    assert {p.row for p in found} == {3, 5}


def test_a_refused_row_holding_an_iin_still_finds_its_twin(tmp_path: Path) -> None:
    # The rule that leaves the rows above alone still names a student given twice when
    # the second copy has a problem of its own (its date, here).
    twin = row(0)
    twin[5] = "46203"
    found = read(tmp_path / "twin.csv", [HEADER, row(0), row(1), twin]).problems
    assert [(p.row, p.column, p.code) for p in found] == [
        (4, "Дата окончания", "bad-format"), (4, "ИИН", "duplicate-student"),
        (4, "ID студента", "duplicate-student")]
