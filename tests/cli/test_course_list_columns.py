"""`senim recognise --courses` matches its columns as `senim issue` matches an export's
headers: trimmed and in any case ("From_Code " is from_code; it was an unknown column),
and two that are then one name are refused naming both (CSV kept one of two silently)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli.record_inputs import recognised_lines


def test_a_column_in_another_case_or_with_spaces_is_its_part(tmp_path: Path) -> None:
    path = tmp_path / "courses.csv"
    path.write_text("From_Code;FROM_FIELD ; As_Code;Credits\nCS101;course.01;INF1;5\n",
                    "utf-8")
    assert recognised_lines(path) == [{"from_code": "CS101", "from_field": "course.01",
                                       "as_code": "INF1", "credits": "5"}]
    path = tmp_path / "courses.json"
    path.write_text(json.dumps([{"From_Code": "CS101", "As_Code": "INF1", "Credits": 5}]))
    assert recognised_lines(path) == [{"from_code": "CS101", "as_code": "INF1",
                                       "credits": "5"}]


@pytest.mark.parametrize("name, text", [
    ("courses.csv", "from_code;as_code;credits;From_Code\nCS101;INF1;5;CS102\n"),
    ("courses.csv", "from_code;as_code;credits;from_code\nCS101;INF1;5;CS102\n"),
    ("courses.json", '[{"from_code": "CS101", "as_code": "INF1", "credits": 5, '
                     '"FROM_CODE ": "CS102"}]')])
def test_two_columns_of_one_name_are_refused_naming_both(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, text: str) -> None:
    path = tmp_path / name
    path.write_text(text, "utf-8")
    with pytest.raises(SystemExit):
        recognised_lines(path)
    said = capsys.readouterr().err
    assert "the columns 'from_code' and '" in said and "are one name" in said, said


def test_an_unknown_column_is_named_as_written(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "courses.csv"
    path.write_text("From_Code;as_code;credits;Teacher\nCS101;INF1;5;Иванов\n", "utf-8")
    with pytest.raises(SystemExit):
        recognised_lines(path)
    assert "unknown columns ['Teacher']" in capsys.readouterr().err
