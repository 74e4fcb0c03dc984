"""A CSV's header is held to the columns its schema fills, as a workbook's is
(rows.header_columns): before, a header of 1.9 million duplicate columns (3.8 MB) was
searched for and resolved column by column, for seconds of CPU, and then issued from."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cli.issue_words import problem_sentence
from cli.language import Words
from registrar import read_export, textfile
from registrar.rows import Numbered, find_header, header_columns
from registrar.schema import load_schema
from tests.registrar.helpers import DIPLOMA_HEADER, diploma_row, write_csv

LIMIT = header_columns(load_schema("diploma"))
HOSTILE_COLUMNS = 100_000  # 200 kB; some 1.5 s of CPU on main, past the limit many times


def test_a_hostile_csv_header_of_duplicate_columns_is_refused_at_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "wide.csv"
    path.write_text(",".join(["a"] * HOSTILE_COLUMNS) + "\n" + ",".join(diploma_row(0))
                    + "\n", encoding="utf-8")
    # what the header search is handed, which cost what its cells do (its speed is
    # scripts/bench's to measure, never a test's to assert)
    widths: list[int] = []

    def counted(rows: Iterator[Numbered], *rest: Any) -> Any:
        def noted() -> Iterator[Numbered]:
            for number, cells in rows:
                widths.append(len(cells))
                yield number, cells
        return find_header(noted(), *rest)

    monkeypatch.setattr(textfile, "find_header", counted)
    result = read_export(path, "diploma")
    assert [(p.row, p.column, p.code) for p in result.problems] == [(1, None, "too-large")]
    said = result.problems[0].said
    assert said is not None and said.key == "reg.header.too_wide"
    assert dict(said.params) == {"width": HOSTILE_COLUMNS, "max": LIMIT}
    assert result.records == [] and result.count == 0
    assert widths and max(widths) <= LIMIT + 1, max(widths)  # the header: one cell past


@pytest.mark.parametrize(("language", "words"), [
    ("en", f"the header spans {LIMIT + 1} columns"), ("kk", f"{LIMIT + 1} бағанды"),
    ("ru", f"занимает {LIMIT + 1} столбцов")])
def test_a_csv_header_one_past_the_limit_is_refused_in_each_language(
        tmp_path: Path, language: str, words: str) -> None:
    header = DIPLOMA_HEADER + [f"c{i}" for i in range(LIMIT - len(DIPLOMA_HEADER) + 1)]
    result = read_export(write_csv(tmp_path / "wide.csv", [header, diploma_row(0)]),
                         "diploma")
    assert [(p.row, p.code) for p in result.problems] == [(1, "too-large")]
    said = problem_sentence(result.problems[0]).said(Words(language))
    assert words in said and str(LIMIT) in said, said


def test_a_csv_header_at_the_limit_is_read_and_trailing_empty_cells_are_nothing(
        tmp_path: Path) -> None:
    header = DIPLOMA_HEADER + [""] * (LIMIT - len(DIPLOMA_HEADER) - 1) + ["note"]
    row = diploma_row(0) + [""] * (LIMIT - len(DIPLOMA_HEADER))
    result = read_export(write_csv(tmp_path / "limit.csv", [header, row]), "diploma")
    assert {p.code for p in result.problems} == {"unknown-column"}, result.problems[:3]
    # Excel's used range: empty cells far past the header, in it and in a row below
    path = tmp_path / "range.csv"
    path.write_text(",".join(DIPLOMA_HEADER) + "," * 50_000 + "\n" + ",".join(
        diploma_row(0)) + "," * 50_000 + "\n", encoding="utf-8")
    result = read_export(path, "diploma")
    assert result.problems == [] and result.count == 1


def test_a_row_wider_than_any_header_is_refused_naming_its_width(tmp_path: Path) -> None:
    # kept short as it is read, the row is still said as wide as it is, and never issued
    # because its cells past the limit were not read (the last of them holds a value)
    path = tmp_path / "long.csv"
    path.write_text(",".join(DIPLOMA_HEADER) + "\n" + ",".join(diploma_row(0))
                    + "," * (LIMIT * 3) + "x\n" + ",".join(diploma_row(1)) + "\n",
                    encoding="utf-8")
    result = read_export(path, "diploma")
    assert [(p.row, p.code) for p in result.problems] == [(2, "long-row")]
    said = result.problems[0].said
    assert said is not None and dict(said.params) == {
        "held": len(DIPLOMA_HEADER) + LIMIT * 3, "header": len(DIPLOMA_HEADER)}


def test_a_two_row_csv_header_whose_first_row_is_too_wide_is_refused(tmp_path: Path) -> None:
    names = ["Студент", ""] + [f"g{i}" for i in range(LIMIT)]
    path = write_csv(tmp_path / "two.csv", [names, ["full_name", "iin", "programme",
                                                    "qualification", "graduation_date"],
                                            diploma_row(0)])
    result = read_export(path, "diploma")
    assert "too-large" in result.problem_codes and result.count == 0
