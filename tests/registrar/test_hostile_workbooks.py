"""Hostile or broken .xlsx files: a clear problem, nothing issued, bounded memory and time
(registrar/sheet_xml.py's limits)."""

from __future__ import annotations

import random
import re
import warnings
import zipfile
from pathlib import Path

import openpyxl
import pytest

from registrar import ExportResult, read_export, sheet_xml, workbook
from registrar.merge_sweep import Merge, MergeSweep
from tests.registrar.helpers import DIPLOMA_HEADER, diploma_row, write_xlsx

SHEET = "xl/worksheets/sheet1.xml"


def rewritten(tmp_path: Path, parts: dict[str, bytes], rows: int = 2) -> Path:
    """A clean workbook of `rows` diplomas, with `parts` put in place of its own."""
    base = write_xlsx(tmp_path / "base.xlsx", [DIPLOMA_HEADER,
                                               *(diploma_row(i) for i in range(rows))])
    path = tmp_path / "export.xlsx"
    with zipfile.ZipFile(base) as source, \
            zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for name in source.namelist():
            target.writestr(name, parts.get(name, source.read(name)))
        for name in set(parts) - set(source.namelist()):
            target.writestr(name, parts[name])
    return path


def sheet_of(tmp_path: Path) -> str:
    with zipfile.ZipFile(write_xlsx(tmp_path / "plain.xlsx", [DIPLOMA_HEADER,
                                                              diploma_row(0)])) as z:
        return z.read(SHEET).decode()


def with_rows(tmp_path: Path, extra: str, prefix: str = "", after: str = "") -> bytes:
    sheet = sheet_of(tmp_path)
    sheet = sheet.replace("</sheetData>", extra + "</sheetData>" + after)
    return (prefix + sheet).encode()


def keys(result: ExportResult) -> list[str]:
    return [p.said.key if p.said else p.code for p in result.problems]


def inline(reference: str, text: str) -> str:
    return f'<c r="{reference}" t="inlineStr"><is><t>{text}</t></is></c>'


def full_row(number: int, index: int) -> str:
    cells = zip("ABCDE", diploma_row(index), strict=True)
    return f'<row r="{number}">' + "".join(inline(f"{c}{number}", v) for c, v in cells) + \
        "</row>"


def test_a_row_beyond_excels_last_is_refused(tmp_path: Path) -> None:
    # before: openpyxl counted up to it one empty row at a time (r="2000000000" ran
    # for hours in a file of 5 KB); at 1,100,000 it was read and issued
    path = rewritten(tmp_path, {SHEET: with_rows(tmp_path, full_row(1_100_000, 1))})
    result = read_export(path, "diploma")
    assert keys(result) == ["reg.file.damaged_here"]
    assert "row 1100000 after row 2" in result.problems[0].message
    assert result.problems[0].row is None and result.records == []


def test_a_row_out_of_order_is_refused_not_dropped(tmp_path: Path) -> None:
    # before: openpyxl passed over a row numbered below the one before it: the file
    # read clean, and the student in row 4 was silently left out of the issue
    path = rewritten(tmp_path, {SHEET: with_rows(tmp_path, full_row(5, 1) + full_row(4, 2))})
    result = read_export(path, "diploma")
    assert keys(result) == ["reg.file.damaged_here"]
    assert "row 4 after row 5" in result.problems[0].message


def test_a_cell_out_of_its_row_or_order_is_refused(tmp_path: Path) -> None:
    for cells in (inline("B3", "x") + inline("A3", "y"), inline("A4", "x")):
        path = rewritten(tmp_path, {SHEET: with_rows(tmp_path, f'<row r="3">{cells}</row>')})
        assert keys(read_export(path, "diploma")) == ["reg.file.damaged_here"]


@pytest.mark.parametrize("part", [SHEET, "xl/styles.xml", "xl/workbook.xml"])
def test_a_dtd_in_any_part_read_is_refused(tmp_path: Path, part: str) -> None:
    # before: a DTD's entities were expanded (up to expat's amplification limit, 100
    # times a part of hundreds of MiB) and a sheet's value could come from one
    dtd = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY n "Әсел">]>'
    base = rewritten(tmp_path, {})
    with zipfile.ZipFile(base) as z:
        original = z.read(part).decode()
    if part == SHEET:
        original = with_rows(tmp_path, f'<row r="3">{inline("A3", "&n;")}</row>').decode()
    path = rewritten(tmp_path, {part: (dtd + original.split("?>", 1)[-1]).encode()})
    result = read_export(path, "diploma")
    assert keys(result) == ["reg.xlsx.doctype"]
    assert part in result.problems[0].message


