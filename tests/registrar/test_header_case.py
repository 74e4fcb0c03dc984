"""A header as Excel leaves it ("IIN", "Full_Name ") names its field with no mapping as
a mapped one does; two that are then one name are refused naming both."""

from __future__ import annotations

from pathlib import Path

from registrar import read_export
from tests.registrar.helpers import DIPLOMA_HEADER, IINS, codes, diploma_row, write_csv, write_xlsx


def test_a_header_in_another_case_or_with_a_trailing_space_names_its_field(
        tmp_path: Path) -> None:
    # They were unknown columns, and the fields they give "required ... has no column".
    header = ["Full_Name ", "IIN", " Programme", "QUALIFICATION", "Graduation_Date\u00a0"]
    rows = [header, diploma_row(0)]
    for path in (write_csv(tmp_path / "export.csv", rows),
                 write_xlsx(tmp_path / "export.xlsx", rows)):
        result = read_export(path, "diploma")
        assert result.problems == [], result.problems
        assert result.records[0]["iin"] == IINS[0]
        assert result.records[0]["graduation_date"] == "2026-06-30"


def test_two_headers_that_are_one_name_are_refused_naming_both(tmp_path: Path) -> None:
    rows = [[*DIPLOMA_HEADER, "IIN "], [*diploma_row(0), IINS[1]]]
    result = read_export(write_csv(tmp_path / "export.csv", rows), "diploma")
    assert codes(result) == ["duplicate-header"]
    said = result.problems[0].said
    assert result.problems[0].column == "IIN " and said is not None
    assert said.key == "reg.header.twice_as" and dict(said.items()) == {"other": "iin"}
    assert result.records == []


def test_a_header_holding_an_invisible_character_is_still_said_so(tmp_path: Path) -> None:
    rows = [["full_name", "IIN\u200b", "programme", "qualification", "graduation_date"],
            diploma_row(0)]
    result = read_export(write_csv(tmp_path / "export.csv", rows), "diploma")
    invisible = [p for p in result.problems if p.code == "unknown-column"]
    assert [p.column for p in invisible] == ["IIN\u200b"]
    assert invisible[0].said is not None and invisible[0].said.key == "reg.header.invisible"
