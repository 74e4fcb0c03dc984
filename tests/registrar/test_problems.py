"""Every kind of fault is reported by row and column, and then no record is released."""

from __future__ import annotations

import json
import tomllib
import unicodedata
from pathlib import Path
from typing import Any

import pytest

from registrar import ExportResult, load_mapping, read_export
from registrar.mapping import parse_mapping
from registrar.schema import SchemaError
from registrar.value_characters import unsafe_phrase
from tests.registrar.helpers import (
    DIPLOMA_HEADER,
    IINS,
    codes,
    diploma_row,
    write_csv,
    write_json,
    write_xlsx,
)


def where(result: ExportResult) -> list[tuple[int | None, str | None, str]]:
    return [(p.row, p.column, p.code) for p in result.problems]


def csv_result(tmp_path: Path, rows: list[list[Any]], kind: str = "diploma") -> ExportResult:
    return read_export(write_csv(tmp_path / "p.csv", rows), kind)


def test_empty_header(tmp_path: Path) -> None:
    result = read_export(write_csv(tmp_path / "e.csv", [
        [*DIPLOMA_HEADER[:2], " ", *DIPLOMA_HEADER[2:]],
        [*diploma_row(0)[:2], "lost?", *diploma_row(0)[2:]]]), "diploma")
    assert where(result) == [(2, "#3", "empty-header")] and result.records == []
    assert result.problems[0].message.startswith("column 3 has no header, but holds 'lost?'")


def test_what_a_column_without_a_header_holds_is_shown_safely_in_every_language(
        tmp_path: Path) -> None:
    # The English says it as repr(); in Kazakh and Russian a bidi override and a
    # terminal's title sequence reached the terminal as they were.
    held = "RED\u202eevil\x1b]0;TITLE\x07"
    result = read_export(write_csv(tmp_path / "e.csv", [
        [*DIPLOMA_HEADER[:2], "", *DIPLOMA_HEADER[2:]],
        [*diploma_row(0)[:2], held, *diploma_row(0)[2:]]]), "diploma")
    said = result.problems[0].said
    assert said is not None and dict(said.items())["value"] == \
        "RED<U+202E>evil<U+001B>]0;TITLE<U+0007>"


def test_an_empty_column_without_a_header_is_no_problem(tmp_path: Path) -> None:
    # A 1C report keeps column A as a margin, and Excel saves a spacer column in its used
    # range: each was refused as 'column 1 has no header' though it held nothing.
    header = ["", *DIPLOMA_HEADER[:2], "", *DIPLOMA_HEADER[2:]]
    rows = [header, *(["", *diploma_row(i)[:2], "", *diploma_row(i)[2:]] for i in range(3))]
    result = read_export(write_xlsx(tmp_path / "m.xlsx", rows), "diploma")
    assert result.problems == [] and len(result.records) == 3
    rows[2][3] = "примечание"  # a note typed into the spacer: not issued, so refused
    rows[3][3] = "ещё одно"
    result = read_export(write_xlsx(tmp_path / "n.xlsx", rows), "diploma")
    assert where(result) == [(3, "#4", "empty-header")]  # once, at its first value
    assert result.records == []


@pytest.mark.parametrize("second", ["iin", " IIN ", "Iin"])
def test_duplicate_header(tmp_path: Path, second: str) -> None:
    result = read_export(write_csv(tmp_path / "d.csv", [
        [*DIPLOMA_HEADER, second], [*diploma_row(0), IINS[1]]]), "diploma")
    assert where(result) == [(1, second, "duplicate-header")] and result.records == []


def test_two_headers_mapped_to_one_field(tmp_path: Path) -> None:
    mapping = parse_mapping({"columns": {"ИИН": "iin"}}, "test")
    path = write_csv(tmp_path / "m.csv", [[*DIPLOMA_HEADER, "ИИН"], [*diploma_row(0), IINS[1]]])
    result = read_export(path, "diploma", mapping=mapping)
    assert where(result) == [(1, "ИИН", "duplicate-header")]


