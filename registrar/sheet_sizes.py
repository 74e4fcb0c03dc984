"""Sheets that store no size, held to the registrar's limits before openpyxl opens them.

Opening a workbook, read-only openpyxl sizes every worksheet, the first and the later
ones alike (ReadOnlyWorksheet's constructor, through WorkSheetParser.parse_dimensions):
it reads each part up to its <dimension>, which Excel writes at the head, and where there
is none, on to the end of <sheetData> (or of the part), some 22 s for 2 million cells
before a word is said, even of sheets the registrar reads no more of than their first
rows (registrar.later_sheets). Some generators write no <dimension>. So each sheet
openpyxl will open (registrar.sheet_parts) is read here first: its head with expat, up
to <dimension> (openpyxl stops there too) or <sheetData>; past that its bytes are only
counted, not parsed. The sheets without a size may together hold at most MAX_SHEET_CELLS
cells and MAX_SHEET_ELEMENTS elements (registrar.sheet_xml's limits for the one sheet
read), so opening costs at most what reading one sheet of the most an export may hold
does.
"""

from __future__ import annotations

import pyexpat
import zipfile
from collections.abc import Iterable

from openpyxl.xml.constants import SHEET_MAIN_NS

from registrar.phrases import phrase
from registrar.sheet_parts import SheetPart
from registrar.sheet_xml import MAX_SHEET_CELLS, MAX_SHEET_ELEMENTS, SheetLimit

_NS = SHEET_MAIN_NS + "}"
_HEAD_CHUNK_BYTES = 4096  # the head Excel writes is some hundred bytes
_CHUNK_BYTES = 64 * 1024
# Bytes parsed for the head before a part is taken for one with no size: Excel writes
# <dimension> second, after <sheetPr>, in some hundred bytes.
MAX_HEAD_BYTES = 1024 * 1024
# What counts, in the bytes: a cell's start tag, and any start tag (every "<" but an
# end tag's "</"), which is what openpyxl's reading costs by. In a part whose first bytes
# hold a nought (UTF-16 or UTF-32, which no exporter writes) the tags are not found as
# bytes: every _BYTES_AN_ELEMENT bytes count as an element there, more than it can hold.
_CELL_TAGS = (b"<c ", b"<c>", b"<c/>")
_OVERLAP = 3  # bytes of a chunk kept for a tag cut by the next one: len(b"<c/>") - 1
_BYTES_AN_ELEMENT = 4


class _Sized(Exception):
    """The head stores the sheet's size: openpyxl reads no further."""


class _Unsized(Exception):
    """The rows begin with no size stored: the rest is counted."""


def _head(name: str, _attributes: dict[str, str]) -> None:
    if name == _NS + "dimension":
        raise _Sized
    if name == _NS + "sheetData":
        raise _Unsized


class _Counts:
    """The cells and start tags of the parts without a size read so far."""

    def __init__(self) -> None:
        self.cells = self.elements = 0

    def add(self, data: bytes, tail: bytes, ascii_tags: bool) -> None:
        """Count `data` read after `tail` (the end of the chunk before it)."""
        if not ascii_tags:
            self.elements += -(-len(data) // _BYTES_AN_ELEMENT)
            return
        window = tail + data
        self.cells += sum(window.count(tag) - tail.count(tag) for tag in _CELL_TAGS)
        self.elements += (window.count(b"<") - tail.count(b"<")) - \
            (window.count(b"</") - tail.count(b"</"))


def _too_large(sheet: str, before: _Counts, own: _Counts) -> SheetLimit | None:
    for key, counted, limit, what in (
            ("reg.xlsx.unsized_too_many_cells", before.cells + own.cells, MAX_SHEET_CELLS,
             "cells"),
            ("reg.xlsx.unsized_too_many_elements", before.elements + own.elements,
             MAX_SHEET_ELEMENTS, "XML elements")):
        if counted > limit:
            return SheetLimit(phrase(
                key, f"the sheet {sheet!r} stores no size (no <dimension>), so opening the "
                "workbook reads it to its end, and with the sheets before it that store none "
                f"it holds more than {limit} {what}, more than an export of the rows an issue "
                "may hold: open the workbook in Excel and save it again (Excel stores each "
                "sheet's size), or delete the sheet",
                sheet=sheet, max=limit))
    return None


def _check_part(archive: zipfile.ZipFile, sheet: SheetPart, counts: _Counts) -> None:
    """Add the sheet's cells and start tags to `counts` if it stores no size, and raise
    SheetLimit when they pass a limit; a sheet whose head stores its size adds none."""
    parser = pyexpat.ParserCreate(namespace_separator="}")
    parser.StartElementHandler = _head
    own = _Counts()
    parsing, ascii_tags, tail, read = True, True, b"", 0
    with archive.open(sheet.part) as source:
        while chunk := source.read(_HEAD_CHUNK_BYTES if parsing else _CHUNK_BYTES):
            if read == 0:
                ascii_tags = b"\0" not in chunk[:4]
            read += len(chunk)
            if parsing:
                try:
                    parser.Parse(chunk, False)
                except _Sized:
                    return
                # the rows begin, or the head is XML expat does not read (malformed, or
                # a multi-byte encoding but UTF-8 and UTF-16, refused by a ValueError;
                # openpyxl parses sheets with expat too, and refuses such a sheet as it
                # opens the workbook): the rest is counted all the same
                except (_Unsized, pyexpat.ExpatError, ValueError):
                    parsing = False
                else:
                    parsing = read <= MAX_HEAD_BYTES
            own.add(chunk, tail, ascii_tags)
            tail = chunk[-_OVERLAP:]
            refusal = _too_large(sheet.title, counts, own)
            if refusal is not None:
                raise refusal
    counts.cells += own.cells
    counts.elements += own.elements


def check_sheet_sizes(archive: zipfile.ZipFile, sheets: Iterable[SheetPart]) -> None:
    """Raise SheetLimit, naming the sheet, when the `sheets` storing no size hold more
    than the limits allow; read no more of them than that."""
    counts = _Counts()
    for sheet in sheets:
        _check_part(archive, sheet, counts)
