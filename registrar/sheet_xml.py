"""A workbook's zip and its first sheet's XML, held to limits before and while openpyxl
reads them, so that a hostile or broken .xlsx (a zip bomb, a row numbered two billion,
merged ranges by the ten thousand, a DTD's entities) costs bounded memory and time.

openpyxl reads a part no further than the size the zip declares for it (zipfile stops
there and checks the CRC), so the declared sizes bound what unpacking can yield. The
sheet is read here once more with expat, events only (no tree kept): what read-only
openpyxl keeps of none of it (hidden rows and columns, merged cells, formulas without a
saved result) and the limits Excel itself keeps (rows 1 to 1,048,576 in order, columns
A to XFD in order, a cell's text at most 32,767 characters, no DTD).
"""

from __future__ import annotations

import bisect
import pyexpat
import zipfile
import zlib
from array import array
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from openpyxl.utils.cell import range_boundaries
from openpyxl.utils.exceptions import CellCoordinatesException
from openpyxl.xml.constants import SHEET_MAIN_NS

from registrar.cell_places import cell_column, holds_value, row_number, whole
from registrar.merge_sweep import Merge, MergeSweep
from registrar.phrases import Phrase, phrase
from registrar.rows import MAX_HEADER_COLUMNS, MAX_TITLE_ROWS

MIB = 1024 * 1024
MAX_XLSX_FILE_BYTES = 256 * MIB  # a 200,000-row export Excel saves is some 10 MiB
MAX_XLSX_PARTS = 10_000  # sheets, drawings, images...: a workbook has tens
# zipfile reads the whole central directory as it opens a zip, a ZipInfo an entry
# (some 500 bytes each): 4 MiB is some 40,000 entries
MAX_CENTRAL_DIRECTORY_BYTES = 4 * MIB
# unpacked, as the zip declares it; the 200,000 rows of five columns openpyxl writes
# (the limit of registrar.validate.MAX_RECORDS) are a 106 MiB sheet
MAX_PART_BYTES = 512 * MIB
MAX_SHARED_STRINGS_BYTES = 128 * MIB  # openpyxl keeps every shared string in memory
# some 165 bytes each there (7.3 million short ones in a 125 MiB part took 1.2 GB):
# ten a record at the most records an export may hold, in any part that holds them
MAX_SHARED_STRINGS = 2_000_000
MAX_SHARED_STRINGS_CHARS = 64 * MIB
EXCEL_CELL_CHARS = 32_767
# Excel holds no number format longer: a longer one, parsed for each cell of its style
# (registrar.cell_looks), is refused before any cell is read
EXCEL_FORMAT_CHARS = 255
MAX_SHEET_CELLS = 10_000_000  # 50 a row at the most rows an export may hold
MAX_SHEET_ELEMENTS = 40_000_000  # a cell is two or three (c, v; c, is, t)
MAX_MERGED_RANGES = 200_000
# Bytes fed past the last event expat reported: one tag, comment or instruction it must
# hold whole, and scans again from its start at each chunk fed (a 300 MB attribute in
# a 1.5 MB file ran for more than 300 s, at 1 GB). Excel's longest are some bytes.
MAX_XML_TOKEN_BYTES = MIB
_CHUNK_BYTES = 64 * 1024  # fed at a time: a token is found past its limit within this
MAX_HIDDEN_COLUMN_RANGES = 1024  # one per <col> element Excel writes
MAX_HEADER_MERGES = 4096  # merged cells kept whole, for the header (find_header)

_NS = SHEET_MAIN_NS + "}"
_SHARED_STRINGS = "xl/sharedStrings.xml"


class SheetLimit(ValueError):
    """A limit the workbook breaks; its message in English, `said` as a phrase, `code`
    the problem's: too-large, or malformed for what Excel never writes."""

    def __init__(self, said: Phrase, code: str = "too-large") -> None:
        super().__init__(said.english)
        self.said = said
        self.code = code


