"""Which zip part holds each of a workbook's sheets, and the shared strings a few cells
name, read from the package itself rather than from openpyxl's private attributes
(`_worksheet_path`, `_get_source`, `_shared_strings`), which any 3.x release may rename.

The parts are found as openpyxl finds them, so that registrar.sheet_sizes checks the
very parts openpyxl opens: the workbook part and the shared strings by their content
type in [Content_Types].xml, the sheets as the <sheet> elements of the workbook part,
each tied by its relationship id to a target in the workbook's own relationships
(every one but a chart sheet is opened as a worksheet). registrar.workbook compares the
sheets openpyxl lists with these, by title and order, and refuses a file where they
differ; a package whose relationships openpyxl could resolve otherwise than here (an
id given twice, a sheet outside the package, more of them than the limit) is refused
before. Every part read here was first scanned by registrar.sheet_xml.check_parts: no
DTD, no token past its limit, a size within bounds.
"""

from __future__ import annotations

import contextlib
import posixpath
import pyexpat
import zipfile
from collections.abc import Callable, Collection
from dataclasses import dataclass

from openpyxl.xml.constants import (
    ARC_CONTENT_TYPES,
    ARC_WORKBOOK,
    SHARED_STRINGS,
    SHEET_MAIN_NS,
    XLSM,
    XLSX,
    XLTM,
    XLTX,
)

from registrar.phrases import phrase
from registrar.sheet_xml import MAX_XLSX_PARTS, SheetLimit

_TYPES_NS = "http://schemas.openxmlformats.org/package/2006/content-types}"
_WORKBOOK_TYPES = (XLTM, XLTX, XLSM, XLSX)  # in the order openpyxl looks for them
_RELS_NS = "http://schemas.openxmlformats.org/package/2006/relationships}"
_ID = "http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_NS = SHEET_MAIN_NS + "}"


@dataclass(frozen=True)
class SheetPart:
    """A worksheet as the workbook lists it: its title, Excel's state for it (visible,
    hidden, veryHidden) and the zip part holding its XML."""

    title: str
    state: str
    part: str


@dataclass(frozen=True)
class WorkbookParts:
    """What of a workbook's package openpyxl reads: its worksheets (chart sheets left
    out), in the order the workbook lists them, and the part of its shared strings."""

    sheets: list[SheetPart]  # worksheets only, in the workbook's order
    shared_strings: str | None  # the part, if the workbook has one


def _parse(archive: zipfile.ZipFile, part: str,
           start: Callable[[str, dict[str, str]], None],
           end: Callable[[str], None] | None = None,
           data: Callable[[str], None] | None = None) -> None:
    """Feed `part` to the handlers' events; a malformed part raises SyntaxError."""
    parser = pyexpat.ParserCreate(namespace_separator="}")
    parser.StartElementHandler = start
    if end is not None:
        parser.EndElementHandler = end
    if data is not None:  # a text's pieces joined, not split where the reader's buffer ends
        parser.CharacterDataHandler = data
        parser.buffer_text = True
    try:
        with archive.open(part) as source:
            parser.ParseFile(source)
    except pyexpat.ExpatError as exc:
        raise SyntaxError(f"{part}: {exc}") from exc


_REWRITE = "the file was made or altered by another program; open it in Excel and save it again"


def _refused(key: str, english: str, **params: str | int) -> SheetLimit:
    return SheetLimit(phrase(key, f"{english}, which Excel never writes: {_REWRITE}",
                             **params), code="malformed")


@dataclass(frozen=True)
class _Related:
    """A workbook's relationships: id -> (type, target part) of those inside the
    package, and the ids of those naming something outside it."""

    inside: dict[str, tuple[str, str]]
    external: set[str]


def _relationships(archive: zipfile.ZipFile, part: str) -> _Related:
    """The relationships of `part`, targets resolved as openpyxl resolves them: from the
    folder of the part the relationships belong to, or the package root. Where openpyxl
    would read them otherwise than this does, the workbook is refused (SheetLimit): an
    id given twice (openpyxl keeps the last, an External one too, its target as
    written), or more of them than MAX_XLSX_PARTS. Excel, LibreOffice and Google Sheets
    write neither; a file that did could have the sheets checked here be others than
    the ones openpyxl reads the rows of."""
    related = _Related({}, set())
    folder = posixpath.dirname(posixpath.dirname(part))  # "xl/_rels/x.rels" -> "xl"

    def start(name: str, attributes: dict[str, str]) -> None:
        if name != _RELS_NS + "Relationship":
            return
        key = attributes.get("Id", "")
        if key in related.inside or key in related.external:
            raise _refused("reg.xlsx.relationship_repeated", f"the workbook's part {part} "
                           f"gives the relationship id {key!r} more than once",
                           part=part, id=key)
        if len(related.inside) + len(related.external) >= MAX_XLSX_PARTS:
            raise _refused("reg.xlsx.too_many_relationships", f"the workbook's part {part} "
                           f"holds more than {MAX_XLSX_PARTS} relationships", part=part,
                           max=MAX_XLSX_PARTS)
        if attributes.get("TargetMode") == "External":
            related.external.add(key)
            return
        target = attributes.get("Target", "")
        target = target[1:] if target.startswith("/") else \
            posixpath.normpath(posixpath.join(folder, target))
        related.inside[key] = (attributes.get("Type", ""), target)

    if part in archive.NameToInfo:
        _parse(archive, part, start)
    return related


