"""A hyphen other than the keyboard's (U+2010, or the no-break U+2011 Word puts in a double
surname) looks like "-": in a name it is recorded as "-", in an id kept as written and
matched as "-", as a no-break space is (registrar.plain_spaces, registrar.lookalike)."""

from __future__ import annotations

from pathlib import Path

from registrar import read_export
from registrar.plain_spaces import PlainSpaced, plain_spaces_said
from tests.registrar.helpers import DIPLOMA_HEADER, diploma_row, only, write_csv

HEADER = [*DIPLOMA_HEADER, "student_id"]


def test_a_names_other_hyphen_is_recorded_as_the_keyboards_and_said(tmp_path: Path) -> None:
    # before: "Иванова\u2011Петрова" was recorded as written, another name than the one typed
    rows = [HEADER, [*diploma_row(0, name="Иванова\u2011Петрова Анна"), "S-1"],
            [*diploma_row(1, name="Сейітов\u2010Әлиев Дәурен"), "S-2"],
            [*diploma_row(2, name="Нұрланова\u00a0Әсел"), "S-3"]]
    result = read_export(write_csv(tmp_path / "names.csv", rows), "diploma")
    assert result.ok, result.problems
    assert [record["full_name"] for record in result.records] == [
        "Иванова-Петрова Анна", "Сейітов-Әлиев Дәурен", "Нұрланова Әсел"]
    assert result.plain_spaces == (PlainSpaced("full_name", 2, 2, hyphen=True),
                                   PlainSpaced("full_name", 4, 1))
    said = plain_spaces_said(result.plain_spaces)
    assert [line.key for line in said] == ["reg.value.other_hyphens",
                                           "reg.value.no_break_spaces"]
    assert said[0].english == (
        "column 'full_name': 2 value(s) hold a hyphen other than the keyboard's (U+2010, or "
        "the no-break U+2011) (first in row 2), each recorded as the keyboard's hyphen (-)")


def test_an_ids_other_hyphen_is_kept_said_and_matched_as_a_hyphen(tmp_path: Path) -> None:
    rows = [HEADER, [*diploma_row(0), "S\u20112026"], [*diploma_row(1), "S-7"]]
    result = read_export(write_csv(tmp_path / "ids.csv", rows), "diploma")
    assert result.ok and result.records[0]["student_id"] == "S\u20112026"
    assert [line.key for line in plain_spaces_said(result.plain_spaces)] == [
        "reg.value.other_hyphens_kept"]
    rows.append([*diploma_row(2), "S-2026"])  # the same id, typed
    problem = only(read_export(write_csv(tmp_path / "twice.csv", rows), "diploma"),
                   "duplicate-student")
    assert (problem.row, problem.column) == (4, "student_id")
    assert problem.said is not None and problem.said.key == "reg.row.duplicate_lookalike"


def test_a_dash_is_no_hyphen_and_is_kept(tmp_path: Path) -> None:
    rows = [HEADER, [*diploma_row(0, programme="Физика \u2013 математика"), "S-1"]]
    result = read_export(write_csv(tmp_path / "dash.csv", rows), "diploma")
    assert result.records[0]["programme"] == "Физика \u2013 математика"
    assert result.plain_spaces == ()
