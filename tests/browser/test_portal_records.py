"""Employment records and recognitions of transferred credits, in a real Chromium against a
real node: issued with `senim employment start/end` and `senim recognise`, checked in kk, ru
and en. Their own technical checks (the employment, the recognised courses, the original
transcript) read "passed" on the kk and ru pages, the node's English detail only on the
English page; each now says what was found, from the document's fields and the verdict's
facts, in the page's language."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import BROWSER_MISSING, CHROMEDRIVER, CHROMIUM, KAZNU
from tests.browser.test_portal_browser import (
    open_portal,
    paste_and_check,
    shown_fields,
    spoken_date,
)
from tests.browser.test_portal_node_answers import ANSWER_NEXT
from tests.browser.test_portal_vc_tables import table
from tests.e2e.harness import Consortium, Member, NodeProcess
from tests.node.academic_fixtures import COURSES, GPA, TOTAL_CREDITS

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240),
              pytest.mark.skipif(CHROMIUM is None or CHROMEDRIVER is None,
                                 reason=BROWSER_MISSING)]
ENU = "L.N. Gumilyov Eurasian National University"
KASPI = "Kaspi Bank"
LANGS = ("kk", "ru", "en")


@dataclass
class Records:
    node: NodeProcess
    current: Path        # Анна works at Kaspi Bank since 2024-09-02
    ended: Path          # Дана worked there from 2023-02-01 to 2026-06-30 (end on chain)
    recognition: Path    # ENU recognises two of Анна's KazNU courses
    orphaned: Path       # ENU recognises Дана's courses; KazNU then revoked her transcript
    transcript: Path     # Анна's KazNU transcript, the original of `recognition`


@pytest.fixture(scope="module")
def records(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Records]:
    root = tmp_path_factory.mktemp("portal-records")
    members = [Member("mshe", "Ministry of Science and Higher Education", "ministry",
                      validator=True, runs_node=True),
               Member("kaznu", KAZNU, "university"), Member("enu", ENU, "university"),
               Member("kaspi", KASPI, "employer")]
    with Consortium(root, members) as net:
        node = net.start("mshe")

        def cli(*args: str) -> Any:
            return net.cli(*args, node=node)

        key = {slug: str(net.key_path(slug)) for slug in net.members}
        for slug, types in (("kaznu", "transcript"), ("enu", "recognition"),
                            ("kaspi", "employment")):
            cli("accredit", "--key", key["mshe"], "--issuer", net.member_id(slug),
                "--types", types)
        students = [{"full_name": name, "iin": iin, "programme": "IS", "gpa": GPA,
                     "total_credits": TOTAL_CREDITS,
                     **{f"course{n}_{part}": value for n, c in enumerate(COURSES, 1)
                        for part, value in c.items()}}
                    for name, iin in (("Иванова Анна", "010101500013"),
                                      ("Омарова Дана", "011203612348"))]
        (root / "transcripts.json").write_text(json.dumps(students, ensure_ascii=False))
        cli("issue", "--key", key["kaznu"], "--type", "transcript", "--input",
            str(root / "transcripts.json"), "--out", str(root / "kaznu"))
        transcripts = {json.loads(p.read_text(encoding="utf-8"))["fields"]["full_name"]["value"]:
                       p for p in (root / "kaznu").rglob("transcript-*.json")}
        courses = root / "recognised.csv"
        courses.write_text("from_code;from_field;as_code;credits\n"
                           "INF1101;course.01;CS101;5\nHIS1103;course.03;HIS100;5\n")
        for name, out in (("Иванова Анна", "recognition.json"),
                          ("Омарова Дана", "orphaned.json")):
            cli("recognise", "--key", key["enu"], "--original", str(transcripts[name]),
                "--courses", str(courses), "--field", f"full_name={name}", "--out",
                str(root / out))
        cli("revoke", "--key", key["kaznu"], str(transcripts["Омарова Дана"]), "--reason",
            "fraud")
        for name, start, out in (("Иванова Анна", "2024-09-02", "current.json"),
                                 ("Омарова Дана", "2023-02-01", "ended.json")):
            cli("employment", "start", "--key", key["kaspi"], "--full-name", name,
                "--position", "Data engineer", "--organisation", KASPI, "--start", start,
                "--out", str(root / out))
        cli("employment", "end", "--key", key["kaspi"], str(root / "ended.json"), "--end",
            "2026-06-30")
        yield Records(node, root / "current.json", root / "ended.json",
                      root / "recognition.json", root / "orphaned.json",
                      transcripts["Иванова Анна"])
        node.stop()


def checks_said(browser: Any) -> dict[str, str]:
    """check name -> its words after the mark, as the page shows them."""
    said: dict[str, str] = browser.execute_script(
        "const out = {};"
        "document.querySelectorAll('#check-list li').forEach((li) => {"
        "  out[li.dataset.check] = li.textContent.slice(2); });"
        "return out;")
    return said


def node_facts(records: Records, path: Path) -> dict[str, Any]:
    _code, answer = records.node.post_json("/v1/verify",
                                           json.loads(path.read_text(encoding="utf-8")))
    facts: dict[str, Any] = answer["facts"]
    return facts


# Names, course codes, a unit and the zone times are said in stay as they are in every
# language.
KEPT_AS_IS = (KAZNU, ENU, KASPI, "Data engineer", "INF1101", "HIS1103", "HIS100", "CS101",
              "ECTS", "Senim", "UTC")


def assert_in_page_language(lang: str, said: dict[str, str]) -> None:
    if lang == "en":
        return
    for check, text in said.items():
        assert ".." not in text, (lang, check, text)  # a date ending "г." before a "."
        for kept in KEPT_AS_IS:
            text = text.replace(kept, "")
        assert not re.search(r"[A-Za-z]{3,}", text), (lang, check, said[check])


EMPLOYED_NOW = {
    "en": "Employment: Currently employed as Data engineer at Kaspi Bank since {start}: no end "
          "is recorded as of block {height}",
    "ru": "Трудоустройство: Работает в должности «Data engineer» в организации «Kaspi Bank» с "
          "{start}; запись об окончании работы отсутствует на момент блока {height}",
    "kk": "Жұмыс: «Kaspi Bank» ұйымында «Data engineer» лауазымында қазір жұмыс істейді; "
          "басталған күні — {start}. {height} блок"}
EMPLOYED_THEN = {
    "en": "Employment: Employed as Data engineer at Kaspi Bank from {start} to {end}; the "
          "employer recorded the end on the chain at block {height}.",
    "ru": "Трудоустройство: Работал(а) в должности «Data engineer» в организации «Kaspi Bank» "
          "с {start} по {end}; окончание работы работодатель записал в цепочку в блоке "
          "{height}.",
    "kk": "Жұмыс: «Kaspi Bank» ұйымында «Data engineer» лауазымында жұмыс істеген: басталған "
          "күні — {start}, аяқталған күні — {end}. Жұмыстың аяқталғанын жұмыс беруші тізбекке "
          "{height} блокта жазған."}


def _employed_then(records: Records, lang: str) -> str:
    """What the checks say of the ended employment, with the block its end was recorded in."""
    end_height = node_facts(records, records.ended)["employment"]["end_recorded_at_height"]
    return EMPLOYED_THEN[lang].format(start=spoken_date("2023-02-01", lang),
                                      end=spoken_date("2026-06-30", lang), height=end_height)


@pytest.mark.parametrize("lang", LANGS)
def test_an_employment_is_said_in_the_page_language(records: Records, browser: Any,
                                                    lang: str) -> None:
    open_portal(browser, records.node.url + "/", lang)
    status, _sentence = paste_and_check(browser, records.current.read_text(encoding="utf-8"))
    assert status == "valid"
    said = checks_said(browser)
    height = node_facts(records, records.current)["employment"]["as_of_height"]
    expected = EMPLOYED_NOW[lang].format(start=spoken_date("2024-09-02", lang), height=height)
    assert said["employment"].startswith(expected), said["employment"]
    assert_in_page_language(lang, said)

    status, _sentence = paste_and_check(browser, records.ended.read_text(encoding="utf-8"))
    assert status == "valid"
    said = checks_said(browser)
    assert said["employment"] == _employed_then(records, lang), said["employment"]
    assert_in_page_language(lang, said)


@pytest.mark.parametrize("lang", LANGS)
def test_the_verdict_says_whether_the_employment_goes_on(records: Records, browser: Any,
                                                         lang: str) -> None:
    # The document holds only the start; the end its employer recorded on chain is in no
    # field, and the verdict read "Genuine employment record ...; not revoked as of today."
    # alone, so an ended employment read as a current one unless the technical checks
    # were opened.
    open_portal(browser, records.node.url + "/", lang)
    status, sentence = paste_and_check(browser, records.ended.read_text(encoding="utf-8"))
    assert status == "valid"
    ended = _employed_then(records, lang)
    assert sentence.endswith(" " + ended.split(": ", 1)[1]), sentence

    status, sentence = paste_and_check(browser, records.current.read_text(encoding="utf-8"))
    assert status == "valid"
    height = node_facts(records, records.current)["employment"]["as_of_height"]
    now = EMPLOYED_NOW[lang].format(start=spoken_date("2024-09-02", lang), height=height)
    assert " " + now.split(": ", 1)[1] in sentence, sentence


def said_of_the_current_record(records: Records, browser: Any, lang: str,
                               employment: dict[str, Any], **facts: Any) -> tuple[str, str]:
    """The page's status and sentence for the current employment record, the node's real
    verdict of it answered with these employment `facts` (and others): what a node gives
    for a record in a state the fixture's chain does not hold."""
    _code, answer = records.node.post_json(
        "/v1/verify", json.loads(records.current.read_text(encoding="utf-8")))
    answer["facts"].update(facts)
    answer["facts"]["employment"] = employment
    open_portal(browser, records.node.url + "/", lang)
    browser.execute_script(ANSWER_NEXT, answer)
    status, sentence = paste_and_check(browser, records.current.read_text(encoding="utf-8"))
    return status, sentence


