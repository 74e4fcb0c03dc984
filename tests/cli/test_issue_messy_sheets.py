"""`senim issue --dry-run` with sheets as offices save them: dates as 1C and hand typing
write them, a byte the encoding given cannot read below the header, an invisible
character in a name. Each named at its row, in Kazakh and Russian without English."""

from __future__ import annotations

import datetime
from pathlib import Path

import openpyxl
import pytest

from registrar import load_mapping, read_export
from tests.cli.test_issue_languages import in_every_language
from tests.registrar.helpers import IINS, codes, write_csv

ZUP = ["№ п/п", "Табельный номер", "Сотрудник", "ИИН", "Организация", "Должность",
       "Дата приема", "Дата увольнения"]


HEADER = "full_name,iin,programme,qualification,graduation_date"


def _staff(index: int, start: str, end: str = "") -> list[str]:
    return [str(index + 1), f"{index + 1:08d}", "Ким Елена", IINS[index], "ТОО Kaspi",
            "Инженер", start, end]


def test_dates_as_1c_writes_them_and_as_typed_are_read(tmp_path: Path) -> None:
    # before: "01.09.2021 0:00:00" (1C's dates) and "1.9.2021" were refused as "a date is
    # YYYY-MM-DD (or DD.MM.YYYY)", which both are
    path = write_csv(tmp_path / "staff.csv", [
        ZUP, _staff(0, "01.09.2021 0:00:00"), _staff(1, "1.9.2021", "31.03.2026 0:00:00"),
        _staff(2, "2021-09-01 00:00:00"), _staff(3, "01.09.2021 00:00")], delimiter=";")
    result = read_export(path, "employment", mapping=load_mapping("1c-zup"))
    assert result.problems == []
    assert [r["start_date"] for r in result.records] == ["2021-09-01"] * 4
    assert result.records[1]["end_date"] == "2026-03-31"


def test_a_time_of_day_or_a_year_of_two_digits_is_said_so(tmp_path: Path) -> None:
    # before: each was "a date is YYYY-MM-DD (or DD.MM.YYYY)", though the cell showed one
    path = tmp_path / "graduates.xlsx"
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["full_name", "iin", "programme", "qualification", "graduation_date"])
    sheet.append(["Әсел Нұрланова", IINS[0], "Информатика", "Бакалавр",
                  datetime.datetime(2024, 6, 30, 10, 30)])
    sheet.append(["Ерлан Ахметов", IINS[1], "Информатика", "Бакалавр", "30.06.24"])
    # a cell formatted as a time: it holds no day at all
    sheet.append(["Дана Серікова", IINS[2], "Информатика", "Бакалавр",
                  datetime.time(10, 30)])
    workbook.save(path)
    result = read_export(path, "diploma")
    assert [(p.row, p.code, p.said.key if p.said else None) for p in result.problems] == [
        (2, "bad-format", "reg.date.with_time"), (3, "bad-format", "reg.date.short_year"),
        (4, "bad-format", "reg.date.time_only")]
    said = in_every_language("issue", "--dry-run", "--type", "diploma", "--input", str(path))
    assert "2024-06-30 10:30:00 мәнінде күннен бөлек уақыт та бар" in said["kk"].output
    assert "30.06.24: год записан двумя цифрами" in said["ru"].output
    assert "10:30:00 — это время суток, а не день" in said["ru"].output
    assert "10:30:00 — тәулік уақыты, күн емес" in said["kk"].output
    assert "10:30:00 is a time of day, with no day" in said["en"].output


def test_a_byte_the_encoding_lacks_is_named_at_its_row_without_python_s_english(
        tmp_path: Path) -> None:
    # before: "row 1: the header cannot be read as utf-8: 'utf-8' codec can't decode byte
    # 0xc8 in position 1234: invalid continuation byte", in kk and ru too, for a file
    # whose header and first 39 rows were plain ASCII
    lines = ["full_name,iin,programme,qualification,graduation_date"]
    lines += [f"Student {i},{IINS[i % 20]},IT,Bachelor,2026-06-30" for i in range(39)]
    lines += ["Иванова Анна,010101500013,IT,Bachelor,2026-06-30"]
    path = tmp_path / "graduates.csv"
    path.write_bytes(("\n".join(lines) + "\n").encode("cp1251"))
    result = read_export(path, "diploma", encoding="utf-8")
    assert [(p.row, p.code) for p in result.problems] == [(41, "encoding")]
    said = in_every_language("issue", "--dry-run", "--type", "diploma", "--input", str(path),
                             "--encoding", "utf-8")
    assert "строка 41: примерно с этой строки файл не читается в кодировке utf-8" \
        in said["ru"].output
    utf16 = in_every_language("issue", "--dry-run", "--type", "diploma", "--input",
                              str(path), "--encoding", "utf-16")
    assert "1-жол: тақырып жолы utf-16 кодталуында оқылмайды" in utf16["kk"].output


