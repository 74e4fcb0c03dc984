"""Text exports whose lines would be read whole however long (registrar.textfile)."""

from __future__ import annotations

from pathlib import Path

import pytest

from registrar import read_export
from registrar.textfile import MAX_BLANK_LINES, MAX_LINE_CHARS
from registrar.validate import MAX_RECORDS
from tests.registrar.helpers import DIPLOMA_HEADER, diploma_row, valid_iins


@pytest.mark.parametrize("header", [True, False])
def test_a_line_past_the_limit_is_refused_at_its_row(tmp_path: Path, header: bool) -> None:
    # before: a line was read whole before csv split it: a 600 MB file of one line
    # took 1.3 GB (csv then refused its field as larger than 131,072 characters)
    path = tmp_path / "export.csv"
    with path.open("w", encoding="utf-8") as handle:
        if header:
            handle.write(",".join(DIPLOMA_HEADER) + "\n")
        handle.write("a" * (MAX_LINE_CHARS + 1) + "\n")
    result = read_export(path, "diploma")
    assert [(p.row, p.code) for p in result.problems] == [(2 if header else 1, "too-large")]
    assert result.problems[0].said is not None
    assert result.problems[0].said.key == "reg.file.line_too_long"


@pytest.mark.parametrize("utf8_rows, cp1251_rows", [(1, 1), (20, 1), (2, 50)])
def test_a_utf8_export_with_lines_in_cp1251_says_where_the_utf8_ends(
        tmp_path: Path, utf8_rows: int, cp1251_rows: int) -> None:
    # before: "the file is not UTF-8, UTF-16 or cp1251 (it looks like binary data)" (or
    # "like mac-cyrillic") for an export that two runs, or two encodings, wrote
    iins = valid_iins(utf8_rows + cp1251_rows)
    data = (",".join(DIPLOMA_HEADER) + "\n").encode()
    for index in range(utf8_rows):
        data += (",".join(diploma_row(index)) + "\n").encode()
    for index in range(utf8_rows, utf8_rows + cp1251_rows):
        data += f"Иванов Иван,{iins[index]},Информатика,Бакалавр,2026-06-30\n".encode("cp1251")
    path = tmp_path / "export.csv"
    path.write_bytes(data)
    result = read_export(path, "diploma")
    assert [(p.code, p.said.key if p.said else None) for p in result.problems] == [
        ("encoding", "reg.encoding.utf8_until")]
    assert f"until line {utf8_rows + 2}," in result.problems[0].message


def test_a_cp1251_export_is_still_read_as_cp1251(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes((",".join(DIPLOMA_HEADER) + "\n").encode() + "\n".join(
        f'"Щукина Юлия Эдуардовна, ёж",{iin},Информатика,Бакалавр,2026-06-30'
        for iin in valid_iins(3)).encode("cp1251"))
    result = read_export(path, "diploma")
    assert result.problems == [] and result.source.encoding == "cp1251"


def test_rows_that_are_never_passed_on_still_count_to_the_limit(tmp_path: Path) -> None:
    # before: short rows (and JSON items that are no objects) each were a problem, never
    # a row the caller counted: a file of nothing else was read to its end (10 MB: 9 s)
    rows = MAX_RECORDS + 5
    path = tmp_path / "export.csv"
    path.write_text(",".join(DIPLOMA_HEADER) + "\n" + "a\n" * rows, encoding="utf-8")
    items = tmp_path / "export.json"
    items.write_text("[" + "1," * rows + "1]", encoding="utf-8")
    for export in (path, items):
        result = read_export(export, "diploma")
        assert result.problem_count == MAX_RECORDS + 1, export
        assert result.source.rows == MAX_RECORDS + 1, export


def test_blank_lines_past_the_limit_are_refused(tmp_path: Path) -> None:
    # before: read to the end of the file (20 MB of blank lines: 11 s), then "no records"
    path = tmp_path / "export.csv"
    path.write_text(",".join(DIPLOMA_HEADER) + "\n" + "\n" * (MAX_BLANK_LINES + 5),
                    encoding="utf-8")
    result = read_export(path, "diploma")
    assert [(p.row, p.code, p.said.key if p.said else None) for p in result.problems] == [
        (MAX_BLANK_LINES + 2, "too-many-rows", "reg.file.too_many_blank")]
