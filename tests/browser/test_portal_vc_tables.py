"""The portal with W3C VC 2.0 files and with academic records, in a real Chromium
against a real node: a VC is accepted however it arrives (picked, dropped, pasted,
linked), and a transcript's course lines and an attestat's subject grades read as
tables in the page's language, hidden lines named as hidden by the holder."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cli.sharing import share_link
from tests.browser.conftest import BROWSER_MISSING, CHROMEDRIVER, CHROMIUM, KAZNU
from tests.browser.test_portal_browser import (
    PHONE,
    open_portal,
    paste_and_check,
    phone,
    verdict,
)
from tests.e2e.harness import Consortium, Member, NodeProcess
from tests.node.academic_fixtures import COURSES, GPA, TOTAL_CREDITS

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240),
              pytest.mark.skipif(CHROMIUM is None or CHROMEDRIVER is None,
                                 reason=BROWSER_MISSING)]
HIDDEN = {"en": "hidden by the holder", "ru": "скрыто владельцем", "kk": "иесі жасырған"}
# As a school's export has it: a subject_<code> column per subject.
ATTESTAT = {"full_name": "Әсел Нұрланова", "iin": "010101500013",
            "school": "Алматы қаласының № 12 мектеп-гимназиясы",
            "graduation_date": "2026-05-25", "subject_algebra": "5", "subject_physics": "4",
            "subject_kazakh_language": "3", "subject_robotics": "5",
            # a pass/fail subject and an exemption, as a class teacher types them
            "subject_physical_education": "Сынақ", "subject_music": "освобождена"}
PASS_EXEMPT = {"en": ("Physical education", "pass", "Subject: music", "exempt"),
               "ru": ("Физическая культура", "зачтено", "Предмет: music", "освобождён(а)"),
               "kk": ("Дене шынықтыру", "есептелді", "Пән: music", "босатылған")}

# Lines graded without a letter, as an office types them (registrar.course_grades): a
# pass/fail course and an older transcript's word grade; 5 credits outside the GPA.
UNLETTERED = [{"code": "PE1101", "title_en": "Physical education", "title_ru":
               "Физическая культура", "credits": "2", "grade": "зачтено"},
              {"code": "HIS0001", "title_en": "History", "credits": "3",
               "grade": "өте жақсы", "numeric": "92"}]
UNLETTERED_WORDS = {"en": ("pass", "excellent (92)"), "ru": ("зачтено", "отлично (92)"),
                    "kk": ("есептелді", "өте жақсы (92)")}


@dataclass
class Records:
    node: NodeProcess
    transcript_vc: Path    # Анна's transcript, course 2 and her IIN hidden, as a VC 2.0
    attestat: Path         # Әсел's attestat, physics hidden (native document)


@pytest.fixture(scope="module")
def records(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Records]:
    root = tmp_path_factory.mktemp("portal-records")
    members = [Member("mshe", "Ministry of Science and Higher Education", "ministry",
                      validator=True, runs_node=True),
               Member("kaznu", KAZNU, "university")]
    with Consortium(root, members) as net:
        node = net.start("mshe")
        key = str(net.key_path("kaznu"))
        net.cli("accredit", "--key", str(net.key_path("mshe")), "--issuer",
                net.member_id("kaznu"), "--types", "transcript,attestat", node=node)
        transcript = {"full_name": "Иванова Анна", "iin": "010101500013", "programme": "IS",
                      "gpa": GPA, "total_credits": str(int(TOTAL_CREDITS) + 5),
                      **{f"course{n}_{part}": value
                         for n, c in enumerate([*COURSES, *UNLETTERED], 1)
                         for part, value in c.items()}}
        for kind, record in (("transcript", transcript), ("attestat", ATTESTAT)):
            (root / f"{kind}.json").write_text(json.dumps([record], ensure_ascii=False),
                                               encoding="utf-8")
            net.cli("issue", "--key", key, "--type", kind, "--input", str(root / f"{kind}.json"),
                    "--out", str(root / kind), node=node)
        (issued_transcript,) = (root / "transcript").rglob("transcript-*.json")
        (issued_attestat,) = (root / "attestat").rglob("attestat-*.json")
        net.cli("disclose", str(issued_transcript), "--hide", "course.02,iin", "--out",
                str(root / "transcript-shown.json"))
        net.cli("export-vc", str(root / "transcript-shown.json"), "--key", key, "--out",
                str(root / "transcript.vc.json"), node=node)
        net.cli("disclose", str(issued_attestat), "--hide", "subject.physics", "--out",
                str(root / "attestat-shown.json"))
        yield Records(node, root / "transcript.vc.json", root / "attestat-shown.json")
        node.stop()


def table(browser: Any, kind: str) -> tuple[str, list[str], dict[str, list[str]]]:
    """(caption, column headings, field name -> cells) of a table as displayed."""
    caption, heads, rows = browser.execute_script(
        "const t = document.getElementById('table-' + arguments[0]);"
        "if (!t || t.offsetParent === null) return [null, [], {}];"
        "const rows = {};"
        "t.querySelectorAll('tbody tr').forEach((r) => {"
        "  rows[r.dataset.field] = [...r.cells].map((c) => c.innerText.trim()); });"
        "return [t.caption.innerText.trim(), [...t.tHead.rows[0].cells].map((c) =>"
        "  c.innerText.trim()), rows];", kind)
    return caption, heads, rows


def test_a_picked_vc_shows_its_course_lines_as_a_table(records: Records, browser: Any) -> None:
    open_portal(browser, records.node.url + "/", "en")
    browser.find_element("id", "file").send_keys(str(records.transcript_vc))
    status, sentence = verdict(browser)
    assert status == "valid" and sentence.startswith(
        f"Genuine transcript, issued by {KAZNU} on "), sentence
    caption, heads, rows = table(browser, "courses")
    assert caption == "Courses"
    assert heads == ["No.", "Code", "Course", "Term", "Credits", "Grade", "Points"]
    assert rows["course.01"] == ["1", "INF1101", "Programming basics", "1", "5", "B+ (86)",
                                 "3.33"]
    assert rows["course.02"] == ["2", HIDDEN["en"]]
    assert rows["course.04"][:3] == ["4", "PHY1104", "Physics"]
    assert "MAT1102" not in browser.find_element("id", "answer").text
    iin = browser.find_element("css selector", "#fields dd[data-field='iin']").text
    assert iin == HIDDEN["en"]
    # course lines are in the table, not repeated as fields
    assert not browser.find_elements("css selector", "#fields dd[data-field^='course.']")
    # a link carries a VC as it carries a native document
    vc = json.loads(records.transcript_vc.read_text(encoding="utf-8"))
    browser.get("about:blank")
    open_portal(browser, share_link(vc, records.node.url, compressed=True), "kk")
    status, sentence = verdict(browser)
    assert status == "valid" and sentence.startswith("Түпнұсқа транскрипт"), sentence
    caption, _heads, rows = table(browser, "courses")
    assert caption == "Пәндер" and rows["course.01"][2] == "Бағдарламалау негіздері"
    assert rows["course.02"] == ["2", HIDDEN["kk"]]


def test_a_pass_and_a_word_grade_read_in_each_language(records: Records, browser: Any
                                                      ) -> None:
    vc = json.loads(records.transcript_vc.read_text(encoding="utf-8"))
    for lang, (passed, excellent) in UNLETTERED_WORDS.items():
        browser.get("about:blank")
        open_portal(browser, share_link(vc, records.node.url, compressed=True), lang)
        status, _ = verdict(browser)
        assert status == "valid"
        _caption, _heads, rows = table(browser, "courses")
        assert rows["course.05"][1] == "PE1101"
        assert rows["course.05"][4:] == ["2", passed, ""]  # credits, grade, no points
        assert rows["course.06"][4:] == ["3", excellent, ""]


def test_a_pasted_vc_in_russian_and_a_dropped_one(records: Records, browser: Any) -> None:
    open_portal(browser, records.node.url + "/", "ru")
    text = records.transcript_vc.read_text(encoding="utf-8")
    status, sentence = paste_and_check(browser, text)
    assert status == "valid" and sentence.startswith("Подлинный транскрипт"), sentence
    caption, heads, rows = table(browser, "courses")
    assert caption == "Дисциплины" and heads[2] == "Дисциплина"
    assert rows["course.01"][2] == "Основы программирования"
    assert rows["course.02"] == ["2", HIDDEN["ru"]]
    browser.execute_script(
        "const data = new DataTransfer();"
        "data.items.add(new File([arguments[0]], 'transcript.vc.json',"
        "  {type: 'application/json'}));"
        "const zone = document.getElementById('drop');"
        "zone.dispatchEvent(new DragEvent('drop', {dataTransfer: data, bubbles: true,"
        "  cancelable: true}));", text)
    assert browser.find_element("id", "filename").text == "transcript.vc.json"
    status, _ = verdict(browser)
    assert status == "valid"
    # an altered VC is refused by its signature, in words
    altered = json.loads(text)
    altered["credentialSubject"]["fields"]["gpa"] = "4.00"
    status, sentence = paste_and_check(browser, json.dumps(altered, ensure_ascii=False))
    assert status == "tampered" and sentence.startswith("Документ изменён"), sentence
    details = browser.find_element("css selector", "#check-list li[data-check='signature']")
    assert "Подпись не соответствует" in details.get_attribute("textContent")


def test_a_linked_attestat_shows_subject_grades_in_each_language(records: Records,
                                                                 browser: Any) -> None:
    document = json.loads(records.attestat.read_text(encoding="utf-8"))
    link = share_link(document, records.node.url)
    expected = {"en": ("Subject grades", "Kazakh language", "Physics", "Subject: robotics"),
                "ru": ("Оценки по предметам", "Казахский язык", "Физика", "Предмет: robotics"),
                "kk": ("Пәндер бойынша бағалар", "Қазақ тілі", "Физика", "Пән: robotics")}
    for lang, (title, kazakh, physics, robotics) in expected.items():
        browser.get("about:blank")
        open_portal(browser, link, lang)
        status, _ = verdict(browser)
        assert status == "valid"
        caption, _heads, rows = table(browser, "subjects")
        assert caption == title
        assert rows["subject.kazakh_language"] == [kazakh, "3"]
        assert rows["subject.physics"] == [physics, HIDDEN[lang]]
        assert rows["subject.robotics"] == [robotics, "5"]
        education, passed, music, exempt = PASS_EXEMPT[lang]  # the codes, in the language
        assert rows["subject.physical_education"] == [education, passed]
        assert rows["subject.music"] == [music, exempt]
    with phone(browser):
        width, scroll_width = browser.execute_script(
            "return [window.innerWidth, document.documentElement.scrollWidth];")
        assert width == PHONE["width"] and scroll_width <= width


# Words that stay as they are in every language: names, a standard's, a unit's, and
# the zone times are said in.
KEPT_AS_IS = (KAZNU, "W3C", "Verifiable Credential", "eddsa-rdfc-2022", "Senim", "ECTS",
              "UTC")


def test_every_technical_check_is_said_in_the_page_language(records: Records,
                                                             browser: Any) -> None:
    document = json.loads(records.attestat.read_text(encoding="utf-8"))
    vc = records.transcript_vc.read_text(encoding="utf-8")
    expected = {"ru": ("Дисциплины: Показано дисциплин: 5, скрыто владельцем: 1.",
                       "Оценки по предметам: Показано оценок по предметам: 5, скрыто "
                       "владельцем: 1."),
                "kk": ("Пәндер: Көрсетілген пәндер: 5, иесі жасырғаны: 1.",
                       "Пән бағалары: Көрсетілген пән бағалары: 5, иесі жасырғаны: 1.")}
    for lang, (lines, subjects) in expected.items():
        said: dict[str, str] = {}
        for link in (share_link(json.loads(vc), records.node.url, compressed=True),
                     share_link(document, records.node.url)):
            browser.get("about:blank")
            open_portal(browser, link, lang)
            assert verdict(browser)[0] == "valid"
            said.update(browser.execute_script(
                "const out = {};"
                "document.querySelectorAll('#check-list li').forEach((li) => {"
                "  out[li.dataset.check] = li.textContent.slice(2); });"
                "return out;"))
        assert {"lines", "subjects", "issuer_key", "validity", "member"} <= set(said), said
        assert said["lines"] == lines and said["subjects"] == subjects, said
        for check, text in said.items():
            assert ".." not in text, (lang, check, text)  # a date ending "г." before a "."
            for kept in KEPT_AS_IS:
                text = text.replace(kept, "")
            assert not re.search(r"[A-Za-z]{3,}", text), (lang, check, said[check])


# Every word of the course table that a phone splits over two lines, by its text node's
# rectangles (a word on one line has them all on one line).
BROKEN_WORDS = """
const broken = [];
document.querySelectorAll('#table-courses th, #table-courses td').forEach((c) => {
  if (c.offsetParent === null) return;
  const walk = document.createTreeWalker(c, NodeFilter.SHOW_TEXT);
  for (let n = walk.nextNode(); n; n = walk.nextNode()) {
    for (const m of n.data.matchAll(/\\S+/g)) {
      const r = document.createRange();
      r.setStart(n, m.index);
      r.setEnd(n, m.index + m[0].length);
      const tops = new Set([...r.getClientRects()].map((x) => Math.round(x.top)));
      if (tops.size > 1) broken.push(m[0]);
    }
  }
});
return broken;"""


def test_a_course_table_on_a_phone_breaks_no_word(records: Records, browser: Any) -> None:
    # Seven columns in 390 px broke every cell letter by letter: "INF 11 01", "3. 33".
    vc = json.loads(records.transcript_vc.read_text(encoding="utf-8"))
    for lang in ("kk", "ru"):
        browser.get("about:blank")
        open_portal(browser, share_link(vc, records.node.url, compressed=True), lang)
        assert verdict(browser)[0] == "valid"
        with phone(browser):
            browser.execute_script("document.getElementById('table-courses').scrollIntoView()")
            assert browser.execute_script(BROKEN_WORDS) == [], lang
            width, scroll_width = browser.execute_script(
                "return [window.innerWidth, document.documentElement.scrollWidth];")
            assert width == PHONE["width"] and scroll_width <= width
            # each cell is named by its column, as the table's heading does on a screen
            named = browser.execute_script(
                "return [...document.querySelectorAll('#table-courses tr[data-field="
                "\"course.01\"] td')].map((c) => getComputedStyle(c, '::before').content"
                " + ' ' + c.innerText);")
            grade = {"kk": "Баға", "ru": "Оценка"}[lang]
            assert f'"{grade} " B+ (86)' in named, named
            # a hidden line is numbered as the others are
            assert browser.execute_script(
                "return document.querySelector('#table-courses tr[data-field="
                "\"course.02\"]').cells[0].dataset.label;") == {"kk": "№", "ru": "№"}[lang]
            # a pass with no points says nothing of them, not a name with no value
            assert browser.execute_script(
                "const c = document.querySelector('#table-courses tr[data-field="
                "\"course.05\"]').cells[6];"
                "return c.textContent === '' && getComputedStyle(c).display === 'none';")
        # a wide screen keeps the table, headings and all; a lettered grade's points, which
        # its line leaves out, are the node's, as `senim verify` lists them (it was blank)
        _caption, heads, rows = table(browser, "courses")
        assert heads[5] == grade and rows["course.01"][5] == "B+ (86)"
        assert rows["course.04"][5:] == ["C+", "2.33"], rows["course.04"]