EMPLOYER_LEFT = {
    "en": "Employed as Data engineer at Kaspi Bank since {start}; the employer left the "
          "consortium on {left} (block 40) without recording an end",
    "ru": "Принят(а) на работу в должности «Data engineer» в организации «Kaspi Bank» с "
          "{start}; работодатель вышел из консорциума {left} (блок 40), не записав окончания",
    "kk": "«Kaspi Bank» ұйымында «Data engineer» лауазымында жұмысқа қабылданған; басталған "
          "күні — {start}. Жұмыс беруші жұмыстың аяқталғанын жазбай, {left} күні (40 блок) "
          "консорциумнан шықты"}


@pytest.mark.parametrize("lang", LANGS)
def test_an_employer_that_left_is_not_said_to_employ_still(records: Records, browser: Any,
                                                           lang: str) -> None:
    # A retired employer can record no end: "currently employed" was said of it for good.
    # The node's real verdict of the current record, with the facts a node gives once its
    # employer has left (tests/node/test_retired_employer.py has the ledger give them).
    left_at = "2025-03-01 09:00:00 UTC"
    status, sentence = said_of_the_current_record(
        records, browser, lang, {"start_date": "2024-09-02", "end_date": None,
                                 "current": False, "employer_left_height": 40,
                                 "employer_left_at": left_at},
        issuer_retired_height=40, issuer_left_at=left_at)
    assert status == "valid"
    expected = EMPLOYER_LEFT[lang].format(start=spoken_date("2024-09-02", lang),
                                          left=spoken_date(left_at, lang))
    assert expected in sentence, sentence
    assert expected in checks_said(browser)["employment"]
    assert_in_page_language(lang, checks_said(browser))


