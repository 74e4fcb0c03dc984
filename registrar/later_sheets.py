"""The first rows of a workbook's later sheets, read with a bound, for the list a cover
page stands before (registrar.cover_page.later_sheet_holds_people).

openpyxl builds a whole row however wide before handing it on, and reads a part's rows
as they come, however many say they are row 1: a later sheet of one row of two million
cells, or of two million rows numbered 1, cost minutes and ended in a MemoryError. Only
a few rows of a later sheet are looked at, so it is read here with expat, events only, as
the first sheet's marks are (registrar.sheet_xml: no DTD, a token at most
MAX_XML_TOKEN_BYTES), stopping after LATER_ROWS_LOOKED rows, and holding no list when
it is larger than anything those rows of a list could be: more than MAX_LATER_CELLS
cells, MAX_LATER_ELEMENTS elements of any name or MAX_LATER_BYTES bytes of XML read
before them. Every element costs a call into Python, so the elements are bounded, not
only the cells: 2 MiB of empty elements (`<x/>`) before or inside the rows took a
second a sheet.
"""

from __future__ import annotations

import pyexpat
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import IO

from openpyxl.xml.constants import SHEET_MAIN_NS

from registrar.cover_page import LATER_ROWS_LOOKED

# A list's first LATER_ROWS_LOOKED rows hold some tens of cells each; a sheet whose rows
# looked at hold more is no list exported by a records system.
MAX_LATER_CELLS = 4096
# Elements of any name read at most, the header's (columns, views) and the rows' own: a
# cell of those rows is at most some ten (rich text's runs and their fonts), so a list's
# fall far below this.
MAX_LATER_ELEMENTS = 65_536
# Bytes of a later sheet's XML read at most, its header part included (column widths,
# views): Excel writes those rows in some tens of kilobytes.
MAX_LATER_BYTES = 2 * 1024 * 1024
MAX_XML_TOKEN_BYTES = 1024 * 1024  # as registrar.sheet_xml: one tag, fed again and again
_CHUNK_BYTES = 64 * 1024
_NS = SHEET_MAIN_NS + "}"


@dataclass(frozen=True)
class SharedString:
    """A cell naming the workbook's shared string at `index`: looked up once the sheets
    looked at are read, in one pass over the shared strings (registrar.sheet_parts)."""

    index: int


Cell = str | SharedString


class _Done(Exception):
    """The rows looked at are read: parsing stops."""


class _PastLimit(Exception):
    """The sheet is larger than the rows looked at of a list could be: no list."""


class _FirstRows:
    """Each cell of a sheet's first LATER_ROWS_LOOKED rows, as expat reads them: a shared
    string's index, inline strings and values as written, numbers as `number_text` says
    them."""

    def __init__(self, number_text: Callable[[str], str]) -> None:
        self.number_text = number_text
        self.rows: list[list[Cell]] = []
        self.cells = 0
        self.elements = 0
        self.kind = "n"
        self.text: list[str] | None = None  # the characters of a <v> or <t> being read
        self.value = ""

    def start(self, name: str, attributes: dict[str, str]) -> None:
        self.elements += 1
        if self.elements > MAX_LATER_ELEMENTS:
            raise _PastLimit
        local = name[len(_NS):] if name.startswith(_NS) else ""
        if local == "row":
            if len(self.rows) == LATER_ROWS_LOOKED:
                raise _Done
            self.rows.append([])
        elif local == "c" and self.rows:
            self.cells += 1
            if self.cells > MAX_LATER_CELLS:
                raise _PastLimit
            self.kind, self.value = attributes.get("t", "n"), ""
        elif local in ("v", "t") and self.rows:
            self.text = []

    def text_data(self, data: str) -> None:
        if self.text is not None:
            self.text.append(data)

    def end(self, name: str) -> None:
        local = name[len(_NS):] if name.startswith(_NS) else ""
        if local in ("v", "t") and self.text is not None:
            self.value += "".join(self.text)
            self.text = None
        elif local == "c" and self.rows:
            self.rows[-1].append(self._cell_text())
        elif local == "sheetData":
            raise _Done

    def _cell_text(self) -> Cell:
        if self.kind == "s":
            try:
                return SharedString(int(self.value))
            except ValueError:
                return ""
        if self.kind == "n" and self.value:
            return self.number_text(self.value)
        return self.value


def first_rows(source: IO[bytes], number_text: Callable[[str], str]) -> list[list[Cell]]:
    """The first LATER_ROWS_LOOKED rows of the sheet read from `source`, each cell as
    text or a shared string's index; none for a sheet past MAX_LATER_CELLS,
    MAX_LATER_ELEMENTS or MAX_LATER_BYTES before them, one declaring a DTD, or one that
    is no well-formed XML."""
    reader = _FirstRows(number_text)
    parser = pyexpat.ParserCreate(namespace_separator="}")

    def doctype(*_: object) -> None:
        raise _PastLimit

    parser.StartDoctypeDeclHandler = doctype
    parser.StartElementHandler = reader.start
    parser.EndElementHandler = reader.end
    parser.CharacterDataHandler = reader.text_data
    parser.buffer_text = True
    fed = 0
    try:
        while chunk := source.read(_CHUNK_BYTES):
            fed += len(chunk)
            if fed > MAX_LATER_BYTES:
                return []
            parser.Parse(chunk, False)
            if fed - parser.CurrentByteIndex > MAX_XML_TOKEN_BYTES:
                return []
        parser.Parse(b"", True)
    except _Done:
        pass
    except (_PastLimit, pyexpat.ExpatError):
        return []
    return reader.rows


def shared_indices(sheets: Iterable[list[list[Cell]]]) -> set[int]:
    """The shared strings the cells of `sheets` name."""
    return {cell.index for rows in sheets for row in rows for cell in row
            if isinstance(cell, SharedString)}


def as_text(rows: list[list[Cell]], strings: Mapping[int, str]) -> list[list[str]]:
    """`rows` with each shared string's text in place of its index (none, for an index
    the workbook holds no string at)."""
    return [[strings.get(cell.index, "") if isinstance(cell, SharedString) else cell
             for cell in row] for row in rows]
