"""What a registrar meets besides the values: another system's mapping (or none), a
mapping or schema saved by Notepad, and a heading, total or signature row inside the
list."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import registrar.schema
from registrar import load_mapping, load_schema, read_export
from registrar.mapping import parse_mapping
from registrar.schema import SchemaError
from tests.registrar.helpers import IINS, codes, diploma_row, write_csv


def test_another_systems_mapping_is_named_with_the_one_that_knows_the_header(
        tmp_path: Path) -> None:
    rows: list[list[Any]] = [["№ п/п", "ФИО", "ИИН", "Образовательная программа",
                              "Квалификация", "Дата окончания"], [1, *diploma_row(0)]]
    path = write_csv(tmp_path / "pl.csv", rows)
    ours = parse_mapping({"columns": {"ФИО": "full_name"}}, "ours")  # a registrar's own
    result = read_export(path, "diploma", mapping=ours)
    assert str(result.problems[0]) == (
        "row 1: the mapping ours knows 1 of the 6 columns; the shipped mapping platonus "
        "knows 6: is --mapping platonus the one for this export? [wrong-mapping]")


def test_a_mapping_for_another_type_is_refused_naming_the_ones_for_this_type(
        tmp_path: Path) -> None:
    # A university's diplomas with Kazakh headers: the school journal's mapping knew ЖСН,
    # Туған күні and Бітірген күні, so "give --mapping kundelik" was the hint, and that
    # mapping read a diploma export as far as it went.
    rows: list[list[Any]] = [["№", "Аты-жөні", "ЖСН", "Білім беру бағдарламасы",
                              "Біліктілік", "Бітірген күні"], [1, *diploma_row(0)]]
    path = write_csv(tmp_path / "kk.csv", rows)
    hinted = read_export(path, "diploma")
    assert hinted.problems[0].message.endswith("the shipped mapping platonus knows 6: give "
                                               "--mapping platonus")
    with pytest.raises(SchemaError, match=r"^mapping kundelik reads attestat exports, not "
                                          "diploma: for diploma exports give --mapping "
                                          "platonus, or none$"):
        read_export(path, "diploma", mapping=load_mapping("kundelik"))
    with pytest.raises(SchemaError, match=r"give --mapping kundelik, or none$"):
        read_export(path, "attestat", mapping=load_mapping("platonus"))
    result = read_export(path, "diploma", mapping=load_mapping("platonus"))
    assert result.problems == [] and result.records[0]["programme"] == diploma_row(0)[2]


def test_no_mapping_is_named_when_none_knows_the_header_better(tmp_path: Path) -> None:
    rows: list[list[Any]] = [["Аты", "iin", "programme", "qualification", "Күні"],
                             diploma_row(0)]
    result = read_export(write_csv(tmp_path / "x.csv", rows), "diploma",
                         mapping=load_mapping("platonus"))
    assert "wrong-mapping" not in codes(result) and "missing-column" in codes(result)


def test_a_mapping_or_schema_saved_by_notepad_is_read(tmp_path: Path) -> None:
    # Windows Notepad saves UTF-8 with a byte order mark; TOML refused it at "line 1,
    # column 1", and a file saved as ANSI (cp1251) at the byte that failed.
    text = '[columns]\n"ФИО" = "full_name"\n"ИИН" = "iin"\n'
    with_bom = tmp_path / "ours.toml"
    with_bom.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    assert load_mapping(str(with_bom)).target("ИИН") == "iin"
    schema = tmp_path / "diploma.toml"
    built_in = Path(registrar.schema.__file__).parent / "schemas" / "diploma.toml"
    schema.write_bytes(b"\xef\xbb\xbf" + built_in.read_bytes())
    assert load_schema("diploma", schema).credential_type == "diploma"
    ansi = tmp_path / "ansi.toml"
    ansi.write_bytes(text.encode("cp1251"))
    with pytest.raises(SchemaError, match=r"ansi.toml: it is not UTF-8 text \(saved as ANSI, "
                                          r"Windows-1251\?\): save it as UTF-8$"):
        load_mapping(str(ansi))


def test_a_heading_total_or_signature_row_is_named_once(tmp_path: Path) -> None:
    # A report's group heading between its students, and its total and signature below
    # them: each gave "... is required" for every required field.
    header = ["№ п/п", "ФИО", "ИИН", "Образовательная программа", "Квалификация",
              "Дата окончания"]
    rows: list[list[Any]] = [header, ["", "Группа ИС-21-1", "", "", "", ""],
                             ["1", *diploma_row(0)], ["Итого: 1", "", "", "", "", ""],
                             ["", "Ректор ____________ Ә. Смағұлов", "", "", "", ""],
                             ["", "Иванова Анна", "", "Ақпараттық жүйелер", "", ""]]
    result = read_export(write_csv(tmp_path / "r.csv", rows), "diploma",
                         mapping=load_mapping("platonus"))
    assert [(p.row, p.column, p.code) for p in result.problems] == [
        (2, None, "not-a-student"), (4, None, "not-a-student"), (5, None, "not-a-student"),
        (6, None, "not-a-student")]
    assert result.problems[1].message == (
        "the row holds only 'Итого: 1' and no IIN: a heading, total or signature? Delete it "
        "from the export (a person's row, a student's or an employee's, needs the rest "
        "filled in)")
    # a row of three values or one with an IIN is a student's, its gaps named one by one
    rows[5][4] = "Бакалавр"
    rows[4][2] = IINS[1]
    result = read_export(write_csv(tmp_path / "s.csv", rows), "diploma",
                         mapping=load_mapping("platonus"))
    assert [(p.row, p.code) for p in result.problems if p.row and p.row > 4] == [
        (5, "missing"), (5, "missing"), (5, "missing"), (6, "missing"), (6, "missing")]


def test_a_school_journal_in_russian_is_read_by_the_kundelik_mapping(tmp_path: Path) -> None:
    # A school taught in Russian exports its journal with Russian headers (cp1251 from
    # Excel): every column was unknown to the one school mapping, which knew Kazakh only.
    rows = [["№", "ФИО ученика", "ИИН", "Школа", "Дата окончания", "Алгебра",
             "Русская литература", "Физическая культура"],
            ["1", "Иванов Пётр", IINS[0], "Школа-гимназия № 5", "25.05.2026", "5", "4",
             "зачтено"]]
    path = tmp_path / "journal.csv"
    with path.open("w", encoding="cp1251", newline="") as handle:
        handle.write("\n".join(";".join(row) for row in rows) + "\n")
    result = read_export(path, "attestat", mapping=load_mapping("kundelik"))
    assert result.problems == []
    record = result.records[0]
    assert (record["school"], record["subject.russian_literature"],
            record["subject.physical_education"]) == ("Школа-гимназия № 5", "4", "pass")