END_DOUBTED = {
    "en": "Employed as Data engineer at Kaspi Bank since {start}; an end on {end} was "
          "recorded at block 41 with a key declared stolen from block 40: ask the employer",
    "ru": "с {start}; окончание работы {end} записано в блоке 41 ключом, объявленным "
          "похищенным начиная с блока 40: спросите работодателя",
    "kk": "Жұмыстың аяқталған күні ({end}) 41 блокта 40 блоктан бастап ұрланған деп "
          "жарияланған кілтпен жазылған: жұмыстың жалғасып жатқанын жұмыс берушіден сұраңыз"}


@pytest.mark.parametrize("lang", LANGS)
def test_an_end_recorded_with_a_stolen_key_is_not_said_to_be_the_end(
        records: Records, browser: Any, lang: str) -> None:
    # The facts the ledger gives an end made with a key declared stolen since
    # (tests/node/test_stolen_key_employment_end.py has the ledger give them).
    status, sentence = said_of_the_current_record(
        records, browser, lang, {"start_date": "2024-09-02", "end_date": "2026-06-30",
                                 "current": False, "end_recorded_at_height": 41,
                                 "end_doubted": True, "key_compromised_from": 40})
    assert status == "valid"
    expected = END_DOUBTED[lang].format(start=spoken_date("2024-09-02", lang),
                                        end=spoken_date("2026-06-30", lang))
    assert expected in sentence, sentence
    assert expected in checks_said(browser)["employment"]
    assert_in_page_language(lang, checks_said(browser))

