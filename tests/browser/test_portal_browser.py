"""The portal in a real headless Chromium against a real `senim node`: what a person sees."""

from __future__ import annotations

import json
import signal
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from cli.sharing import share_link
from tests.browser.conftest import (
    BROWSER_MISSING,
    CHROMEDRIVER,
    CHROMIUM,
    KAZNU,
    Credentials,
)
from tests.e2e.harness import http

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180),
              pytest.mark.skipif(CHROMIUM is None or CHROMEDRIVER is None,
                                 reason=BROWSER_MISSING)]

ACCEPT = {"en": "en-GB,en;q=0.9", "ru": "ru-RU,ru;q=0.9,en;q=0.5",
          "kk": "kk-KZ,kk;q=0.9,ru;q=0.8"}
MONTHS = {"en": ["January", "February", "March", "April", "May", "June", "July", "August",
                 "September", "October", "November", "December"],
          "ru": ["января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа",
                 "сентября", "октября", "ноября", "декабря"],
          "kk": ["қаңтар", "ақпан", "наурыз", "сәуір", "мамыр", "маусым", "шілде", "тамыз",
                 "қыркүйек", "қазан", "қараша", "желтоқсан"]}
PAGE_TIMEOUT_S = 20.0
# The page gives up on a silent node after 6 s; a person must hear about it soon after.
UNREACHABLE_WITHIN_S = 10.0
PHONE = {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True}


def spoken_date(iso: str, lang: str) -> str:
    year, month, day = (int(part) for part in iso[:10].split("-"))
    name = MONTHS[lang][month - 1]
    return {"en": f"{day} {name} {year}", "ru": f"{day} {name} {year} г.",
            "kk": f"{year} жылғы {day} {name}"}[lang]


def wait_for(condition: Any, timeout_s: float, what: str) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f}s waiting for {what}")
        time.sleep(0.05)


def open_portal(browser: Any, url: str, lang: str) -> None:
    browser.execute_cdp_cmd("Network.enable", {})
    browser.execute_cdp_cmd("Network.setExtraHTTPHeaders",
                            {"headers": {"Accept-Language": ACCEPT[lang]}})
    browser.get(url)
    wait_for(lambda: browser.execute_script("return document.body.dataset.ready === 'true'"),
             PAGE_TIMEOUT_S, "the portal to load its texts")


def verdict(browser: Any, timeout_s: float = PAGE_TIMEOUT_S) -> tuple[str, str]:
    """(status, sentence) once the page has given its answer."""
    def answered() -> tuple[str, str] | None:
        status, text = browser.execute_script(
            "const v = document.getElementById('verdict');"
            "return [v.dataset.status || '', v.textContent];")
        return (status, text) if status else None
    found: tuple[str, str] = wait_for(answered, timeout_s, "a verdict")
    return found


def paste_and_check(browser: Any, text: str) -> tuple[str, str]:
    browser.execute_script("document.getElementById('doc').value = arguments[0];", text)
    browser.find_element("id", "verify").click()
    return verdict(browser)


def shown_fields(browser: Any) -> dict[str, tuple[str, str]]:
    """field name -> (label, value) as displayed in the document card."""
    rows: dict[str, tuple[str, str]] = {}
    for dd in browser.find_elements("css selector", "#fields dd[data-field]"):
        name = dd.get_attribute("data-field")
        label = browser.find_element("css selector", f"#fields dt[data-field='{name}']").text
        rows[name] = (label, dd.text)
    return rows


def screenshot(browser: Any, credentials: Credentials, name: str) -> Path:
    path = credentials.screenshots / f"{name}.png"
    assert browser.save_screenshot(str(path)), path
    return path


@contextmanager
def phone(browser: Any) -> Iterator[None]:
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", PHONE)
    browser.execute_script("document.getElementById('verdict').scrollIntoView()")
    try:
        yield
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def assert_fits_phone(browser: Any) -> None:
    width, scroll_width, smallest = browser.execute_script(
        "const sizes = [...document.querySelectorAll('#verdict, #fields dd, #fields dt, p')]"
        "  .filter(e => e.offsetParent !== null)"
        "  .map(e => parseFloat(getComputedStyle(e).fontSize));"
        "return [window.innerWidth, document.documentElement.scrollWidth, Math.min(...sizes)];")
    assert width == PHONE["width"], f"layout viewport is {width}px, not the phone's 390px"
    assert scroll_width <= width, f"horizontal scrolling: content is {scroll_width}px wide"
    assert smallest >= 14, f"text as small as {smallest}px on a phone"