def test_json_keys_differing_by_whitespace_are_duplicates(tmp_path: Path) -> None:
    item = dict(zip(DIPLOMA_HEADER, diploma_row(0), strict=True))
    path = tmp_path / "k.json"
    body = ", ".join(f'"{k}": "{v}"' for k, v in item.items())
    path.write_text(f'[{{{body}}}, {{{body}, " iin ": "{IINS[2]}"}}, '
                    f'{{{body.replace(IINS[0], IINS[3])}, "iin": "{IINS[4]}"}}]',
                    encoding="utf-8")
    result = read_export(path, "diploma")
    assert [(p.row, p.column, p.code) for p in result.problems
            if p.code == "duplicate-header"] == [(2, " iin ", "duplicate-header"),
                                                  (3, "iin", "duplicate-header")]
    assert result.records == []


def test_unknown_column_is_not_dropped(tmp_path: Path) -> None:
    result = csv_result(tmp_path, [[*DIPLOMA_HEADER, "shoe_size"], [*diploma_row(0), "42"]])
    assert where(result) == [(1, "shoe_size", "unknown-column")]


def test_missing_required_column(tmp_path: Path) -> None:
    result = csv_result(tmp_path, [DIPLOMA_HEADER[1:], diploma_row(0)[1:]])
    assert where(result) == [(1, "full_name", "missing-column")]


def test_csv_trailing_columns_without_header_or_values_are_ignored(tmp_path: Path) -> None:
    # Excel saves its used range: ";;" after the last header and after every row
    rows: list[list[Any]] = [[*DIPLOMA_HEADER, "", " "], [*diploma_row(0), "", ""],
                             diploma_row(1), [""] * 7, [*diploma_row(2), "", "stray"]]
    result = read_export(write_csv(tmp_path / "t.csv", rows, delimiter=";"), "diploma")
    assert where(result) == [(5, None, "long-row")]
    rows.pop()
    result = read_export(write_csv(tmp_path / "u.csv", rows, delimiter=";"), "diploma")
    assert result.problems == [] and len(result.records) == 2
    only_delimiters = read_export(write_csv(tmp_path / "e.csv", [[""] * 3, ["a", "", ""]]),
                                  "diploma")
    assert where(only_delimiters) == [(1, None, "no-header")]


def test_ragged_rows(tmp_path: Path) -> None:
    result = csv_result(tmp_path, [DIPLOMA_HEADER, diploma_row(0)[:1], [*diploma_row(1), "x"],
                                   diploma_row(2)])
    assert where(result) == [(2, "iin", "short-row"), (3, None, "long-row")]
    assert result.records == []


@pytest.mark.parametrize("empty", ["", "   ", "\u00a0"])
def test_missing_required_value(tmp_path: Path, empty: str) -> None:
    row = diploma_row(0)
    row[2] = empty
    result = csv_result(tmp_path, [DIPLOMA_HEADER, diploma_row(1), row])
    assert where(result) == [(3, "programme", "missing")]


def test_bad_formats_each_reported(tmp_path: Path) -> None:
    header = [*DIPLOMA_HEADER, "gpa", "birth_date"]
    row = [*diploma_row(0), "4.5", "31.02.2005"]
    row[1] = IINS[0][:-1] + str((int(IINS[0][-1]) + 1) % 10)
    result = csv_result(tmp_path, [header, row])
    assert where(result) == [(2, "iin", "bad-format"), (2, "gpa", "bad-format"),
                             (2, "birth_date", "bad-format")]


def test_same_student_twice(tmp_path: Path) -> None:
    header = [*DIPLOMA_HEADER, "student_id"]
    rows: list[list[Any]] = [
        header, [*diploma_row(0), "S1"], [*diploma_row(1), "S2"], [*diploma_row(0), "S3"],
            [*diploma_row(2), "S2"]]
    result = csv_result(tmp_path, rows)
    problems = result.problems
    assert where(result) == [(4, "iin", "duplicate-student"), (5, "student_id",
                                                                 "duplicate-student")]
    assert "row 2" in problems[0].message and "row 3" in problems[1].message


@pytest.mark.parametrize("bad_row", [2, 4])
def test_a_student_twice_is_named_when_one_of_the_rows_has_another_problem(
        tmp_path: Path, bad_row: int) -> None:
    # A registrar fixes every row the dry run names; a twin found only after one
    # row's date is fixed would take a second round.
    header = [*DIPLOMA_HEADER, "student_id"]
    rows: list[list[Any]] = [header, [*diploma_row(0), "S1"], [*diploma_row(1), "S2"],
                             [*diploma_row(0), "s1"]]
    rows[bad_row - 1][4] = "46203"  # a date cell Excel shows as a number
    result = csv_result(tmp_path, rows)
    assert where(result) == sorted([(bad_row, "graduation_date", "bad-format"),
                                    (4, "iin", "duplicate-student"),
                                    (4, "student_id", "duplicate-student")])
    assert "row 2" in result.problems[-1].message and result.records == []


