"""The honours column takes a yes, a no or a distinction's name in Kazakh, Russian or
English, each recorded one way; anything else is refused by row (registrar.honours)."""

from __future__ import annotations

from pathlib import Path

import pytest

from registrar import load_mapping, read_export
from tests.registrar.helpers import DIPLOMA_HEADER, diploma_row, only, write_csv, write_xlsx

HEADER = [*DIPLOMA_HEADER, "honours"]


@pytest.mark.parametrize("written, recorded", [
    ("с отличием", "с отличием"), ("С отличием", "с отличием"), ("да", "с отличием"),
    ("Диплом с отличием", "с отличием"), ("үздік", "үздік"), ("Иә", "үздік"),
    ("уздик", "үздік"),  # typed on a Russian keyboard
    ("with distinction", "with distinction"), ("Yes", "with distinction"),
    ("with honours", "with honours"), ("Алтын белгі", "Алтын белгі"),
])
def test_a_distinction_is_recorded_in_its_words(tmp_path: Path, written: str,
                                                recorded: str) -> None:
    rows = [HEADER, [*diploma_row(0), written]]
    for path in (write_csv(tmp_path / "h.csv", rows), write_xlsx(tmp_path / "h.xlsx", rows)):
        result = read_export(path, "diploma")
        assert result.problems == [], result.problems
        assert result.records[0]["honours"] == recorded


@pytest.mark.parametrize("written", ["нет", "Нет", "жоқ", "жок", "no", "None", "без отличия"])
def test_a_no_leaves_the_field_out_as_an_empty_cell_does(tmp_path: Path, written: str) -> None:
    # "нет" was issued: the diploma read "Honours: нет"
    rows = [HEADER, [*diploma_row(0), written], [*diploma_row(1), ""]]
    result = read_export(write_csv(tmp_path / "h.csv", rows), "diploma")
    assert result.problems == [], result.problems
    assert ["honours" in record for record in result.records] == [False, False]


@pytest.mark.parametrize("written", ["x", "+", "1", "отл", "с отличием!", "с oтличием"])
def test_anything_else_is_refused_naming_the_words(tmp_path: Path, written: str) -> None:
    rows = [HEADER, [*diploma_row(0), "да"], [*diploma_row(1), written]]
    problem = only(read_export(write_csv(tmp_path / "h.csv", rows), "diploma"), "bad-format")
    assert (problem.row, problem.column) == (3, "honours")
    assert problem.said is not None and problem.said.key == "reg.honours.unknown"
    for word in ("с отличием", "үздік", "with distinction", "нет", "жоқ", "no"):
        assert word in problem.message


def test_an_attestats_honours_column_under_its_kazakh_name(tmp_path: Path) -> None:
    header = ["Оқушының аты-жөні", "ЖСН", "Мектеп", "Бітірген күні", "Үздік белгісі",
              "Алгебра"]
    school = "Алматы қаласының № 12 мектеп-гимназиясы"
    rows = [header, ["Әсел Нұрланова", diploma_row(0)[1], school, "2026-05-25", "x", "5"]]
    problem = only(read_export(write_csv(tmp_path / "a.csv", rows), "attestat",
                               mapping=load_mapping("kundelik")), "bad-format")
    assert (problem.row, problem.column) == (2, "Үздік белгісі")
