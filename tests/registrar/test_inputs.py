"""Each input format, encoding and delimiter reads into the same records."""

from __future__ import annotations

import datetime
import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from registrar import load_mapping, read_export
from registrar.cell_shown import cell_text
from registrar.problems import MAX_PROBLEMS
from registrar.schema import parse_schema
from tests.registrar.helpers import (
    DIPLOMA_HEADER,
    IINS,
    codes,
    diploma_row,
    only,
    valid_iins,
    write_csv,
    write_json,
    write_xlsx,
)

KAZAKH = "Әсел Ғалымқызы Қоңырбаева-Өтегенова Ұлы Үміт Һ І"
RUSSIAN = "Щукина Юлия Эдуардовна, ёж"
SAMPLES = Path(__file__).parents[2] / "configs" / "registrar"


@pytest.mark.parametrize("encoding, delimiter, name, suffix", [
    ("utf-8", ",", KAZAKH, ".csv"), ("utf-8-sig", ";", KAZAKH, ".csv"),
    ("utf-16", "\t", KAZAKH, ".txt"), ("utf-16", ",", KAZAKH, ".csv"),
    ("utf-32", ",", KAZAKH, ".csv"),  # read as UTF-16: a NUL after each header's letter
    ("cp1251", ";", RUSSIAN, ".csv"), ("cp1251", "\t", RUSSIAN, ".tsv"),
    ("utf-8", "\t", KAZAKH, ".tsv")])
def test_encodings_and_delimiters_detected(tmp_path: Path, encoding: str, delimiter: str,
                                           name: str, suffix: str) -> None:
    programme = "Информатика" if encoding == "cp1251" else "Ақпараттық жүйелер"
    rows: list[list[Any]] = [
        DIPLOMA_HEADER, diploma_row(0, name, programme), diploma_row(1, name, programme)]
    path = write_csv(tmp_path / f"export{suffix}", rows, encoding, delimiter)
    result = read_export(path, "diploma")
    assert result.problems == []
    assert result.source.delimiter == delimiter
    assert result.source.encoding == encoding
    assert [r["full_name"] for r in result.records] == [name, name]
    assert [r["iin"] for r in result.records] == IINS[:2]


def test_commas_in_a_semicolon_files_rows_do_not_outvote_its_header(tmp_path: Path) -> None:
    # A ';' export whose programme reads "Физика, математика, информатика, ...": split at
    # commas a row had more cells than the header at ';', and the file was read as ','
    # (every column unknown). Hypothesis found it with a single row of commas.
    programme = "Физика, математика, информатика, химия, биология, география"
    rows: list[list[Any]] = [DIPLOMA_HEADER, diploma_row(0, programme=programme)]
    for titles in ([], [["Түлектер тізімі, 2026"]]):
        path = write_csv(tmp_path / "export.csv", [*titles, *rows], "utf-8-sig", ";")
        result = read_export(path, "diploma")
        assert result.source.delimiter == ";" and result.problems == []
        assert [r["programme"] for r in result.records] == [programme]


def test_cp1251_cannot_hold_kazakh_letters() -> None:
    # the documented reason a cp1251 export is tested with Russian text only
    for letter in "әғқңөұүһӘҒҚҢӨҰҮҺ":
        with pytest.raises(UnicodeEncodeError):
            letter.encode("cp1251")
    assert "і".encode("cp1251") == b"\xb3"  # the one it has (Ukrainian і, the same letter)


def test_forced_encoding_and_unknown_encoding(tmp_path: Path) -> None:
    rows: list[list[Any]] = [DIPLOMA_HEADER, diploma_row(0, RUSSIAN, "Право")]
    path = write_csv(tmp_path / "e.csv", rows, "cp1251", ";")
    assert read_export(path, "diploma", encoding="cp1251").records[0]["full_name"] == RUSSIAN
    forced_wrong = read_export(path, "diploma", encoding="utf-8")
    assert forced_wrong.records == [] and codes(forced_wrong) == ["encoding"]
    assert codes(read_export(path, "diploma", encoding="no-such-codec")) == ["encoding"]
    assert codes(read_export(path, "diploma", encoding="rot13")) == ["encoding"]  # no text
    # "Unicode text" is UTF-16, but this file has no byte-order mark to read it by
    for kind in ("csv", "json"):
        utf8 = tmp_path / f"u.{kind}"
        utf8.write_text("[]" if kind == "json" else "full_name\n", encoding="utf-8")
        assert codes(read_export(utf8, "diploma", encoding="utf-16")) == ["encoding"]


