"""Student ids that differ only in letter case or in look-alike Cyrillic and Latin
letters are one student twice, caught by row; each id is still recorded as written
(registrar.lookalike)."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from registrar import read_export
from registrar.lookalike import look_key
from tests.registrar.helpers import (
    DIPLOMA_HEADER,
    diploma_row,
    only,
    valid_iins,
    write_csv,
    write_xlsx,
)

HEADER = [*DIPLOMA_HEADER, "student_id"]


@pytest.mark.parametrize("first, second", [
    ("AB-2026-001", "ab-2026-001"),  # case
    ("AB-2026-001", "АВ-2026-001"),  # Cyrillic А and В
    ("KMHOPCTX7", "КМНОРСТХ7"),  # every capital look-alike
    ("ЕК0001", "EK0001"),
    ("ҮІҺ-1", "YIH-1"),  # Kazakh Ү, І, Һ
    ("ӘӨ-2", "әө-2"),  # Kazakh letters, by case
])
def test_lookalike_ids_are_one_student_in_a_csv_and_a_workbook(
        tmp_path: Path, first: str, second: str) -> None:
    rows = [HEADER, [*diploma_row(0), first], [*diploma_row(1), "S-9"],
            [*diploma_row(2), second]]
    for path in (write_csv(tmp_path / "ids.csv", rows),
                 write_xlsx(tmp_path / "ids.xlsx", rows)):
        # read as the real run reads, each clean record handed on as it is read
        result = read_export(path, "diploma", on_record=lambda _row, _record: None)
        problem = only(result, "duplicate-student")
        assert (problem.row, problem.column) == (4, "student_id")
        assert problem.said is not None and problem.said.key == "reg.row.duplicate_lookalike"
        assert problem.message.startswith(f"the same student_id as row 2 ({first} there, "
                                          f"{second} here)")
        assert not result.ok and result.count == 0  # the real run issues nothing


def test_the_same_id_twice_is_said_as_before(tmp_path: Path) -> None:
    rows = [HEADER, [*diploma_row(0), "S-1"], [*diploma_row(1), "S-1"]]
    problem = only(read_export(write_csv(tmp_path / "ids.csv", rows), "diploma"),
                   "duplicate-student")
    assert problem.said is not None and problem.said.key == "reg.row.duplicate"


def test_ids_that_only_look_different_are_recorded_as_written(tmp_path: Path) -> None:
    # ҚЗ and KZ, Ғ and G: no Latin letter looks like Қ or Ғ, so these are two students
    rows = [HEADER, [*diploma_row(0), "ҚЗ-1"], [*diploma_row(1), "KZ-1"],
            [*diploma_row(2), "Ғ-1"], [*diploma_row(3), "G-1"], [*diploma_row(4), "0-1"],
            [*diploma_row(5), "O-1"]]
    result = read_export(write_csv(tmp_path / "ids.csv", rows), "diploma")
    assert result.problems == []
    assert [r["student_id"] for r in result.records] == ["ҚЗ-1", "KZ-1", "Ғ-1", "G-1", "0-1",
                                                         "O-1"]


def test_the_key_folds_case_and_twins_only() -> None:
    assert look_key("ав-01") == look_key("AB-01") == "AB-01"
    assert look_key("қ") != look_key("k")


@pytest.mark.parametrize("first, second", [
    ("ҮК-1", "УК-1"),  # Kazakh Ү and Russian У: two Cyrillic letters, not a look-alike pair
    ("ҺО-2", "НО-2"),  # Kazakh Һ and Н likewise
])
def test_review_two_cyrillic_letters_are_not_folded_into_one(
        tmp_path: Path, first: str, second: str) -> None:
    """review: the fold maps both Cyrillic У and Ү to Latin Y (and Н and Һ to H), so two
    ids written wholly in Cyrillic, which differ in a letter any Kazakh reader tells
    apart, were refused as one student twice."""
    rows = [HEADER, [*diploma_row(0), first], [*diploma_row(1), second]]
    result = read_export(write_csv(tmp_path / "ids.csv", rows), "diploma")
    assert result.problems == []
    assert look_key(first) != look_key(second)


def test_a_latin_id_looks_like_each_cyrillic_one_that_does_not_look_like_the_other(
        tmp_path: Path) -> None:
    # ҮК-1 and УК-1 are two students; YK-1 (Latin) looks like both, and is said against
    # the first row it looks like, in the dry run as in the real run
    rows = [HEADER, [*diploma_row(0), "ҮК-1"], [*diploma_row(1), "УК-1"],
            [*diploma_row(2), "YK-1"], [*diploma_row(3), "ук-1"]]
    for on_record in (None, lambda _row, _record: None):
        result = read_export(write_csv(tmp_path / "ids.csv", rows), "diploma",
                             on_record=on_record)
        found = [(p.row, p.code, p.message.split(":")[0]) for p in result.problems]
        assert found == [
            (4, "duplicate-student", "the same student_id as row 2 (ҮК-1 there, YK-1 here)"),
            (5, "duplicate-student", "the same student_id as row 3 (УК-1 there, ук-1 here)")]


def test_many_spellings_of_one_latin_form_are_each_still_caught_when_repeated(
        tmp_path: Path) -> None:
    # 32 ids differing only in У/Ү and Н/Һ: past MAX_SHARED_SPELLINGS a spelling is not
    # compared with its twins, but its own repeat is still one student twice
    spellings = ["".join(pair) for pair in itertools.product("УҮ", "УҮ", "НҺ", "НҺ", "УҮ")]
    ids = [*(f"{s}-1" for s in spellings), f"{spellings[-1]}-1", "YYHHY-1"]
    rows = [HEADER, *([*diploma_row(0)[:1], iin, *diploma_row(0)[2:], student]
                      for iin, student in zip(valid_iins(len(ids)), ids, strict=True))]
    result = read_export(write_csv(tmp_path / "ids.csv", rows), "diploma")
    assert [(p.row, p.code) for p in result.problems] == [
        (34, "duplicate-student"), (35, "duplicate-student")]
    assert result.problems[1].message.startswith(
        "the same student_id as row 2 (УУННУ-1 there, YYHHY-1 here)")