ENDED_HIDDEN = {
    "en": "Employed as Data engineer at Kaspi Bank from {start} to a date the holder hid: the "
          "document states when the employment ended.",
    "ru": "Работал(а) в должности «Data engineer» в организации «Kaspi Bank» с {start} по "
          "дату, скрытую владельцем: в документе указано, когда работа закончилась.",
    "kk": "«Kaspi Bank» ұйымында «Data engineer» лауазымында жұмыс істеген: басталған күні — "
          "{start}, аяқталған күні — иесі жасырған (құжатта жұмыстың аяқталған күні "
          "көрсетілген)."}


@pytest.mark.parametrize("lang", LANGS)
def test_an_end_the_holder_hid_is_not_said_to_go_on(records: Records, browser: Any,
                                                    lang: str) -> None:
    # A record issued ended whose end date the holder hid read "currently employed".
    # The node's real verdict, with the facts the ledger now gives such a record
    # (tests/node/test_employment.py has the ledger give them).
    status, sentence = said_of_the_current_record(
        records, browser, lang, {"start_date": "2024-09-02", "end_date": None,
                                 "current": False, "end_date_hidden": True})
    assert status == "valid"
    expected = ENDED_HIDDEN[lang].format(start=spoken_date("2024-09-02", lang))
    assert sentence.endswith(" " + expected), sentence
    assert checks_said(browser)["employment"].endswith(expected)
    assert_in_page_language(lang, checks_said(browser))


# A recognition's lines are the courses it recognises: its check is named so, not as a
# transcript's course lines (it read "Course lines" in English).
LINES = {"en": "Recognised courses", "ru": "Перезачтённые дисциплины",
         "kk": "Қайта есептелген пәндер"}
TRANSCRIPT_LINES = {"en": "Course lines: 4 course line(s) shown, 0 hidden by the holder.",
                    "ru": "Дисциплины: Показано дисциплин: 4, скрыто владельцем: 0.",
                    "kk": "Пәндер: Көрсетілген пәндер: 4, иесі жасырғаны: 0."}
ORIGINAL = {"en": "Original transcript", "ru": "Исходный транскрипт",
            "kk": "Бастапқы транскрипт"}
RECOGNISED = {
    "en": ("2 recognised course(s) shown (10 ECTS credits), 0 hidden by the holder. "
           "Recognised: INF1101 → CS101 (5), HIS1103 → HIS100 (5).",
           f"The original transcript is genuine: issued by {KAZNU}, recorded at block "
           "{height}, not revoked.",
           f"The original transcript, issued by {KAZNU}, has since been revoked: “fraud”."),
    "ru": ("Показано перезачтённых дисциплин: 2 (кредиты ECTS: 10), скрыто владельцем: 0. "
           "Перезачтены: INF1101 → CS101 (5), HIS1103 → HIS100 (5).",
           f"Исходный транскрипт подлинный: выдан организацией «{KAZNU}», записан в блоке "
           "{height}, не отозван.",
           f"Исходный транскрипт, выданный организацией «{KAZNU}», с тех пор отозван: "
           "«мошенничество»."),
    "kk": ("Көрсетілген қайта есептелген пәндер: 2 (ECTS кредиттері: 10), иесі жасырғаны: 0. "
           "Қайта есептелгендер: INF1101 → CS101 (5), HIS1103 → HIS100 (5).",
           f"Бастапқы транскрипт шынайы: берген ұйым — «{KAZNU}», {{height}} блокта "
           "жазылған, күші жойылмаған.",
           f"«{KAZNU}» берген бастапқы транскрипттің кейін күші жойылды: «алаяқтық»."),
}


