"""A day typed with a time of day (`senim employment start --start "2025-02-01 10:30"`), or
as Excel's number of a day, is refused in a sentence for a typed option, in the officer's
language, naming the day to give: it got the advice an export's column gets ("format the
column as a date without the time"), which no one typing an option can follow."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from cli.language import catalogue
from cli.main import main
from tests.cli.test_ministry_languages import PREFIX

ERROR = {**PREFIX, "en": "error: "}
# what was typed, the key of its sentence, and the values that sentence names
TYPED = [
    ("2025-02-01 10:30", "rec.date.with_time", {"day": "2025-02-01"}),
    ("01.02.2025 10:30", "rec.date.with_time", {"day": "01.02.2025"}),
    ("2025-02-01T10:30:00", "rec.date.with_time", {"day": "2025-02-01"}),
    # as a system stamps it, in UTC or with its zone: said as a time, not as no day at all
    ("2025-02-01T10:30:00Z", "rec.date.with_time", {"day": "2025-02-01"}),
    ("2025-02-01T10:30:00.123+05:00", "rec.date.with_time", {"day": "2025-02-01"}),
    ("2025-01-31T19:00:00,5-0500", "rec.date.with_time", {"day": "2025-01-31"}),
    ("2025-02-01T00:00:00Z", "rec.date.with_time", {"day": "2025-02-01"}),
    ("45536", "rec.date.excel_day", {}),
]
SPREADSHEET = {"en": "column", "kk": "баған", "ru": "столб"}


def _said(args: list[str], lang: str) -> str:
    result = CliRunner().invoke(main, [*args, "--lang", lang])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    return result.output


@pytest.mark.parametrize("typed, key, named", TYPED)
@pytest.mark.parametrize("lang", ["en", "kk", "ru"])
def test_a_day_typed_with_a_time_is_asked_for_alone(typed: str, key: str,
                                                    named: dict[str, str], lang: str) -> None:
    start = ["employment", "start", "--key", "k", "--full-name", "А Б", "--position", "P",
             "--organisation", "O", "--out", "o.json"]
    # `employment end --end` reads its key and record first; the day is read as here.
    # Each option is named as typed, with the value typed and the day to give instead.
    commands = {"--start ": [*start, "--start", typed],
                "--field end_date=": [*start, "--start", "2020-01-01", "--field",
                                      f"end_date={typed}"]}
    for option, args in commands.items():
        said = _said(args, lang)
        assert said.startswith(ERROR[lang]) and len(said.splitlines()) == 1, said
        assert SPREADSHEET[lang] not in said, said
        given = f"{option}{typed!r}"
        if named:
            assert said == ERROR[lang] + catalogue(lang)[key].format(
                given=given, instead=f"{option}{named['day']}") + "\n", said
        else:  # a day said as the reader's language says days
            head = catalogue(lang)[key].format(given=given, day="{day}")
            assert said.startswith(ERROR[lang] + head.split("{day}", 1)[0]), said
            assert said.rstrip("\n").endswith(head.split("{day}", 1)[1]), said


def test_midnight_as_1c_writes_a_day_is_still_read() -> None:
    said = _said(["employment", "start", "--key", "/no/such.key", "--full-name", "А Б",
                  "--position", "P", "--organisation", "O", "--start", "01.02.2025 0:00:00",
                  "--out", "o.json"], "en")
    assert "key file not found" in said, said  # past the day, to the key