# What reading a sound zip's damaged part raises: a bad deflate stream (zlib.error), a
# part cut short (EOFError), a damaged method field ("compression method not supported",
# NotImplementedError), an entry flagged encrypted (RuntimeError), as a byte or two
# changed in a copy makes them. Each reached the registrar as a traceback.
DAMAGED_PART = (zlib.error, EOFError, NotImplementedError, RuntimeError)


def check_parts(path: Path) -> None:
    """Raise SheetLimit for a workbook too large to read, or a part of it holding a DTD
    (no worksheet read: sheet_marks reads the first as it is opened). A file that is no
    sound zip passes: openpyxl's own refusal says so (registrar.sniff)."""
    size = path.stat().st_size
    directory = central_directory_bytes(path)
    if directory is not None and directory > MAX_CENTRAL_DIRECTORY_BYTES:
        raise SheetLimit(phrase(
            "reg.xlsx.directory_too_large", f"the workbook's zip lists its files in "
            f"{-(-directory // MIB)} MiB, over the {MAX_CENTRAL_DIRECTORY_BYTES // MIB} MiB "
            "a workbook read here may: open it in Excel and save it again",
            size=-(-directory // MIB), max=MAX_CENTRAL_DIRECTORY_BYTES // MIB))
    if size > MAX_XLSX_FILE_BYTES:
        mib = -(-size // MIB)
        raise SheetLimit(phrase(
            "reg.xlsx.file_too_large", f"the workbook is {mib} MiB, over the "
            f"{MAX_XLSX_FILE_BYTES // MIB} MiB a workbook read here may be: split the export",
            size=mib, max=MAX_XLSX_FILE_BYTES // MIB))
    try:
        with zipfile.ZipFile(path) as archive:
            parts = archive.infolist()
            if len(parts) > MAX_XLSX_PARTS:
                raise SheetLimit(phrase(
                    "reg.xlsx.too_many_parts", f"the workbook is a zip of {len(parts)} "
                    f"files, over the {MAX_XLSX_PARTS} a workbook read here may hold: "
                    "open it in Excel and save it again", parts=len(parts),
                    max=MAX_XLSX_PARTS))
            for part in parts:
                limit = MAX_SHARED_STRINGS_BYTES if part.filename == _SHARED_STRINGS \
                    else MAX_PART_BYTES
                if part.file_size > limit:
                    size = -(-part.file_size // MIB)  # rounded up: over, never "512 of 512"
                    raise SheetLimit(phrase(
                        "reg.xlsx.part_too_large", f"the workbook's part {part.filename} "
                        f"unpacks to {size} MiB, over the {limit // MIB} MiB it may here "
                        "(no export of rows an issue may hold is that large: a damaged or "
                        "hostile file?): export it again, or split it",
                        part=part.filename, size=size, max=limit // MIB))
            strings = _SharedStrings()  # wherever [Content_Types].xml puts them
            for part in parts:
                if part.filename.endswith((".xml", ".rels")) and \
                        not part.filename.startswith("xl/worksheets/"):
                    with archive.open(part) as source:
                        _scan(source, part.filename, strings)
    except (zipfile.BadZipFile, *DAMAGED_PART):
        return



_END = b"PK\x05\x06"  # the end of central directory record (22 bytes, then a comment)
_END_MAX = 22 + 65_535
_ZIP64_LOCATOR = b"PK\x06\x07"  # 20 bytes, just before the record
_ZIP64_END = b"PK\x06\x06"  # 56 bytes, just before the locator (as zipfile reads it)


def central_directory_bytes(path: Path) -> int | None:
    """The size of `path`'s central directory as zipfile will take it (the zip64
    record's when there is one), read from the end of the file before zipfile reads
    that many bytes and makes an object of each entry; None for no zip."""
    with path.open("rb") as handle:
        end = handle.seek(0, 2)
        start = max(0, end - _END_MAX - 76)
        handle.seek(start)
        tail = handle.read()
    at = tail.rfind(_END)
    if at < 0 or len(tail) - at < 22:
        return None
    size = int.from_bytes(tail[at + 12:at + 16], "little")
    if at >= 76 and tail[at - 20:at - 16] == _ZIP64_LOCATOR and \
            tail[at - 76:at - 72] == _ZIP64_END:
        size = int.from_bytes(tail[at - 76 + 40:at - 76 + 48], "little")
    return size


def _no_dtd(part: str) -> SheetLimit:
    return SheetLimit(phrase(
        "reg.xlsx.doctype", f"the workbook's part {part} declares a DTD (<!DOCTYPE>), which "
        "Excel never writes (its entities can unpack to gigabytes): the file was made or "
        "altered by another program; export it again from the records system",
        part=part), "malformed")


class _SharedStrings:
    """Parts read for a DTD, counting the shared strings (and their characters) that
    openpyxl will keep in memory, and refusing a number format Excel cannot hold."""

    def __init__(self) -> None:
        self.count = self.chars = 0
        self.inside = False

    def start(self, name: str, attributes: dict[str, str]) -> None:
        if name == _NS + "si":
            self.count += 1
            self.inside = True
            if self.count > MAX_SHARED_STRINGS:
                raise _too_many_strings(f"{MAX_SHARED_STRINGS} shared strings",
                                        MAX_SHARED_STRINGS)
        elif name == _NS + "numFmt" and \
                len(attributes.get("formatCode", "")) > EXCEL_FORMAT_CHARS:
            raise SheetLimit(phrase(
                "reg.xlsx.format_too_long", f"the workbook holds a number format of more "
                f"than {EXCEL_FORMAT_CHARS} characters, which Excel cannot hold: the file was "
                "made or altered by another program; export it again from the records "
                "system", max=EXCEL_FORMAT_CHARS), "malformed")

    def end(self, name: str) -> None:
        if name == _NS + "si":
            self.inside = False

    def text(self, data: str) -> None:
        if self.inside:
            self.chars += len(data)
            if self.chars > MAX_SHARED_STRINGS_CHARS:
                raise _too_many_strings(f"{MAX_SHARED_STRINGS_CHARS} characters of shared "
                                        "strings", MAX_SHARED_STRINGS_CHARS)


def _too_many_strings(what: str, limit: int) -> SheetLimit:
    key = "reg.xlsx.too_many_strings" if limit == MAX_SHARED_STRINGS \
        else "reg.xlsx.too_many_string_chars"
    return SheetLimit(phrase(
        key, f"the workbook holds more than {what}, more than an export of the rows an "
        "issue may hold: a damaged or hostile file? Export it again, or split it",
        max=limit))


def _scan(source: IO[bytes], part: str, handler: _SharedStrings | _SheetReader) -> None:
    """Feed `part` to `handler` through expat, refusing any DTD; a malformed part raises
    SyntaxError (as ElementTree's ParseError is one)."""
    parser = pyexpat.ParserCreate(namespace_separator="}")

    def doctype(*_: object) -> None:
        raise _no_dtd(part)

    parser.StartDoctypeDeclHandler = doctype
    parser.StartElementHandler = handler.start
    parser.EndElementHandler = handler.end
    parser.CharacterDataHandler = handler.text
    parser.buffer_text = True
    fed = 0
    try:
        while chunk := source.read(_CHUNK_BYTES):
            parser.Parse(chunk, False)
            fed += len(chunk)
            if fed - parser.CurrentByteIndex > MAX_XML_TOKEN_BYTES:
                raise SheetLimit(phrase(
                    "reg.xlsx.token_too_large", f"the workbook's part {part} holds one XML "
                    f"tag or comment of more than {MAX_XML_TOKEN_BYTES // MIB} MiB, which "
                    "Excel never writes: the file was made or altered by another program; "
                    "export it again from the records system", part=part,
                    max=MAX_XML_TOKEN_BYTES // MIB), "malformed")
        parser.Parse(b"", True)
    except pyexpat.ExpatError as exc:
        raise SyntaxError(f"{part}: {exc}") from exc


@dataclass
class SheetMarks:
    hidden: set[int] = field(default_factory=set)  # row numbers
    # row -> columns (from 0) of a formula of no saved result, and of one saved
    unsaved: dict[int, list[int]] = field(default_factory=dict)
    formulas: dict[int, array[int]] = field(default_factory=dict)
    merges: list[Merge] = field(default_factory=list)
    top: list[Merge] = field(default_factory=list)  # starting at most at row 11
    # hidden columns as ranges of column numbers (from 1, as <col min max> gives them)
    hidden_columns: list[tuple[int, int]] = field(default_factory=list)
    # each row holding a value (ascending), and the column (from 1) of its last one:
    # whether any row below the header holds one past it (registrar.far_values)
    valued_rows: array[int] = field(default_factory=lambda: array("I"))
    last_valued: array[int] = field(default_factory=lambda: array("H"))
    _sweep: MergeSweep | None = None

    def widest_below(self, row: int) -> int:
        """The last column (from 1) holding a value in any row below `row`; 0 if none."""
        return max(self.last_valued[bisect.bisect_right(self.valued_rows, row):], default=0)

    def column_hidden(self, index: int) -> bool:
        """Whether the column at `index` (from 0) is hidden."""
        return any(first <= index + 1 <= last for first, last in self.hidden_columns)

    def merge(self, reference: str) -> None:
        try:
            first_column, first_row, last_column, last_row = range_boundaries(reference)
        except (CellCoordinatesException, ValueError, TypeError) as exc:
            raise ValueError(f"merged cells at {reference!r}, which is no range") from exc
        if len(self.merges) >= MAX_MERGED_RANGES:
            raise SheetLimit(phrase(
                "reg.xlsx.too_many_merges", f"the sheet has more than {MAX_MERGED_RANGES} "
                "merged ranges: unmerge its cells (select all, Merge & Center off)",
                max=MAX_MERGED_RANGES))
        found = Merge(first_column, first_row, last_column, last_row, reference)
        self.merges.append(found)
        if first_row <= MAX_TITLE_ROWS + 1 and len(self.top) < MAX_HEADER_MERGES:
            self.top.append(found)

    def merged(self, row: int, exempt: Collection[int] = ()) -> tuple[int, str] | None:
        """The first column (from 0) of row `row` that merged cells cover without being
        their first cell, and their range; None if there is none. Rows are asked in
        ascending order (as the sheet is read), each with the same `exempt` columns
        (from 0), which are passed over."""
        if self._sweep is None:
            self._sweep = MergeSweep(self.merges, exempt)
        return self._sweep.at(row)


class _SheetReader:
    """Notes a sheet's marks as expat reads it, and holds it to Excel's limits."""

    def __init__(self, marks: SheetMarks, max_columns: int) -> None:
        self.marks = marks
        self.row = self.column = 0
        self.unsaved: list[int] = []  # in the row being read
        self.formulas = array("H")  # in the row being read, holding a saved value
        self.max_columns = max_columns
        self.cells = self.elements = 0
        self.in_value = False
        self.has_formula = self.has_value = self.empty_number = False
        self.kind = "n"
        self.text_chars = 0
        self.last_valued = 0  # in the row being read

    def start(self, name: str, attributes: dict[str, str]) -> None:
        self.elements += 1
        if self.elements > MAX_SHEET_ELEMENTS:
            raise _too_much("reg.xlsx.too_many_elements", f"{MAX_SHEET_ELEMENTS} XML elements",
                            MAX_SHEET_ELEMENTS)
        self.text_chars = 0
        if not name.startswith(_NS):
            return
        local = name[len(_NS):]
        if local == "row":
            row = row_number(self.row, attributes)
            self.row, self.column, self.unsaved, self.last_valued = row, 0, [], 0
            self.formulas = array("H")
            if attributes.get("hidden") in ("1", "true") or _zero(attributes.get("ht")):
                self.marks.hidden.add(row)  # a row of no height is as unseen as a hidden one
        elif local == "c":
            self.cells += 1
            if self.cells > MAX_SHEET_CELLS:
                raise _too_much("reg.xlsx.too_many_cells", f"{MAX_SHEET_CELLS} cells",
                                MAX_SHEET_CELLS)
            self.column = cell_column(self.row, self.column, attributes)
            self.kind = attributes.get("t", "n")
            self.has_formula = self.has_value = self.empty_number = False
        elif local == "f":
            self.has_formula = True
        elif local == "is" and holds_value(self.kind, local):
            self.last_valued = self.column  # an inline string, whatever it holds
        elif local == "v":
            self.has_value = True
            self.empty_number = True  # until it shows text
            self.in_value = True
        elif local == "mergeCell":
            self.marks.merge(attributes.get("ref", ""))
        elif local == "col" and (attributes.get("hidden") in ("1", "true")
                                 or _zero(attributes.get("width"))) and \
                len(self.marks.hidden_columns) < MAX_HIDDEN_COLUMN_RANGES:
            self.marks.hidden_columns.append((whole(attributes.get("min", "0"), "column"),
                                              whole(attributes.get("max", "0"), "column")))

    def text(self, data: str) -> None:
        self.text_chars += len(data)
        if self.text_chars > EXCEL_CELL_CHARS:
            raise SheetLimit(phrase(
                "reg.xlsx.cell_too_long", f"a cell of row {self.row} holds more than "
                f"{EXCEL_CELL_CHARS} characters, more than Excel lets a cell hold: the file "
                "was not saved by Excel; export it again", row=self.row,
                max=EXCEL_CELL_CHARS), "malformed")
        if self.in_value and data:
            self.empty_number = False

    def end(self, name: str) -> None:
        self.text_chars = 0
        if name == _NS + "v":
            self.in_value = False
            if holds_value(self.kind, "v"):
                self.last_valued = self.column
        elif name == _NS + "c":
            # no result, or an empty one in a number cell (as openpyxl writes them);
            # a formula giving "" is saved as an empty text result (t="str")
            # Each column a header may span is noted, however many before it a mapping
            # reads past: a count per row let 16 such hide the one after them
            if not self.has_formula or self.column > self.max_columns:
                pass
            elif not self.has_value or (self.empty_number and self.kind == "n"):
                self.unsaved.append(self.column - 1)
            else:
                self.formulas.append(self.column - 1)
        elif name == _NS + "row":
            if self.unsaved:
                self.marks.unsaved[self.row] = self.unsaved
            if self.formulas:
                self.marks.formulas[self.row] = self.formulas
            if self.last_valued:
                self.marks.valued_rows.append(self.row)
                self.marks.last_valued.append(self.last_valued)


def _zero(size: str | None) -> bool:
    """Whether a row's height or a column's width, as the sheet states it, is nought."""
    try:
        return size is not None and float(size) == 0
    except ValueError:
        return False


def _too_much(key: str, what: str, limit: int) -> SheetLimit:
    return SheetLimit(phrase(
        key, f"the sheet holds more than {what}, more than an export of the rows an issue "
        "may hold: a damaged or hostile file? Export it again, or split it", max=limit))


def sheet_marks(source: IO[bytes], part: str,
                max_columns: int = MAX_HEADER_COLUMNS) -> SheetMarks:
    """The marks of the sheet read from `source` (its part `part`). Rows and cells may
    leave out their position (`r`): they then follow the last one, as openpyxl counts
    them. Raises ValueError for a position that is no position or out of Excel's
    order, SheetLimit (a ValueError) past a limit, SyntaxError for malformed XML.
    The formulas of each row are noted in its first `max_columns` columns, those a
    header may span (rows.header_columns): as many as the sheet's cells, at most."""
    marks = SheetMarks()
    _scan(source, part, _SheetReader(marks, max_columns))
    return marks
