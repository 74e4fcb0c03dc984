"""`senim issue --dry-run` says, in each language, what it made of a two-row header (a
workbook's, a CSV's), an honours word, look-alike student ids and a text reading as an
Excel error."""

from __future__ import annotations

from pathlib import Path

import openpyxl

from tests.cli.test_issue_languages import in_every_language
from tests.registrar.helpers import DIPLOMA_HEADER, diploma_row, valid_iins, write_csv

SCHOOL = "Алматы қаласының № 12 мектеп-гимназиясы"


def test_a_two_row_header_is_named_in_every_language(tmp_path: Path) -> None:
    path = tmp_path / "11a.xlsx"
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["Оқушының аты-жөні", "ЖСН", "Мектеп", "Бітірген күні", "Пәндер", None])
    sheet.append([None, None, None, None, "Алгебра", "Физика"])
    for iin in valid_iins(2, "080808"):
        sheet.append(["Әсел Нұрланова", iin, SCHOOL, "2026-05-25", 5, 4])
    for reference in ("A1:A2", "B1:B2", "C1:C2", "D1:D2", "E1:F1"):
        sheet.merge_cells(reference)
    workbook.save(path)
    said = in_every_language("issue", "--dry-run", "--type", "attestat", "--mapping",
                             "kundelik", "--input", str(path))
    assert said["en"].exit_code == 0, said["en"].output
    assert "header on rows 1-2" in said["en"].output
    assert "тақырып 1-2 жолдарда" in said["kk"].output
    assert "заголовок в строках 1-2" in said["ru"].output


def test_a_csv_two_row_header_is_named_and_refused_in_every_language(
        tmp_path: Path) -> None:
    iins = valid_iins(2, "080808")
    top = ["Оқушының аты-жөні", "ЖСН", "Мектеп", "Бітірген күні", "Пәндер", ""]
    rows = [["11 «А» сынып", "", "", "", "", ""], top, ["", "", "", "", "Алгебра", "Физика"],
            *[["Әсел Нұрланова", iin, SCHOOL, "2026-05-25", "5", "4"] for iin in iins]]
    path = write_csv(tmp_path / "11a.csv", rows, "utf-8-sig", ";")
    said = in_every_language("issue", "--dry-run", "--type", "attestat", "--mapping",
                             "kundelik", "--input", str(path))
    assert said["en"].exit_code == 0, said["en"].output
    assert "header on row 2; read past 1 title row" in said["en"].output
    assert "header on rows 2-3: one header split over two rows" in said["en"].output
    assert "тақырып 2-3 жолдарда: екі жолға бөлінген бір тақырып" in said["kk"].output
    assert ("заголовок в строках 2-3: один заголовок, разделённый на две строки, — "
            "название группы в строке 2") in said["ru"].output
    rows[1][5] = "Пәндер"  # the group written in each of its cells, one left unnamed
    rows[2][5] = ""
    said = in_every_language("issue", "--dry-run", "--type", "attestat", "--mapping",
                             "kundelik", "--input", str(write_csv(path, rows)))
    assert said["en"].exit_code != 0
    assert ("row 3, column '#6': column 6 stands under 'Пәндер' (written in row 2 over "
            "columns 5-6) but has no name in row 3") in said["en"].output
    assert ("3-жол, «#6» бағаны: 6-баған «Пәндер» астында тұр (2-жолда 5-6 бағандардың "
            "үстіне жазылған), бірақ 3-жолда атауы жоқ") in said["kk"].output
    assert ("строка 3, столбец «#6»: столбец 6 стоит под «Пәндер» (название группы — в "
            "строке 2 над столбцами 5-6), но в строке 3 у него нет названия") \
        in said["ru"].output


def test_a_group_name_the_mapping_does_not_read_is_named_in_every_language(
        tmp_path: Path) -> None:
    group = "Дисциплина первая"
    rows = [["ФИО", "ИИН", "Образовательная программа", "Всего кредитов ECTS", group,
             "", "", ""],
            ["", "", "", "", "код", "название (рус)", "кредиты ECTS", "оценка"],
            ["Асель Нурланова", valid_iins(1)[0], "ИС", "5", "ИС101", "Программирование",
             "5", "зачтено"]]
    said = in_every_language("issue", "--dry-run", "--type", "transcript", "--mapping",
                             "platonus", "--input", str(write_csv(tmp_path / "t.csv", rows)))
    assert said["en"].exit_code != 0
    assert (f"row 2, column '#5': the mapping reads 'код' neither alone nor under the group "
            f"'{group}' (written in row 1 over columns 5-8)") in said["en"].output
    assert (f"2-жол, «#5» бағаны: сәйкестендіру «код» атауын жеке де, «{group}» тобының "
            "(1-жолда 5-8 бағандардың үстіне жазылған) астында да оқымайды") \
        in said["kk"].output
    assert (f"строка 2, столбец «#5»: сопоставление не читает «код» ни отдельно, ни под "
            f"группой «{group}» (название группы — в строке 1 над столбцами 5-8)") \
        in said["ru"].output


def test_honours_lookalike_ids_and_error_text_are_said_in_every_language(
        tmp_path: Path) -> None:
    header = [*DIPLOMA_HEADER, "student_id", "honours"]
    path = write_csv(tmp_path / "export.csv", [
        header, [*diploma_row(0), "AB-1", "да"], [*diploma_row(1), "АВ-1", ""],
        [*diploma_row(2), "S-3", "x"]])
    said = in_every_language("issue", "--dry-run", "--type", "diploma", "--input", str(path))
    assert said["en"].exit_code != 0
    assert "(AB-1 there, АВ-1 here)" in said["en"].output
    assert "(там AB-1, здесь АВ-1)" in said["ru"].output
    assert "(онда AB-1, мұнда АВ-1)" in said["kk"].output
    assert "'x' says neither whether there are honours" in said["en"].output
    assert "«x» не говорит ни о том, есть ли отличие" in said["ru"].output
    assert "«x» үздік белгінің бар-жоғын да" in said["kk"].output