def expected_issue_date(credentials: Credentials, path: Path, lang: str) -> str:
    _status, answer = credentials.node.post_json("/v1/verify", credentials.document(path))
    return spoken_date(answer["facts"]["issued_at"], lang)


# ---- verdicts -------------------------------------------------------------------------------
def test_valid_diploma_in_english_on_desktop_and_phone(credentials: Credentials,
                                                        browser: Any) -> None:
    open_portal(browser, credentials.node.url + "/", "en")
    assert browser.find_element("tag name", "h1").text == "Check an education document"
    status, sentence = paste_and_check(browser, credentials.valid.read_text(encoding="utf-8"))
    date = expected_issue_date(credentials, credentials.valid, "en")
    assert status == "valid"
    assert sentence == (f"Genuine diploma, issued by {KAZNU} on {date}; "
                        "not revoked as of today.")
    fields = shown_fields(browser)
    assert fields["full_name"] == ("Full name", "Әлия Сәрсенбаева")
    assert fields["graduation_date"] == ("Graduation date", "30 June 2026")
    assert fields["gpa"] == ("GPA", "3.71")
    assert fields["programme"] == ("Programme", "Computer Science")
    issuer = browser.find_element("css selector", "#fields dd").text
    assert issuer == KAZNU
    screenshot(browser, credentials, "valid-en-desktop")
    with phone(browser):
        assert_fits_phone(browser)
        screenshot(browser, credentials, "valid-en-phone")


def test_tampered_file_picked_in_russian(credentials: Credentials, browser: Any) -> None:
    open_portal(browser, credentials.node.url + "/", "ru")
    assert browser.find_element("tag name", "h1").text == "Проверка документа об образовании"
    browser.find_element("id", "file").send_keys(str(credentials.tampered))
    status, sentence = verdict(browser)
    assert status == "tampered"
    assert sentence.startswith("Документ изменён: его содержимое не совпадает")
    caveat = browser.find_element("id", "document-caveat")
    assert caveat.is_displayed() and "не подтверждено" in caveat.text
    assert shown_fields(browser)["gpa"] == ("Средний балл (GPA)", "4.00")
    screenshot(browser, credentials, "tampered-ru-desktop")


def test_revoked_diploma_in_kazakh_with_date_and_reason(credentials: Credentials,
                                                          browser: Any) -> None:
    open_portal(browser, credentials.node.url + "/", "kk")
    assert browser.find_element("tag name", "h1").text == "Білім туралы құжатты тексеру"
    status, sentence = paste_and_check(browser,
                                       credentials.revoked.read_text(encoding="utf-8"))
    _code, answer = credentials.node.post_json("/v1/verify",
                                               credentials.document(credentials.revoked))
    revoked_on = spoken_date(answer["facts"]["revoked_at"], "kk")
    assert status == "revoked"
    assert sentence.startswith(f"Күші жойылған: «{KAZNU}» берген бұл диплом")
    assert revoked_on in sentence and "Себебі: «қате берілген»" in sentence
    assert shown_fields(browser)["full_name"] == ("Аты-жөні", "Nurlan Seitkali")
    screenshot(browser, credentials, "revoked-kk-desktop")
    with phone(browser):
        assert_fits_phone(browser)
        screenshot(browser, credentials, "revoked-kk-phone")


def test_unknown_network_and_plain_sentences_for_bad_input(credentials: Credentials,
                                                           browser: Any) -> None:
    open_portal(browser, credentials.node.url + "/", "en")
    status, sentence = paste_and_check(browser, credentials.foreign.read_text(encoding="utf-8"))
    assert status == "unknown" and sentence.startswith("Unknown to this network")
    status, sentence = paste_and_check(browser, "   ")
    assert status == "empty" and sentence.startswith("There is nothing to check yet")
    for junk in ('{"format": "senim-cred', '{"format": "senim-credential/v1"}'):
        status, sentence = paste_and_check(browser, junk)
        assert status == "malformed", junk
        assert sentence == ("This file is not a Senim credential, or it is damaged: "
                            "it could not be read as one.")
        assert not browser.find_element("id", "answer").is_displayed()
    # JSON that is no credential may be a document some member anchored, as `senim verify`
    # looks it up (tests/browser/test_portal_anchored_files.py): this one is not
    status, sentence = paste_and_check(browser, "{}")
    assert status == "unknown" and sentence.startswith(
        "This file is not a Senim credential, and no record of it is on the Senim chain"), sentence
    assert not browser.find_element("id", "answer").is_displayed()


