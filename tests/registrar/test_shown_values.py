"""A workbook cell Excel shows otherwise than it holds is refused, never issued as stored
(registrar/cell_looks.py): before, a number format showing its own text or adding to the
number, a font of the fill's colour and a formula's saved result (which Excel may compute
otherwise as it opens the file) were each issued as their stored value, which the
registrar never saw."""

from __future__ import annotations

import datetime
import re
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from openpyxl.styles import Color, Font, GradientFill, PatternFill

from cli.issue_words import problem_sentence
from cli.language import Words
from registrar import ExportResult, load_mapping, read_export
from registrar.schema import parse_schema
from tests.cli.test_issue_languages import in_every_language
from tests.registrar.helpers import DIPLOMA_HEADER, diploma_row

GRADED = parse_schema({"type": "diploma", "fields": {
    "full_name": {"format": "text", "required": True}, "iin": {"format": "iin"},
    **{name: {"format": "text"} for name in ("programme", "qualification", "honours")},
    "graduation_date": {"format": "date"}, "gpa": {"format": "gpa"}}}, "diploma")
HEADER = [*DIPLOMA_HEADER, "honours", "gpa"]
# the GPA a formula averages from two marks of its row
AVERAGED = parse_schema({"type": "diploma", "fields": {
    **{field.name: {"format": field.format} for field in GRADED.fields},
    "a": {"format": "gpa"}, "b": {"format": "gpa"}}}, "diploma")


