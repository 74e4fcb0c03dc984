"""Sheets that store no size (no <dimension>, as some generators write them): read-only
openpyxl reads each whole as it opens the workbook, later sheets the registrar never
needs included (about 22 s for 2 million cells, before a word was said). They are held to
the registrar's own limits before openpyxl opens anything (registrar.sheet_sizes); one of
a sane size is still read. The sheets' parts and shared strings are found in the package
itself, not through read-only openpyxl's private attributes (registrar.sheet_parts)."""

from __future__ import annotations

import inspect
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from openpyxl.worksheet._read_only import ReadOnlyWorksheet

import registrar.sheet_parts
import registrar.sheet_sizes
import registrar.workbook
from cli.main import main
from registrar import read_export
from registrar.sheet_parts import WorkbookParts
from tests.registrar.helpers import DIPLOMA_HEADER, diploma_row
from tests.registrar.test_first_sheet import COVER, workbook

_DIMENSION = re.compile(rb"<dimension [^>]*/>")


def _unsized(tmp_path: Path, name: str, *sheets: tuple[str, list[list[str]]],
             extra: str = "") -> Path:
    """A workbook of `sheets` (all visible), none of which stores its size; `extra`
    (XML) is put into the last one's rows."""
    made = workbook(tmp_path / f"sized-{name}", *((title, rows, "visible")
                                                   for title, rows in sheets))
    path = tmp_path / name
    last = f"xl/worksheets/sheet{len(sheets)}.xml"
    with zipfile.ZipFile(made) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) \
            as target:
        for part in source.infolist():
            data = source.read(part)
            if part.filename.startswith("xl/worksheets/"):
                data, removed = _DIMENSION.subn(b"", data)
                assert removed == 1
                if part.filename == last:
                    data = data.replace(b"</sheetData>", extra.encode() + b"</sheetData>")
            target.writestr(part, data)
    return path


_STUDENTS = [DIPLOMA_HEADER, *(diploma_row(i) for i in range(3))]