def test_binary_file_is_an_encoding_problem(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes(bytes(range(256)) * 50)
    result = read_export(path, "diploma")
    assert result.records == [] and result.problems


def test_semicolon_header_is_not_one_column(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text("full_name;iin;programme;qualification;graduation_date\n"
                    f"Ли Мария;{IINS[0]};Право;Бакалавр;30.06.2026\n", encoding="utf-8")
    result = read_export(path, "diploma")
    assert result.problems == []
    assert result.records[0]["graduation_date"] == "2026-06-30"


def test_xlsx_types_become_text(tmp_path: Path) -> None:
    no_zero = valid_iins(1, "990101", 3)[0]
    rows: list[list[Any]] = [[*DIPLOMA_HEADER, "gpa", "student_id"],
            ["Әсел", int(no_zero), "ИС", "Бакалавр", datetime.datetime(2026, 6, 30),
             3.5000000000000004, 1234],
            ["Ғалым", IINS[1], "ИС", "Бакалавр", datetime.date(2026, 6, 30), 4, "007"]]
    result = read_export(write_xlsx(tmp_path / "e.xlsx", rows), "diploma")
    assert result.problems == []
    first, second = result.records
    assert (first["iin"], first["graduation_date"], first["gpa"], first["student_id"]) == (
        no_zero, "2026-06-30", "3.5", "1234")
    assert (second["gpa"], second["student_id"]) == ("4", "007")
    assert result.source.format == "xlsx" and result.source.rows == 2


def test_xlsx_lost_leading_zero_is_reported(tmp_path: Path) -> None:
    iin = next(i for i in IINS if i.startswith("0"))
    rows: list[list[Any]] = [DIPLOMA_HEADER, ["Әсел", int(iin), "ИС", "Бакалавр", "2026-06-30"]]
    result = read_export(write_xlsx(tmp_path / "z.xlsx", rows), "diploma")
    problem = only(result, "bad-format")
    assert (problem.row, problem.column) == (2, "iin") and "leading zero" in problem.message
    assert result.records == []


def test_xlsx_value_beyond_header_and_excel_error(tmp_path: Path) -> None:
    rows: list[list[Any]] = [
        DIPLOMA_HEADER, [*diploma_row(0), "stray"], [*diploma_row(1)[:4], "#N/A"]]
    result = read_export(write_xlsx(tmp_path / "r.xlsx", rows), "diploma")
    assert [(p.row, p.column, p.code) for p in result.problems] == [
        (2, "F", "long-row"), (3, "graduation_date", "excel-error")]


def test_xlsx_trailing_empty_header_cells_and_blank_rows(tmp_path: Path) -> None:
    rows: list[list[Any]] = [
        [*DIPLOMA_HEADER, None, None], diploma_row(0), [None] * 5, diploma_row(1)]
    result = read_export(write_xlsx(tmp_path / "b.xlsx", rows), "diploma")
    assert result.problems == [] and len(result.records) == 2
    assert result.source.rows == 2


def test_xlsx_date_left_as_a_serial_number_is_named(tmp_path: Path) -> None:
    # a date column formatted as General shows (and stores) 46203 for 30.06.2026
    rows: list[list[Any]] = [DIPLOMA_HEADER, [*diploma_row(0)[:4], 46203]]
    problem = only(read_export(write_xlsx(tmp_path / "s.xlsx", rows), "diploma"), "bad-format")
    assert (problem.row, problem.column) == (2, "graduation_date")
    assert "46203" in problem.message and "format the column as a date" in problem.message


def test_xlsx_formula_without_a_saved_value_is_refused(tmp_path: Path) -> None:
    # A program (openpyxl here) writes formulas but never their results; Excel shows
    # them computed, and the export would issue the row without that field.
    rows: list[list[Any]] = [[*DIPLOMA_HEADER, "honours"],
                             [*diploma_row(0), '=IF(1>0,"with distinction","")'],
                             [*diploma_row(1), None]]
    result = read_export(write_xlsx(tmp_path / "f.xlsx", rows), "diploma")
    assert [(p.row, p.column, p.code) for p in result.problems] == [
        (2, "honours", "formula-without-value")]
    assert "save it again" in result.problems[0].message and result.records == []
    # Excel saves each result beside its formula (a text, or an empty text): the formula
    # is then refused as any formula in an issued column is, to be pasted as values
    for saved in ("with distinction", ""):
        path = tmp_path / "saved.xlsx"
        with zipfile.ZipFile(tmp_path / "f.xlsx") as source, \
                zipfile.ZipFile(path, "w") as copy:
            for item in source.infolist():
                data = source.read(item)
                if item.filename == "xl/worksheets/sheet1.xml":
                    data = re.sub(rb'<c r="F2"( t="\w+")?>(<f>.*?</f>)<v\s*/?>(</v>)?',
                                  b'<c r="F2" t="str">\\2<v>' + saved.encode() + b"</v>", data)
                copy.writestr(item, data)
        result = read_export(path, "diploma")
        assert [(p.row, p.column, p.code) for p in result.problems] == [
            (2, "honours", "formula-in-issued-column")], saved
        assert result.records == []


def _rewrite_sheet(source: Path, target: Path, edit: Callable[[bytes], bytes]) -> Path:
    with zipfile.ZipFile(source) as given, zipfile.ZipFile(target, "w") as copy:
        for item in given.infolist():
            data = given.read(item)
            copy.writestr(item, edit(data) if item.filename == "xl/worksheets/sheet1.xml"
                          else data)
    return target


def test_xlsx_rows_and_cells_without_positions(tmp_path: Path) -> None:
    # OOXML lets a writer leave out each row's and cell's position (r="...")
    rows: list[list[Any]] = [[*DIPLOMA_HEADER, "honours"], [*diploma_row(0), "=1+1"],
                             [*diploma_row(1), None], [*diploma_row(2), None]]
    path = write_xlsx(tmp_path / "p.xlsx", rows)
    workbook = openpyxl.load_workbook(path)
    workbook.worksheets[0].row_dimensions[4].hidden = True
    workbook.save(path)
    bare = _rewrite_sheet(path, tmp_path / "bare.xlsx",
                          lambda xml: re.sub(rb'(<(?:row|c)) r="[A-Z]*\d+"', rb"\1", xml))
    result = read_export(bare, "diploma")
    assert [(p.row, p.column, p.code) for p in result.problems] == [
        (2, "honours", "formula-without-value"), (4, None, "hidden-row")]
    wrong = _rewrite_sheet(path, tmp_path / "wrong.xlsx",
                           lambda xml: xml.replace(b'<c r="F2"', b'<c r="2F"'))
    assert codes(read_export(wrong, "diploma")) == ["malformed"]


def test_xlsx_cells_merged_down_a_column_are_refused(tmp_path: Path) -> None:
    # Group lists merge the programme down its students' rows: only the first holds it.
    rows: list[list[Any]] = [[*DIPLOMA_HEADER, "honours"], *(diploma_row(i) for i in range(4))]
    path = write_xlsx(tmp_path / "m.xlsx", rows)
    workbook = openpyxl.load_workbook(path)
    sheet = workbook.worksheets[0]
    sheet.merge_cells("C2:C4")
    sheet.merge_cells("E5:F5")  # a date spread over the next (optional) column
    workbook.save(path)
    result = read_export(path, "diploma")
    assert [(p.row, p.column, p.code) for p in result.problems] == [
        (3, "programme", "merged-cells"), (4, "programme", "merged-cells"),
        (5, "honours", "merged-cells")]
    assert "C2:C4" in result.problems[0].message and result.records == []


def test_xlsx_hidden_rows_are_refused(tmp_path: Path) -> None:
    # A registrar filters the whole course list down to those who graduate; the rows
    # filtered out are hidden, not gone, and would each be issued a diploma.
    rows: list[list[Any]] = [DIPLOMA_HEADER, *(diploma_row(i) for i in range(4)), [None] * 5]
    path = write_xlsx(tmp_path / "f.xlsx", rows)
    workbook = openpyxl.load_workbook(path)
    sheet = workbook.worksheets[0]
    for hidden in (3, 5, 6):  # 6 is blank: nothing to issue there
        sheet.row_dimensions[hidden].hidden = True
    workbook.save(path)
    result = read_export(path, "diploma")
    assert [(p.row, p.column, p.code) for p in result.problems] == [
        (3, None, "hidden-row"), (5, None, "hidden-row")]
    assert "hidden" in result.problems[0].message and result.records == []


def test_not_an_xlsx(tmp_path: Path) -> None:
    path = tmp_path / "fake.xlsx"
    path.write_text("full_name\n", encoding="utf-8")
    assert codes(read_export(path, "diploma")) == ["malformed"]
    # Excel saves a workbook with a password (and old .xls) as an OLE2 compound file
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504))
    problem = only(read_export(path, "diploma"), "malformed")
    assert "password" in problem.message and ".xls" in problem.message


