"""`senim employment start|end` and `senim recognise` take a typed value as `senim issue`
takes an export's (registrar.formats): no invisible or control character, no word of two
alphabets, trimmed and composed; no day before 1900; no current employment the chain
could never record the end of. Each refusal in kk, ru and en, exit 2, nothing written
(the credential file is written before anything is sent, so no file: nothing sent)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.cli.test_ministry_languages import refused_in_every_language, said_in, senim
from tests.cli.test_record_languages import START, Office, running_office
from tests.node.conftest import documents_of

NAME, POSITION = 1, 5  # where START holds the full name and the position


@pytest.fixture
async def office(tmp_path: Path) -> AsyncIterator[Office]:
    async with running_office(tmp_path) as running:
        yield running


def _with(index: int, value: str) -> list[str]:
    args = list(START)
    args[index] = value
    return args


@pytest.mark.parametrize("args, option, ru", [
    (_with(NAME, "Әлия\u200bСерікова"), "--full-name", "U+200B — невидимый символ"),
    (_with(NAME, "Әлия \u202eавокиреС"), "--full-name", "U+202E"),
    (_with(NAME, "Әлия\x07 Серікова"), "--full-name", "управляющий символ U+0007"),
    (_with(NAME, "Әлия\nСерікова"), "--full-name", "перенос строки"),
    (_with(NAME, "Aлия Серікова"), "--full-name", "смешаны латинские и кириллические"),
    (_with(POSITION, "Ана\u00adлитик"), "--position", "U+00AD"),
    ([*START, "--field", "department=IT\u200d"], "--field department", "U+200D"),
    ([*START, "--field", "employee_id=АS0001"], "--field employee_id", "смешаны"),
])
async def test_employment_start_refuses_a_value_no_export_could_hold(
        office: Office, args: list[str], option: str, ru: str) -> None:
    # before: each was issued as typed (exit 0), the zero-width space inside the name
    # and all, so the record matched no other record of the name
    out = office.new("never.json")
    said = await refused_in_every_language(
        "employment", "start", "--key", office.key("employer"), *args, "--out", out,
        "--node", office.url, code=2)
    assert f"{option}: " in said["en"] and f"{option}: " in said["ru"], said
    assert ru in said["ru"], said["ru"]
    assert not Path(out).exists()


@pytest.mark.parametrize("start, ru", [
    ("0001-01-01", "дата 1 января 0001 г. раньше 1900 года"),
    ("31.12.1899", "раньше 1900 года"),
    ("01.03.1965", "раньше 1 января 1970 г."),  # current: its end could never go on chain
])
async def test_employment_start_refuses_a_first_day_too_early(office: Office, start: str,
                                                            ru: str) -> None:
    # before: 0001-01-01 was issued, and its end then refused by the node as a
    # malformed transaction ("day of start: an integer from 0 to 84000")
    out = office.new("never.json")
    said = await refused_in_every_language(
        "employment", "start", "--key", office.key("employer"), *START[:-1], start, "--out",
        out, "--node", office.url, code=2)
    assert ru in said["ru"], said["ru"]
    assert not Path(out).exists()


async def test_values_are_trimmed_and_composed_and_an_old_employment_over_is_issued(
        office: Office) -> None:
    node = ("--node", office.url)
    kaspi = office.key("employer")
    out = Path(office.new("spaces.json"))
    # "й" as "и" and a combining breve, as macOS and PDFs give it
    said_in("ru", await senim("employment", "start", "--key", kaspi,
                              *_with(NAME, "  Әлия Серікова-Ахмедии\u0306  "), "--out",
                              str(out), *node, "--lang", "ru"), 0)
    fields = json.loads(out.read_text("utf-8"))["fields"]
    assert fields["full_name"]["value"] == "Әлия Серікова-Ахмедий"
    # an employment over (1965-1990) has no end to record: issued, its end refused
    old = Path(office.new("old.json"))
    said_in("kk", await senim("employment", "start", "--key", kaspi, *START[:-1], "01.03.1965",
                              "--field", "end_date=31.12.1990", "--out", str(old), *node,
                              "--lang", "kk"), 0)
    said = await refused_in_every_language("employment", "end", "--key", kaspi, str(old),
                                           "--end", "2000-01-01", *node, code=2)
    assert "раньше 1 января 1970 г." in said["ru"], said["ru"]


async def test_employment_end_refuses_a_last_day_before_1900(office: Office) -> None:
    node = ("--node", office.url)
    kaspi = office.key("employer")
    record = office.new("aliya.json")
    said_in("kk", await senim("employment", "start", "--key", kaspi, *START, "--out", record,
                              *node, "--lang", "kk"), 0)
    said = await refused_in_every_language("employment", "end", "--key", kaspi, record,
                                           "--end", "0002-01-01", *node, code=2)
    assert "раньше 1900 года" in said["ru"] and "1900 жылдан бұрын" in said["kk"]


async def test_recognise_refuses_an_invisible_character_in_a_course_or_a_field(
        office: Office) -> None:
    original = Path(office.new("original.json"))
    original.write_text(json.dumps(documents_of(office.transcripts)[0]), "utf-8")
    courses = Path(office.new("courses.csv"))
    courses.write_text("from_code;from_field;as_code;as_title_ru;credits\r\nINF1101;course.01;"
                       "ИНФ101;Инфор\u200bматика;5\r\n", "utf-8")
    args = ("recognise", "--key", office.key("university2"), "--original", str(original),
            "--out", office.new("never.json"), "--node", office.url)
    said = await refused_in_every_language(*args, "--courses", str(courses), code=2)
    assert "дисциплина 1: as_title_ru: содержит U+200B" in said["ru"], said["ru"]
    courses.write_text(courses.read_text("utf-8").replace("\u200b", ""), "utf-8")
    said = await refused_in_every_language(*args, "--courses", str(courses), "--field",
                                           "note=пере\u200eзачёт", code=2)
    assert "--field note: содержит U+200E" in said["ru"], said["ru"]
    assert not Path(office.new("never.json")).exists()
