"""Workbooks and files as registrars' systems and Excel save them: a file named for
what it is not, a hidden column, a long number in scientific notation, an empty first
sheet. Each is refused by row or file in words that say what to do."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from registrar import load_mapping, read_export
from tests.registrar.helpers import DIPLOMA_HEADER, IINS, diploma_row, only, write_csv, write_xlsx


def _zip(path: Path, members: dict[str, str]) -> bytes:
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in members.items():
            archive.writestr(name, text)
    return path.read_bytes()


@pytest.mark.parametrize("content, said", [
    (b"", "the file is empty (0 bytes)"),
    ('<html><body><table><tr><td>ФИО</td></tr></table></body></html>'.encode(),
     "it is a web page (HTML) named as a workbook"),
    ('\ufeff\r\n<TABLE border=1><TR><TD>ИИН</TD></TR></TABLE>'.encode("utf-16"),
     "it is a web page (HTML)"),
    (b'<?xml version="1.0"?>\n<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet">',
     "it is an Excel 2003 XML spreadsheet"),
    ("ФИО;ИИН\nӘсел;050315500011\n".encode("cp1251", "replace"),
     "it is a text file, not a workbook (a CSV renamed?)"),
    ("damaged", "the workbook is damaged or cut short"),
    ({"mimetype": "application/vnd.oasis.opendocument.spreadsheet"},
     "it is an OpenDocument spreadsheet (.ods"),
    ({"[Content_Types].xml": "<Types/>", "word/document.xml": "<w/>"},
     "it is a Word document"),
    ({"list.xlsx": "…"}, "it is a zip archive, not an Excel workbook"),
])
def test_a_file_named_xlsx_that_is_none_is_named_for_what_it_is(
        tmp_path: Path, content: bytes | str | dict[str, str], said: str) -> None:
    # openpyxl said "File is not a zip file" (or "There is no item named …") for each
    path = tmp_path / "export.xlsx"
    if isinstance(content, dict):
        _zip(path, content)
    elif content == "damaged":  # a workbook cut short
        whole = write_xlsx(tmp_path / "whole.xlsx", [DIPLOMA_HEADER, diploma_row(0)])
        path.write_bytes(whole.read_bytes()[:2000])
    else:
        assert isinstance(content, bytes)
        path.write_bytes(content)
    problem = only(read_export(path, "diploma"), "malformed")
    assert problem.message.startswith("not a readable .xlsx workbook: " + said), problem
    assert "zip" not in problem.message or "zip archive" in said


@pytest.mark.parametrize("name", ["export.csv", "export.json"])
def test_a_workbook_named_as_a_text_export_is_named_for_what_it_is(
        tmp_path: Path, name: str) -> None:
    workbook = write_xlsx(tmp_path / "list.xlsx", [DIPLOMA_HEADER, diploma_row(0)])
    path = tmp_path / name
    path.write_bytes(workbook.read_bytes())
    problem = only(read_export(path, "diploma"), "encoding")
    assert f"it is an Excel workbook (.xlsx) named {path.suffix}: name it .xlsx" in \
        problem.message


def test_a_long_number_cell_in_a_code_column_is_refused(tmp_path: Path) -> None:
    # 16 digits stored as a number: a double, saved as Excel writes one that long
    rows: list[list[Any]] = [[*DIPLOMA_HEADER, "diploma_number"], [*diploma_row(0), 7]]
    written = write_xlsx(tmp_path / "w.xlsx", rows)
    path = tmp_path / "n.xlsx"
    with zipfile.ZipFile(written) as source, zipfile.ZipFile(path, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b"<v>7</v>", b"<v>1.23456789012346E+15</v>")
            target.writestr(item, data)
    problem = only(read_export(path, "diploma"), "bad-format")
    assert (problem.row, problem.column) == (2, "diploma_number")
    assert "1.23456789012346e+15 is a number in Excel's scientific notation" in problem.message


def test_xlsx_hidden_columns_holding_values_are_refused(tmp_path: Path) -> None:
    # A column hidden in Excel (the registrar's view leaves it out) was issued unseen.
    header = ["№ п/п", "ФИО", "ИИН", "Дата рождения", "Образовательная программа",
              "Квалификация", "Дата окончания", "С отличием"]
    path = tmp_path / "h.xlsx"
    write_xlsx(path, [header, *([n + 1, "Әсел Нұрланова", IINS[n], None,
                                 "Ақпараттық жүйелер", "Бакалавр", "2026-06-30", None]
                                for n in range(3))])
    workbook = openpyxl.load_workbook(path)
    sheet = workbook.worksheets[0]
    sheet.cell(3, 4).value = "2005-03-15"  # the birth date, in row 3 only
    for column in ("A", "D", "H", "J"):  # numbers the mapping ignores; nothing in H; past it
        sheet.column_dimensions[column].hidden = True
    workbook.save(path)
    result = read_export(path, "diploma", mapping=load_mapping("platonus"))
    assert [(p.row, p.column, p.code) for p in result.problems] == [
        (3, "Дата рождения", "hidden-column")]
    assert "hidden in Excel" in result.problems[0].message
    sheet.column_dimensions["D"].hidden = False
    workbook.save(path)
    assert read_export(path, "diploma", mapping=load_mapping("platonus")).problems == []


def test_an_empty_first_sheet_says_only_the_first_is_read(tmp_path: Path) -> None:
    # A workbook with an empty "Лист1" first and the list on the second sheet
    workbook = openpyxl.Workbook()
    first = workbook.active
    assert first is not None
    first.title = "Лист1"
    second = workbook.create_sheet("Выпускники")
    for row in (DIPLOMA_HEADER, diploma_row(0)):
        second.append(row)
    workbook.save(tmp_path / "two.xlsx")
    problem = only(read_export(tmp_path / "two.xlsx", "diploma"), "no-header")
    assert problem.message == (
        "the first sheet, 'Лист1', has no header row: only the first of the workbook's 2 "
        "sheets is read; delete this one, or move the sheet to issue from to the front")
    workbook.remove(first)
    workbook.create_sheet("Лист1")  # now second: the list is read
    workbook.save(tmp_path / "two.xlsx")
    assert read_export(tmp_path / "two.xlsx", "diploma").problems == []


def test_excels_lock_file_is_named_for_what_it_is(tmp_path: Path) -> None:
    # Excel keeps "~$list.xlsx" beside "list.xlsx" while it is open: 165 bytes, the
    # user's name in UTF-16
    path = tmp_path / "~$list.xlsx"
    path.write_bytes(b"\x08" + "Registrar".encode("utf-16-le").ljust(164, b"\x00"))
    problem = only(read_export(path, "diploma"), "malformed")
    assert problem.message == (
        "not a readable .xlsx workbook: it is the lock file Excel keeps beside a workbook "
        "while it is open: give the workbook itself, list.xlsx")


@pytest.mark.parametrize("forced", ["cp1251", "windows-1251", "latin-1"])
def test_a_forced_encoding_that_would_garble_a_utf8_file_is_refused(
        tmp_path: Path, forced: str) -> None:
    # An office used to "ANSI" exports gives --encoding cp1251 for a UTF-8 one: its
    # names read "Р“ТЇР»РЅР°СЂ ...", passed every check and were issued so (a file with
    # an И or Ә failed instead, at a byte cp1251 lacks).
    rows = [DIPLOMA_HEADER, diploma_row(0, name="Гүлнар Сейітова", programme="Құқық")]
    path = write_csv(tmp_path / "utf8.csv", rows)
    problem = only(read_export(path, "diploma", encoding=forced), "encoding")
    assert problem.message == (f"the file is UTF-8 text, not {forced}: read as {forced} its "
                               "letters would be garbled; leave out --encoding")
    # a cp1251 file, or one of ASCII alone, reads as forced
    russian = write_csv(tmp_path / "ru.csv", [DIPLOMA_HEADER, diploma_row(
        0, name="Иванова Анна", programme="Право")], encoding="cp1251")
    assert read_export(russian, "diploma", encoding=forced if forced != "latin-1"
                       else "cp1251").records[0]["full_name"] == "Иванова Анна"
    ascii_only = write_csv(tmp_path / "en.csv", [
        DIPLOMA_HEADER, ["Aigerim Abenova", IINS[0], "Law", "Bachelor", "2026-06-30"]])
    assert read_export(ascii_only, "diploma", encoding=forced).problems == []


def test_a_number_cell_formatted_with_zeros_reads_as_excel_shows_it(tmp_path: Path) -> None:
    # IINs of those born 2000-2009 stored as numbers lose their leading zero; an office
    # puts it back on screen with the custom format 000000000000, which was not read (the
    # IIN was refused as 11 digits, and the advice to format the column as text changes
    # no number already in it).
    header = ["ФИО", "ИИН", "ID студента", "Образовательная программа", "Квалификация",
              "Дата окончания"]
    number = int(IINS[0])  # 050315…: one leading zero lost
    path = write_xlsx(tmp_path / "z.xlsx", [
        header, ["Әсел Нұрланова", number, 4711, "Ақпараттық жүйелер", "Бакалавр",
                 "2026-06-30"]])
    platonus = load_mapping("platonus")
    problem = only(read_export(path, "diploma", mapping=platonus), "bad-format")
    assert "give the column the custom number format 000000000000 and save again" in \
        problem.message
    workbook = openpyxl.load_workbook(path)
    sheet = workbook.worksheets[0]
    sheet["B2"].number_format = "000000000000"
    sheet["C2"].number_format = "00000000"
    workbook.save(path)
    result = read_export(path, "diploma", mapping=platonus)
    assert result.problems == []
    assert (result.records[0]["iin"], result.records[0]["student_id"]) == (IINS[0], "00004711")


def test_a_csv_made_for_excel_reads_its_text_formulas_as_excel_shows_them(
        tmp_path: Path) -> None:
    # 1C and web systems write ="0101…" so that Excel keeps the leading zeros; the
    # student id was recorded with the "=" and quotes, matching no other record of it
    path = tmp_path / "export.csv"
    path.write_text("full_name;iin;student_id;programme;qualification;graduation_date\n"
                    f'="Әсел Нұрланова";="{IINS[0]}";="S0101";ИС;Бакалавр;2026-06-30\n',
                    encoding="utf-8")
    result = read_export(path, "diploma")
    assert result.problems == []
    assert result.records[0]["iin"] == IINS[0]
    assert result.records[0]["student_id"] == "S0101"
    assert result.records[0]["full_name"] == "Әсел Нұрланова"


@pytest.mark.parametrize("programme, said, code", [
    ("#N/A", "the cell holds the Excel error #N/A", "excel-error"),
    ("#Н/Д", "the cell holds the Excel error #Н/Д", "excel-error"),  # Russian Excel's CSV
    ("#ЗНАЧ!", "the cell holds the Excel error #ЗНАЧ!", "excel-error"),
    ("=ВПР(A2;Лист2!A:B;2;0)", "=ВПР(A2;Лист2!A:B;2;0) is a formula, which a CSV keeps",
     "bad-format"),
])
def test_an_excel_error_or_formula_saved_into_a_csv_is_refused_by_cell(
        tmp_path: Path, programme: str, said: str, code: str) -> None:
    # a failed VLOOKUP saved as CSV was issued as the programme "#N/A"
    path = write_csv(tmp_path / "export.csv", [DIPLOMA_HEADER, diploma_row(0),
                                               diploma_row(1, programme=programme)],
                     delimiter=";")
    problem = only(read_export(path, "diploma"), code)
    assert (problem.row, problem.column) == (3, "programme")
    assert problem.message.startswith(said), problem


def test_text_beginning_with_equals_in_a_workbook_or_json_is_a_value(tmp_path: Path) -> None:
    """A workbook marks its formulas and errors itself (registrar.workbook), and JSON has
    none: a text cell or value beginning with "=" there is what was typed, not a formula a
    CSV kept. Both were refused, telling the registrar to paste values and export a CSV."""
    book = tmp_path / "export.xlsx"
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(DIPLOMA_HEADER)
    sheet.append(diploma_row(0))
    cell = sheet.cell(row=2, column=3)
    cell.value, cell.data_type, cell.quotePrefix = "=Tech: E=mc² studies", "s", True  # text
    workbook.save(book)
    read = read_export(book, "diploma")
    assert read.problems == [], read.problems
    assert read.records[0]["programme"] == "=Tech: E=mc² studies"
    exported = tmp_path / "export.json"
    exported.write_text(json.dumps([dict(zip(DIPLOMA_HEADER, diploma_row(
        1, programme="=Tech"), strict=True))], ensure_ascii=False), encoding="utf-8")
    read = read_export(exported, "diploma")
    assert read.problems == [] and read.records[0]["programme"] == "=Tech", read.problems


def test_excels_text_apostrophe_kept_in_a_csv_is_refused_in_a_code_not_in_a_title(
        tmp_path: Path) -> None:
    # 'S0102 was recorded as the student id, apostrophe and all
    header = [*DIPLOMA_HEADER, "student_id"]
    path = write_csv(tmp_path / "export.csv", [
        header, [*diploma_row(0, programme="'Болашақ' бағдарламасы"), "S0101"],
        [*diploma_row(1), "'S0102"]])
    problem = only(read_export(path, "diploma"), "bad-format")
    assert (problem.row, problem.column) == (3, "student_id")
    assert problem.message.startswith("'S0102 begins with an apostrophe (')"), problem


def test_a_column_no_credential_holds_is_refused_saying_what_to_do(tmp_path: Path) -> None:
    # "no field of the schema or mapping has this name", also of a column the mapping
    # names (for a transcript): the registrar was told neither why nor what to do
    path = write_csv(tmp_path / "export.csv", [
        ["ФИО", "ИИН", "Образовательная программа", "Квалификация", "Дата окончания",
         "Телефон", "Всего кредитов ECTS"],
        ["Әсел Нұрланова", IINS[0], "ИС", "Бакалавр", "30.06.2026", "+77011234567", "240"]])
    result = read_export(path, "diploma", mapping=load_mapping("platonus"))
    said = {p.column: p.message for p in result.problems if p.code == "unknown-column"}
    assert said == {
        "Телефон": "the diploma credential has no field of this name, and the mapping gives "
                   "it none: delete the column from the export, or list it under ignore in a "
                   "mapping file of your own (--mapping FILE.toml)",
        "Всего кредитов ECTS": "the mapping reads this column as total_credits, which the "
                               "diploma credential does not hold: delete the column from the "
                               "export"}