# ---- hidden fields, languages, links ------------------------------------------------------
def test_hidden_fields_are_named_in_every_language(credentials: Credentials,
                                                   browser: Any) -> None:
    open_portal(browser, credentials.node.url + "/", "en")
    status, sentence = paste_and_check(browser,
                                       credentials.disclosed.read_text(encoding="utf-8"))
    assert status == "valid" and sentence.startswith("Genuine diploma")
    fields = shown_fields(browser)
    assert fields["iin"] == ("IIN (individual identification number)", "hidden by the holder")
    assert fields["birth_date"] == ("Date of birth", "hidden by the holder")
    assert fields["full_name"] == ("Full name", "Dana Omarova")
    expected = {"kk": ("Түпнұсқа диплом", "ЖСН (жеке сәйкестендіру нөмірі)", "иесі жасырған"),
                "ru": ("Подлинный диплом", "ИИН", "скрыто владельцем")}
    for lang, (opening, label, hidden) in expected.items():
        browser.find_element("css selector", f"[data-lang-choice='{lang}']").click()
        assert browser.execute_script("return document.documentElement.lang") == lang
        assert f"lang={lang}" in browser.current_url
        assert browser.find_element("id", "verdict").text.startswith(opening)
        assert shown_fields(browser)["iin"] == (label, hidden)
        checks = browser.find_element("css selector", "#checks summary").text
        assert checks == {"kk": "Техникалық тексерулер", "ru": "Технические проверки"}[lang]
    screenshot(browser, credentials, "hidden-ru-desktop")


def test_shared_link_opens_with_the_document_checked(credentials: Credentials, browser: Any,
                                                      tmp_path: Path) -> None:
    png, svg = tmp_path / "cv-qr.png", tmp_path / "cv-qr.svg"
    done = credentials.net.cli("share", str(credentials.disclosed), "--node",
                               credentials.node.url, "--qr-png", str(png), "--qr-svg", str(svg))
    link = done.stdout.strip()
    # Plain, or deflated when the plain link would not fit a QR code.
    assert link.startswith((credentials.node.url + "/#doc=", credentials.node.url + "/#docz="))
    assert png.read_bytes().startswith(b"\x89PNG") and b"<svg" in svg.read_bytes()
    assert stat.S_IMODE(png.stat().st_mode) == 0o600
    open_portal(browser, link, "kk")
    status, sentence = verdict(browser)
    assert status == "valid" and sentence.startswith("Түпнұсқа диплом: берген ұйым — «")
    assert shown_fields(browser)["full_name"] == ("Аты-жөні", "Dana Omarova")
    screenshot(browser, credentials, "link-kk-desktop")
    with phone(browser):
        assert_fits_phone(browser)
        screenshot(browser, credentials, "link-kk-phone")
    # the fragment never reaches the server, and the posted document is not logged
    log = credentials.node.log_text()
    assert "Dana Omarova" not in log and link.split("#", 1)[1].split("=", 1)[1][:40] not in log


def test_deflated_and_damaged_links(credentials: Credentials, browser: Any) -> None:
    link = share_link(credentials.document(credentials.revoked), credentials.node.url,
                      compressed=True)
    assert "#docz=" in link
    open_portal(browser, link, "en")
    status, sentence = verdict(browser)
    assert status == "revoked" and sentence.startswith(f"Revoked: this diploma issued by {KAZNU}")
    # A link is no file: one that carries no whole credential (cut short by a messenger or
    # a copy, or garbled) is said to be a damaged link, whatever part of it broke.
    plain = share_link(credentials.document(credentials.valid), credentials.node.url)
    for damaged in ("#doc=bm90IGpzb24", "#docz=AAAA", "#doc=%%%", "#doc=e30",
                    link.split("/", 3)[3][:300], plain.split("/", 3)[3][:300]):
        browser.get("about:blank")
        open_portal(browser, credentials.node.url + "/" + damaged, "en")
        status, sentence = verdict(browser)
        assert status == "link_damaged", (damaged, status)
        assert sentence.startswith("This link does not carry a whole Senim credential"), damaged


def test_dropped_file_is_checked(credentials: Credentials, browser: Any) -> None:
    open_portal(browser, credentials.node.url + "/", "en")
    browser.execute_script(
        "const data = new DataTransfer();"
        "data.items.add(new File([arguments[0]], 'diploma.json', {type: 'application/json'}));"
        "const zone = document.getElementById('drop');"
        "zone.dispatchEvent(new DragEvent('dragover', {dataTransfer: data, bubbles: true,"
        "  cancelable: true}));"
        "zone.dispatchEvent(new DragEvent('drop', {dataTransfer: data, bubbles: true,"
        "  cancelable: true}));", credentials.valid.read_text(encoding="utf-8"))
    status, _sentence = verdict(browser)
    assert status == "valid"
    assert browser.find_element("id", "filename").text == "diploma.json"


