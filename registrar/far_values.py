"""Values standing past the header's last column in a workbook's first sheet, found
without building its rows that wide.

openpyxl builds each row as wide as its last cell: a row of one cell in column XFD is
16,384 cells, and a sheet of such rows cost some 6 ms a row to read (15 ms with a value
in that cell) in a file of a few bytes a row. registrar.workbook reads the rows below
the header no wider than the header, and asks here for the first value of each row past
it, which it refuses as before (reg.sheet.beyond_header). This second reading of the
sheet's XML, with expat and events only, is made only when the first one
(registrar.sheet_xml.SheetMarks.widest_below) saw a value there, and that reading held
the part to its limits already.

A value is what a cell reads as once trimmed, as the rows' own are: a number, a truth
value, an error or a date as written, and text (shared, inline, a formula's) only when
it holds more than whitespace; where a cell stands and which of its elements holds its
value are registrar.cell_places' rule, the first reading's too.
"""

from __future__ import annotations

import bisect
import pyexpat
import zipfile
from array import array
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Protocol

from openpyxl.cell.read_only import EMPTY_CELL
from openpyxl.xml.constants import SHEET_MAIN_NS

from registrar.cell_places import cell_column, holds_value, row_number

_NS = SHEET_MAIN_NS + "}"
_TEXT_KINDS = ("s", "str", "inlineStr")


class ReadCell(Protocol):
    """A read-only openpyxl cell (ReadOnlyCell, or EMPTY_CELL where a row holds none),
    as far as its value and looks are read (EMPTY_CELL's looks never are: it holds no
    value)."""

    @property
    def value(self) -> object: ...

    @property
    def number_format(self) -> str | None: ...

    @property
    def data_type(self) -> str: ...

    @property
    def font(self) -> object: ...

    @property
    def fill(self) -> object: ...

    @property
    def style_array(self) -> object: ...


class RowsOfCells(Protocol):
    """A read-only openpyxl worksheet, as far as its rows are read here."""

    def iter_rows(self, *, min_row: int, max_col: int | None = None
                  ) -> Iterator[tuple[ReadCell, ...]]: ...


def rows_below(sheet: RowsOfCells, after: int, width: int, whole: int = 0
               ) -> Iterator[tuple[int, tuple[ReadCell, ...]]]:
    """Each row of `sheet` below row `after`, numbered: the first `whole` holding a cell
    as wide as they are, and the rows between them, the rest with their cells to column
    `width` at most (openpyxl fills each row to the width asked, or to its last cell if
    none is); none for a row holding no cell (openpyxl fills in a row missing from the
    sheet too). Counted in rows holding a cell, not in rows, the window reaches a list
    however many blank rows stand above it, and costs what those rows hold: a row
    missing from the sheet is no cell wide when none is asked."""
    cells: tuple[ReadCell, ...]
    held = 0
    for number, cells in enumerate(sheet.iter_rows(min_row=after + 1), start=after + 1):
        if held == whole:
            break
        held += any(cell is not EMPTY_CELL for cell in cells)
        yield number, cells
        after = number
    for number, cells in enumerate(sheet.iter_rows(min_row=after + 1, max_col=max(1, width)),
                                   start=after + 1):
        yield number, cells if any(cell is not EMPTY_CELL for cell in cells) else ()


class FarValues:
    """Each row below the header holding a value past it, with that value's column
    (from 0)."""

    def __init__(self, rows: array[int] | None = None, columns: array[int] | None = None
                 ) -> None:
        self._rows = rows if rows is not None else array("I")
        self._columns = columns if columns is not None else array("H")

    def first(self, row: int) -> int | None:
        """The column (from 0) of row `row`'s first value past the header, or None."""
        at = bisect.bisect_left(self._rows, row)
        if at < len(self._rows) and self._rows[at] == row:
            return self._columns[at] - 1
        return None

    def add(self, row: int, column: int) -> None:
        """Row `row`'s first value past the header is in column `column` (from 1)."""
        self._rows.append(row)
        self._columns.append(column)


