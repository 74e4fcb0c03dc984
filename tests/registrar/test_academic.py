"""Transcripts (course lines, checked totals) and attestats (subject grades)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from registrar import load_mapping, load_schema, read_export
from registrar.schema import SchemaError
from tests.registrar.helpers import IINS, write_csv, write_xlsx

TRANSCRIPT = ["full_name", "iin", "programme", "gpa", "total_credits"]
PARTS = ["code", "title_kk", "title_ru", "title_en", "term", "credits", "grade", "numeric",
         "points"]


def course(code: str, credits: str, grade: str, numeric: str, points: str) -> list[str]:
    return [code, "Деректер қоры", "Базы данных", "Databases", "3", credits, grade, numeric,
            points]


def transcript_rows(gpa: str = "3.5", total: str = "10",
                    second: list[str] | None = None) -> list[list[str]]:
    header = TRANSCRIPT + [f"course{n}_{p}" for n in (1, 2) for p in PARTS]
    line_two = second or course("INF2", "5", "B", "80", "3.0")
    return [header, ["Әсел", IINS[0], "ИС", gpa, total,
                     *course("INF1", "5", "A", "97", "4.0"), *line_two]]


def test_course_lines_become_their_own_fields(tmp_path: Path) -> None:
    result = read_export(write_csv(tmp_path / "t.csv", transcript_rows()), "transcript")
    assert result.problems == []
    record = result.records[0]
    assert list(record)[-2:] == ["course.01", "course.02"]
    line = json.loads(record["course.01"])
    assert line == {"code": "INF1", "title_kk": "Деректер қоры", "title_ru": "Базы данных",
                    "title_en": "Databases", "term": "3", "credits": "5", "grade": "A",
                    "numeric": "97", "points": "4.0"}
    assert record["course.01"] == json.dumps(line, ensure_ascii=False, sort_keys=True,
                                             separators=(",", ":"))


def test_an_empty_course_group_is_no_line(tmp_path: Path) -> None:
    rows = transcript_rows(gpa="4.0", total="5", second=[""] * len(PARTS))
    result = read_export(write_csv(tmp_path / "e.csv", rows), "transcript")
    assert result.problems == [] and "course.02" not in result.records[0]


@pytest.mark.parametrize("gpa, total, second, column, code", [
    ("3.4", "10", None, "gpa", "inconsistent"),
    ("3.5", "11", None, "total_credits", "inconsistent"),
    ("3.5", "10", course("INF2", "5", "B", "80", "3.33"), "course2_points", "inconsistent"),
    ("3.5", "10", course("INF2", "5", "B", "90", "3.0"), "course2_numeric", "inconsistent"),
    ("3.5", "10", course("INF2", "", "B", "80", "3.0"), "course2_credits", "missing"),
    ("3.5", "10", course("INF2", "5", "B*", "80", "3.0"), "course2_grade", "bad-format"),
    ("3.5", "10", course("INF2", "0", "B", "80", "3.0"), "course2_credits", "bad-format")])
def test_transcript_faults(tmp_path: Path, gpa: str, total: str, second: list[str] | None,
                           column: str, code: str) -> None:
    result = read_export(write_csv(tmp_path / "f.csv", transcript_rows(gpa, total, second)),
                         "transcript")
    assert [(p.row, p.column, p.code) for p in result.problems] == [(2, column, code)]
    assert result.records == []


def test_transcript_needs_a_line(tmp_path: Path) -> None:
    rows: list[list[Any]] = [TRANSCRIPT, ["Әсел", IINS[0], "ИС", "3.5", "10"]]
    result = read_export(write_csv(tmp_path / "n.csv", rows), "transcript")
    assert [p.code for p in result.problems] == ["line-count"]


def test_unknown_course_part_is_an_unknown_column(tmp_path: Path) -> None:
    rows = transcript_rows()
    rows[0][-1] = "course2_colour"
    result = read_export(write_csv(tmp_path / "u.csv", rows), "transcript")
    assert ("course2_colour", "unknown-column") in [(p.column, p.code) for p in result.problems]


def test_attestat_subjects_from_kundelik_xlsx(tmp_path: Path) -> None:
    header = ["Оқушының аты-жөні", "ЖСН", "Мектеп", "Бітірген күні", "Алгебра", "Физика",
              "subject_music"]
    rows: list[list[Any]] = [
        header, ["Үміт Ерланқызы", IINS[0], "№ 12 мектеп", "25.05.2026", 5, 4, None]]
    result = read_export(write_xlsx(tmp_path / "k.xlsx", rows), "attestat",
                         mapping=load_mapping("kundelik"))
    assert result.problems == []
    record = result.records[0]
    assert (record["subject.algebra"], record["subject.physics"]) == ("5", "4")
    assert "subject.music" not in record and record["graduation_date"] == "2026-05-25"
    rows[1][5] = 6
    bad = read_export(write_xlsx(tmp_path / "k2.xlsx", rows), "attestat",
                      mapping=load_mapping("kundelik"))
    assert [(p.row, p.column, p.code) for p in bad.problems] == [(2, "Физика", "bad-format")]


def test_schema_override(tmp_path: Path) -> None:
    override = tmp_path / "diploma.toml"
    override.write_text('type = "diploma"\n[fields]\nfull_name = { format = "text", '
                        'required = true }\nthesis = { format = "text" }\n', encoding="utf-8")
    schema = load_schema("diploma", override)
    rows: list[list[Any]] = [["full_name", "thesis"], ["Әсел", "Блокчейн"]]
    result = read_export(write_csv(tmp_path / "o.csv", rows), "diploma", schema=schema)
    assert result.records == [{"full_name": "Әсел", "thesis": "Блокчейн"}]


@pytest.mark.parametrize("text", [
    "[fields]\nx = { format = 'roman' }", "[fields]\nX = { format = 'text' }",
    "unique = ['nope']", "colour = 1", "[checks]\ntotals = true", "[fields\n",
    "type = 'transcript'", "[lines.course]\nparts = { code = { format = 'code' } }\nmin = 5\n"
    "max = 2", "[each.subject]\nformat = 'school_grade'\nmin = 3\nmax = 1",
    "[lines.course.parts]\n" + "".join(f"p{n} = {{ format = 'text' }}\n" for n in range(13))])
def test_bad_schema_files(tmp_path: Path, text: str) -> None:
    path = tmp_path / "s.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SchemaError):
        load_schema("diploma", path)


TOTALS = (Path(__file__).parents[2] / "registrar" / "schemas" / "transcript.toml").read_text(
    encoding="utf-8")


@pytest.mark.parametrize(("old", "new"), [
    ("grade = { format = \"grade\", required = true }\n", ""),  # KeyError 'grade' per row
    ("credits = { format = \"ects\", required = true }",  # InvalidOperation on "five"
     "credits = { format = \"text\", required = true }"),
    ("grade = { format = \"grade\", required = true }", "grade = { format = \"grade\" }"),
    ("credits = { format = \"ects\", required = true }", "credits = { format = \"ects\" }"),
    ("numeric = { format = \"percent\" }", "numeric = { format = \"text\" }"),
    ("gpa = { format = \"gpa\" }", "gpa = { format = \"text\" }"),
    ("points = { format = \"points\" }\n", "")])
def test_a_schema_whose_totals_cannot_be_read_is_refused(tmp_path: Path, old: str,
                                                         new: str) -> None:
    """checks.totals reads the lines' grades and numbers: a schema without them, or with
    them as text, was taken, and the reader stopped at the first row with a traceback."""
    assert old in TOTALS
    path = tmp_path / "transcript.toml"
    path.write_text(TOTALS.replace(old, new), encoding="utf-8")
    with pytest.raises(SchemaError, match=r"checks\.totals needs"):
        load_schema("transcript", path)
    path.write_text(TOTALS, encoding="utf-8")
    assert load_schema("transcript", path).check_totals


@pytest.mark.parametrize("name, mapping, kind", [
    ("platonus_diplomas.csv", "platonus", "diploma"),
    ("platonus_transcripts.csv", "platonus", "transcript"),
    ("kundelik_attestats.csv", "kundelik", "attestat")])
def test_records_become_credential_documents(name: str, mapping: str, kind: str) -> None:
    from ledger.credential_documents import parse_document
    from ledger.credentials import make_batch
    samples = Path(__file__).parents[2] / "configs" / "registrar"
    result = read_export(samples / name, kind, mapping=load_mapping(mapping))
    batch = make_batch(result.records, kind, "senim-test", bytes(20), "Test University")
    for record, document in zip(result.records, batch.documents(), strict=True):
        assert parse_document(document).revealed == record


def test_unknown_type_and_bad_mappings(tmp_path: Path) -> None:
    with pytest.raises(SchemaError, match="no built-in schema"):
        load_schema("passport")
    with pytest.raises(SchemaError, match="cannot read mapping"):
        load_mapping(str(tmp_path / "missing.toml"))
    for text in ("[patterns]\n'Course' = 'course{n}_code'", "[columns]\n'A' = 'Bad Name'",
                 "[columns]\n'A' = 'x'\n' a ' = 'y'", "colour = 'red'"):
        path = tmp_path / "m.toml"
        path.write_text(text, encoding="utf-8")
        with pytest.raises(SchemaError):
            load_mapping(str(path))
    path.write_text("[patterns]\n'Course {n} code' = 'course{n}_code'", encoding="utf-8")
    assert load_mapping(str(path)).target(" course 007 CODE") == "course7_code"


def test_attestat_pass_and_exempt_words_as_schools_export_them(tmp_path: Path) -> None:
    # A Kundelik list as a class teacher fills it: marks, and for a pass/fail subject or
    # an exemption a word, in Kazakh or Russian, capitalised or not, with ё or е, an
    # abbreviation, a trailing space, or Kazakh letters typed on a Russian keyboard.
    header = ["Оқушының аты-жөні", "ЖСН", "Мектеп", "Бітірген күні", "Алгебра",
              "Дене шынықтыру", "subject_music", "subject_art"]
    words = [("Сынақ ", "босатылған"), ("ЕСЕПТЕЛДІ", "Освобождена"), ("зачтено", "освобождён"),
             ("Зачёт", "осв."), ("зачет", "Освобожден(а)"), ("сынак", "БОСАТЫЛДЫ")]
    rows: list[list[Any]] = [header] + [
        [f"Оқушы {n}", IINS[n], "№ 12 мектеп", "25.05.2026", "5", passed, exempt, "4"]
        for n, (passed, exempt) in enumerate(words)]
    result = read_export(write_csv(tmp_path / "k.csv", rows), "attestat",
                         mapping=load_mapping("kundelik"))
    assert result.problems == []
    assert {(r["subject.physical_education"], r["subject.music"]) for r in result.records} == {
        ("pass", "exempt")}
    assert all(r["subject.algebra"] == "5" for r in result.records)


def test_attestat_outcome_words_with_a_latin_letter_are_refused_by_row(tmp_path: Path
                                                                        ) -> None:
    header = ["Оқушының аты-жөні", "ЖСН", "Мектеп", "Бітірген күні", "Алгебра",
              "Дене шынықтыру"]
    rows: list[list[Any]] = [
        header, ["Оқушы", IINS[0], "№ 12 мектеп", "25.05.2026", "5", "зачтенo"],  # Latin o
        ["Оқушы", IINS[1], "№ 12 мектеп", "25.05.2026", "5", "Cынақ"],  # Latin C
        ["Оқушы", IINS[2], "№ 12 мектеп", "25.05.2026", "5", "хорошо"]]
    result = read_export(write_csv(tmp_path / "k.csv", rows), "attestat",
                         mapping=load_mapping("kundelik"))
    found = [(p.row, p.column, p.code) for p in result.problems]
    assert found == [(2, "Дене шынықтыру", "bad-format"), (3, "Дене шынықтыру", "bad-format"),
                     (4, "Дене шынықтыру", "bad-format")]
    assert "mixes Latin and Cyrillic letters (Latin: o)" in result.problems[0].message
    assert "(Latin: C)" in result.problems[1].message
    assert "сынақ, есептелді, зачтено, зачёт" in result.problems[2].message
    assert result.records == []


def test_a_pass_whose_kazakh_letter_cp1251_lost_is_named_as_a_lost_letter(tmp_path: Path
                                                                          ) -> None:
    # 1C's "CSV" from a Russian-locale Excel: cp1251 holds no қ, so сынақ is saved сына?,
    # which is no grade; the registrar is told why, not that the word is unknown.
    rows = [["full_name", "iin", "school", "graduation_date", "subject_algebra",
             "subject_physical_education"],
            ["Иванов Пётр", IINS[0], "Школа № 5", "25.05.2026", "4", "зачтено"],
            ["Петров Иван", IINS[1], "Школа № 5", "25.05.2026", "3", "сынақ"],
            ["Сидоров Олег", IINS[2], "Школа № 5", "25.05.2026", "4?", "зачтено"]]
    path = tmp_path / "1c.csv"
    with path.open("w", encoding="cp1251", errors="replace", newline="") as handle:
        csv.writer(handle, delimiter=";").writerows(rows)
    result = read_export(path, "attestat")
    assert [(p.row, p.column, p.code) for p in result.problems] == [
        (3, "subject_physical_education", "lost-letter"),
        (4, "subject_algebra", "bad-format")]  # a '?' after a digit loses no letter