def test_unreachable_node_is_reported_and_retry_works(credentials: Credentials,
                                                      browser: Any) -> None:
    open_portal(browser, credentials.node.url + "/", "ru")
    browser.execute_script("document.getElementById('doc').value = arguments[0];",
                           credentials.valid.read_text(encoding="utf-8"))
    credentials.node.send_signal(signal.SIGSTOP)  # the node hangs: connections go unanswered
    try:
        started = time.monotonic()
        browser.find_element("id", "verify").click()
        status, sentence = verdict(browser, UNREACHABLE_WITHIN_S + 5)
        elapsed = time.monotonic() - started
    finally:
        credentials.node.send_signal(signal.SIGCONT)
    assert status == "unreachable"
    assert sentence.startswith("Не удаётся связаться с узлом 127.0.0.1:")
    assert elapsed <= UNREACHABLE_WITHIN_S, f"told after {elapsed:.1f}s"
    retry = browser.find_element("id", "retry")
    assert retry.is_displayed() and retry.text == "Повторить"
    screenshot(browser, credentials, "unreachable-ru-desktop")
    retry.click()
    status, sentence = verdict(browser)
    assert status == "valid" and sentence.startswith("Подлинный диплом: выдан организацией")


# ---- print, keyboard, landmarks, resources -------------------------------------------------
def test_printout_shows_when_where_and_height(credentials: Credentials, browser: Any) -> None:
    open_portal(browser, credentials.node.url + "/", "en")
    paste_and_check(browser, credentials.valid.read_text(encoding="utf-8"))
    height = credentials.node.status()["height"]
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    try:
        assert not browser.find_element("id", "input").is_displayed()
        meta = browser.find_element("id", "print-meta")
        assert meta.is_displayed()
        assert meta.text.startswith("Verified on ")
        assert "by node mshe" in meta.text and f"at block height {height}." in meta.text
        browser.execute_script("window.dispatchEvent(new Event('beforeprint'))")
        assert browser.find_element("id", "check-list").is_displayed()
        screenshot(browser, credentials, "print-en")
    finally:
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
    assert not browser.find_element("id", "print-meta").is_displayed()


def test_keyboard_landmarks_labels_and_live_region(credentials: Credentials,
                                                   browser: Any) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    open_portal(browser, credentials.node.url + "/", "kk")
    assert browser.execute_script("return document.documentElement.lang") == "kk"
    assert len(browser.find_elements("css selector", "main")) == 1
    for control in ("doc", "file"):
        labels = browser.execute_script(
            "return [...document.getElementById(arguments[0]).labels].map(l => l.textContent)",
            control)
        assert labels and all(text.strip() for text in labels), control
    live = browser.find_element("id", "verdict")
    assert live.get_attribute("aria-live") == "polite"
    visited = []
    for _ in range(8):  # the whole page can be reached from the keyboard, in reading order
        ActionChains(browser).send_keys(Keys.TAB).perform()
        active = browser.switch_to.active_element
        visited.append(active.get_attribute("id") or active.get_attribute("data-lang-choice")
                       or active.tag_name)
    assert visited[:7] == ["a", "kk", "ru", "en", "file", "doc", "verify"], visited
    textarea = browser.find_element("id", "doc")
    browser.execute_script("arguments[0].value = arguments[1]; arguments[0].focus();",
                           textarea, credentials.valid.read_text(encoding="utf-8"))
    textarea.send_keys(Keys.TAB)
    assert browser.switch_to.active_element.get_attribute("id") == "verify"
    browser.switch_to.active_element.send_keys(Keys.ENTER)
    status, _sentence = verdict(browser)
    assert status == "valid"


def test_page_loads_nothing_from_elsewhere(credentials: Credentials, browser: Any) -> None:
    open_portal(browser, credentials.node.url + "/", "en")
    origins = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => new URL(e.name).origin)")
    assert origins and set(origins) == {credentials.node.url}
    _code, headers, _body = http("GET", credentials.node.url + "/")
    assert "default-src 'self'" in headers["Content-Security-Policy"]


def test_language_comes_from_accept_language(credentials: Credentials, browser: Any) -> None:
    for lang, heading in (("kk", "Білім туралы құжатты тексеру"),
                          ("ru", "Проверка документа об образовании"),
                          ("en", "Check an education document")):
        open_portal(browser, credentials.node.url + "/", lang)
        assert browser.find_element("tag name", "h1").text == heading
        pressed = browser.find_element("css selector", "[aria-pressed='true']")
        assert pressed.get_attribute("data-lang-choice") == lang
        assert json.loads(browser.execute_script(
            "return JSON.stringify(document.title)")).startswith("Senim — ")
