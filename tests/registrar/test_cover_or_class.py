"""What tells a cover page from a class of one, whose first rows may look alike: a cover
page is kept before the list (registrar.cover_page). A cover whose one IIN stands in a
table under three labels or more (a commission's `Должность | Ф.И.О. | ИИН` of one) was
read as a class of one, given column problems for its labels, though the class was on
the sheet behind it; a class of one on a sheet of two columns, with no list behind it,
was told to move the students' sheet to the front, being on it."""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from pathlib import Path

from registrar import read_export
from tests.registrar.helpers import IINS, codes
from tests.registrar.test_first_sheet import COVER, STUDENTS, workbook

TITLE: list[str | int | None] = ["Бұйрық № 123, 30.06.2026 — Приказ № 123 от 30.06.2026"]
Sheet = tuple[str, Sequence[Sequence[str | int | None]], str]
NOTES: Sheet = ("Примечания", [["Тізім деканатпен келісілген"]], "visible")


def test_a_cover_whose_iin_row_stands_under_three_labels_is_a_cover(tmp_path: Path) -> None:
    # the commission's table of one between the order's lines, as a cover is laid out
    covers: dict[str, list[list[str | int | None]]] = {
        "commission": [TITLE, ["Должность", "Ф.И.О.", "ИИН"],
                       ["Председатель ГАК", "Смағұлов Әлихан", IINS[2]], ["О выпуске"]],
        "signatory": [TITLE, ["Лауазымы", "Аты-жөні", "ЖСН", "Қолы"],
                      ["Ректор", "Смағұлов Ә.", IINS[2], None]],
        "names": [TITLE, ["Смағұлов", "Әлихан", "Ректор", "ИИН"],
                  ["Ректор", "Смағұлов Ә.", "1", IINS[2]]],
    }
    for name, cover in covers.items():
        path = workbook(tmp_path / f"{name}.xlsx", ("Титул", cover, "visible"),
                        ("Выпускники", STUDENTS, "visible"))
        found = codes(read_export(path, "diploma"))
        assert found[0] == "no-header" and "unknown-column" not in found, (name, found)
        assert "missing-column" not in found, (name, found)


def test_a_class_of_one_of_two_columns_is_a_class(tmp_path: Path) -> None:
    classes: dict[str, list[list[str | int | None]]] = {
        "iin_name": [["ИИН", "ФИО"], [IINS[0], "Нұрланова Әсел"]],
        "name_iin": [["Аты-жөні", "Жеке нөмірі"], ["Нұрланова Әсел  ", int(IINS[0])]],
        "titled": [TITLE, ["Студент", "ЖСН"], ["Нұрланова Әсел", IINS[0]]],
        "name_grade": [["Студент", "Бағасы"], ["Нұрланова Әсел", "5"]],
    }
    for name, rows in classes.items():
        empty: Sheet = ("Лист2", [], "visible")
        for later in (NOTES, empty):
            path = workbook(tmp_path / f"{name}.xlsx", ("Лист1", rows, "visible"), later)
            found = codes(read_export(path, "diploma"))
            assert "no-header" not in found and "unknown-column" in found, (name, found)
            assert "missing-column" in found, (name, found)


def test_what_was_a_cover_stays_one_with_no_list_behind_it(tmp_path: Path) -> None:
    # a page of one-line titles, or an IIN alone on its line: no table on the sheet
    for name, cover in {"titles": COVER,
                        "rector": [*COVER, ["Ректор"], [IINS[2]]]}.items():
        path = workbook(tmp_path / f"{name}.xlsx", ("Титул", cover, "visible"), NOTES)
        assert codes(read_export(path, "diploma"))[0] == "no-header", name


def test_a_damaged_later_sheet_is_no_list_and_no_fault_of_the_first(tmp_path: Path) -> None:
    # the sheet read is sound: a later one cut short holds no list to move to the front
    path = workbook(tmp_path / "cut.xlsx", ("Лист1", [["ИИН", "ФИО"],
                                                      [IINS[0], "Нұрланова Әсел"]], "visible"),
                    ("Лист2", [["x"]], "visible"))
    damaged = tmp_path / "damaged.xlsx"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(damaged, "w") as copy:
        for part in source.infolist():
            data = source.read(part)
            copy.writestr(part, data[:len(data) // 2] if part.filename.endswith(
                "sheet2.xml") else data)
    found = codes(read_export(damaged, "diploma"))
    assert "malformed" not in found and "unknown-column" in found, found