def test_malformed_xml_in_the_workbook_part_is_a_problem_not_a_traceback(
        tmp_path: Path) -> None:
    # before: lxml's XMLSyntaxError from openpyxl's load escaped as a traceback
    with zipfile.ZipFile(rewritten(tmp_path, {})) as z:
        workbook = z.read("xl/workbook.xml")
    path = rewritten(tmp_path, {"xl/workbook.xml": workbook[:-20]})
    result = read_export(path, "diploma")
    assert keys(result) == ["reg.file.damaged_here"]
    assert "xl/workbook.xml" in result.problems[0].message


def test_parts_unpacking_past_their_limits_are_refused_unread(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the zip's declared sizes are what zipfile reads to, so they are checked before
    # openpyxl reads a byte (before: a 1.9 MB file of 30 million shared strings took
    # 2.8 GB and more than two minutes; a 1.5 MB one of one long cell, 3.1 GB)
    sst = (b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
           + b"<si><t>abcdefghij</t></si>" * 100 + b"</sst>")
    path = rewritten(tmp_path, {"xl/sharedStrings.xml": sst})
    monkeypatch.setattr(sheet_xml, "MAX_SHARED_STRINGS_BYTES", len(sst) - 1)
    assert [p.code for p in read_export(path, "diploma").problems] == ["too-large"]
    assert keys(read_export(path, "diploma")) == ["reg.xlsx.part_too_large"]
    large = rewritten(tmp_path, {}, rows=20)
    with zipfile.ZipFile(large) as z:
        sizes = {part.filename: part.file_size for part in z.infolist()}
    assert max(sizes, key=lambda name: sizes[name]) == SHEET
    monkeypatch.setattr(sheet_xml, "MAX_PART_BYTES", sizes[SHEET] - 1)
    result = read_export(large, "diploma")
    assert keys(result) == ["reg.xlsx.part_too_large"]
    assert SHEET in result.problems[0].message
    monkeypatch.setattr(sheet_xml, "MAX_XLSX_FILE_BYTES", 1000)
    assert keys(read_export(path, "diploma")) == ["reg.xlsx.file_too_large"]


def test_a_cell_longer_than_excel_allows_is_refused_as_the_sheet_is_read(
        tmp_path: Path) -> None:
    path = rewritten(tmp_path, {SHEET: with_rows(
        tmp_path, f'<row r="3">{inline("A3", "a" * (sheet_xml.EXCEL_CELL_CHARS + 1))}</row>')})
    result = read_export(path, "diploma")
    assert keys(result) == ["reg.xlsx.cell_too_long"]
    assert "row 3" in result.problems[0].message


def test_cells_and_elements_past_their_limits_are_refused(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = rewritten(tmp_path, {}, rows=20)
    monkeypatch.setattr(sheet_xml, "MAX_SHEET_CELLS", 50)
    assert keys(read_export(path, "diploma")) == ["reg.xlsx.too_many_cells"]
    monkeypatch.setattr(sheet_xml, "MAX_SHEET_CELLS", 10_000)
    monkeypatch.setattr(sheet_xml, "MAX_SHEET_ELEMENTS", 100)
    assert keys(read_export(path, "diploma")) == ["reg.xlsx.too_many_elements"]


@pytest.mark.timeout(60)
def test_merged_ranges_down_the_whole_sheet_cost_their_number_not_rows_times_ranges(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # before: each range was noted row by row to the 200,001st: 20,000 ranges of a
    # 50 KB file ran for hours. Beyond the header's columns, they hold nothing.
    merges = "".join(f'<mergeCell ref="{c}{r}:{c}1048576"/>'
                     for r in range(2, 5002) for c in ("G", "I", "K", "M"))
    path = rewritten(tmp_path, {SHEET: with_rows(
        tmp_path, "", after=f"<mergeCells>{merges}</mergeCells>")})
    result = read_export(path, "diploma")
    assert result.problems == [] and result.count == 1
    monkeypatch.setattr(sheet_xml, "MAX_MERGED_RANGES", 100)
    assert keys(read_export(path, "diploma")) == ["reg.xlsx.too_many_merges"]


def test_overlapping_merged_ranges_on_the_header_are_refused(tmp_path: Path) -> None:
    merges = "".join(f'<mergeCell ref="E1:{c}1"/>' for c in "FGHIJ")
    path = rewritten(tmp_path, {SHEET: with_rows(
        tmp_path, "", after=f"<mergeCells>{merges}</mergeCells>")})
    result = read_export(path, "diploma")
    assert keys(result) == ["reg.file.damaged_here"]
    assert re.search(r"E1:F1 and E1:\w1 overlap", result.problems[0].message)


def _noted_row_by_row(merges: list[Merge], row: int) -> tuple[int, str] | None:
    """What each row's note was before the sweep: the lowest column a range covers
    beyond its first cell, the first range in the file on a tie."""
    best: tuple[int, str] | None = None
    for merge in merges:
        if merge.first_row <= row <= merge.last_row:
            covered = merge.first_column if row > merge.first_row else merge.first_column + 1
            if covered <= merge.last_column and (best is None or covered - 1 < best[0]):
                best = (covered - 1, merge.reference)
    return best


def test_the_sweep_finds_what_a_note_row_by_row_found() -> None:
    chance = random.Random(4_030_000)
    for _ in range(200):
        merges = []
        for _ in range(chance.randint(0, 12)):
            first_column, first_row = chance.randint(1, 6), chance.randint(1, 15)
            last_column = first_column + chance.randint(0, 3)
            last_row = first_row + chance.randint(0, 6)
            merges.append(Merge(first_column, first_row, last_column, last_row,
                                f"{first_column},{first_row}:{last_column},{last_row}"))
        asked = sorted(chance.sample(range(1, 25), chance.randint(1, 24)))
        sweep = MergeSweep(merges)
        assert [sweep.at(row) for row in asked] == \
            [_noted_row_by_row(merges, row) for row in asked], merges


def test_a_zip_listing_too_many_files_is_refused_before_zipfile_reads_the_list(
        tmp_path: Path) -> None:
    # before: zipfile made an object of every entry as it opened the file (both for
    # openpyxl and for the part checks): a 256 MiB zip of empty parts lists millions
    path = rewritten(tmp_path, {})
    with zipfile.ZipFile(path, "a") as z:
        for number in range(20_000):
            z.writestr(f"customXml/{'x' * 200}{number}.bin", b"")
    directory = sheet_xml.central_directory_bytes(path)
    assert directory is not None and directory > sheet_xml.MAX_CENTRAL_DIRECTORY_BYTES
    result = read_export(path, "diploma")
    assert keys(result) == ["reg.xlsx.directory_too_large"]
    assert [p.code for p in result.problems] == ["too-large"]


def test_shared_strings_past_their_count_or_characters_are_refused_before_openpyxl(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # before: a 324 KB workbook of 7.3 million two-letter shared strings (a 125 MiB part,
    # within its byte limit) took 1.2 GB and 51 s; counted as they are scanned for a
    # DTD, in whichever part holds them
    sst = (b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
           + b"<si><t>abcdefghij</t></si>" * 100 + b"</sst>")
    path = rewritten(tmp_path, {"xl/strings/other.xml": sst})
    monkeypatch.setattr(sheet_xml, "MAX_SHARED_STRINGS", 99)
    assert keys(read_export(path, "diploma")) == ["reg.xlsx.too_many_strings"]
    monkeypatch.setattr(sheet_xml, "MAX_SHARED_STRINGS", 100)
    assert read_export(path, "diploma").problems == []
    monkeypatch.setattr(sheet_xml, "MAX_SHARED_STRINGS_CHARS", 999)
    assert keys(read_export(path, "diploma")) == ["reg.xlsx.too_many_string_chars"]


@pytest.mark.parametrize("chars", [255, 256, 200_000])  # Excel holds 255 at the most
def test_a_number_format_longer_than_excel_holds_is_refused_before_a_cell_is_read(
        tmp_path: Path, chars: int) -> None:
    # before: a styles.xml past the caches of 64,000 styles had each cell of 3,000 parse
    # one shared 200,000-character format again: 92 s of CPU for a 1 MB workbook
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(DIPLOMA_HEADER)
    sheet.append(diploma_row(0))
    sheet["A2"].number_format = "0" + "_)" * ((chars - 1) // 2) + "0" * ((chars - 1) % 2)
    workbook.save(path := tmp_path / "export.xlsx")
    result = read_export(path, "diploma")
    if chars <= 255:
        assert result.problems == [] and len(result.records) == 1
        return
    assert keys(result) == ["reg.xlsx.format_too_long"]
    assert [p.code for p in result.problems] == ["malformed"] and result.records == []


@pytest.mark.parametrize("where", ["attribute", "comment"])
def test_one_tag_or_comment_past_the_limit_is_refused_unscanned(tmp_path: Path,
                                                                 where: str) -> None:
    # before: expat scans a tag it must hold whole again at every chunk fed: a 300 MB
    # attribute (a 1.5 MB file) ran for more than 300 s at 1 GB
    filler = "a" * (sheet_xml.MAX_XML_TOKEN_BYTES + 128 * 1024)  # found a chunk on
    extra = f'<row r="10" x="{filler}"/>' if where == "attribute" else f"<!--{filler}-->"
    path = rewritten(tmp_path, {SHEET: with_rows(tmp_path, extra)})
    result = read_export(path, "diploma")
    assert keys(result) == ["reg.xlsx.token_too_large"]
    assert [p.code for p in result.problems] == ["malformed"]


def test_a_workbook_without_a_worksheet_is_a_problem_not_a_traceback(tmp_path: Path) -> None:
    # before: IndexError from workbook.worksheets[0], a traceback
    with zipfile.ZipFile(rewritten(tmp_path, {})) as z:
        workbook = z.read("xl/workbook.xml")
    sheetless = re.sub(rb"<sheets>.*</sheets>", b"<sheets/>", workbook)
    result = read_export(rewritten(tmp_path, {"xl/workbook.xml": sheetless}), "diploma")
    assert keys(result) == ["reg.sheet.none"]


def test_what_openpyxl_leaves_out_is_not_said_as_a_python_warning(tmp_path: Path) -> None:
    # before: "…/site-packages/openpyxl/reader/workbook.py:102: UserWarning: Defined names
    # for sheet index 7 cannot be located" on the registrar's terminal, in English
    with zipfile.ZipFile(rewritten(tmp_path, {})) as z:
        workbook = z.read("xl/workbook.xml")
    named = workbook.replace(b"<definedNames/>", b'<definedNames><definedName name="x" '
                             b'localSheetId="7">Sheet!$A$1</definedName></definedNames>')
    assert named != workbook
    with warnings.catch_warnings(record=True) as caught:
        result = read_export(rewritten(tmp_path, {"xl/workbook.xml": named}), "diploma")
    assert result.problems == [] and result.count == 2
    assert [str(w.message) for w in caught] == []


def test_what_openpyxls_descriptors_raise_on_a_damaged_part_is_a_problem(
        tmp_path: Path) -> None:
    # before: TypeError ("Override.__init__() got an unexpected keyword argument
    # 'PartNntType'"), a traceback; a fuzz of 4,500 damaged workbooks (seeds 4,030,000
    # on) found three such, none since
    with zipfile.ZipFile(rewritten(tmp_path, {})) as z:
        types = z.read("[Content_Types].xml")
    damaged = types.replace(b"PartName", b"PartNntType", 1)
    result = read_export(rewritten(tmp_path, {"[Content_Types].xml": damaged}), "diploma")
    assert keys(result) == ["reg.file.unreadable_workbook"]  # kk and ru say it without
    assert "PartNntType" in result.problems[0].message


def _patched(path: Path, part: str, at: int, value: bytes, data: bytes | None = None) -> Path:
    """`path` with `value` written at offset `at` of `part`'s local and central headers
    (the flag is at 6 and 8, the method at 8 and 10: `at` is the local one), and its
    compressed bytes replaced by `data` of the same length, as damage in a copy makes it."""
    raw = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as z:
        info = z.getinfo(part)
    local = info.header_offset
    raw[local + at:local + at + len(value)] = value
    named = raw.index(part.encode(), raw.index(b"PK\x01\x02"))  # in the directory
    entry = raw.rindex(b"PK\x01\x02", 0, named)
    raw[entry + at + 2:entry + at + 2 + len(value)] = value
    if data is not None:
        start = local + 30 + len(info.filename.encode()) + len(info.extra)
        assert len(data) == info.compress_size
        raw[start:start + len(data)] = data
    damaged = path.with_name("damaged.xlsx")
    damaged.write_bytes(bytes(raw))
    return damaged


@pytest.mark.parametrize("damage", ["deflate", "method", "encrypted"])
def test_a_damaged_part_in_a_sound_zip_is_a_problem_not_a_traceback(
        tmp_path: Path, damage: str) -> None:
    """A byte or two changed in a copy: a bad deflate stream raised zlib.error, a damaged
    method field NotImplementedError, an entry flagged encrypted RuntimeError; each
    reached the registrar as a traceback in English (about half of 400 such files)."""
    base = rewritten(tmp_path, {}, rows=10)
    with zipfile.ZipFile(base) as z:
        size = z.getinfo(SHEET).compress_size
    path = (_patched(base, SHEET, 8, b"\x08\x00", b"\xff" * size) if damage == "deflate"
            else _patched(base, SHEET, 8, b"\x63\x00") if damage == "method"
            else _patched(base, SHEET, 6, b"\x01\x00"))
    result = read_export(path, "diploma")
    assert not result.ok and keys(result) == ["reg.file.damaged_here"], result.problems


def test_random_damage_to_a_workbook_is_never_a_traceback(tmp_path: Path) -> None:
    """Seeded: 1-20 bytes changed anywhere in a small workbook, 150 times; each read ends
    in rows or problems, never an exception."""
    base = rewritten(tmp_path, {}, rows=5).read_bytes()
    path = tmp_path / "fuzzed.xlsx"
    for seed in range(150):
        rng = random.Random(5_600_000 + seed)
        raw = bytearray(base)
        for _ in range(rng.randint(1, 20)):
            raw[rng.randrange(len(raw))] = rng.randrange(256)
        path.write_bytes(bytes(raw))
        result = read_export(path, "diploma")  # raises nothing
        assert result.ok or result.problems, seed


def test_a_strict_open_xml_workbook_is_named_as_such(tmp_path: Path) -> None:
    """Excel's "Strict Open XML Spreadsheet" was said to hold no worksheet, a damaged file:
    exporting it again the same way would not help."""
    strict = b"http://purl.oclc.org/ooxml/spreadsheetml/main"
    with zipfile.ZipFile(rewritten(tmp_path, {})) as z:
        parts = {name: z.read(name).replace(
            b"http://schemas.openxmlformats.org/spreadsheetml/2006/main", strict)
            for name in ("xl/workbook.xml", SHEET)}
    result = read_export(rewritten(tmp_path, parts), "diploma")
    assert keys(result) == ["reg.file.strict_xml"], result.problems


@pytest.mark.parametrize("column", ["C", "Z"])
def test_a_shared_string_the_workbook_lacks_is_a_damaged_workbook(tmp_path: Path,
                                                                   column: str) -> None:
    # before: openpyxl's IndexError reached `senim issue --dry-run` as a traceback
    path = rewritten(tmp_path, {SHEET: with_rows(
        tmp_path, f'<row r="4"><c r="{column}4" t="s"><v>99</v></c></row>')})
    result = read_export(path, "diploma")
    assert not result.ok and keys(result) == ["reg.file.damaged_here"], result.problems
    said = result.problems[0].said
    assert said is not None and "shared string the workbook does not hold" in str(said)
    assert result.problems[0].row is None  # not row 3, the last one read whole


def test_an_index_error_of_the_reading_code_is_not_said_as_a_damaged_workbook(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # only openpyxl's IndexError building a row is a missing shared string: before, any
    # raised while the rows were read was, and a bug in reading them hid behind it
    def misread(value: object, number_format: str | None = None) -> str | None:
        raise IndexError("a bug of the reading code")

    monkeypatch.setattr(workbook, "cell_text", misread)
    with pytest.raises(IndexError, match="a bug of the reading code"):
        read_export(rewritten(tmp_path, {}), "diploma")
