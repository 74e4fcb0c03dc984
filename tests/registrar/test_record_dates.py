"""An employment export's dates against each other and today, refused by row: a start
to come would be read as current employment by every verifier until that day."""

from __future__ import annotations

import datetime
from pathlib import Path

from registrar import read_export
from tests.registrar.helpers import IINS, codes, write_csv

HEADER = ["full_name", "iin", "position", "organisation", "start_date", "end_date"]


def _row(index: int, start: str, end: str = "") -> list[str]:
    return ["Айгерім Сәрсенова", IINS[index], "Data analyst", "Kaspi", start, end]


def test_an_employment_starting_after_today_or_ending_before_it_starts_is_refused(
        tmp_path: Path) -> None:
    today = datetime.date.today()
    tomorrow = (today + datetime.timedelta(days=1)).strftime("%d.%m.%Y")
    path = write_csv(tmp_path / "staff.csv", [
        HEADER, _row(0, "2026-09-01"), _row(1, tomorrow), _row(2, "2026-09-01", "2026-08-31"),
        _row(3, "2026-09-01", "2026-09-01"), _row(4, today.isoformat()),
        # an end to come: every verifier would read the employment as over (it was taken)
        _row(5, "2026-09-01", tomorrow), _row(6, "2026-09-01", today.isoformat())])
    result = read_export(path, "employment")
    assert codes(result) == ["in-future", "inconsistent", "in-future"], result.problems
    future, inverted, ending = result.problems
    assert (future.row, future.column) == (3, "start_date") and "after today" in future.message
    assert (inverted.row, inverted.column) == (4, "end_date")
    assert "ends before it starts (2026-09-01)" in inverted.message
    assert (ending.row, ending.column) == (7, "end_date")
    assert f"ends after today ({today.isoformat()})" in ending.message
    assert result.records == []  # a file with problems issues nothing


def test_other_types_keep_their_dates_as_they_are(tmp_path: Path) -> None:
    # a graduation after today, within a year (a class's documents made before the
    # ceremony); one past that, 2099, is a mistyped year (test_awarded_dates.py)
    ahead = datetime.date.today() + datetime.timedelta(days=200)
    path = write_csv(tmp_path / "graduates.csv", [
        ["full_name", "iin", "programme", "qualification", "graduation_date"],
        ["Әсел Нұрланова", IINS[0], "Ақпараттық жүйелер", "Бакалавр", ahead.isoformat()]])
    assert read_export(path, "diploma").problems == []


def test_a_day_before_1900_is_refused_in_every_date_column(tmp_path: Path) -> None:
    # before: 0001-01-01 and 31.12.1899 were issued as they were typed
    path = write_csv(tmp_path / "staff.csv", [
        HEADER, _row(0, "0001-01-01"), _row(1, "2020-01-01", "31.12.1899"),
        _row(2, "01.01.1900", "1900-01-02")])
    result = read_export(path, "employment")
    assert [(p.row, p.column, p.code) for p in result.problems] == [
        (2, "start_date", "bad-format"), (3, "end_date", "bad-format")], result.problems
    assert result.problems[0].said is not None
    assert result.problems[0].said.key == "reg.date.too_early"
    assert "0001-01-01 is before 1900" in result.problems[0].message
    graduates = write_csv(tmp_path / "graduates.csv", [
        ["full_name", "iin", "programme", "qualification", "graduation_date"],
        ["Әсел Нұрланова", IINS[0], "Ақпараттық жүйелер", "Бакалавр", "06.06.1024"]])
    assert codes(read_export(graduates, "diploma")) == ["bad-format"]


def test_a_current_employment_from_before_1970_is_refused_one_over_is_not(
        tmp_path: Path) -> None:
    # before: issued, and its end then refused by every node as a malformed transaction
    # (the chain counts an employment's days from 1970-01-01)
    path = write_csv(tmp_path / "staff.csv", [
        HEADER, _row(0, "1969-12-31"), _row(1, "1965-03-01", "1990-12-31"),
        _row(2, "1970-01-01")])
    result = read_export(path, "employment")
    assert [(p.row, p.column, p.code) for p in result.problems] == [
        (2, "start_date", "too-early")], result.problems
    assert "no end_date" in result.problems[0].message