def test_json_numbers_keep_their_text_and_nulls_are_absent(tmp_path: Path) -> None:
    items: list[dict[str, Any]] = [dict(zip(DIPLOMA_HEADER, diploma_row(0), strict=True)),
             dict(zip(DIPLOMA_HEADER, diploma_row(1), strict=True))]
    items[0].update({"gpa": 3.50, "honours": None, "birth_date": "  "})
    path = tmp_path / "e.json"
    path.write_text(str(items).replace("'", '"').replace("None", "null")
                    .replace("3.5", "3.50"), encoding="utf-8")
    result = read_export(path, "diploma")
    assert result.problems == []
    assert result.records[0]["gpa"] == "3.50"
    assert "honours" not in result.records[0] and "birth_date" not in result.records[0]


@pytest.mark.parametrize("text, code", [
    ('{"a": 1}', "malformed"), ("[1, 2]", "not-an-object"), ('[{"full_name": true}]',
                                                             "bad-value"),
    ('[{"full_name": ["x"]}]', "bad-value"), ("[{]", "malformed"), ("[] []", "malformed"),
    ('[{"a": NaN}]', "malformed"), ("", "malformed"),
    ("[" + "[" * 100_000 + "]" * 100_000 + "]", "malformed"),
    ('[{"full_name": ' + '{"a": ' * 50_000 + "1" + "}" * 50_000 + "}]", "malformed")])
