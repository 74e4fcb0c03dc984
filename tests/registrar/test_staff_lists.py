"""An employer's staff list as 1C:ZUP saves it (`--mapping 1c-zup`): employment records
from Russian or Kazakh headers, an employee still at work with no end, and the mapping
refused for a university's export."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from registrar.export import read_export
from registrar.mapping import check_reads, load_mapping
from registrar.schema import SchemaError

SAMPLES = Path(__file__).parents[2] / "configs" / "registrar"
KAZAKH_HEADER = ["Жол №", "Табель нөмірі", "Қызметкер", "ЖСН", "Ұйым", "Бөлімше", "Лауазымы",
                 "Жұмысқа қабылданған күні", "Жұмыстан босатылған күні"]


def test_the_sample_staff_list_reads_as_employment_records() -> None:
    result = read_export(SAMPLES / "1c_zup_employees.csv", "employment",
                         mapping=load_mapping("1c-zup"))
    assert result.problems == []
    first, left = result.records[0], result.records[1]
    assert first["employee_id"] == "00000001"  # the leading zeros of a text column kept
    assert first["position"] == "Инженер-программист" and "end_date" not in first
    assert (left["start_date"], left["end_date"]) == ("2021-09-02", "2026-03-31")


def test_a_kazakh_language_setups_headers_are_read(tmp_path: Path) -> None:
    path = tmp_path / "қызметкерлер.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out, delimiter=";")
        writer.writerow(KAZAKH_HEADER)
        writer.writerow(["1", "000417", "Сейтқали Әлия Нұрланқызы", "010101500013",
                         "«Қазпошта» АҚ", "IT бөлімі", "Талдаушы", "15.02.2024", ""])
    result = read_export(path, "employment", mapping=load_mapping("1c-zup"))
    assert result.problems == [], [str(p) for p in result.problems]
    assert result.records[0]["full_name"] == "Сейтқали Әлия Нұрланқызы"
    assert result.records[0]["start_date"] == "2024-02-15"


def test_an_end_after_today_in_a_staff_list_is_refused_by_row(tmp_path: Path) -> None:
    path = tmp_path / "staff.csv"
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, delimiter=";")
        writer.writerow(["Сотрудник", "ИИН", "Организация", "Должность", "Дата приема",
                         "Дата увольнения"])
        writer.writerow(["Ким Елена", "010101500013", "ТОО Kaspi", "Аналитик", "01.03.2022",
                         "31.12.2999"])
    result = read_export(path, "employment", mapping=load_mapping("1c-zup"))
    assert [(p.row, p.code) for p in result.problems] == [(2, "in-future")]


@pytest.mark.parametrize("kind", ["diploma", "attestat", "transcript"])
def test_the_staff_list_mapping_is_refused_for_academic_exports(kind: str) -> None:
    with pytest.raises(SchemaError, match="reads employment exports"):
        check_reads(load_mapping("1c-zup"), kind)
