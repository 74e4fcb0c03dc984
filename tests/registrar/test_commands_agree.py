"""An export read by `senim issue` takes what `senim employment start` takes: an IIN in
groups, a year-first day, a header as Excel leaves it (tests/node/test_records_cli.py
has the employment commands' side)."""

from __future__ import annotations

from pathlib import Path

import pytest

from registrar import read_export
from registrar.formats import FormatError, check_value
from tests.registrar.helpers import DIPLOMA_HEADER, IINS, codes, diploma_row, write_csv, write_xlsx


def _grouped(iin: str, separator: str) -> str:
    return separator.join((iin[:4], iin[4:8], iin[8:]))


@pytest.mark.parametrize("separator", [" ", "-", "\u00a0", " - "])
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
