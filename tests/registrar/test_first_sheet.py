"""Only a workbook's first sheet is read: a cover page (an order, notes) before the
students' sheet is named as such, and a first sheet that is the list is not."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import openpyxl

from registrar import read_export
from registrar.iin import birth_date_of, check_digit, lost_zero
from tests.registrar.helpers import DIPLOMA_HEADER, IINS, codes, diploma_row, write_xlsx

COVER = [["Приказ № 123 от 30.06.2026"], ["О выпуске"]]
# Platonus' header: --mapping platonus names its columns, none of which the schema does
PLATONUS_HEADER = ["ФИО", "ИИН", "Образовательная программа", "Квалификация",
                   "Дата окончания"]


def workbook(path: Path, *sheets: tuple[str, Sequence[Sequence[str | int | None]], str]
             ) -> Path:
    """A workbook of (title, rows, Excel's state: visible or hidden) sheets, in order."""
    book = openpyxl.Workbook()
    book.remove(book.worksheets[0])
    for title, rows, state in sheets:
        sheet = book.create_sheet(title)
        sheet.sheet_state = state
        for row in rows:
            sheet.append(row)
    book.save(path)
    return path


STUDENTS = [DIPLOMA_HEADER, diploma_row(0), diploma_row(1)]


def test_a_cover_sheet_before_the_students_sheet_says_only_the_first_is_read(
        tmp_path: Path) -> None:
    # An order's cover page first: its lines read as a header of unknown columns, and
    # nothing said that the students' sheet behind it was never read.
    path = write_xlsx(tmp_path / "c.xlsx", COVER)
    assert "no-header" not in codes(read_export(path, "diploma"))  # one sheet: no other
    path = workbook(tmp_path / "d.xlsx", ("Титул", COVER, "visible"),
                    ("Выпускники", STUDENTS, "visible"))
    result = read_export(path, "diploma")
    # alone: the cover's "unknown columns" and "missing columns" would have the registrar
    # write a mapping for a page that is no list
    [problem] = result.problems
    assert problem.code == "no-header" and problem.row is None and "'Титул'" in problem.message
    assert "move that sheet to the front" in problem.message and result.records == []
    assert result.problem_codes == {"no-header"}
    path = workbook(tmp_path / "n.xlsx", ("Выпускники", STUDENTS, "visible"),
                    ("Примечания", [["notes"]], "visible"))
    assert read_export(path, "diploma").records[0]["iin"] == IINS[0]


def test_a_first_sheet_that_is_the_list_is_not_told_to_move(tmp_path: Path) -> None:
    # The students' own sheet, whose header only needs --mapping platonus: moving a
    # sheet would contradict the mapping's hint, which comes first.
    rows = [PLATONUS_HEADER, diploma_row(0), diploma_row(1)]
    for later in ("visible", "hidden"):
        path = workbook(tmp_path / f"{later}.xlsx", ("Лист1", rows, "visible"),
                        ("lookup", [["x"]], later))
        found = codes(read_export(path, "diploma"))
        assert found[0] == "wrong-mapping" and "no-header" not in found, found
    # no hint (a header no shipped mapping knows either), but IINs in its rows
    rows = [["Студент", "ЖСН", "Мамандық"], ["Әсел Нұрланова", IINS[0], "Информатика"],
            ["Дәурен Сейітов", IINS[1], "Информатика"]]
    path = workbook(tmp_path / "iins.xlsx", ("Лист1", rows, "visible"),
                    ("Лист2", [["x"]], "visible"))
    found = codes(read_export(path, "diploma"))
    assert "no-header" not in found and "unknown-column" in found, found


def test_a_hidden_second_sheet_makes_no_cover_of_the_first(tmp_path: Path) -> None:
    # Only one sheet the registrar sees: there is no other sheet to move to the front.
    path = workbook(tmp_path / "h.xlsx", ("Титул", COVER, "visible"),
                    ("lookup", [["x"]], "hidden"))
    assert "no-header" not in codes(read_export(path, "diploma"))


def bin_passing_the_check_digit() -> str:
    """A university's BIN (registered 2004-07, a legal entity: 4 where an IIN's day is)
    whose last digit is the one an IIN of its first eleven would have."""
    for serial in range(10_000):
        first = f"0407400{serial:04d}"
        digit = check_digit(first)
        if digit is not None:
            return first + str(digit)
    raise AssertionError("no serial gives a check digit")


def test_a_number_on_the_cover_passing_an_iins_checks_is_no_list(tmp_path: Path) -> None:
    # A BIN shares the IIN's check digit, and one number in eleven passes it: the cover
    # was taken for the students' list, and the registrar asked to map its lines.
    found_bin = bin_passing_the_check_digit()
    phone = next(number for number in (f"871725550{n:02d}" for n in range(100))
                 if lost_zero(number) is not None and birth_date_of(number.zfill(12)) is None)
    for number in (found_bin, phone):
        cover = [["Приказ № 123 от 30.06.2026"], ["БИН / тел."], [number], ["О выпуске"]]
        path = workbook(tmp_path / f"{number}.xlsx", ("Титул", cover, "visible"),
                        ("Выпускники", STUDENTS, "visible"))
        assert codes(read_export(path, "diploma")) == ["no-header"], number
    # a person's IIN on an order's cover (the rector's, say) is one row, no list
    cover = [["Приказ № 123 от 30.06.2026"], ["Ректор"], [IINS[2]], ["О выпуске"]]
    path = workbook(tmp_path / "rector.xlsx", ("Титул", cover, "visible"),
                    ("Выпускники", STUDENTS, "visible"))
    assert codes(read_export(path, "diploma")) == ["no-header"]


# A header no shipped mapping knows: the class's real problem is its columns
OWN_HEADER = ["Студент", "Жеке нөмірі", "Мамандығы", "Бітірген жылы"]


def test_a_class_of_one_on_the_first_sheet_is_no_cover_page(tmp_path: Path) -> None:
    # A transfer or an external exam: one student, whose row fills the table under its
    # header. It was told to move the students' sheet to the front, being on it.
    rows = [OWN_HEADER, ["Әсел Нұрланова", IINS[0], "Информатика", "2026"]]
    path = workbook(tmp_path / "one.xlsx", ("Лист1", rows, "visible"),
                    ("Лист2", [["x"]], "visible"))
    found = codes(read_export(path, "diploma"))
    assert "no-header" not in found and "unknown-column" in found, found
    # with the schema's header it is issued as any class is
    path = workbook(tmp_path / "issued.xlsx", ("Лист1", [DIPLOMA_HEADER, diploma_row(0)],
                                               "visible"), ("Лист2", [["x"]], "visible"))
    result = read_export(path, "diploma")
    assert result.problems == [] and [r["iin"] for r in result.records] == [IINS[0]]


def test_a_class_of_one_under_a_title_row_is_no_cover_page(tmp_path: Path) -> None:
    # The list's name above its header: the title, one cell, was taken for the header, and
    # the student's row, wider than it, judged against it and called a cover's line.
    rows = [["Список выпускников 2026"], OWN_HEADER, ["Әсел Нұрланова", IINS[0],
                                                    "Информатика", "2026"]]
    path = workbook(tmp_path / "titled.xlsx", ("Лист1", rows, "visible"),
                    ("Лист2", [["x"]], "visible"))
    found = codes(read_export(path, "diploma"))
    assert "no-header" not in found and "unknown-column" in found, found


def test_a_class_of_one_under_a_numbered_or_dated_header_is_no_cover_page(
        tmp_path: Path) -> None:
    # Header cells a class list has over no name: a row number's "№" or "#", an empty cell,
    # an academic year. They were read as no column's name, so the row as a cover's line.
    student = ["Әсел Нұрланова", IINS[0], "Информатика"]
    headers: dict[str, tuple[list[str | None], list[str]]] = {
        "number": (["№", *OWN_HEADER[:3]], ["1", *student]),
        "hash": (["#", *OWN_HEADER[:3]], ["1", *student]),
        "empty": ([*OWN_HEADER[:3], None, "Ескерту"], [*student, "бітірді", "жоқ"]),
        "year": ([*OWN_HEADER[:3], "2025-2026 оқу жылы"], [*student, "бітірді"]),
    }
    for name, (header, row) in headers.items():
        path = workbook(tmp_path / f"{name}.xlsx", ("Лист1", [header, row], "visible"),
                        ("Лист2", [["x"]], "visible"))
        found = codes(read_export(path, "diploma"))
        assert "no-header" not in found and "unknown-column" in found, (name, found)


def test_a_cover_page_with_one_iin_in_a_wide_line_is_still_a_cover(tmp_path: Path) -> None:
    # A cover's line holding the rector's IIN with words beside it is no student's row:
    # under a one-line title, or under a form's label and value line read as its header.
    covers = {
        "title": [["Приказ № 123 от 30.06.2026"], ["Ректор", "Смағұлов Ә.", IINS[2]]],
        "form": [["Университет", "КазНУ", "БИН", bin_passing_the_check_digit()],
                 ["Ректор", "Смағұлов Ә.", "ИИН", IINS[2]]],
        "dated": [["Бұйрық", "№ 123", "Күні", "30.06.2026"],
                  ["Ректор", "Смағұлов Ә.", "ЖСН", IINS[2]]],
    }
    for name, cover in covers.items():
        path = workbook(tmp_path / f"{name}.xlsx", ("Титул", cover, "visible"),
                        ("Выпускники", STUDENTS, "visible"))
        found = codes(read_export(path, "diploma"))
        # (the title's line, wider than its header, is a long-row of the cover too)
        assert found[0] == "no-header" and "unknown-column" not in found, (name, found)
