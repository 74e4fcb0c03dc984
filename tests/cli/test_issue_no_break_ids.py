"""A no-break space inside an id (a student id pasted from a web page) is kept as written:
the issuer's registry holds the keyed hash of the id each credential was issued with, so a
student issued with one before names nobody new when the same export is read again; its
rows are already issued, and a correction reaches them. Names are still made plain. The
duplicate check inside one file sees the id as the same id typed."""

from __future__ import annotations

from pathlib import Path

import pytest

import registrar.plain_spaces
from bench.registrar_exports import DIPLOMA_HEADER, write_csv
from registrar import read_export
from registrar.lookalike import look_key
from registrar.plain_spaces import MAX_COLUMNS_SAID, PlainSpaces, plain_spaces_said
from tests.cli.issued_registry_work import STUDENTS, issue
from tests.cli.test_issue_job import AccreditedNode
from tests.cli.test_issue_languages import in_every_language

PASTED_ID = "S\u00a00000000"
KEPT = {
    "en": "column 'student_id': 1 value(s) hold a no-break space (first in row 2), kept as "
          "written, since an id is recorded and matched exactly as the records system holds "
          "it",
    "kk": "«student_id» бағаны: 1 мәнде бөлінбейтін бос орын бар (алғашқысы — 2-жолда), "
          "жазылғанындай қалдырылады, өйткені идентификатор есепке алу жүйесіндегідей дәл "
          "жазылып, дәл салыстырылады",
    "ru": "столбец «student_id»: значений с неразрывным пробелом — 1 (первое — в строке 2); "
          "они оставлены как написаны, так как идентификатор записывается и сверяется точно "
          "так, как он хранится в учётной системе",
}


def _pasted_export(path: Path) -> Path:
    """Two students, the first with its id and name written with no-break spaces."""
    rows = [dict(student) for student in STUDENTS[:2]]
    rows[0]["student_id"] = PASTED_ID
    rows[0]["full_name"] = rows[0]["full_name"].replace(" ", "\u00a0")
    write_csv(path, DIPLOMA_HEADER, iter(rows))
    return path


def test_an_id_issued_with_a_no_break_space_is_found_again(
        work: tuple[Path, AccreditedNode], monkeypatch: pytest.MonkeyPatch) -> None:
    folder, _ = work
    _pasted_export(folder / "class.csv")
    with monkeypatch.context() as before:  # issued before any value was made plain
        before.setattr(registrar.plain_spaces.PlainSpaces, "plain",
                       lambda self, row, column, value: value)
        code, output = issue("--input", "class.csv", "--out", "first")
    assert code == 0, output
    code, output = issue("--input", "class.csv", "--out", "again")
    assert code != 0 and "already-issued" in output and "issued-mismatch" not in output, output
    code, output = issue("--input", "class.csv", "--out", "fixed", "--corrections")
    assert code == 0, output


def test_the_id_is_kept_and_the_dry_run_says_so(tmp_path: Path) -> None:
    path = _pasted_export(tmp_path / "class.csv")
    result = read_export(path, "diploma")
    assert result.problems == [], result.problems
    assert result.records[0]["student_id"] == PASTED_ID
    assert "\u00a0" not in result.records[0]["full_name"]
    said = in_every_language("issue", "--dry-run", "--type", "diploma", "--input", str(path))
    for lang, words in KEPT.items():
        assert said[lang].exit_code == 0 and words in said[lang].output, said[lang].output


def test_the_same_id_typed_is_a_duplicate(tmp_path: Path) -> None:
    rows = [dict(student) for student in STUDENTS[:2]]
    rows[0]["student_id"], rows[1]["student_id"] = PASTED_ID, "s 0000000"
    path = tmp_path / "class.csv"
    write_csv(path, DIPLOMA_HEADER, iter(rows))
    problems = read_export(path, "diploma").problems
    found = [(p.row, p.column, p.code) for p in problems]
    assert found == [(3, "student_id", "duplicate-student")], problems
    assert look_key(PASTED_ID) == look_key("s 0000000")


def test_values_past_the_columns_said_are_still_said() -> None:
    spaces = PlainSpaces()
    for column in range(MAX_COLUMNS_SAID + 2):
        assert spaces.plain(2, f"c{column}", "a\u00a0b") == "a b"
    assert spaces.keep(3, "id", "a\u00a0b") == "a\u00a0b"
    said = [line.english for line in plain_spaces_said(spaces.found())]
    assert len(said) == MAX_COLUMNS_SAID + 2, said
    assert said[-2:] == [
        "2 more value(s) of other columns hold a no-break space, each recorded as a plain "
        "space",
        "1 more value(s) of other id columns hold a no-break space, each kept as written"]