def _content_types(archive: zipfile.ZipFile) -> tuple[dict[str, str], set[str]]:
    """[Content_Types].xml's overrides (content type -> the first part of it) and its
    defaults' content types."""
    overrides: dict[str, str] = {}
    defaults: set[str] = set()

    def start(name: str, attributes: dict[str, str]) -> None:
        kind = attributes.get("ContentType", "")
        if name == _TYPES_NS + "Override":
            overrides.setdefault(kind, attributes.get("PartName", "")[1:])
        elif name == _TYPES_NS + "Default":
            defaults.add(kind)

    if ARC_CONTENT_TYPES in archive.NameToInfo:
        _parse(archive, ARC_CONTENT_TYPES, start)
    return overrides, defaults


def workbook_parts(archive: zipfile.ZipFile) -> WorkbookParts:
    """The worksheets openpyxl opens and its shared strings part; none when the package
    names no workbook part, or not one the zip holds (openpyxl's refusal says why).
    SheetLimit when its relationships could be read otherwise by openpyxl
    (_relationships) or a sheet is a file outside the package."""
    overrides, defaults = _content_types(archive)
    found = [overrides[kind] for kind in _WORKBOOK_TYPES if kind in overrides]
    workbook = found[0] if found else ARC_WORKBOOK if defaults & set(_WORKBOOK_TYPES) \
        else None
    if workbook is None or workbook not in archive.NameToInfo:
        return WorkbookParts([], None)
    folder, name = posixpath.split(workbook)
    related = _relationships(archive, posixpath.join(folder, "_rels", name + ".rels"))
    sheets: list[SheetPart] = []

    def start(element: str, attributes: dict[str, str]) -> None:
        if element != _NS + "sheet" or len(sheets) >= MAX_XLSX_PARTS:
            return
        key = attributes.get(_ID, "")
        if key in related.external:
            raise _refused("reg.xlsx.sheet_external", f"the sheet "
                           f"{attributes.get('name', '')!r} is a file outside the workbook",
                           sheet=attributes.get("name", ""))
        kind, target = related.inside.get(key, ("", ""))
        # openpyxl passes over a sheet of no relationship, a chart sheet, and a target
        # the zip does not hold
        if "chartsheet" not in kind and target in archive.NameToInfo:
            sheets.append(SheetPart(attributes.get("name", ""),
                                    attributes.get("state", "visible"), target))

    _parse(archive, workbook, start)
    strings = overrides.get(SHARED_STRINGS)
    return WorkbookParts(sheets, strings if strings in archive.NameToInfo else None)


class _Enough(Exception):
    """The last string wanted is read."""


class _Strings:
    """The text of the shared strings whose indices are wanted (all of an <si>'s <t>,
    rich text's runs joined), read as expat reports them; the others are passed over."""

    def __init__(self, wanted: Collection[int]) -> None:
        self.wanted = wanted
        self.last = max(wanted)
        self.found: dict[int, str] = {}
        self.index = -1
        self.text: list[str] | None = None  # of the <si> being read, when it is wanted
        self.in_t = self.in_phonetic = False

    def start(self, name: str, _attributes: dict[str, str]) -> None:
        if name == _NS + "si":
            self.index += 1
            if self.index > self.last:
                raise _Enough
            self.text = [] if self.index in self.wanted else None
        elif name == _NS + "rPh":  # a phonetic reading (Japanese), which Excel never shows
            self.in_phonetic = True
        elif name == _NS + "t":
            self.in_t = True

    def end(self, name: str) -> None:
        if name == _NS + "si" and self.text is not None:
            self.found[self.index] = "".join(self.text)
            self.text = None
        elif name == _NS + "rPh":
            self.in_phonetic = False
        elif name == _NS + "t":
            self.in_t = False

    def data(self, text: str) -> None:
        if self.text is not None and self.in_t and not self.in_phonetic:
            self.text.append(text)


def shared_strings_at(archive: zipfile.ZipFile, part: str | None,
                      wanted: Collection[int]) -> dict[int, str]:
    """The shared strings at `wanted` indices (ones the part does not hold are left
    out): only those are kept, however many the part holds. check_parts bounded it."""
    if part is None or not wanted:
        return {}
    reader = _Strings(wanted)
    with contextlib.suppress(_Enough):  # the last wanted string read: the rest is not
        _parse(archive, part, reader.start, reader.end, reader.data)
    return reader.found
