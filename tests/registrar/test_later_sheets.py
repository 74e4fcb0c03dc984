"""A later sheet is looked at for the list a cover page stands before (registrar.
cover_page), with a bound (registrar.later_sheets): openpyxl built a row of any width
whole, and followed rows all numbered 1 to the end of the part, so a sheet of one wide
row or of endless rows 1 behind a 500 KB workbook's cover ended in a MemoryError after
minutes. Past the bound a sheet holds no list. One IIN on a later sheet (a curator's) is
no list either, and the later sheets are not read at all when the first sheet's header
names a column the schema knows."""

from __future__ import annotations

import time
import zipfile
from collections.abc import Iterable
from pathlib import Path

import pytest

import registrar.workbook
from registrar import read_export
from registrar.later_sheets import (
    MAX_LATER_BYTES,
    MAX_LATER_CELLS,
    MAX_LATER_ELEMENTS,
    first_rows,
)
from tests.registrar.helpers import IINS, codes
from tests.registrar.test_first_sheet import STUDENTS, workbook

COMMISSION: list[list[str | int | None]] = [
    ["Бұйрық № 123, 30.06.2026"], ["Должность", "Ф.И.О.", "ИИН"],
    ["Председатель ГАК", "Смағұлов Әлихан", IINS[2]], ["О выпуске"]]
_HEAD = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns='
         '"http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>')
_TAIL = "</sheetData></worksheet>"


def _cell(text: str) -> str:
    return f'<c t="inlineStr"><is><t>{text}</t></is></c>'


def _with_later_sheet(tmp_path: Path, name: str, pieces: Iterable[str]) -> Path:
    """The commission's cover, and behind it a sheet whose XML is `pieces`."""
    made = workbook(tmp_path / "made.xlsx", ("Титул", COMMISSION, "visible"),
                    ("Лист2", [["x"]], "visible"))
    path = tmp_path / name
    with zipfile.ZipFile(made) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) \
            as target:
        for part in source.infolist():
            if part.filename == "xl/worksheets/sheet2.xml":
                with target.open(part.filename, "w") as written:
                    for piece in pieces:
                        written.write(piece.encode())
            else:
                target.writestr(part, source.read(part))
    return path


def _students() -> str:
    return "".join(f"<row>{_cell('Нұрланова Әсел')}{_cell(iin)}</row>" for iin in IINS[:2])


def test_a_later_sheet_is_read_no_further_than_its_first_rows(tmp_path: Path) -> None:
    # The class of two is there, but after 24 rows all numbered 1: past the rows looked
    # at, as openpyxl read on to the end of the part
    ones = '<row r="1">' + _cell("x") + "</row>"
    path = _with_later_sheet(tmp_path, "r1.xlsx", [_HEAD, ones * 24, _students(), _TAIL])
    found = codes(read_export(path, "diploma"))
    assert "unknown-column" in found and "no-header" not in found, found
    # within the rows looked at, it is the list the cover stands before
    path = _with_later_sheet(tmp_path, "r1_few.xlsx", [_HEAD, ones * 3, _students(), _TAIL])
    assert codes(read_export(path, "diploma"))[0] == "no-header"


def test_a_later_sheet_of_more_cells_than_a_list_holds_no_list(tmp_path: Path) -> None:
    wide = "<row>" + _cell("x") * MAX_LATER_CELLS + "</row>"
    path = _with_later_sheet(tmp_path, "wide.xlsx", [_HEAD, wide, _students(), _TAIL])
    found = codes(read_export(path, "diploma"))
    assert "unknown-column" in found and "no-header" not in found, found


def test_one_iin_on_a_later_sheet_is_no_list(tmp_path: Path) -> None:
    curator = [["Куратор", "Смағұлов Әлихан", IINS[1]]]
    path = workbook(tmp_path / "curator.xlsx", ("Титул", COMMISSION, "visible"),
                    ("Куратор", curator, "visible"))
    found = codes(read_export(path, "diploma"))
    assert "unknown-column" in found and "no-header" not in found, found
    # two IIN rows with no header are a list, as a header of known columns is
    for later in ([*curator, ["Студент", "Нұрланова Әсел", IINS[0]]], STUDENTS):
        path = workbook(tmp_path / "list.xlsx", ("Титул", COMMISSION, "visible"),
                        ("Тізім", later, "visible"))
        assert codes(read_export(path, "diploma"))[0] == "no-header"


def test_no_later_sheet_is_read_behind_a_header_of_known_columns(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    read: list[object] = []

    def spied(*given: object) -> list[list[str]]:
        read.append(given)
        return []

    monkeypatch.setattr(registrar.workbook, "first_rows", spied)
    one = [STUDENTS[0], STUDENTS[1]]
    path = workbook(tmp_path / "one.xlsx", ("Лист1", one, "visible"),
                    ("Лист2", STUDENTS, "visible"))
    assert read_export(path, "diploma").problems == []
    assert read == []
    path = workbook(tmp_path / "cover.xlsx", ("Титул", COMMISSION, "visible"),
                    ("Лист2", STUDENTS, "visible"))
    read_export(path, "diploma")
    assert len(read) == 1


class _Endless:
    """A sheet's XML that never ends: `head`, then `piece` again and again; counts the
    bytes read of it."""

    def __init__(self, head: str, piece: str) -> None:
        self.head, self.piece = head.encode(), piece.encode() * 1000
        self.read_bytes = 0

    def read(self, size: int = -1) -> bytes:
        chunk = self.head if self.read_bytes == 0 else self.piece
        self.read_bytes += len(chunk)
        return chunk


@pytest.mark.parametrize("head, piece", [
    (_HEAD + "<row>", _cell("x")),  # one endless row
    (_HEAD + '<row><c t="inlineStr"><is><t>', "x" * 64),  # one endless cell
    (_HEAD + "<row>", "<!-- a comment -->"),  # nothing but comments
])
def test_an_endless_sheet_is_read_within_the_bound(head: str, piece: str) -> None:
    source = _Endless(head, piece)
    assert first_rows(source, str) == []  # type: ignore[arg-type]
    assert source.read_bytes <= MAX_LATER_BYTES + len(source.piece), source.read_bytes


@pytest.mark.parametrize("head, piece", [
    (_HEAD.removesuffix("<sheetData>"), "<x/>"),  # before the rows
    (_HEAD + "<row>", "<f/>"),  # in a row, but no cell
])
def test_a_sheet_of_empty_elements_is_read_within_the_bound(head: str, piece: str) -> None:
    """Every element costs a call into Python, a cell or not: 2 MiB of them, read to
    the bytes' bound, took a second a sheet."""
    source = _Endless(head, piece)
    cpu = time.thread_time()
    assert first_rows(source, str) == []  # type: ignore[arg-type]
    cpu = time.thread_time() - cpu
    # the elements' bound and the chunk read when it was passed, not the bytes' bound
    within = len(head) + MAX_LATER_ELEMENTS * len(piece) + len(source.piece)
    assert within < MAX_LATER_BYTES // 4
    assert source.read_bytes <= within, source.read_bytes
    # CPU, which another process's load changes far less than wall time: measured about
    # 0.15 s, and 1 s before the elements were bounded
    assert cpu < 0.6, cpu
