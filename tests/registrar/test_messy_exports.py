"""Exports as a registrar in Kazakhstan meets them: IINs Excel rounded, a date column of
text, day numbers and date cells, a filtered sheet with frozen panes, no-break spaces, a
header typed on two keyboard layouts, a workbook LibreOffice saved and Excel's "Unicode
text". Each reads clean with its values as written, or is refused by row saying why."""

from __future__ import annotations

import datetime
import zipfile
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from cli.main import main
from registrar import load_mapping, read_export
from registrar.iin import check_digit
from tests.registrar.helpers import (
    DIPLOMA_HEADER,
    IINS,
    codes,
    diploma_row,
    only,
    valid_iins,
    write_xlsx,
)

PLATONUS = ["ФИО", "ИИН", "Образовательная программа", "Квалификация", "Дата окончания"]


def rounded_iin() -> str:
    """An IIN as Excel rounds it to six significant digits (9.80303E+11 read back as a
    number) that still passes the check digit, as one in eleven does."""
    return next(f"{prefix}000000" for day in range(1, 29)
                if check_digit((prefix := f"9803{day:02d}") + "00000") == 0)


def test_an_iin_excel_rounded_and_read_back_is_refused_not_issued(tmp_path: Path) -> None:
    # A CSV Excel had saved with 9.80303E+11, opened again: the cell is the number
    # 980303000000, whose check digit holds. It was issued as that person's IIN.
    iin = rounded_iin()
    number = [diploma_row(0)[0], int(iin), *diploma_row(0)[2:]]
    for path in (write_xlsx(tmp_path / "r.xlsx", [DIPLOMA_HEADER, number]),
                 tmp_path / "r.csv"):
        if path.suffix == ".csv":
            path.write_text(",".join(DIPLOMA_HEADER) + "\n" + ",".join(map(str, number)) + "\n")
        result = read_export(path, "diploma")
        problem = only(result, "bad-format")
        assert (problem.row, problem.column) == (2, "iin") and result.records == []
        assert f"{iin} ends in six zeros" in problem.message and "last digits" in problem.message
    # a whole IIN in a cell Excel shows as 9.80E+11 is stored whole, and read so
    sound = openpyxl.Workbook()
    sheet = sound.active
    assert sheet is not None
    sheet.append(DIPLOMA_HEADER)
    whole = valid_iins(1, "980315", 3)[0]
    sheet.append([diploma_row(0)[0], int(whole), *diploma_row(0)[2:]])
    sheet["B2"].number_format = "0.00E+00"
    sound.save(tmp_path / "s.xlsx")
    assert read_export(tmp_path / "s.xlsx", "diploma").records[0]["iin"] == whole


def test_a_header_typed_on_two_keyboard_layouts_says_so(tmp_path: Path) -> None:
    # "іin" with the Kazakh і, "ИИH" with a Latin H read as the names they show, but
    # were refused as columns the credential has no field of: delete the column?
    path = write_xlsx(tmp_path / "i.xlsx", [["full_name", "\u0456in", *DIPLOMA_HEADER[2:]],
                                            diploma_row(0)])
    problem = only(read_export(path, "diploma"), "unknown-column")
    assert problem.message == ("in the header, the word '\u0456in' mixes Latin and Cyrillic "
                               "letters (Cyrillic: \u0456): retype it on one keyboard layout")
    path = write_xlsx(tmp_path / "h.xlsx", [["ФИО", "ИИH", *PLATONUS[2:]], diploma_row(0)])
    result = read_export(path, "diploma", mapping=load_mapping("platonus"))
    assert codes(result) == ["unknown-column", "missing-column"]
    assert "the word 'ИИH' mixes Latin and Cyrillic letters (Latin: H)" \
        in result.problems[0].message


