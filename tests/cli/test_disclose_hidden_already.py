"""`senim disclose` says what the copy hides that the file did not: a field hidden already
was counted again ("wrote copy.json: 1 field(s) hidden (iin)" of a copy identical to its
file, which hid it before), and a field named twice twice. A --hide that hides nothing more
is refused, as one that names no field is."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.document_lines import label
from cli.language import Words
from cli.main import main
from tests.cli.test_disclosed_file_mode import diploma_file


def disclose(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["disclose", *args])
    return result.exit_code, result.output


@pytest.mark.parametrize("language", ["en", "kk", "ru"])
def test_a_field_hidden_already_is_not_hidden_again(tmp_path: Path, language: str) -> None:
    original, first = diploma_file(tmp_path), tmp_path / "first.json"
    assert disclose(str(original), "--hide", "iin", "--out", str(first))[0] == 0
    again = tmp_path / "again.json"
    code, said = disclose(str(first), "--hide", "iin", "--out", str(again), "--lang", language)
    assert code == 2, said
    words = Words(language)
    hidden = "iin" if language == "en" else label(words, "iin")
    assert words.t("cli.disclose.hidden_already", path=str(first), names=hidden) in said, said
    assert not again.exists()
    code, said = disclose(str(first), "--hide", "iin,full_name", "--out", str(again),
                          "--lang", "en")
    assert code == 0, said
    assert said.startswith(f"wrote {again}: 1 field(s) hidden (full_name)"), said


def test_a_field_named_twice_is_counted_once(tmp_path: Path) -> None:
    original, copy = diploma_file(tmp_path), tmp_path / "copy.json"
    code, said = disclose(str(original), "--hide", "iin, iin", "--out", str(copy))
    assert code == 0, said
    assert said.startswith(f"wrote {copy}: 1 field(s) hidden (iin)"), said