def _graded(path: Path, value: Any, number_format: str, column: int = 7,
            honours: Any = "с отличием") -> Path:
    """Two students; the second's cell at `column` holds `value` in `number_format`."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(HEADER)
    sheet.append([*diploma_row(0), None, 3.5])
    sheet.append([*diploma_row(1), honours, 3.5])
    sheet.cell(3, column).value = value
    sheet.cell(3, column).number_format = number_format
    workbook.save(path)
    return path


def _refused(result: ExportResult, column: str, key: str) -> None:
    assert [(p.row, p.column, p.code) for p in result.problems] == [
        (3, column, "shown-otherwise")], result.problems
    said = result.problems[0].said
    assert said is not None and said.key == key, said
    assert result.records == [] and result.count == 0


ACCOUNTING = '_-* #,##0.00 "₸"_-;-* #,##0.00 "₸"_-;_-* "-"?? "₸"_-;_-@_-'  # Excel's, ru-KZ


@pytest.mark.parametrize(("value", "number_format", "key", "words"), [
    (3.4, '"3.90"', "reg.sheet.format_text", "Excel shows '3.90'"),
    (2.1, '"Отлично"', "reg.sheet.format_text", "Excel shows 'Отлично'"),
    (3.4, '[<3.5]"Отлично";0.00', "reg.sheet.format_text", "Excel shows 'Отлично'"),
    (3, '"S"00000', "reg.sheet.format_adds", "adds 'S'"),
    (3, '0"5"', "reg.sheet.format_adds", "adds '5'"),
    (3, "0\\5", "reg.sheet.format_adds", "adds '5'"),
    (3.4, "[$S-409]0.00", "reg.sheet.format_adds", "adds 'S'"),
    (3.5, "# ?/8", "reg.sheet.format_adds", "adds '8'"),
    (3.4, '"балл "0.00', "reg.sheet.format_adds", "adds 'балл'"),  # before the number
    (3.4, '0" балл "00', "reg.sheet.format_adds", "adds 'балл'"),  # inside it
    (3, "[$KZT] # ##0", "reg.sheet.format_adds", "adds 'KZT'"),
    (3.4, '0.00 "5 балл"', "reg.sheet.format_adds", "adds '5'"),
    (0, '0.00;-0.00;"-"', "reg.sheet.format_text", "Excel shows '-'"),
    (0, ACCOUNTING, "reg.sheet.format_text", "Excel shows '- ₸'"),
    (0, "#.##", "reg.sheet.format_text", "Excel shows '.'"),
    (0, '# ##0" кр.";;"нет"', "reg.sheet.format_text", "Excel shows 'нет'"),
    (3400, "0,", "reg.sheet.format_scales", "in thousands"),
    (0, '0.00;-0.00;"3.50"', "reg.sheet.format_text", "Excel shows '3.50'"),
    (0, "0.00;-0.00;", "reg.sheet.hidden_value", "shows nothing"),
])
def test_a_number_format_showing_other_than_the_value_is_refused(
        tmp_path: Path, value: Any, number_format: str, key: str, words: str) -> None:
    result = read_export(_graded(tmp_path / "g.xlsx", value, number_format), "diploma",
                         schema=GRADED)
    _refused(result, "gpa", key)
    assert words in result.problems[0].message and "number format" in result.problems[0].message


@pytest.mark.parametrize(("number_format", "key"), [
    ('0;0;0;"с отличием"', "reg.sheet.format_text"), ("0;0;0;", "reg.sheet.hidden_value"),
    ('0;0;0;"x"@', "reg.sheet.format_adds")])
def test_a_text_format_that_replaces_or_adds_to_text_is_refused(
        tmp_path: Path, number_format: str, key: str) -> None:
    result = read_export(_graded(tmp_path / "t.xlsx", "без отличия", number_format, column=6),
                         "diploma", schema=GRADED)
    _refused(result, "honours", key)


@pytest.mark.parametrize(("value", "number_format"), [
    (3.4, '0.00 "балл"'), (3, '#,##0 "кредит"'), (3, '0" кр."'), (3, '#,##0"тг."'),
    (3, "# ##0 [$KZT]"), (3.4, 'General" балл"'), (3.4, '0.00;-0.00;"-"'),
    (3.4, ACCOUNTING), (0, '# ##0" кр."'), (0, "0.00_ ;[Red]\\-0.00\\ ")])
def test_a_unit_after_the_number_is_shown_beside_it_and_read(
        tmp_path: Path, value: Any, number_format: str) -> None:
    # before: refused for the letters of the unit, which Excel shows after the number
    result = read_export(_graded(tmp_path / "u.xlsx", value, number_format), "diploma",
                         schema=GRADED)
    assert result.problems == [] and result.count == 2
    assert result.records[1]["gpa"] == str(value)


def test_a_date_shown_with_a_year_of_the_formats_own_is_refused(tmp_path: Path) -> None:
    path = _graded(tmp_path / "d.xlsx", datetime.datetime(2025, 6, 30), 'dd.mm."2026"', 5)
    _refused(read_export(path, "diploma", schema=GRADED), "graduation_date",
             "reg.sheet.format_adds")


@pytest.mark.parametrize(("font", "fill"), [
    (Font(color="FFFFFFFF"), None),
    (Font(color="FFFFFFFF"), PatternFill("solid", fgColor="FFFFFFFF")),
    (Font(color=Color(theme=0)), None),  # "White, Background 1", as Excel writes it
    (Font(color="FFFFFF00"), PatternFill("solid", fgColor="FFFFFF00")),
    (Font(color=Color(theme=4, tint=0.4)), PatternFill("solid", fgColor=Color(theme=4,
                                                                             tint=0.4))),
    # near the fill's colour: each was issued unseen before
    (Font(color="FFFFFFFE"), None),
    (Font(color="FFF8F8F8"), PatternFill("solid", fgColor="FFFFFFFF")),
    (Font(color="FFF0F0F0"), None), (Font(color=Color(theme=0, tint=-0.05)), None),
    (Font(color=Color(theme=1, tint=0.95)), None),
    (Font(color="FF203060"), PatternFill("solid", fgColor="FF1F3864")),
    (Font(color="FF111111"), PatternFill("solid", fgColor="FF000000"))])
def test_text_the_colour_of_its_fill_is_refused(tmp_path: Path, font: Font,
                                                fill: PatternFill | None) -> None:
    path = _graded(tmp_path / "f.xlsx", "с отличием", "General", column=6)
    workbook = openpyxl.load_workbook(path)
    cell = workbook.worksheets[0].cell(3, 6)
    cell.font = font
    if fill is not None:
        cell.fill = fill
    workbook.save(path)
    result = read_export(path, "diploma", schema=GRADED)
    _refused(result, "honours", "reg.sheet.font_hides")
    assert "remove the cell's formatting" in result.problems[0].message


@pytest.mark.parametrize(("accent1", "dark1", "font", "hidden"), [
    ("FFFFFF", "000000", Color(theme=4), True), ("4F81BD", "000000", Color(theme=4), False),
    ("4F81BD", "FFFFFF", Color(theme=4), None),  # Text 1 white: the default font's too
    ("4F81BD", "000000", Color(theme=4, tint=0.95), True)])
def test_a_theme_colour_is_the_workbooks_themes(tmp_path: Path, accent1: str, dark1: str,
                                                font: Color, hidden: bool | None) -> None:
    # before: theme colours but 0 and 1 were compared as written, Text 1 taken as black:
    # a GPA in Accent 1 (theme 4), the theme's accent1 white, was issued white on white
    path = _graded(tmp_path / "t.xlsx", 3.4, "0.00")
    workbook = openpyxl.load_workbook(path)
    workbook.worksheets[0].cell(3, 7).font = Font(color=font)
    workbook.save(path)
    themed = tmp_path / "themed.xlsx"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(themed, "w") as copy:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "xl/theme/theme1.xml":
                data = re.sub(rb'(<a:accent1>\s*<a:srgbClr val=")\w+',
                              b"\\g<1>" + accent1.encode(), data)
                data = re.sub(rb'(<a:dk1>\s*<a:sysClr [^>]*lastClr=")\w+', b"\\g<1>" +
                              dark1.encode(), data)
                assert accent1.encode() in data and dark1.encode() in data
            copy.writestr(item, data)
    result = read_export(themed, "diploma", schema=GRADED)
    if hidden is None:
        assert (result.problems[0].row, result.problems[0].column) == (2, "full_name")
        assert result.problems[0].said is not None
        assert result.problems[0].said.key == "reg.sheet.font_hides"
    elif hidden:
        _refused(result, "gpa", "reg.sheet.font_hides")
    else:
        assert result.problems == [] and result.count == 2


@pytest.mark.parametrize(("value", "number_format", "fill"), [
    (3.4, "[White]0.00", None), (3.4, "[white]General", None), (3.4, "[Color2]0.00", None),
    (3.4, "[WHITE]0.00;[Red]-0.00", None), (3.4, "[Red]0.00", PatternFill(
        "solid", fgColor="FFFF0000")), (3.4, '[Color6]0.00 "балл"', PatternFill(
            "solid", fgColor="FFFFFF00")), ("3.4", "[White]General", None)])
def test_a_number_formats_colour_the_colour_of_the_fill_hides_the_value(
        tmp_path: Path, value: Any, number_format: str, fill: PatternFill | None) -> None:
    path = _graded(tmp_path / "c.xlsx", value, number_format)
    if fill is not None:
        workbook = openpyxl.load_workbook(path)
        workbook.worksheets[0].cell(3, 7).fill = fill
        workbook.save(path)
    _refused(read_export(path, "diploma", schema=GRADED), "gpa", "reg.sheet.font_hides")


@pytest.mark.parametrize(("size", "said"), [(1, "1 pt"), (3.5, "3.5 pt")])
def test_text_too_small_to_be_read_is_refused(tmp_path: Path, size: float, said: str) -> None:
    path = _graded(tmp_path / "s.xlsx", "с отличием", "General", column=6)
    workbook = openpyxl.load_workbook(path)
    workbook.worksheets[0].cell(3, 6).font = Font(sz=size)
    workbook.worksheets[0].cell(2, 6).font = Font(sz=4)  # small, but read
    workbook.save(path)
    result = read_export(path, "diploma", schema=GRADED)
    _refused(result, "honours", "reg.sheet.font_tiny")
    assert said in result.problems[0].message


def test_ordinary_formats_and_visible_colours_are_read_as_before(tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append([*HEADER, "score"])
    looks: list[tuple[str, Any, Any]] = [
        ("0.00", 3.5, "с отличием"), ("General", 3.25, "с отличием"),
        ("#,##0", 3, "с отличием"), ("@", 3.75, "с отличием"),
        ("[Red][<3]0.00;0.00", 2.5, "с отличием"), ("0.00;[Red]-0.00;0.00", 3.4, None),
        ("[Color10]0.00", 3.5, "с отличием"), ("[Blue]General", 3.5, "с отличием")]
    for index, (number_format, gpa, honours) in enumerate(looks):
        sheet.append([*diploma_row(index)[:4], datetime.datetime(2026, 6, 30), honours, gpa,
                      0.875])
        sheet.cell(index + 2, 5).number_format = ("dd.mm.yyyy", 'd mmmm yyyy "г."')[index % 2]
        sheet.cell(index + 2, 7).number_format = number_format
        sheet.cell(index + 2, 8).number_format = "0.0%"
        sheet.cell(index + 2, 1).font = Font(bold=True, color="FFFF0000")
        sheet.cell(index + 2, 3).font = Font(color="FFFFFFFF")  # white on dark blue
        sheet.cell(index + 2, 3).fill = PatternFill("solid", fgColor="FF1F3864")
        sheet.cell(index + 2, 4).fill = PatternFill("solid", fgColor="FFFFFF00")
        # white on a dark gradient, grey on white, black on dark blue: each read
        sheet.cell(index + 2, 2).font = Font(color="FFFFFFFF")
        sheet.cell(index + 2, 2).fill = GradientFill(stop=("FF1F3864", "FF000000"))
        sheet.cell(index + 2, 6).font = Font(color=("FF808080", "FF000000")[index % 2])
        sheet.cell(index + 2, 6).fill = PatternFill("solid", fgColor=(
            "FFFFFFFF", "FF1F3864")[index % 2])
    workbook.save(tmp_path / "ok.xlsx")
    schema = parse_schema({"type": "diploma", "fields": {
        **{name: dict(spec) for name, spec in (
            (field.name, {"format": field.format}) for field in GRADED.fields)},
        "score": {"format": "percent"}}}, "diploma")
    result = read_export(tmp_path / "ok.xlsx", "diploma", schema=schema)
    assert result.problems == [] and result.count == len(looks)
    assert [(r["gpa"], r["graduation_date"], r["score"]) for r in result.records][:3] == [
        ("3.5", "2026-06-30", "87.5"), ("3.25", "2026-06-30", "87.5"),
        ("3", "2026-06-30", "87.5")]


OPENPYXL_CALC = b'<calcPr calcId="124519" fullCalcOnLoad="1"/>'
EXCEL_CALC = b'<calcPr calcId="191029"/>'  # as Excel 2019 and 365 save a workbook
AVERAGE = "=AVERAGE(H{n}:I{n})"


def _formula_workbook(tmp_path: Path, saved: str, calc: bytes | None = EXCEL_CALC,
                      ignored: bool = False, sheet_calc: bytes = b"",
                      gpa: str | float = AVERAGE) -> Path:
    """A GPA of `gpa` (a formula, =AVERAGE(...), with the result `saved` beside it; or a
    value), the workbook's calcPr `calc` (None: none) and `sheet_calc` after the sheet's
    data (a sheetCalcPr), as each program saving it writes them."""
    header = [*HEADER, "a", "b"] if not ignored else ["№", *HEADER, "a", "b"]
    rows: list[list[Any]] = [header]
    for index in range(2):
        row: list[Any] = [*diploma_row(index), None, gpa, 3.5, 3.5]
        rows.append([index + 1, *row] if ignored else row)
    if ignored:  # the row numbers are formulas, read past by the mapping; the GPA is not
        rows[2][0], rows[2][7] = "=ROW()-1", 3.5
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    for number, row in enumerate(rows, start=1):
        sheet.append([c.format(n=number) if isinstance(c, str) and c.startswith("=") else c
                      for c in row])
        sheet.cell(number, len(row) - 2).number_format = "0.00"
    workbook.save(tmp_path / "plain.xlsx")
    path = tmp_path / "formula.xlsx"
    with zipfile.ZipFile(tmp_path / "plain.xlsx") as source, \
            zipfile.ZipFile(path, "w") as copy:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = re.sub(rb"(<f>[^<]*</f>)<v\s*/?>(</v>)?",
                              b"\\1<v>" + saved.encode() + b"</v>", data)
                data = data.replace(b"</sheetData>", b"</sheetData>" + sheet_calc)
            elif item.filename == "xl/workbook.xml":
                data = re.sub(rb"<calcPr [^>]*/>", calc or b"", data)
            copy.writestr(item, data)
    return path


CALCS = [(OPENPYXL_CALC, b""), (None, b""),  # openpyxl; LibreOffice and others: none
         (b'<calcPr calcId="162913"/>', b""),  # Excel 2016
         (b'<calcPr calcId="191029" forceFullCalc="1"/>', b""),
         (EXCEL_CALC, b'<sheetCalcPr fullCalcOnLoad="1"/>'), (EXCEL_CALC, b""),
         (b'<calcPr calcId="191030" calcMode="manual"/>', b"<sheetCalcPr/>")]


@pytest.mark.parametrize(("calc", "sheet_calc"), CALCS)
@pytest.mark.parametrize(("gpa", "saved"), [
    (AVERAGE, "3.9"), (AVERAGE, "3.5"), ("=IF(TODAY()>DATE(2000,1,1),3.9,3.5)", "3.5")])
def test_any_formula_in_an_issued_column_is_refused_whoever_saved_it(
        tmp_path: Path, calc: bytes | None, sheet_calc: bytes, gpa: str,
        saved: str) -> None:
    # before: a formula was issued as saved under Excel 365's calcId (191029): a stale
    # 3.5 of =IF(TODAY()>...,3.9,3.5), which Excel computes again as it opens the file
    # and shows as 3.9, was issued; its saved result is never taken for what Excel shows
    path = _formula_workbook(tmp_path, saved, calc, sheet_calc=sheet_calc, gpa=gpa)
    result = read_export(path, "diploma", schema=AVERAGED)
    assert [(p.row, p.column, p.code) for p in result.problems] == [
        (2, "gpa", "formula-in-issued-column"), (3, "gpa", "formula-in-issued-column")]
    said = result.problems[0].said
    assert said is not None and said.key == "reg.sheet.formula_issued"
    assert result.records == [] and result.count == 0


@pytest.mark.parametrize(("calc", "sheet_calc"), CALCS)
def test_values_saved_by_any_program_are_issued(tmp_path: Path, calc: bytes | None,
                                                sheet_calc: bytes) -> None:
    path = _formula_workbook(tmp_path, "", calc, sheet_calc=sheet_calc, gpa=3.5)
    result = read_export(path, "diploma", schema=AVERAGED)
    assert result.problems == [] and [r["gpa"] for r in result.records] == ["3.5", "3.5"]


@pytest.mark.parametrize(("language", "words"), [
    ("en", "paste it as values (Paste Special → Values)"),
    ("kk", "мәндер ретінде қойыңыз (Арнайы кірістіру → Мәндер)"),
    ("ru", "вставьте его как значения (Специальная вставка → Значения)")])
def test_a_formula_is_said_to_be_pasted_as_values(
        tmp_path: Path, language: str, words: str) -> None:
    path = _formula_workbook(tmp_path, "3.5")
    problem = read_export(path, "diploma", schema=AVERAGED).problems[0]
    sentence = problem_sentence(problem).said(Words(language))
    assert words in sentence and "TODAY()" in sentence


def test_a_formula_or_format_in_a_column_read_past_is_no_problem(tmp_path: Path) -> None:
    mapping = tmp_path / "m.toml"
    mapping.write_text('ignore = ["№"]\n', encoding="utf-8")
    path = _formula_workbook(tmp_path, "3.5", OPENPYXL_CALC, ignored=True)
    result = read_export(path, "diploma", schema=AVERAGED, mapping=load_mapping(str(mapping)))
    # row 2's GPA is a formula; row 3's only formula is its number's, in a column ignored
    assert [(p.row, p.column, p.code) for p in result.problems] == [
        (2, "gpa", "formula-in-issued-column")]
    # a hidden number in the column read past does not hide the refusal of one after it
    workbook = openpyxl.load_workbook(_graded(tmp_path / "n.xlsx", 3.4, '"3.90"'))
    sheet = workbook.worksheets[0]
    sheet.insert_cols(1)
    sheet.cell(1, 1).value, sheet.cell(3, 1).value = "№", 2
    sheet.cell(3, 1).number_format = ";;;"
    workbook.save(tmp_path / "n.xlsx")
    result = read_export(tmp_path / "n.xlsx", "diploma", schema=AVERAGED,
                         mapping=load_mapping(str(mapping)))
    _refused(result, "gpa", "reg.sheet.format_text")


READ_PAST = [f"x{i}" for i in range(20)]  # columns a mapping reads past, before the GPA


def _read_past(tmp_path: Path, cell: Any, number_format: str, gpa: Any,
               gpa_format: str, saved: str | None = None) -> ExportResult:
    """Row 3 holds `cell` in each column read past, then `gpa`; formulas saved as
    `saved` (None: no result saved) in a workbook openpyxl wrote (Excel computes it)."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append([*READ_PAST, *HEADER])
    sheet.append([*range(20), *diploma_row(0), None, 3.5])
    sheet.append([*[cell] * 20, *diploma_row(1), None, gpa])
    for column in range(1, 21):
        sheet.cell(3, column).number_format = number_format
    sheet.cell(3, 27).number_format = gpa_format
    workbook.save(tmp_path / "plain.xlsx")
    path = tmp_path / "past.xlsx"
    with zipfile.ZipFile(tmp_path / "plain.xlsx") as source, \
            zipfile.ZipFile(path, "w") as copy:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "xl/worksheets/sheet1.xml" and saved is not None:
                data = re.sub(rb"(<f>[^<]*</f>)<v\s*/?>(</v>)?",
                              b"\\1<v>" + saved.encode() + b"</v>", data)
            copy.writestr(item, data)
    mapping = tmp_path / "m.toml"
    mapping.write_text(f"ignore = {READ_PAST!r}\n".replace("'", '"'), encoding="utf-8")
    return read_export(path, "diploma", schema=GRADED, mapping=load_mapping(str(mapping)))