def test_a_header_joining_words_of_two_alphabets_is_an_unknown_column(
        tmp_path: Path) -> None:
    # "КредитыECTS", "ПәнCode": two words run together, no name mistyped on the other
    # layout; retyping them on one layout would not make the column a field, and the
    # advice to delete the column or list it under ignore was lost.
    for joined in ("КредитыECTS", "ПәнCode", "GPAбалл", "КурсPhD"):
        path = write_xlsx(tmp_path / "j.xlsx", [[*DIPLOMA_HEADER, joined],
                                                [*diploma_row(0), "5"]])
        problem = only(read_export(path, "diploma"), "unknown-column")
        assert "keyboard layout" not in problem.message, (joined, problem.message)
        assert "delete the column from the export, or list it under ignore" \
            in problem.message, (joined, problem.message)
    # one letter drawn alike, alone in a word of the other alphabet: typed on two layouts
    path = write_xlsx(tmp_path / "o.xlsx", [[*DIPLOMA_HEADER, "Cтудент"],
                                            [*diploma_row(0), "5"]])
    problem = only(read_export(path, "diploma"), "unknown-column")
    assert "the word 'Cтудент' mixes Latin and Cyrillic letters (Latin: C)" \
        in problem.message


def test_a_header_whose_letters_of_one_alphabet_are_all_drawn_alike_is_said_mixed(
        tmp_path: Path) -> None:
    # "ЖCH" (ЖСН with a Latin C and H) and "Студент ІD" (a Kazakh І) were "delete the
    # column or list it under ignore": run together letters of the other alphabet, or
    # beside one drawn in no other (D), they were taken for two words joined, and the
    # student id column deleted would issue diplomas without student ids.
    header = ["ФИО", "ЖC\u0048", *PLATONUS[2:], "Студент \u0406D"]
    path = write_xlsx(tmp_path / "p.xlsx", [header, [*diploma_row(0)[:1], diploma_row(0)[1],
                                                     "Информатика", "Бакалавр", "2026-06-30",
                                                     "S-1"]])
    result = read_export(path, "diploma", mapping=load_mapping("platonus"))
    said = {problem.column: problem.message for problem in result.problems
            if problem.code == "unknown-column"}
    assert said == {
        "ЖCH": "in the header, the word 'ЖCH' mixes Latin and Cyrillic letters (Latin: C H): "
               "retype it on one keyboard layout",
        "Студент \u0406D": "in the header, the word '\u0406D' mixes Latin and Cyrillic letters "
                            "(Cyrillic: \u0406): retype it on one keyboard layout"}, said


def test_a_date_column_of_text_day_numbers_and_date_cells(tmp_path: Path) -> None:
    rows: list[list[object]] = [list(DIPLOMA_HEADER)]
    days: list[object] = ["12.06.2025", "2025-06-12", datetime.datetime(2025, 6, 12),
                          46203, "12/06/2025", datetime.datetime(2025, 6, 12, 10, 30)]
    for index, day in enumerate(days):
        rows.append([*diploma_row(index)[:4], day])
    result = read_export(write_xlsx(tmp_path / "d.xlsx", rows), "diploma")
    assert [(p.row, p.column, p.code) for p in result.problems] == [
        (5, "graduation_date", "bad-format"), (6, "graduation_date", "bad-format"),
        (7, "graduation_date", "bad-format")]
    said = [p.message for p in result.problems]
    assert "2026-06-30, if it is one" in said[0] and "day/month or month/day" in said[1]
    assert "holds a time" in said[2]
    assert [record["graduation_date"] for _, record in result.sample] == ["2025-06-12"] * 3


def test_a_filtered_sheet_with_frozen_panes_and_no_break_spaces(tmp_path: Path) -> None:
    rows = [[" full_name", "iin\u00a0", "\u00a0programme", "qualification  ", *DIPLOMA_HEADER[4:]],
            ["Әсел Нұрланова\u00a0", IINS[0] + "\u00a0", "Ақпараттық жүйелер ", "Бакалавр",
             "30.06.2026\u00a0"],
            ["Дәурен Сейітов", f"{IINS[1][:6]}\u00a0{IINS[1][6:]}", "Ақпараттық жүйелер",
             "Бакалавр", "2026-06-30"],
            diploma_row(2)]
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    sheet.auto_filter.ref = "A1:E4"
    sheet.freeze_panes = "B2"
    book.save(tmp_path / "f.xlsx")
    result = read_export(tmp_path / "f.xlsx", "diploma")
    assert result.problems == [] and [r["iin"] for r in result.records] == IINS[:3]
    assert result.records[0]["full_name"] == "Әсел Нұрланова"
    assert result.records[0]["graduation_date"] == "2026-06-30"
    sheet.row_dimensions[3].hidden = True  # the filter left a student out of sight
    book.save(tmp_path / "f.xlsx")
    assert [(p.row, p.code) for p in read_export(tmp_path / "f.xlsx", "diploma").problems] \
        == [(3, "hidden-row")]


