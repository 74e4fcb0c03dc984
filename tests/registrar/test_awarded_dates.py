"""A graduation or issue date no student's record can hold: on or before the holder's
birth, or a mistyped year far ahead (30.06.2099), is refused by row with both dates
named (registrar.record_dates.awarded_problems)."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from registrar import read_export
from registrar.record_dates import MAX_DAYS_AHEAD
from tests.registrar.helpers import DIPLOMA_HEADER, IINS, diploma_row, write_csv

TODAY = datetime.date(2026, 6, 1)  # the day the exports are read (read_export's today)


Found = tuple[int | None, str | None, str, str, dict[str, object]]


def diploma(tmp_path: Path, graduation: str, birth: str | None = None) -> list[Found]:
    header = [*DIPLOMA_HEADER, "birth_date"] if birth is not None else DIPLOMA_HEADER
    row = diploma_row(0)
    row[4] = graduation
    result = read_export(write_csv(tmp_path / "d.csv", [header, row + (
        [birth] if birth is not None else [])]), "diploma", today=TODAY)
    return [(p.row, p.column, p.code, p.said.key if p.said else "",
             dict(p.said.params) if p.said else {}) for p in result.problems]


def test_a_graduation_before_the_birth_the_iin_gives_is_refused(tmp_path: Path) -> None:
    # IINS are of people born 2005-03-15; before: issued as written
    assert IINS[0].startswith("050315")
    assert diploma(tmp_path, "30.06.1990") == [
        (2, "graduation_date", "inconsistent", "reg.dates.before_birth",
         {"day": "1990-06-30", "birth": "2005-03-15"})]


def test_a_graduation_before_the_birth_date_given_is_refused(tmp_path: Path) -> None:
    found = diploma(tmp_path, "2005-03-15", birth="2005-03-15")
    assert [(row, column, code) for row, column, code, _, _ in found] == [
        (2, "graduation_date", "inconsistent")]


def test_a_graduation_far_ahead_is_refused_and_one_within_a_year_is_not(
        tmp_path: Path) -> None:
    assert diploma(tmp_path, "30.06.2099") == [
        (2, "graduation_date", "in-future", "reg.dates.far_ahead",
         {"day": "2099-06-30", "today": TODAY.isoformat()})]
    ahead = TODAY + datetime.timedelta(days=MAX_DAYS_AHEAD)
    assert diploma(tmp_path, ahead.isoformat()) == []  # a class's documents made early
    assert [code for _, _, code, _, _ in diploma(
        tmp_path, (ahead + datetime.timedelta(days=1)).isoformat())] == ["in-future"]


@pytest.mark.parametrize("graduation", ["2026-06-30", "2023-05-25"])
def test_an_ordinary_graduation_passes(tmp_path: Path, graduation: str) -> None:
    assert diploma(tmp_path, graduation) == []