def test_an_invisible_character_is_named_by_its_code_in_kk_and_ru(tmp_path: Path) -> None:
    # before: "ішінде U+200B ZERO WIDTH SPACE бар": Unicode's English name in the line
    path = write_csv(tmp_path / "graduates.csv", [
        ["full_name", "iin", "programme", "qualification", "graduation_date"],
        ["Әсел\u200bНұрланова", IINS[0], "Информатика", "Бакалавр", "30.06.2026"]])
    assert codes(read_export(path, "diploma")) == ["bad-format"]
    said = in_every_language("issue", "--dry-run", "--type", "diploma", "--input", str(path))
    assert "U+200B ZERO WIDTH SPACE" in said["en"].output
    assert "2-жол, «full_name» бағаны: ішінде U+200B бар" in said["kk"].output


@pytest.mark.parametrize("name, text, row, key", [
    # a name in quotes inside a quoted value, as typed by hand: "Иванова "Анна""
    ("quote.csv", f'{HEADER}\n"Иванова "Анна"",{IINS[0]},IT,Бакалавр,30.06.2026\n', 2,
     "reg.file.csv_quote"),
    ("open.csv", f'{HEADER}\n{IINS[1]},x,IT,Бакалавр,30.06.2026\n"Иванова Анна,{IINS[0]},IT,'
     "Бакалавр,30.06.2026\n", 3, "reg.file.csv_unclosed"),
    ("nan.json", '[{"full_name": "Анна", "iin": NaN}]', 1, "reg.json.constant"),
    ("trail.json", f'[{{"full_name": "Анна", "iin": "{IINS[0]}"}}] ]', 2, "reg.json.trailing"),
    ("comma.json", '[{"full_name": "Анна"} {"iin": "1"}]', 2, "reg.json.separator"),
    ("broken.json", '[{"full_name": "Анна" "iin": "1"}]', 1, "reg.json.bad_item"),
])
def test_a_file_the_reader_cannot_follow_is_said_without_python_s_english(
        tmp_path: Path, name: str, text: str, row: int, key: str) -> None:
    # before: "строка 2: здесь CSV не читается: ',' expected after '"'", and the JSON
    # reader's own English ("Expecting ',' delimiter") in kk and ru lines
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    result = read_export(path, "diploma")
    assert [(p.row, p.said.key if p.said else None) for p in result.problems
            if p.code == "malformed"] == [(row, key)]
    in_every_language("issue", "--dry-run", "--type", "diploma", "--input", str(path))


def test_a_header_with_an_invisible_character_is_said_so_and_shown_by_its_code(
        tmp_path: Path) -> None:
    # before: "столбец «ИИН»: столбца с таким названием нет ни в схеме, ни в соответствии
    # столбцов": the registrar saw a right header refused, its zero-width space printed
    # as it was, invisible
    header = list(ZUP)
    header[3], header[5] = "ИИН\u200b", "Долж\u00adность"
    path = write_csv(tmp_path / "staff.csv", [header, _staff(0, "01.09.2021")], delimiter=";")
    result = read_export(path, "employment", mapping=load_mapping("1c-zup"))
    assert [(p.column, p.said.key if p.said else None) for p in result.problems
            if p.code == "unknown-column"] == [("ИИН\u200b", "reg.header.invisible"),
                                               ("Долж\u00adность", "reg.header.invisible")]
    said = in_every_language("issue", "--dry-run", "--type", "employment", "--mapping",
                             "1c-zup", "--input", str(path))
    for lang in ("kk", "ru"):
        assert "\u200b" not in said[lang].output and "\u00ad" not in said[lang].output
    assert "столбец «ИИН<U+200B>»: название столбца содержит U+200B" in said["ru"].output


def test_a_title_row_or_sheet_name_is_shown_without_its_direction_marks(tmp_path: Path) -> None:
    # before: printed as it was, a right-to-left override turning the rest of the line
    path = tmp_path / "graduates.xlsx"
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "Выпуск\u202e2026"
    sheet.append(["Список выпускников \u202e2026"])
    sheet.append(["full_name", "iin", "programme", "qualification", "graduation_date"])
    sheet.append(["Әсел Нұрланова", IINS[0], "Информатика", "Бакалавр", "30.06.2026"])
    workbook.save(path)
    said = in_every_language("issue", "--dry-run", "--type", "diploma", "--input", str(path))
    for lang in ("en", "kk", "ru"):
        assert "\u202e" not in said[lang].output, lang
    assert "строка 1: Список выпускников <U+202E>2026" in said["ru"].output
    assert "«Выпуск<U+202E>2026»" in said["ru"].output