@pytest.mark.parametrize("lost", [(1,), (2,), (1, 2)])
def test_an_iin_that_lost_its_leading_zero_still_finds_its_twin(
        tmp_path: Path, lost: tuple[int, ...]) -> None:
    # Excel keeps an IIN typed as a number without its zero: the same student given
    # twice was missed when one copy (or both) lost it. The row is still refused for it.
    rows: list[list[Any]] = [DIPLOMA_HEADER, diploma_row(0), diploma_row(0)]
    for row in lost:
        rows[row][1] = IINS[0][1:]
    assert IINS[0].startswith("0")
    found = where(csv_result(tmp_path, rows))
    assert found == sorted([(row + 1, "iin", "bad-format") for row in lost]
                           + [(3, "iin", "duplicate-student")])


def test_a_value_refused_in_its_own_right_names_no_twin(tmp_path: Path) -> None:
    rows: list[list[Any]] = [DIPLOMA_HEADER, diploma_row(0), diploma_row(0)]
    wrong = str((int(IINS[0][11]) + 1) % 10)
    rows[1][1] = rows[2][1] = IINS[0][:11] + wrong  # the same wrong check digit twice
    assert where(csv_result(tmp_path, rows)) == [(2, "iin", "bad-format"),
                                                 (3, "iin", "bad-format")]


def test_header_only_and_empty_file(tmp_path: Path) -> None:
    assert codes(read_export(write_csv(tmp_path / "h.csv", [DIPLOMA_HEADER]), "diploma")) == [
        "no-records"]
    (tmp_path / "empty.csv").write_bytes(b"")
    assert codes(read_export(tmp_path / "empty.csv", "diploma")) == ["no-header"]


def test_blank_rows_skipped_not_records(tmp_path: Path) -> None:
    result = csv_result(tmp_path, [DIPLOMA_HEADER, diploma_row(0), [], ["", " ", "", "", ""],
                                   diploma_row(1)])
    assert result.problems == [] and len(result.records) == 2
    assert result.source.blank_rows == 1


@pytest.mark.parametrize("body, code", [('"a"b,c\n', "malformed"),
                                        (f"a\x00,{IINS[0]},c,d,2026-06-30\n", "bad-format")])
def test_malformed_csv(tmp_path: Path, body: str, code: str) -> None:
    path = tmp_path / "m.csv"
    path.write_text(",".join(DIPLOMA_HEADER) + "\n" + body, encoding="utf-8")
    result = read_export(path, "diploma")
    assert codes(result) == [code] and result.records == []


def test_one_bad_row_withholds_every_record(tmp_path: Path) -> None:
    rows: list[list[Any]] = [DIPLOMA_HEADER] + [diploma_row(i) for i in range(10)]
    rows[7][4] = "2026-13-01"
    result = csv_result(tmp_path, rows)
    assert where(result) == [(8, "graduation_date", "bad-format")]
    assert result.records == [] and len(result.sample) == 9


def test_control_characters_refused(tmp_path: Path) -> None:
    row = diploma_row(0, name="Әсел\nНұрланова")
    result = csv_result(tmp_path, [DIPLOMA_HEADER, row])
    assert where(result) == [(2, "full_name", "bad-format")]
    assert "control character U+000A" in result.problems[0].message
    assert "line break" in result.problems[0].message
    # half of a UTF-16 pair (a JSON export may escape one) is not a control character
    items = [{**dict(zip(DIPLOMA_HEADER, diploma_row(0), strict=True)),
              "full_name": "Әсел \ud800"}]
    (tmp_path / "a.json").write_text(json.dumps(items), encoding="ascii")  # as \ud800
    result = read_export(tmp_path / "a.json", "diploma")
    assert where(result) == [(1, "full_name", "bad-format")]
    assert "U+D800, half of a UTF-16 pair" in result.problems[0].message


@pytest.mark.parametrize("name, point", [
    ("Әсел\u200bНұрланқызы", "U+200B ZERO WIDTH SPACE"), ("Ғалым\u00adЕрланұлы", "U+00AD"),
    ("Айгүл\ufeff Іскакова", "U+FEFF"), ("\u202eавонаруН", "U+202E")])
