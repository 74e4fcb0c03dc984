"""A workbook number shown with fewer decimals than it holds is refused
(registrar/cell_rounding.py): before, 3.4566 under "0.00", which Excel shows 3.46, was
issued as 3.4566, digits nobody saw."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openpyxl
import pytest

from cli.issue_words import problem_sentence
from cli.language import Words
from registrar import read_export
from registrar.cell_looks import sections
from registrar.cell_rounding import rounded_phrase
from registrar.schema import parse_schema
from tests.registrar.helpers import diploma_row
from tests.registrar.test_shown_values import GRADED, HEADER, _graded, _refused

SCORED = parse_schema({"type": "diploma", "fields": {
    **{field.name: {"format": field.format} for field in GRADED.fields},
    "score": {"format": "percent"}}}, "diploma")


def _scored(path: Path, value: Any, number_format: str) -> Path:
    """Two students; the second's score (a percent column) holds `value`."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append([*HEADER, "score"])
    sheet.append([*diploma_row(0), None, 3.5, 0.9])
    sheet.append([*diploma_row(1), None, 3.5, value])
    for row in (2, 3):
        sheet.cell(row, 8).number_format = number_format
    workbook.save(path)
    return path


@pytest.mark.parametrize(("value", "number_format", "shows", "holds"), [
    (3.4566, "0.00", "3.46", "3.4566"), (4.5, "0", "5", "4.5"),
    (3.125, "0.00", "3.13", "3.125"),  # half away from zero, not to even
    (3.4566, '0.00 "балл"', "3.46", "3.4566"), (3.4566, "#,##0.0", "3.5", "3.4566"),
    (3.456666666666667, "0.00", "3.46", "3.45666666666667")])  # an =AVERAGE pasted
def test_a_number_shown_rounded_is_refused(tmp_path: Path, value: float,
                                           number_format: str, shows: str,
                                           holds: str) -> None:
    result = read_export(_graded(tmp_path / "r.xlsx", value, number_format), "diploma",
                         schema=GRADED)
    _refused(result, "gpa", "reg.sheet.rounded")  # one problem: not "too precise" as well
    assert f"Excel shows {shows} but the cell holds {holds}," in result.problems[0].message


@pytest.mark.parametrize(("value", "number_format", "read"), [
    (3.46, "0.00", "3.46"), (3.4, "0.00", "3.4"), (3, "0", "3"), (3.0, "0", "3"),
    (3.4566, "General", "3.4566"), (3.5, "0.0;-0.0;0.0", "3.5"), (3.75, "0.00##", "3.75")])
def test_a_number_whose_digits_all_show_is_read(tmp_path: Path, value: float,
                                                number_format: str, read: str) -> None:
    result = read_export(_graded(tmp_path / "s.xlsx", value, number_format), "diploma",
                         schema=GRADED)
    assert result.problems == [] and result.count == 2
    assert result.records[1]["gpa"] == read


def test_a_formulas_digits_under_general_are_refused_once_as_too_precise(
        tmp_path: Path) -> None:
    result = read_export(_graded(tmp_path / "g.xlsx", 3.456666666666667, "General"),
                         "diploma", schema=GRADED)
    assert [(p.row, p.column) for p in result.problems] == [(3, "gpa")]
    said = result.problems[0].said
    assert said is not None and said.key == "reg.number.too_precise"


def test_a_percentage_counts_the_decimals_it_shows(tmp_path: Path) -> None:
    result = read_export(_scored(tmp_path / "p.xlsx", 0.955, "0.0%"), "diploma",
                         schema=SCORED)
    assert result.problems == [] and [r["score"] for r in result.records] == ["90", "95.5"]
    result = read_export(_scored(tmp_path / "q.xlsx", 0.9555, "0.0%"), "diploma",
                         schema=SCORED)
    _refused(result, "score", "reg.sheet.rounded")
    assert "Excel shows 95.6% but the cell holds 95.55%," in result.problems[0].message


@pytest.mark.parametrize(("language", "words"), [
    ("en", "Excel shows 3.46 but the cell holds 3.4566"),
    ("kk", "Excel 3.46 көрсетеді, бірақ ұяшықта 3.4566 сақталған"),
    ("ru", "Excel показывает 3.46, но в ячейке хранится 3.4566")])
def test_a_rounded_number_is_said_in_each_language(tmp_path: Path, language: str,
                                                   words: str) -> None:
    path = _graded(tmp_path / "r.xlsx", 3.4566, "0.00")
    problem = read_export(path, "diploma", schema=GRADED).problems[0]
    assert words in problem_sentence(problem).said(Words(language))


@pytest.mark.parametrize("number_format", [
    "[>=3]0.00;0.0", "[<3]0.0;0.00", "[Red][<3]0.0;[Blue]0.00", "[<3]0;[>=3]0.00;0",
    "[<1]0;[>5]0.0"])  # the last: 3.45 meets neither, the section not certain
def test_a_conditional_format_is_judged_by_the_section_it_shows_the_value_by(
        tmp_path: Path, number_format: str) -> None:
    result = read_export(_graded(tmp_path / "c.xlsx", 3.45, number_format), "diploma",
                         schema=GRADED)
    assert result.problems == [] and result.records[1]["gpa"] == "3.45"


@pytest.mark.parametrize(("value", "number_format", "shows", "holds"), [
    (3.456, "[<3]0.0;0.00", "3.46", "3.456"), (2.456, "[<3]0.0;0.00", "2.5", "2.456"),
    (3.4566, "[=3.4566]0.00;0.0000", "3.46", "3.4566"),
    (3.4566, "0.00E+00", "3.46E+00", "3.4566"), (3.4566, "0.0e-0", "3.5e0", "3.4566"),
    (0.0345, "0.0E+00", "3.5E-02", "0.0345"), (0.9996, "0.00E+00", "1.00E+00", "0.9996"),
    (3.4566, "0.00[]", "3.46", "3.4566"), (3.4566, "0.00[", "3.46", "3.4566"),
    (-3.4566, "0.00;(0.00)", "3.46", "-3.4566"), (-3.4566, "0.00;0.00", "3.46", "-3.4566"),
    (-3.4566, "0.00", "-3.46", "-3.4566")])  # one section: Excel adds the minus
def test_the_section_shown_is_the_one_judged_and_quoted(
        tmp_path: Path, value: float, number_format: str, shows: str, holds: str) -> None:
    result = read_export(_graded(tmp_path / "r.xlsx", value, number_format), "diploma",
                         schema=GRADED)
    _refused(result, "gpa", "reg.sheet.rounded")
    assert f"Excel shows {shows} but the cell holds {holds}," in result.problems[0].message


@pytest.mark.parametrize(("value", "number_format"), [
    (3.0, "0.00E+00"), (3.5, "0.00E+00"), (3.4566, "##0.0E+0"), (3.4566, "# ?/?")])
def test_scientific_notation_showing_every_digit_or_not_judged_is_read(
        tmp_path: Path, value: float, number_format: str) -> None:
    result = read_export(_graded(tmp_path / "e.xlsx", value, number_format), "diploma",
                         schema=GRADED)
    assert result.problems == [] and result.count == 2


def test_a_whole_number_and_elapsed_time_are_not_judged() -> None:
    assert rounded_phrase(sections("0.00E+00")[0].places, 980303000123.0, "x") is None
    assert rounded_phrase(sections("0.00E+00")[0].places, 98030300012, "x") is None
    for elapsed in ("[h]:mm", "[HH]:mm", "[mm]:ss", "[SSS]"):
        assert sections(elapsed)[0].places is None, elapsed
