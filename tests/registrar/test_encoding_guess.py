"""Short text exports that are not UTF-8, read without --encoding (registrar.cyrillic_guess)."""

from __future__ import annotations

from pathlib import Path

import pytest

from registrar import read_export
from registrar.cyrillic_guess import guess_cyrillic
from tests.registrar.helpers import valid_iins

IINS = valid_iins(3)
HEADER = "full_name;iin;position;organisation;start_date"


def _export(tmp_path: Path, names: list[str], encoding: str,
            position: str = "Engineer", organisation: str = "Kaspi") -> Path:
    lines = [HEADER] + [f"{name};{IINS[i]};{position};{organisation};01.09.2024"
                        for i, name in enumerate(names)]
    path = tmp_path / "staff.csv"
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding, "replace"))
    return path


@pytest.mark.parametrize("names, position, organisation", [
    # before: each was guessed mac-cyrillic, cp1125, shift_jis_2004 or cp1258 by
    # charset-normalizer alone and refused ("the file is not UTF-8, UTF-16 or cp1251")
    (["Иванова Анна Сергеевна"], "Engineer", "Kaspi"),
    (["Иванова Анна Сергеевна"], "Инженер", "АО Казахтелеком"),
    (["Петров Дмитрий"], "Engineer", "Kaspi"),
    (["Ким Елена"], "Engineer", "Kaspi"),
    (["Ким Елена"], "Engineer", "ТОО «Самал»"),
    (["Ким Елена", "Ёлкин Пётр", "Шевченко Юлия"], "Бухгалтер", "КазНУ им. аль-Фараби"),
])
def test_a_short_cp1251_export_is_read_as_cp1251(
        tmp_path: Path, names: list[str], position: str, organisation: str) -> None:
    path = _export(tmp_path, names, "cp1251", position, organisation)
    result = read_export(path, "employment")
    assert result.problems == [] and result.source.encoding == "cp1251"
    assert [r["full_name"] for r in result.records] == names
    assert result.records[0]["organisation"] == organisation


@pytest.mark.parametrize("names", [["Әлібек Нұрлан"], ["Сейітқали Үміт"],
                                   ["Ісмағұлова Әйгерім", "Өтеген Һәдия"]])
def test_kazakh_names_saved_in_cp1251_are_read_and_their_lost_letters_named(
        tmp_path: Path, names: list[str]) -> None:
    # before: "Әлібек Нұрлан" saved as "?лібек Н?рлан" was refused as cp1257, "Сейітқали
    # Үміт" as cp1258: the registrar never learnt which letters were lost
    result = read_export(_export(tmp_path, names, "cp1251"), "employment")
    assert result.source.encoding == "cp1251"
    assert {(p.row, p.code) for p in result.problems} == {
        (row, "lost-letter") for row in range(2, 2 + len(names))}


@pytest.mark.parametrize("names", [["Әлібек Нұрлан"], ["Қасымов Ғалым", "Бекова Айгүл"],
                                   ["Өтеген Һәдия", "Жұмабаев Серік", "Ли Ольга"]])
def test_a_kz1048_export_is_read_with_its_kazakh_letters(tmp_path: Path,
                                                         names: list[str]) -> None:
    # before: read as cp1251, "Әлібек Нұрлан" became "Јлібек Нўрлан" and passed every
    # check, or was refused as another encoding
    path = _export(tmp_path, names, "kz1048", "Есепші", "ТОО Самға")
    result = read_export(path, "employment")
    assert result.problems == []
    assert result.source.encoding == "kz1048"
    assert [r["full_name"] for r in result.records] == names
    assert result.records[0]["position"] == "Есепші"


def test_an_excel_for_mac_export_is_read_as_mac_cyrillic(tmp_path: Path) -> None:
    names = ["Уразов Тимур", "Иванова Анна Сергеевна"]
    result = read_export(_export(tmp_path, names, "mac-cyrillic"), "employment")
    assert result.problems == [] and result.source.encoding == "mac-cyrillic"
    assert [r["full_name"] for r in result.records] == names


@pytest.mark.parametrize("names, encoding, named", [
    # capitals only: cp1251's Я is mac-cyrillic's я
    (["Ярослав Яковлев"], "cp1251", ("cp1251", "mac-cyrillic")),
    # Ukrainian є and і: KZ-1048 reads є as ғ
    (["Євгенія Сергієнко"], "cp1251", ("cp1251", "kz1048")),
])
def test_a_file_two_encodings_read_as_differing_names_is_refused_naming_both(
        tmp_path: Path, names: list[str], encoding: str, named: tuple[str, ...]) -> None:
    path = _export(tmp_path, names, encoding)
    result = read_export(path, "employment")
    assert [(p.code, p.said.key if p.said else None) for p in result.problems] == [
        ("encoding", "reg.encoding.ambiguous")]
    for name in named:
        assert f"--encoding {name}" in result.problems[0].message
    forced = read_export(path, "employment", encoding=encoding)
    assert forced.problems == [] and forced.records[0]["full_name"] == names[0]


def test_western_european_text_is_not_taken_for_cyrillic(tmp_path: Path) -> None:
    # "José Müller" in cp1252 reads "Josй Mьller" as cp1251: no name is so written
    assert guess_cyrillic("full_name\nJosé Müller\n".encode("cp1252")).encoding is None
    result = read_export(_export(tmp_path, ["José Müller"], "cp1252"), "employment")
    assert [p.code for p in result.problems] == ["encoding"]
    assert "--encoding" in result.problems[0].message


@pytest.mark.parametrize("encoding", ["koi8-r", "cp866", "iso8859-5"])
def test_russian_in_older_cyrillic_encodings_is_not_read_as_cp1251(encoding: str) -> None:
    # their letters stand where cp1251 has others: "Иванова" in KOI8-R is "йБЮМНБЮ"
    head = ("ФИО;ИИН\nИванова Анна Сергеевна;1\nКим Елена;2\n").encode(encoding)
    assert guess_cyrillic(head).encoding is None