def test_invisible_formatting_characters_refused(tmp_path: Path, name: str, point: str) -> None:
    result = csv_result(tmp_path, [DIPLOMA_HEADER, diploma_row(0, name=name)])
    assert where(result) == [(2, "full_name", "bad-format")]
    assert point in result.problems[0].message and "invisible" in result.problems[0].message


@pytest.mark.parametrize("name, latin", [
    ("Aйгүл Іскакова", "A"), ("Ерлан Сeрікұлы", "e"), ("Әлiбек Нұрланұлы", "i"),
    ("Аsel Nurlanova", "Cyrillic: А"),
    # IPA letters some layouts type for the Kazakh ә and ө were read as neither script
    ("Сəрсенбаева Әлия", "ə"), ("Ɵтегенов Ғалым", "Ɵ"), ("Нұрланқызы Әсел Өмірɵва", "ɵ")])
def test_a_word_of_latin_and_cyrillic_look_alikes_is_refused(tmp_path: Path, name: str,
                                                             latin: str) -> None:
    result = csv_result(tmp_path, [DIPLOMA_HEADER, diploma_row(0, name=name)])
    assert where(result) == [(2, "full_name", "bad-format")]
    named = latin if ":" in latin else f"Latin: {latin}"  # the fewer letters are named
    assert f"({named})" in result.problems[0].message


@pytest.mark.parametrize("column, code, refused", [
    ("student_id", "АS0000004", True),  # a Cyrillic А: no duplicate check would match it
    ("diploma_number", "ЖБ-B 0000005", True),  # a Latin B in a Cyrillic series
    ("diploma_number", "ЖБ-Б 0000005", False), ("student_id", "S0000004", False),
    ("diploma_number", "KZ ЖБ-Б 0000005", False)])  # words of two scripts side by side
def test_a_code_of_latin_and_cyrillic_look_alikes_is_refused(tmp_path: Path, column: str,
                                                             code: str, refused: bool) -> None:
    result = csv_result(tmp_path, [[*DIPLOMA_HEADER, column], [*diploma_row(0), code]])
    if refused:
        assert where(result) == [(2, column, "bad-format")]
        assert "mixes Latin and Cyrillic letters" in result.problems[0].message
    else:
        assert result.problems == [] and result.records[0][column] == code


def test_latin_and_cyrillic_words_side_by_side_are_kept(tmp_path: Path) -> None:
    programme = "IT-менеджмент және Data Science (3D-модельдеу), Äsel Nūrlanqyzy"
    result = csv_result(tmp_path, [DIPLOMA_HEADER, diploma_row(0, programme=programme)])
    assert result.problems == [] and result.records[0]["programme"] == programme


def test_the_formatting_characters_are_unicodes_cf() -> None:
    for point in range(0x110000):
        character = chr(point)
        category = unicodedata.category(character)
        refused = unsafe_phrase(character) is not None
        assert refused == (category in ("Cc", "Cs", "Cf")) or (refused and category == "Cn")


def test_same_rule_for_empty_and_null_in_every_format(tmp_path: Path) -> None:
    header = [*DIPLOMA_HEADER, "gpa", "honours", "birth_date"]
    csv_rows: list[list[Any]] = [header, [*diploma_row(0), "", "  ", "\t"]]
    xlsx_rows: list[list[Any]] = [header, [*diploma_row(0), None, "  ", ""]]
    items = [{**dict(zip(DIPLOMA_HEADER, diploma_row(0), strict=True)),
              "gpa": None, "honours": "  ", "birth_date": ""}]
    results = [read_export(write_csv(tmp_path / "a.csv", csv_rows), "diploma"),
               read_export(write_xlsx(tmp_path / "a.xlsx", xlsx_rows), "diploma"),
               read_export(write_json(tmp_path / "a.json", items), "diploma")]
    expected = dict(zip(DIPLOMA_HEADER, diploma_row(0), strict=True))
    assert [r.records for r in results] == [[expected]] * 3
    missing_rows: list[list[Any]] = [header, ["  ", *diploma_row(0)[1:], "", "", ""]]
    missing_items = [{**items[0], "full_name": None}]
    results = [read_export(write_csv(tmp_path / "b.csv", missing_rows), "diploma"),
               read_export(write_xlsx(tmp_path / "b.xlsx", missing_rows), "diploma"),
               read_export(write_json(tmp_path / "b.json", missing_items), "diploma")]
    assert [where(r) for r in results] == [[(2, "full_name", "missing")]] * 2 + [
        [(1, "full_name", "missing")]]


