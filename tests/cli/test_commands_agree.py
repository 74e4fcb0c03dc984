"""An export read by `senim issue` takes what `senim employment start` takes: an IIN in
groups, a year-first day, a header as Excel leaves it (tests/node/test_records_cli.py
has the employment commands' side)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli.typed_dates import typed_date
from registrar import read_export
from registrar.formats import FormatError, check_value
from tests.registrar.helpers import DIPLOMA_HEADER, IINS, codes, diploma_row, write_csv, write_xlsx


def _grouped(iin: str, separator: str) -> str:
    return separator.join((iin[:4], iin[4:8], iin[8:]))


@pytest.mark.parametrize("separator", [" ", "-", "\u00a0", " - ", "\u2009", "\u3000"])
def test_an_iin_in_groups_is_recorded_as_twelve_digits(tmp_path: Path, separator: str) -> None:
    # It was "an IIN is 12 digits" by row, though employment start took it.
    rows = [DIPLOMA_HEADER, diploma_row(0), diploma_row(1)]
    rows[1][1] = _grouped(IINS[0], separator)
    for path in (write_csv(tmp_path / "export.csv", rows),
                 write_xlsx(tmp_path / "export.xlsx", rows)):
        result = read_export(path, "diploma")
        assert result.problems == [], result.problems
        assert [r["iin"] for r in result.records] == IINS[:2]


def test_an_iin_in_groups_is_the_same_student_as_one_written_whole(tmp_path: Path) -> None:
    rows = [DIPLOMA_HEADER, diploma_row(0), diploma_row(0)]
    rows[2][1] = _grouped(IINS[0], " ")
    result = read_export(write_csv(tmp_path / "export.csv", rows), "diploma")
    assert codes(result) == ["duplicate-student"]


@pytest.mark.parametrize("value, key", [
    (_grouped(IINS[0], ".") , "reg.iin.digits"),  # a dot is no grouping
    (_grouped(IINS[0], " ")[:-1], "reg.iin.lost_zero"),
    (_grouped(IINS[0][:-1] + str((int(IINS[0][-1]) + 1) % 10), "-"), "reg.iin.check_digit"),
])
def test_an_iin_in_groups_is_still_checked(value: str, key: str) -> None:
    with pytest.raises(FormatError) as refused:
        check_value("iin", value)
    assert refused.value.said is not None and refused.value.said.key == key


@pytest.mark.parametrize("typed", ["2024/09/01", "2024.09.01", "2024/9/1", "2024.9.1"])
def test_a_year_first_day_is_read_as_employment_start_reads_it(tmp_path: Path,
                                                               typed: str) -> None:
    # It was "a date is YYYY-MM-DD (or DD.MM.YYYY)" by row.
    rows = [DIPLOMA_HEADER, diploma_row(0)]
    rows[1][4] = typed
    result = read_export(write_csv(tmp_path / "export.csv", rows), "diploma")
    assert result.problems == [], result.problems
    assert result.records[0]["graduation_date"] == "2024-09-01"


@pytest.mark.parametrize("typed, key", [
    ("01.09.24", "reg.date.short_year"), ("2024-09-01 10:30", "reg.date.with_time"),
    ("10:30:00", "reg.date.time_only"), ("9:05", "reg.date.time_only"),
    ("2024/09/01 08:00:00", "reg.date.with_time"), ("03/04/2024", "reg.date.ambiguous"),
    ("30/06/2026", "reg.date.slashed"), ("06/30/2026", "reg.date.slashed"),
    # a system's timestamp: its zone's midnight may be the day before here
    ("2024-09-01T10:30:00.123Z", "reg.date.with_time"),
    ("2024-09-01T00:00:00Z", "reg.date.with_time"),
    ("2024-09-01T00:00:00+05:00", "reg.date.with_time"),
    ("2024/13/01", "reg.date.no_such"), ("2024.02.30", "reg.date.no_such"),
    ("24/09/01", "reg.date.format"),
    ("1024/09/01", "reg.date.too_early")])
def test_a_day_still_refused_says_why(typed: str, key: str) -> None:
    with pytest.raises(FormatError) as refused:
        check_value("date", typed)
    assert refused.value.said is not None and refused.value.said.key == key


@pytest.mark.parametrize("typed", [
    "2024-09-01", "01.09.2024", "1.9.2024", "2024/09/01", "2024.9.1", "01.09.2024 0:00:00",
    "2024-09-01 00:00", "01.09.24", "2024-09-01 10:30", "03/04/2024", "2024/13/01",
    "1024-09-01", "45536", "1 Sep 2024", "2024-9-1", "2024/09/01/", "2024-09-01T00:00:00Z",
    "2024-09-01 00:00:00.000", "2024-09-01T10:30:00-0300"])
def test_employment_start_and_an_export_take_the_same_days(typed: str) -> None:
    try:
        recorded: str | None = check_value("date", typed)
    except FormatError:
        recorded = None
    try:
        said: str | None = typed_date(typed, "--start").isoformat()
    except SystemExit:
        said = None
    assert said == recorded