def test_json_shapes_refused(tmp_path: Path, text: str, code: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text, encoding="utf-8")
    result = read_export(path, "diploma")
    assert code in codes(result) and result.records == []


def test_json_streams_items_across_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                          ) -> None:
    import registrar.jsonfile
    monkeypatch.setattr(registrar.jsonfile, "CHUNK_CHARS", 7)
    items = [dict(zip(DIPLOMA_HEADER, diploma_row(i), strict=True)) for i in range(5)]
    result = read_export(write_json(tmp_path / "c.json", items), "diploma")
    assert result.problems == [] and [r["iin"] for r in result.records] == IINS[:5]


def test_unknown_suffix(tmp_path: Path) -> None:
    path = tmp_path / "e.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0")
    assert codes(read_export(path, "diploma")) == ["format"]


def test_problem_list_is_capped(tmp_path: Path) -> None:
    bad_row = ["", "1", "", "", ""]
    rows: list[list[Any]] = [DIPLOMA_HEADER, *([bad_row] * (MAX_PROBLEMS + 50))]
    result = read_export(write_csv(tmp_path / "many.csv", rows), "diploma")
    assert len(result.problems) == MAX_PROBLEMS + 1
    assert result.problems[-1].code == "too-many-problems"
    assert result.problem_count == 5 * (MAX_PROBLEMS + 50)  # four fields missing, a bad IIN