def test_values_trimmed_but_otherwise_exact(tmp_path: Path) -> None:
    # but for a no-break space inside, recorded as the plain space it shows as
    # (registrar.plain_spaces): the double spaces and the stray accent stay
    name = "  Ли  Мария\u00a0 «О'Нил» ́ "
    result = csv_result(tmp_path, [DIPLOMA_HEADER, diploma_row(0, name=name)])
    assert result.records[0]["full_name"] == "Ли  Мария  «О'Нил» ́"


def test_platonus_mapping_headers(tmp_path: Path) -> None:
    rows: list[list[Any]] = [
        ["ФИО", " иин ", "Образовательная программа", "Квалификация", "Дата окончания"],
            diploma_row(0)]
    result = read_export(write_csv(tmp_path / "pl.csv", rows, "utf-8-sig", ";"), "diploma",
                         mapping=load_mapping("platonus"))
    assert result.problems == [] and result.records[0]["iin"] == IINS[0]
    unmapped = read_export(write_csv(tmp_path / "pl2.csv", rows), "diploma")
    assert codes(unmapped) == ["wrong-mapping"] + ["unknown-column"] * 5 + ["missing-column"] * 5
    assert str(unmapped.problems[0]) == (
        "row 1: without a mapping, 0 of the 5 columns are named as the schema names its "
        "fields; the shipped mapping platonus knows 5: give --mapping platonus [wrong-mapping]")


def test_headers_wrapped_or_spaced_in_excel_still_match(tmp_path: Path) -> None:
    # Alt+Enter in a header cell, a non-breaking space pasted from Word, a double space
    rows: list[list[Any]] = [
        ["ФИО\u00a0", "ИИН", "Образовательная\u00a0программа", "Квалификация",
         "Дата\nокончания"], diploma_row(0)]
    platonus = load_mapping("platonus")
    result = read_export(write_xlsx(tmp_path / "w.xlsx", rows), "diploma", mapping=platonus)
    assert result.problems == [] and result.records[0]["graduation_date"] == "2026-06-30"
    rows[0].append("Дата  окончания")
    rows[1].append("2026-06-30")
    result = read_export(write_xlsx(tmp_path / "d.xlsx", rows), "diploma", mapping=platonus)
    assert where(result) == [(1, "Дата  окончания", "duplicate-header")]


def test_letter_lost_by_a_cp1251_export(tmp_path: Path) -> None:
    rows: list[list[Any]] = [DIPLOMA_HEADER, diploma_row(0, "?сел Н?рланова", "Право"),
                             diploma_row(1, "Кто? Никто", "Право")]
    result = read_export(write_csv(tmp_path / "l.csv", rows, "cp1251", ";"), "diploma")
    assert where(result) == [(2, "full_name", "lost-letter")]
    for lost_before in (write_csv(tmp_path / "u.csv", rows), write_xlsx(tmp_path / "u.xlsx", rows)):
        # the letter was lost before the file held every letter (a cp1251 CSV saved again
        # as a workbook): it was issued as "?сел Н?рланова"
        result = read_export(lost_before, "diploma")
        assert where(result) == [(2, "full_name", "lost-letter")], result.problems
        assert result.problems[0].said is not None
        assert result.problems[0].said.key == "reg.value.lost_letter_before"


def test_birth_date_must_match_the_iin(tmp_path: Path) -> None:
    header = [*DIPLOMA_HEADER, "birth_date"]
    rows: list[list[Any]] = [header, [*diploma_row(0), "15.03.2005"],
                             [*diploma_row(1), "2005-03-16"]]
    result = csv_result(tmp_path, rows)
    assert where(result) == [(3, "birth_date", "inconsistent")]
    assert "2005-03-15" in result.problems[0].message


