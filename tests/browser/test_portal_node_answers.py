"""A node that refuses work for a moment, in a real Chromium against a real node: its limits
on public work (429, 503) read as "busy, try again" with a retry button, an error of its
own as a fault to report, in the page's language and without an HTTP code; a 503 for its
own files unreadable to it or its store damaged as that, to be checked on another node.
And a page load logs no error in the browser's console."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser.conftest import BROWSER_MISSING, CHROMEDRIVER, CHROMIUM, Credentials
from tests.browser.test_portal_browser import open_portal, paste_and_check, verdict

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180),
              pytest.mark.skipif(CHROMIUM is None or CHROMEDRIVER is None,
                                 reason=BROWSER_MISSING)]
BUSY = {"en": "The node is busy just now", "ru": "Узел сейчас занят",
        "kk": "Түйін қазір бос емес"}
RETRY = {"en": "Try again", "ru": "Повторить", "kk": "Қайталау"}

# The page's next verification request is answered by this code instead of the node.
REFUSE_NEXT = """
const code = arguments[0];
const real = window.fetch;
window.fetch = (path, options) => {
  if (/verify/.test(String(path))) {
    window.fetch = real;
    return Promise.resolve(new Response(JSON.stringify({error: {code: 'busy',
      message: 'busy'}}), {status: code, headers: {'Content-Type': 'application/json'}}));
  }
  return real(path, options);
};
"""


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_a_busy_node_says_try_again_and_the_retry_works(credentials: Credentials,
                                                        browser: Any, lang: str) -> None:
    text = credentials.valid.read_text(encoding="utf-8")
    for code in (429, 503):
        open_portal(browser, credentials.node.url + "/", lang)
        browser.execute_script(REFUSE_NEXT, code)
        status, sentence = paste_and_check(browser, text)
        assert status == "busy" and sentence.startswith(BUSY[lang]), (code, sentence)
        assert str(code) not in sentence
        retry = browser.find_element("id", "retry")
        assert retry.is_displayed() and retry.text == RETRY[lang]
        browser.execute_script("delete document.getElementById('verdict').dataset.status;")
        retry.click()
        assert verdict(browser)[0] == "valid"


# The page's next verification is answered 503 with this error code of the node's.
FAULT_NEXT = """
const code = arguments[0];
const real = window.fetch;
window.fetch = (path, options) => {
  if (/verify/.test(String(path))) {
    window.fetch = real;
    return Promise.resolve(new Response(JSON.stringify({error: {code, message: code}}),
      {status: 503, headers: {'Content-Type': 'application/json'}}));
  }
  return real(path, options);
};
"""
ANOTHER_NODE = {"en": "check it on another node", "ru": "проверьте документ на другом узле",
                "kk": "құжатты басқа түйінде тексеріңіз"}


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
@pytest.mark.parametrize("code", ["store_unreadable", "store_damaged"])
def test_a_node_whose_store_fails_is_not_called_busy(credentials: Credentials, browser: Any,
                                                     lang: str, code: str) -> None:
    """Its 503 was 'busy, try again in a moment', with a retry button, though no retry
    cures files the node may not read or a damaged store."""
    open_portal(browser, credentials.node.url + "/", lang)
    browser.execute_script(FAULT_NEXT, code)
    status, sentence = paste_and_check(browser, credentials.valid.read_text(encoding="utf-8"))
    assert status == code and ANOTHER_NODE[lang] in sentence, sentence
    assert not sentence.startswith(BUSY[lang]) and "503" not in sentence, sentence
    assert not browser.find_element("id", "retry").is_displayed()


def test_a_fault_of_the_node_is_said_without_its_code(credentials: Credentials,
                                                      browser: Any) -> None:
    open_portal(browser, credentials.node.url + "/", "ru")
    browser.execute_script(REFUSE_NEXT, 500)
    status, sentence = paste_and_check(browser, credentials.valid.read_text(encoding="utf-8"))
    assert status == "node_error" and "оператору узла" in sentence, sentence
    assert not re.search(r"\d", sentence), sentence
    assert browser.find_element("id", "retry").is_displayed()


def test_a_page_load_and_a_check_log_no_error(credentials: Credentials, browser: Any) -> None:
    # The browser asked for /favicon.ico, which the node does not serve: one 404 in the
    # console on every load, where an officer or the node's operator looking for a real
    # fault would read it. The page names an icon that needs no request.
    browser.get("about:blank")
    browser.get_log("browser")  # what earlier tests left
    open_portal(browser, credentials.node.url + "/", "en")
    assert paste_and_check(browser, credentials.valid.read_text(encoding="utf-8"))[0] == "valid"
    icon = browser.execute_script(
        "const link = document.querySelector('link[rel~=\"icon\"]');"
        "return link ? link.href : null;")
    assert icon is not None and icon.startswith("data:"), icon
    errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert not errors, errors


# The node's next verification is answered with a verdict whose status the page has no words
# for (a status added to the verifier and not to the page, or a node that is not honest).
ANSWER_NEXT = """
const body = arguments[0];
const real = window.fetch;
window.fetch = (path, options) => {
  if (/verify/.test(String(path))) {
    window.fetch = real;
    return Promise.resolve(new Response(JSON.stringify(body),
      {status: 200, headers: {'Content-Type': 'application/json'}}));
  }
  return real(path, options);
};
"""
UNWORDED = {"en": "The node answered “suspended”, which this page cannot put into words",
            "ru": "Узел ответил «suspended», но эта страница не может объяснить такой ответ",
            "kk": "Түйін «suspended» деп жауап берді, бірақ бұл бет мұндай жауапты"}


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_a_status_the_page_has_no_words_for_is_said_not_shown_as_a_key(
        credentials: Credentials, browser: Any, lang: str) -> None:
    open_portal(browser, credentials.node.url + "/", lang)
    browser.execute_script(ANSWER_NEXT, {
        "valid": False, "status": "suspended", "reason": "suspended", "source": "node",
        "checks": [{"check": "status", "ok": False, "detail": "suspended"}], "facts": {}})
    status, sentence = paste_and_check(browser, credentials.valid.read_text(encoding="utf-8"))
    assert status == "suspended" and sentence.startswith(UNWORDED[lang]), sentence
    assert "status." not in sentence
    assert browser.find_element("id", "verdict").get_attribute("data-tone") == "bad"


def test_a_direction_override_in_a_name_stays_inside_the_name(credentials: Credentials,
                                                              browser: Any) -> None:
    # A member name with a stray U+202E (pasted from Word) turned the rest of the verdict
    # into "…UniversityrebmeceD 3 no .yadot fo sa dekover ton" on screen. Names from the
    # chain are laid out apart (<bdi>), and the sentence's text stays the same.
    name = "Qazaq Ulttyq University\u202e"
    open_portal(browser, credentials.node.url + "/", "en")
    browser.execute_script(ANSWER_NEXT, {
        "valid": True, "status": "valid", "reason": "genuine", "source": "node",
        "checks": [{"check": "accredited", "ok": True, "detail": "accredited"}],
        "facts": {"type": "diploma", "issuer": name, "issued_at": "2026-12-03 08:20:52 UTC"}})
    status, sentence = paste_and_check(browser, credentials.valid.read_text(encoding="utf-8"))
    assert status == "valid"
    assert sentence == (f"Genuine diploma, issued by {name} on 3 December 2026; not revoked as "
                        "of today."), sentence
    isolated = browser.execute_script(
        "return [...document.querySelectorAll('#verdict bdi, #check-list bdi')]"
        "  .map(b => [b.closest('[id]').id, b.textContent]);")
    assert ["verdict", name] in isolated and ["check-list", name] in isolated, isolated