@pytest.mark.parametrize("name, mapping, kind, count", [
    ("platonus_diplomas.csv", "platonus", "diploma", 5),
    ("platonus_transcripts.csv", "platonus", "transcript", 3),
    ("kundelik_attestats.csv", "kundelik", "attestat", 5),
    ("1c_zup_employees.csv", "1c-zup", "employment", 5)])
def test_shipped_samples_are_clean(name: str, mapping: str, kind: str, count: int) -> None:
    result = read_export(SAMPLES / name, kind, mapping=load_mapping(mapping))
    assert result.problems == [] and len(result.records) == count


def test_row_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import registrar.export
    monkeypatch.setattr(registrar.export, "MAX_RECORDS", 3)
    rows: list[list[Any]] = [DIPLOMA_HEADER, *(diploma_row(i) for i in range(6))]
    result = read_export(write_csv(tmp_path / "big.csv", rows), "diploma")
    assert [(p.row, p.code) for p in result.problems] == [(5, "too-many-rows")]
    assert result.records == []


def test_forced_utf8_on_a_bom_file(tmp_path: Path) -> None:
    rows: list[list[Any]] = [DIPLOMA_HEADER, diploma_row(0)]
    path = write_csv(tmp_path / "bom.csv", rows, "utf-8-sig")
    result = read_export(path, "diploma", encoding="utf-8")
    assert result.problems == [] and result.source.encoding == "utf-8-sig"


def test_json_items_with_many_key_orders(tmp_path: Path) -> None:
    items = []
    for i in range(100):  # more distinct key lists than are remembered
        item = dict(zip(DIPLOMA_HEADER, diploma_row(i % 20), strict=True))
        keys = list(item)[i % 5:] + list(item)[:i % 5] + [f"extra{i}"]
        items.append({k: item.get(k, "x") for k in keys})
    result = read_export(write_json(tmp_path / "shapes.json", items), "diploma")
    unknown = [p.row for p in result.problems if p.code == "unknown-column"]
    assert unknown == list(range(1, 101)) and result.records == []