def _opened(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """The workbooks openpyxl is asked to open, from now on."""
    opened: list[object] = []
    load = openpyxl.load_workbook

    def spied(path: object, **options: bool) -> object:
        opened.append(path)
        return load(path, **options)

    monkeypatch.setattr(openpyxl, "load_workbook", spied)
    return opened


def test_a_workbook_whose_sheets_store_no_size_is_still_read(tmp_path: Path) -> None:
    path = _unsized(tmp_path, "plain.xlsx", ("Түлектер", _STUDENTS), ("Анықтама", [["x"]]))
    result = read_export(path, "diploma")
    assert result.problems == [] and len(result.records) == 3


def test_unsized_sheets_past_the_cell_limit_are_refused_before_openpyxl_opens_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # before: openpyxl read every such sheet whole as it opened the workbook, the later
    # one here too, which the registrar never reads past its first rows
    later = "".join(f'<row r="{n}"><c r="A{n}"><v>{n}</v></c></row>' for n in range(2, 60))
    path = _unsized(tmp_path, "later.xlsx", ("Түлектер", _STUDENTS), ("Анықтама", [["x"]]),
                    extra=later)
    # the first sheet's 20 cells and the later one's 59 are within, together they are not
    monkeypatch.setattr(registrar.sheet_sizes, "MAX_SHEET_CELLS", 60)
    opened = _opened(monkeypatch)
    result = read_export(path, "diploma")
    assert [p.said.key if p.said else "" for p in result.problems] == \
        ["reg.xlsx.unsized_too_many_cells"], result.problems
    assert result.problems[0].code == "too-large" and result.records == []
    assert "'Анықтама'" in result.problems[0].message and "60 cells" in \
        result.problems[0].message
    assert opened == []
    monkeypatch.setattr(registrar.sheet_sizes, "MAX_SHEET_CELLS", 79)
    assert read_export(path, "diploma").problems == [] and len(opened) == 1


def test_a_sheet_storing_its_size_is_not_counted(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = workbook(tmp_path / "sized.xlsx", ("Түлектер", _STUDENTS, "visible"))
    monkeypatch.setattr(registrar.sheet_sizes, "MAX_SHEET_CELLS", 1)
    monkeypatch.setattr(registrar.sheet_sizes, "MAX_SHEET_ELEMENTS", 1)
    assert read_export(path, "diploma").problems == []


def test_empty_elements_in_an_unsized_sheet_count_against_the_element_limit(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # no cell among them, but each costs openpyxl's reading as much as a cell does
    path = _unsized(tmp_path, "empty.xlsx", ("Түлектер", _STUDENTS), ("Лист2", [["x"]]),
                    extra="<x/>" * 5000)
    monkeypatch.setattr(registrar.sheet_sizes, "MAX_SHEET_ELEMENTS", 4000)
    opened = _opened(monkeypatch)
    result = read_export(path, "diploma")
    assert [p.said.key if p.said else "" for p in result.problems] == \
        ["reg.xlsx.unsized_too_many_elements"]
    assert "'Лист2'" in result.problems[0].message and opened == []


def test_the_refusal_is_said_in_each_language_naming_the_sheet(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _unsized(tmp_path, "said.xlsx", ("Түлектер", _STUDENTS))
    monkeypatch.setattr(registrar.sheet_sizes, "MAX_SHEET_CELLS", 10)
    said = {}
    for lang in ("kk", "ru", "en"):
        result = CliRunner().invoke(main, ["issue", "--dry-run", "--type", "diploma",
                                           "--input", str(path), "--lang", lang])
        assert result.exit_code == 2 and "Traceback" not in result.output, result.output
        assert "«Түлектер»" in result.output or "'Түлектер'" in result.output
        assert "10" in result.output
        said[lang] = result.output
    assert "<dimension>" in said["en"] and "stores no size" in said["en"]
    assert "өлшемін сақтамайды" in said["kk"]
    assert "не хранит свой размер" in said["ru"]


def test_a_package_listing_other_sheets_than_openpyxl_reads_is_refused(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The marks are read of the first sheet the package lists, which must be the one
    # openpyxl reads the rows of: were they found otherwise (a parser reading a listing
    # otherwise than lxml does), the workbook is refused, not read with another sheet's
    # hidden rows and merged cells.
    path = workbook(tmp_path / "two.xlsx", ("Түлектер", _STUDENTS, "visible"),
                    ("Лист2", [["x"]], "visible"))
    listed = registrar.sheet_parts.workbook_parts

    def reversed_parts(archive: zipfile.ZipFile) -> WorkbookParts:
        found = listed(archive)
        return WorkbookParts(found.sheets[::-1], found.shared_strings)

    monkeypatch.setattr(registrar.workbook, "workbook_parts", reversed_parts)
    result = read_export(path, "diploma")
    assert [p.said.key if p.said else "" for p in result.problems] == \
        ["reg.xlsx.sheets_disagree"] and result.records == []


class _Renamed(ReadOnlyWorksheet):  # type: ignore[misc]
    """Read-only openpyxl as a release that renamed its private attributes would be,
    seen from outside openpyxl: they are not there."""

    _PRIVATE = frozenset({"_get_source", "_shared_strings", "_worksheet_path"})

    def __getattribute__(self, name: str) -> object:
        if name in _Renamed._PRIVATE:
            caller = inspect.currentframe()
            caller = caller.f_back if caller is not None else None
            if caller is not None and not caller.f_globals["__name__"].startswith("openpyxl"):
                raise AttributeError(name)
        return super().__getattribute__(name)


def test_no_private_name_of_openpyxl_is_needed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # before: an AttributeError escaped from the marks' and the later sheets' reading
    monkeypatch.setattr(openpyxl.reader.excel, "ReadOnlyWorksheet", _Renamed)
    path = workbook(tmp_path / "cover.xlsx", ("Титул", COVER, "visible"),
                    ("Выпускники", _STUDENTS, "visible"))
    result = read_export(path, "diploma")
    # the cover page is told by the list behind it, whose strings are shared ones
    assert result.problem_codes == {"no-header"}, result.problems
    assert "move that sheet to the front" in result.problems[0].message
    path = workbook(tmp_path / "plain.xlsx", ("Түлектер", _STUDENTS, "visible"))
    result = read_export(path, "diploma")
    assert result.problems == [] and len(result.records) == 3


def test_an_unsized_sheet_in_utf_16_is_counted_too(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # openpyxl reads a UTF-16 sheet (its expat does), but no tag in it is the bytes
    # counted: it would pass uncounted, to be read whole by openpyxl
    encoding = "utf-16"
    made = _unsized(tmp_path, "utf8.xlsx", ("Түлектер", _STUDENTS))
    path = tmp_path / f"{encoding}.xlsx"
    with zipfile.ZipFile(made) as source:
        parts = {name: source.read(name) for name in source.namelist()}
    sheet = parts["xl/worksheets/sheet1.xml"].decode()
    assert not sheet.startswith("<?xml")
    parts["xl/worksheets/sheet1.xml"] = (f'<?xml version="1.0" encoding="{encoding}"?>'
                                         + sheet).encode(encoding)
    with zipfile.ZipFile(path, "w") as target:
        for name, data in parts.items():
            target.writestr(name, data)
    monkeypatch.setattr(registrar.sheet_sizes, "MAX_SHEET_ELEMENTS", 20)
    opened = _opened(monkeypatch)
    result = read_export(path, "diploma")
    assert [p.said.key if p.said else "" for p in result.problems] == \
        ["reg.xlsx.unsized_too_many_elements"] and opened == []