def test_twenty_cells_read_past_hide_no_cell_shown_otherwise_after_them(
        tmp_path: Path) -> None:
    # before: 16 cells noted a row, all in columns read past, and the GPA was issued
    result = _read_past(tmp_path, 1, ";;;", 3.4, '"3.90"')
    _refused(result, "gpa", "reg.sheet.format_text")
    result = _read_past(tmp_path, "=ROW()", "General", "=3.5", "0.00", saved="3.9")
    assert [(p.row, p.column, p.code) for p in result.problems] == [
        (3, "gpa", "formula-in-issued-column")]
    result = _read_past(tmp_path, "=ROW()", "General", "=3.5", "0.00")
    assert [(p.row, p.column, p.code) for p in result.problems] == [
        (3, "gpa", "formula-without-value")]
    assert result.records == []


def test_the_dry_run_says_what_excel_shows_in_each_language(tmp_path: Path) -> None:
    path = _graded(tmp_path / "выпуск.xlsx", "Ақпараттық жүйелер", "General", column=3)
    workbook = openpyxl.load_workbook(path)
    workbook.worksheets[0].cell(3, 3).font = Font(color="FFFFFFFF")
    workbook.worksheets[0].cell(2, 7).number_format = '"3.90"'
    workbook.save(path)
    said = in_every_language("issue", "--dry-run", "--type", "diploma", "--input", str(path))
    assert said["en"].exit_code == 2
    english = said["en"].output
    assert "row 2, column 'gpa'" in english and "Excel shows '3.90'" in english, english
    assert "row 3, column 'programme'" in english and "colour of its fill" in english
    assert "«3.90»" in said["ru"].output and "«3.90»" in said["kk"].output
    assert "заливка" in said["ru"].output and "құйылған түсімен" in said["kk"].output


def test_a_cell_naming_a_style_the_workbook_lacks_is_a_damaged_workbook(
        tmp_path: Path) -> None:
    # before: openpyxl's IndexError looking the style up, a traceback
    plain = _graded(tmp_path / "plain.xlsx", 3.5, "0.00")
    path = tmp_path / "styled.xlsx"
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(path, "w") as copy:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = re.sub(rb'<c r="A3"( s="\d+")?', b'<c r="A3" s="999"', data)
            copy.writestr(item, data)
    result = read_export(path, "diploma", schema=GRADED)
    assert [p.code for p in result.problems] == ["malformed"]
    assert "style the workbook does not hold" in result.problems[0].message
    assert result.records == []
