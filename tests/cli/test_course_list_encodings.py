"""`senim recognise --courses` reads a course list as `senim issue` reads an export: Excel's
plain "CSV" (cp1251), KZ-1048 and UTF-16 as well as UTF-8 (it was UTF-8 only, anything
else refused with the advice to save it as "CSV UTF-8")."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli.record_inputs import recognised_lines

HEADER = "from_code;from_field;as_code;as_title_{lang};credits;grade\n"


@pytest.mark.parametrize("encoding, lang, title", [
    ("cp1251", "ru", "Информатика"), ("kz1048", "kk", "Қазақ тілі"),
    ("utf-16", "kk", "Қазақ тілі"), ("utf-8-sig", "kk", "Қазақ тілі")])
def test_a_course_list_in_an_offices_encoding_is_read(tmp_path: Path, encoding: str,
                                                      lang: str, title: str) -> None:
    path = tmp_path / "courses.csv"
    path.write_bytes((HEADER.format(lang=lang) + f"CS101;Программирование;INF1;{title};5;A\n"
                      ).encode(encoding))
    assert recognised_lines(path) == [{
        "from_code": "CS101", "from_field": "Программирование", "as_code": "INF1",
        f"as_title_{lang}": title, "credits": "5", "grade": "A"}]


def test_a_kazakh_letter_cp1251_lost_is_refused_by_course(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "courses.csv"
    path.write_bytes((HEADER.format(lang="ru") + "KZ1;?аза? тілі;KZ1;Казахский язык;5;A\n"
                      ).encode("cp1251"))
    with pytest.raises(SystemExit):
        recognised_lines(path)
    assert "course 1: from_field: a '?' inside a word" in capsys.readouterr().err


def test_a_file_no_encoding_reads_for_certain_is_still_refused_with_advice(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # UTF-8 with a cp1251 line appended: reading the whole as either garbles a part
    path = tmp_path / "courses.csv"
    path.write_bytes((HEADER.format(lang="kk") + "KZ1;Қазақ тілі;KZ1;Қазақ тілі;5;A\n"
                      ).encode() + "CS1;Программирование;INF1;Информатика;5;A\n".encode("cp1251"))
    with pytest.raises(SystemExit):
        recognised_lines(path)
    assert 'save it as "CSV UTF-8"' in capsys.readouterr().err