def test_damaged_workbooks(tmp_path: Path) -> None:
    import zipfile
    good = write_xlsx(tmp_path / "good.xlsx", [DIPLOMA_HEADER, diploma_row(0)])
    truncated = tmp_path / "truncated.xlsx"
    truncated.write_bytes(good.read_bytes()[:400])
    broken = tmp_path / "broken.xlsx"
    with zipfile.ZipFile(good) as source, zipfile.ZipFile(broken, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename.startswith("xl/worksheets/"):
                data = data[:len(data) // 2]
            target.writestr(item, data)
    for path in (truncated, broken):
        result = read_export(path, "diploma")
        assert codes(result) == ["malformed"] and result.records == []


def test_xlsx_whose_first_sheet_is_hidden_is_refused(tmp_path: Path) -> None:
    # A system's export with its lookup sheet first and hidden: the registrar sees the
    # graduates' sheet, and the hidden one was read (and issued) in its place.
    path = write_xlsx(tmp_path / "h.xlsx", [DIPLOMA_HEADER, diploma_row(0)])
    workbook = openpyxl.load_workbook(path)
    workbook.worksheets[0].title = "lookup"
    workbook.worksheets[0].sheet_state = "hidden"
    shown = workbook.create_sheet("graduates")
    for row in (DIPLOMA_HEADER, diploma_row(1)):
        shown.append(row)
    workbook.active = 1
    workbook.save(path)
    result = read_export(path, "diploma")
    problem = only(result, "hidden-sheet")
    assert "'lookup'" in problem.message and result.records == []
    workbook.worksheets[0].sheet_state = "visible"  # shown: read, as the first sheet
    workbook.save(path)
    assert read_export(path, "diploma").records[0]["iin"] == IINS[0]


def test_xlsx_columns_the_mapping_ignores_hold_no_problem(tmp_path: Path) -> None:
    # A program's export numbers its rows with =ROW()-1, saving no result, or an Excel
    # error: the mapping reads the row numbers past, and the rows were refused for them.
    rows: list[list[Any]] = [["№", *DIPLOMA_HEADER], ["=ROW()-1", *diploma_row(0)],
                             ["#REF!", *diploma_row(1)], ["=ROW()-1", *diploma_row(2)[:4], None]]
    rows[3][5] = "=TODAY()"  # a formula without a result in a column that is issued
    path = write_xlsx(tmp_path / "n.xlsx", rows)
    mapping = tmp_path / "m.toml"
    mapping.write_text('ignore = ["№"]\n', encoding="utf-8")
    result = read_export(path, "diploma", mapping=load_mapping(str(mapping)))
    assert [(p.row, p.column, p.code) for p in result.problems] == [
        (4, "graduation_date", "formula-without-value")]


SCORED = parse_schema({"type": "diploma", "fields": {
    "full_name": {"format": "text", "required": True}, "iin": {"format": "iin"},
    **{name: {"format": "text"} for name in ("programme", "qualification", "honours")},
    "graduation_date": {"format": "date"}, "score": {"format": "percent"}}}, "diploma")


def _scored(path: Path, rows: list[list[Any]]) -> openpyxl.Workbook:
    write_xlsx(path, [[*DIPLOMA_HEADER, "honours", "score"], *rows])
    return openpyxl.load_workbook(path)


def test_xlsx_cells_excel_shows_otherwise_than_they_hold(tmp_path: Path) -> None:
    """A TRUE in an honours column was issued as the English word on a Russian diploma
    (Excel shows ИСТИНА); a cell of format ;;; was issued unseen; a row of no height as if
    seen."""
    path = tmp_path / "o.xlsx"
    workbook = _scored(path, [[*diploma_row(0), True, 50], [*diploma_row(1), "с отличием", 87],
                              [*diploma_row(2), "secret", 1], [*diploma_row(3), None, 1]])
    sheet = workbook.worksheets[0]
    sheet.cell(4, 6).number_format = ";;;"
    workbook.save(path)
    path = _rewrite_sheet(path, tmp_path / "flat.xlsx", lambda xml: xml.replace(
        b'<row r="5"', b'<row r="5" ht="0" customHeight="1"'))  # as openpyxl writes none
    result = read_export(path, "diploma", schema=SCORED)
    assert [(p.row, p.column, p.code) for p in result.problems] == [
        (2, "honours", "shown-otherwise"), (4, "honours", "shown-otherwise"),
        (5, None, "hidden-row")], result.problems
    assert [p.said.key for p in result.problems if p.said] == [
        "reg.sheet.boolean", "reg.sheet.hidden_value", "reg.sheet.hidden_row"]


def test_xlsx_percentages_and_unseen_columns_are_read_as_excel_shows_them(
        tmp_path: Path) -> None:
    """50% (a cell holding 0.5 in the format 0%) was issued as 0.5; a column of no width
    was read as if seen."""
    path = tmp_path / "p.xlsx"
    workbook = _scored(path, [[*diploma_row(0), None, 0.5], [*diploma_row(1), None, 0.875]])
    sheet = workbook.worksheets[0]
    sheet.cell(2, 7).number_format = "0%"
    sheet.cell(3, 7).number_format = "0.0%"
    workbook.save(path)
    result = read_export(path, "diploma", schema=SCORED)
    assert result.problems == [] and [r["score"] for r in result.records] == ["50", "87.5"]
    narrow = _rewrite_sheet(path, tmp_path / "narrow.xlsx", lambda xml: xml.replace(
        b"<sheetData>", b'<cols><col min="3" max="3" width="0" customWidth="1"/></cols>'
        b"<sheetData>"))
    assert [(p.row, p.column, p.code) for p in read_export(narrow, "diploma", schema=SCORED)
            .problems] == [(2, "programme", "hidden-column")]
    assert cell_text(0.505, "0.00%") == "50.5" and cell_text(1, "0%") == "100"
    assert cell_text(0.5, '0.0"%"') == "0.5"  # a percent sign written, not a percentage
    assert cell_text(50, "0\\%") == "50"