@pytest.mark.parametrize("lang", LANGS)
def test_a_recognition_and_its_original_are_said_in_the_page_language(
        records: Records, browser: Any, lang: str) -> None:
    lines, genuine, revoked = RECOGNISED[lang]
    open_portal(browser, records.node.url + "/", lang)
    status, _sentence = paste_and_check(browser,
                                        records.recognition.read_text(encoding="utf-8"))
    assert status == "valid"
    said = checks_said(browser)
    height = node_facts(records, records.recognition)["original"]["height"]
    assert said["lines"] == f"{LINES[lang]}: {lines}", said["lines"]
    assert said["original"] == f"{ORIGINAL[lang]}: " + genuine.format(height=height), said
    assert_in_page_language(lang, said)

    status, _sentence = paste_and_check(browser, records.orphaned.read_text(encoding="utf-8"))
    assert status == "original_revoked"
    said = checks_said(browser)
    assert said["original"] == f"{ORIGINAL[lang]}: {revoked}", said["original"]
    assert_in_page_language(lang, said)

    # The transcript it recognises keeps its own words for the same check.
    status, _sentence = paste_and_check(browser, records.transcript.read_text(encoding="utf-8"))
    assert status == "valid"
    said = checks_said(browser)
    assert said["lines"] == TRANSCRIPT_LINES[lang], said["lines"]
    assert_in_page_language(lang, said)


CARD = {"en": ("Recognised courses",
               ["No.", "Course taken", "Recognised as", "Credits", "Grade"],
               f"Academic transcript issued by {KAZNU}, recorded at block {{height}}"),
        "ru": ("Перезачтённые дисциплины",
               ["№", "Изученная дисциплина", "Зачтена как", "Кредиты", "Оценка"],
               f"Транскрипт, выданный организацией «{KAZNU}», записан в блоке {{height}}"),
        "kk": ("Қайта есептелген пәндер",
               ["№", "Оқыған пәні", "Қайта есептелген пән", "Кредиттер", "Баға"],
               f"«{KAZNU}» берген транскрипт, {{height}} блокта жазылған")}


@pytest.mark.parametrize("lang", LANGS)
def test_a_recognition_card_reads_as_a_document(records: Records, browser: Any,
                                                lang: str) -> None:
    # Its lines showed as fields labelled "Recognised.01" on every page, each a line of
    # JSON, and the original transcript as a JSON blob of hashes.
    caption, heads, original = CARD[lang]
    open_portal(browser, records.node.url + "/", lang)
    status, _sentence = paste_and_check(browser,
                                        records.recognition.read_text(encoding="utf-8"))
    assert status == "valid"
    shown_caption, shown_heads, rows = table(browser, "recognised")
    assert (shown_caption, shown_heads) == (caption, heads)
    assert rows == {"recognised.01": ["1", "INF1101", "CS101", "5", ""],
                    "recognised.02": ["2", "HIS1103", "HIS100", "5", ""]}
    fields = shown_fields(browser)
    assert not any(name.startswith("recognised.") for name in fields), fields
    height = node_facts(records, records.recognition)["original"]["height"]
    assert fields["original"][1] == original.format(height=height)
    card = browser.find_element("id", "document").get_attribute("innerText")
    assert "{" not in card, card
    if lang != "en":
        labels = " ".join(label for label, _value in fields.values())
        assert not re.search(r"[A-Za-z]{3,}", labels), labels