def test_an_empty_last_column_with_a_header_only_is_named(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "e.xlsx", [[*DIPLOMA_HEADER, "Примечание"],
                                            [*diploma_row(0), None]])
    problem = only(read_export(path, "diploma"), "unknown-column")
    assert problem.column == "Примечание" and "delete the column" in problem.message


_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
_DOC = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_OOXML = "application/vnd.openxmlformats-officedocument.spreadsheetml"


def libreoffice_workbook(path: Path, rows: list[list[str | int | None]]) -> Path:
    """A workbook in LibreOffice Calc's own idioms: every row and column stated shown
    (hidden="false"), columns to the last, an autofilter and a frozen pane, the dates
    DD\\.MM\\.YYYY under style 1, text under style 2 ("@"), empty styled cells after the
    data and a styled empty row below it. An int is a number cell (style 1: a date)."""
    shared: list[str] = []
    xml_rows = []
    for number, row in enumerate(rows, start=1):
        cells = []
        for column, value in zip("ABCDEF", [*row, None], strict=False):
            ref = f"{column}{number}"
            if value is None:
                cells.append(f'<c r="{ref}" s="0"/>')
            elif isinstance(value, int):
                cells.append(f'<c r="{ref}" s="1" t="n"><v>{value}</v></c>')
            else:
                shared.append(value)
                cells.append(f'<c r="{ref}" s="2" t="s"><v>{len(shared) - 1}</v></c>')
        xml_rows.append(f'<row r="{number}" customFormat="false" ht="12.8" hidden="false" '
                        f'customHeight="false" outlineLevel="0" collapsed="false">'
                        f'{"".join(cells)}</row>')
    last = len(rows) + 1
    xml_rows.append(f'<row r="{last}" customFormat="false" ht="12.8" hidden="false">'
                    + "".join(f'<c r="{c}{last}" s="0"/>' for c in "ABCDEF") + "</row>")
    sst = "".join(f'<si><t xml:space="preserve">{text}</t></si>' for text in shared)
    xf = '<xf numFmtId="{}" fontId="0" fillId="0" borderId="0" xfId="0" applyFont="false"/>'
    parts = {
        "[Content_Types].xml": '<Types xmlns="http://schemas.openxmlformats.org/package/'
        '2006/content-types"><Default Extension="xml" ContentType="application/xml"/>'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
        'relationships+xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{_OOXML}.sheet.main+xml"/>'
        f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{_OOXML}.worksheet+xml"/>'
        f'<Override PartName="/xl/sharedStrings.xml" ContentType="{_OOXML}.sharedStrings+xml"/>'
        f'<Override PartName="/xl/styles.xml" ContentType="{_OOXML}.styles+xml"/>'
        '<Override PartName="/docProps/app.xml" ContentType="application/vnd.openxmlformats-'
        'officedocument.extended-properties+xml"/></Types>',
        "_rels/.rels": f'<Relationships xmlns="{_RELS}"><Relationship Id="rId1" Type="{_DOC}/'
        'officeDocument" Target="xl/workbook.xml"/><Relationship Id="rId2" Type="'
        f'{_DOC}/extended-properties" Target="docProps/app.xml"/></Relationships>',
        "docProps/app.xml": '<Properties xmlns="http://schemas.openxmlformats.org/'
        'officeDocument/2006/extended-properties"><Application>LibreOffice/7.6.4.1$Linux_X86_64'
        '</Application></Properties>',
        "xl/_rels/workbook.xml.rels": f'<Relationships xmlns="{_RELS}">'
        f'<Relationship Id="rId1" Type="{_DOC}/styles" Target="styles.xml"/>'
        f'<Relationship Id="rId2" Type="{_DOC}/worksheet" Target="worksheets/sheet1.xml"/>'
        f'<Relationship Id="rId3" Type="{_DOC}/sharedStrings" Target="sharedStrings.xml"/>'
        '</Relationships>',
        "xl/workbook.xml": f'<workbook xmlns="{_MAIN}" xmlns:r="{_DOC}"><fileVersion '
        'appName="Calc"/><workbookPr backupFile="false" showObjects="all" date1904="false"/>'
        '<sheets><sheet name="Түлектер" sheetId="1" state="visible" r:id="rId2"/></sheets>'
        '<definedNames><definedName function="false" hidden="true" localSheetId="0" '
        f'name="_xlnm._FilterDatabase" vbProcedure="false">Түлектер!$A$1:$E${len(rows)}'
        '</definedName></definedNames></workbook>',
        "xl/styles.xml": f'<styleSheet xmlns="{_MAIN}"><numFmts count="3"><numFmt '
        'numFmtId="164" formatCode="General"/><numFmt numFmtId="165" formatCode='
        '"DD\\.MM\\.YYYY"/><numFmt numFmtId="166" formatCode="@"/></numFmts><fonts count="1">'
        '<font><sz val="10"/><name val="Arial"/></font></fonts><fills count="1"><fill>'
        '<patternFill patternType="none"/></fill></fills><borders count="1"><border/></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="164" fontId="0" fillId="0" borderId="0"/>'
        f'</cellStyleXfs><cellXfs count="3">{xf.format(164)}{xf.format(165)}{xf.format(166)}'
        '</cellXfs></styleSheet>',
        "xl/sharedStrings.xml": f'<sst xmlns="{_MAIN}" count="{len(shared)}" '
        f'uniqueCount="{len(shared)}">{sst}</sst>',
        "xl/worksheets/sheet1.xml": f'<worksheet xmlns="{_MAIN}" xmlns:r="{_DOC}"><sheetPr '
        f'filterMode="false"><pageSetUpPr fitToPage="false"/></sheetPr><dimension ref="A1:F'
        f'{last}"/><sheetViews><sheetView workbookViewId="0"><pane xSplit="0" ySplit="1" '
        'topLeftCell="A2" activePane="bottomLeft" state="frozen"/></sheetView></sheetViews>'
        '<sheetFormatPr defaultRowHeight="12.8" zeroHeight="false" outlineLevelRow="0"/><cols>'
        '<col collapsed="false" customWidth="true" hidden="false" outlineLevel="0" max="5" '
        'min="1" style="0" width="18.5"/><col collapsed="false" customWidth="false" '
        'hidden="false" outlineLevel="0" max="16384" min="6" style="0" width="11.53"/></cols>'
        f'<sheetData>{"".join(xml_rows)}</sheetData><autoFilter ref="A1:E{len(rows)}"/>'
        '</worksheet>',
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in parts.items():
            archive.writestr(name, '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                             + text)
    return path


def test_a_workbook_libreoffice_saved_reads_as_excels(tmp_path: Path) -> None:
    rows: list[list[str | int | None]] = [
        list(DIPLOMA_HEADER), [*diploma_row(0)[:4], 46203],
        [*diploma_row(1, "Дәурен Сейітов")[:4], "30.06.2026"]]
    result = read_export(libreoffice_workbook(tmp_path / "lo.xlsx", rows), "diploma")
    assert result.problems == [] and result.source.sheet == "Түлектер"
    assert [(r["full_name"], r["iin"], r["graduation_date"]) for r in result.records] == [
        ("Әсел Нұрланова", IINS[0], "2026-06-30"), ("Дәурен Сейітов", IINS[1], "2026-06-30")]
    rows[2][1] = rounded_iin()  # a value refused in it is said by row, as in Excel's
    assert [(p.row, p.column) for p in read_export(
        libreoffice_workbook(tmp_path / "lo.xlsx", rows), "diploma").problems] == [(3, "iin")]


def unicode_text(path: Path, rows: list[list[str]]) -> Path:
    """A sheet as Excel saves it as "Unicode text": UTF-16 LE with its byte-order mark,
    tabs between cells, CRLF, a cell holding a quote or a tab quoted."""
    def cell(text: str) -> str:
        return '"' + text.replace('"', '""') + '"' if any(c in text for c in '\t"') else text
    text = "".join("\t".join(cell(c) for c in row) + "\r\n" for row in rows)
    path.write_bytes(b"\xff\xfe" + text.encode("utf-16-le"))
    return path


def test_excels_unicode_text_reads_with_its_quotes_and_refuses_its_numbers(
        tmp_path: Path) -> None:
    rows = [[*DIPLOMA_HEADER, ""], [*diploma_row(0, 'Дәурен "Дәке" Сейітов'), ""],
            [*diploma_row(1)[:4], "30.06.2026", ""], ["", "", "", "", "", ""]]
    result = read_export(unicode_text(tmp_path / "u.txt", rows), "diploma")
    assert result.problems == [] and result.source.encoding == "utf-16"
    assert result.source.delimiter == "\t"
    assert result.records[0]["full_name"] == 'Дәурен "Дәке" Сейітов'
    rows[1][1] = "9.80303E+11"
    rows[2][1] = IINS[1].lstrip("0")  # a General column: the leading zero gone
    found = read_export(unicode_text(tmp_path / "u.txt", rows), "diploma").problems
    assert [(p.row, p.column, p.code) for p in found] == [(2, "iin", "bad-format"),
                                                           (3, "iin", "bad-format")]
    assert "scientific notation" in found[0].message and "leading zero" in found[1].message


# Words of each problem's sentence in each language (cli/words): reg.iin.rounded, and
# reg.header.mixed around reg.value.mixed_cyrillic
ROUNDED_SAID = {"en": "ends in six zeros", "kk": "алты нөлмен аяқталады",
                "ru": "оканчивается шестью нулями"}
MIXED_SAID = {"en": "in the header, the word", "kk": "баған атауында: «\u0456in» сөзінде",
              "ru": "в названии столбца: в слове «\u0456in»"}


@pytest.mark.parametrize("language", ["en", "kk", "ru"])
def test_each_messy_export_ends_a_dry_run_with_its_problems_by_row(
        tmp_path: Path, language: str) -> None:
    iin = rounded_iin()
    files = [
        write_xlsx(tmp_path / "rounded.xlsx", [DIPLOMA_HEADER, [*diploma_row(0)[:1], int(iin),
                                                               *diploma_row(0)[2:]]]),
        write_xlsx(tmp_path / "layouts.xlsx", [["full_name", "\u0456in", *DIPLOMA_HEADER[2:]],
                                               diploma_row(0)]),
        libreoffice_workbook(tmp_path / "lo.xlsx", [list(DIPLOMA_HEADER), [
            *diploma_row(0)[:1], iin, *diploma_row(0)[2:]]]),
        unicode_text(tmp_path / "u.txt", [DIPLOMA_HEADER, [*diploma_row(0)[:1], iin,
                                                           *diploma_row(0)[2:]]]),
    ]
    for path in files:
        result = CliRunner().invoke(main, ["issue", "--dry-run", "--type", "diploma",
                                           "--input", str(path), "--lang", language])
        assert result.exit_code == 2, result.output
        assert "Traceback" not in result.output, result.output
        problems = [line for line in result.output.splitlines() if line.endswith((
            "[unknown-column]", "[bad-format]"))]
        assert problems and all(line.lstrip().startswith(("row ", "1-жол", "2-жол", "строка "))
                                for line in problems), result.output
        said = MIXED_SAID if path.name == "layouts.xlsx" else ROUNDED_SAID
        assert any(said[language] in line for line in problems), result.output
        last = result.output.strip().splitlines()[-1]
        assert last.startswith(("error:", "қате:", "ошибка:")), last
        assert "{" not in result.output, result.output  # every phrase said in full