def test_a_row_number_column_the_mapping_ignores_is_read_past(tmp_path: Path) -> None:
    """Offices number their lists ("№ п/п"): a mapping may name such columns to ignore;
    any other unknown column is still refused, so a misspelt one is never lost."""
    samples = Path(__file__).parents[2] / "configs" / "registrar"
    lines = (samples / "platonus_diplomas.csv").read_text(encoding="cp1251").splitlines()
    numbered = tmp_path / "numbered.csv"
    numbered.write_text("\n".join(f"{'№ п/п' if i == 0 else i};{line}"
                                  for i, line in enumerate(lines)) + "\n", encoding="cp1251")
    plain = read_export(samples / "platonus_diplomas.csv", "diploma",
                        mapping=load_mapping("platonus"))
    read = read_export(numbered, "diploma", mapping=load_mapping("platonus"))
    assert read.problems == [] and read.records == plain.records  # no number on a document
    unmapped = read_export(numbered, "diploma",
                           mapping=parse_mapping({"columns": {"ФИО": "full_name"}}, "t"))
    assert ("№ п/п", "unknown-column") in [(p.column, p.code) for p in unmapped.problems]


@pytest.mark.parametrize("ignore", ["№", [""], [1], ["ФИО"]])
def test_a_bad_ignore_list_is_refused_when_the_mapping_loads(ignore: Any) -> None:
    with pytest.raises(SchemaError):
        parse_mapping({"columns": {"ФИО": "full_name"}, "ignore": ignore}, "t")


def test_a_code_shorter_than_the_mapping_says_is_refused_by_row(tmp_path: Path) -> None:
    """A student ID stored as a number in Excel loses its leading zeros. A mapping that
    says how many digits the office's IDs have names the row and the zeros lost, and
    never pads them back (a guess would put a wrong ID on a diploma)."""
    samples = Path(__file__).parents[2] / "configs" / "registrar"
    lines = (samples / "platonus_diplomas.csv").read_text(encoding="cp1251").splitlines()
    ids = ["00012345", "12345", "A1234567", "0001234"]
    rows = [line.split(";") for line in lines[:len(ids) + 1]]
    for row, student_id in zip(rows[1:], ids, strict=True):
        row[3] = student_id
    export = tmp_path / "ids.csv"
    export.write_text("\n".join(";".join(row) for row in rows) + "\n", encoding="cp1251")
    shipped = tomllib.loads((Path(__file__).parents[2] / "registrar" / "mappings"
                             / "platonus.toml").read_text(encoding="utf-8"))
    mapping = parse_mapping({**shipped, "digits": {"ID студента": 8}}, "t")
    read = read_export(export, "diploma", mapping=mapping)
    assert where(read) == [(3, "ID студента", "bad-format"), (4, "ID студента", "bad-format"),
                           (5, "ID студента", "bad-format")]
    assert "'12345' has 5: 3 leading zeros probably lost" in read.problems[0].message
    assert "'0001234' has 7: 1 leading zero probably lost" in read.problems[2].message
    assert read.records == []
    # a mapping that says nothing of digits takes a code as it stands
    assert read_export(export, "diploma", mapping=load_mapping("platonus")).problems == []


@pytest.mark.parametrize("digits", ["8", {"ID студента": 0}, {"ID студента": 33},
                                    {"ID студента": True}, {"ID студента": "8"}, {" ": 8}])
def test_a_bad_digits_table_is_refused_when_the_mapping_loads(digits: Any) -> None:
    with pytest.raises(SchemaError, match="digits"):
        parse_mapping({"columns": {"ФИО": "full_name"}, "digits": digits}, "t")


def test_decomposed_letters_are_recorded_composed(tmp_path: Path) -> None:
    # An export written with й and ё decomposed (и or е and a combining mark, as text
    # from macOS or a PDF comes) reads the same, but matched no composed record: a
    # student id so written escaped the duplicate check. Kazakh's own letters have no
    # decomposed form. Values are recorded in NFC, canonically the same text.
    name, student = "Қайратқызы Айгүл Сергеевна, Ёлкина", "Й-0001"
    decomposed = unicodedata.normalize("NFD", name)
    assert decomposed != name
    header = [*DIPLOMA_HEADER, "student_id"]
    result = csv_result(tmp_path, [header, [*diploma_row(0, name=decomposed), student]])
    assert result.problems == [] and result.records[0]["full_name"] == name
    twice = csv_result(tmp_path, [header, [*diploma_row(0), student],
                                  [*diploma_row(1), unicodedata.normalize("NFD", student)]])
    assert where(twice) == [(3, "student_id", "duplicate-student")]