class _BlankStrings:
    """The shared strings holding nothing but whitespace (their runs' text, not a
    phonetic guide's), by index."""

    def __init__(self) -> None:
        self.index = -1
        self.blank: set[int] = set()
        self.parts: list[str] = []
        self.in_text = self.in_phonetic = False

    def start(self, name: str, _attributes: dict[str, str]) -> None:
        if name == _NS + "si":
            self.index += 1
            self.parts = []
        elif name == _NS + "rPh":
            self.in_phonetic = True
        elif name == _NS + "t":
            self.in_text = not self.in_phonetic

    def end(self, name: str) -> None:
        if name == _NS + "si" and not "".join(self.parts).strip():
            self.blank.add(self.index)
        elif name == _NS + "rPh":
            self.in_phonetic = False
        elif name == _NS + "t":
            self.in_text = False

    def text(self, data: str) -> None:
        if self.in_text:
            self.parts.append(data)


class _FarCells:
    """The first value past `width` of each row below `after`, as expat reads them."""

    def __init__(self, width: int, after: int, blank: set[int]) -> None:
        self.width, self.after, self.blank = width, after, blank
        self.found = FarValues()
        self.row = self.column = 0
        self.kind = "n"
        self.far = False  # the cell read is past the header, in a row yet to hold a value
        self.parts: list[str] = []  # its value's characters: <v>'s, or <is>'s <t>'s
        self.in_value = self.reading = self.in_phonetic = False
        self.said = 0  # the last row whose far value is found

    def start(self, name: str, attributes: dict[str, str]) -> None:
        if name == _NS + "row":
            self.row, self.column = row_number(self.row, attributes), 0
        elif name == _NS + "c":
            self.column = cell_column(self.row, self.column, attributes)
            self.kind = attributes.get("t", "n")
            self.far = self.row > self.after and self.column > self.width \
                and self.said != self.row
            self.parts = []
        elif name == _NS + "rPh":
            self.in_phonetic = True
        elif name in (_NS + "v", _NS + "is"):
            self.in_value = self.far and holds_value(self.kind, name[len(_NS):])
            self.reading = self.in_value and name == _NS + "v"
        elif name == _NS + "t":
            self.reading = self.in_value and not self.in_phonetic

    def data(self, data: str) -> None:
        if self.reading:
            self.parts.append(data)

    def end(self, name: str) -> None:
        if name in (_NS + "v", _NS + "is"):
            self.in_value = self.reading = False
        elif name == _NS + "t":
            self.reading = False
        elif name == _NS + "rPh":
            self.in_phonetic = False
        elif name == _NS + "c" and self.far and self._valued("".join(self.parts)):
            self.found.add(self.row, self.column)
            self.said = self.row

    def _valued(self, written: str) -> bool:
        if self.kind == "s":
            index = written.strip()
            return index != "" and not (index.isdecimal() and int(index) in self.blank)
        if self.kind in _TEXT_KINDS:
            return written.strip() != ""
        return written != ""


def far_values(path: Path, sheet: str, shared_strings: str | None, width: int,
               after: int) -> FarValues:
    """The first value past column `width` of each row below row `after`, in the part
    `sheet` of the workbook at `path` (its shared strings in `shared_strings`)."""
    with zipfile.ZipFile(path) as archive:
        blank = _BlankStrings()
        if shared_strings is not None:
            with archive.open(shared_strings) as source:
                _parse(source, blank.start, blank.end, blank.text)
        cells = _FarCells(width, after, blank.blank)
        with archive.open(sheet) as source:
            _parse(source, cells.start, cells.end, cells.data)
    return cells.found


def _parse(source: IO[bytes], start: Callable[[str, dict[str, str]], None],
           end: Callable[[str], None], text: Callable[[str], None]) -> None:
    parser = pyexpat.ParserCreate(namespace_separator="}")
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text
    parser.buffer_text = True
    parser.ParseFile(source)
