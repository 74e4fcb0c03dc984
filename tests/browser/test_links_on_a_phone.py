"""A link on a phone (390 px): the verdict of a check opened from a link, the note under it,
the box a link is pasted into, and the holder's page that makes the link, in Kazakh,
Russian and English (whose long words a narrow screen must break, not push past its edge).
In real Chromium against a real node. Nothing overflowed when this was written: it guards
the CSS (without body's overflow-wrap, or with a textarea that does not wrap, it fails)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from cli.sharing import share_link
from node.i18n import catalogue
from tests.browser.conftest import BROWSER_MISSING, CHROMEDRIVER, CHROMIUM, Credentials
from tests.browser.test_portal_browser import (
    PAGE_TIMEOUT_S,
    PHONE,
    open_portal,
    paste_and_check,
    screenshot,
    verdict,
    wait_for,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240),
              pytest.mark.skipif(CHROMIUM is None or CHROMEDRIVER is None,
                                 reason=BROWSER_MISSING)]

LANGUAGES = ("kk", "ru", "en")
ELSEWHERE = "http://127.0.0.9:1"  # a forger's node: nothing listens there

# What sticks out of a 390 px screen, or is cut off inside a box that hides its overflow:
# every shown element under `roots` (and each line of its text) must lie within the
# viewport's width, and no box that clips may hold more than it shows (a textarea may
# scroll down, never sideways).
_OVERFLOW = """
const roots = arguments[0];
const width = window.innerWidth;
const out = [];
const name = (e) => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
  + (e.className && typeof e.className === 'string' ? '.' + e.className.split(' ')[0] : '');
for (const selector of roots) {
  const root = document.querySelector(selector);
  if (!root) { out.push('missing ' + selector); continue; }
  if (root.getClientRects().length === 0) { out.push('not shown ' + selector); continue; }
  for (const e of [root, ...root.querySelectorAll('*')]) {
    if (e.getClientRects().length === 0) continue;  // not shown
    if (e.closest('.visually-hidden')) continue;  // for screen readers: clipped on purpose
    const box = e.getBoundingClientRect();
    if (box.left < -0.5 || box.right > width + 0.5) {
      out.push(`${name(e)} spans ${Math.round(box.left)}..${Math.round(box.right)}px`);
    }
    const style = getComputedStyle(e);
    const clips = (v) => v !== 'visible';
    if (clips(style.overflowX) && e.scrollWidth > e.clientWidth + 1) {
      out.push(`${name(e)} hides ${e.scrollWidth - e.clientWidth}px of its width`);
    }
    if (e.tagName !== 'TEXTAREA' && clips(style.overflowY)
        && e.scrollHeight > e.clientHeight + 1) {
      out.push(`${name(e)} hides ${e.scrollHeight - e.clientHeight}px of its height`);
    }
    if (style.textOverflow === 'ellipsis' && e.scrollWidth > e.clientWidth) {
      out.push(`${name(e)} is cut with an ellipsis`);
    }
    for (const node of e.childNodes) {
      if (node.nodeType !== Node.TEXT_NODE || !node.textContent.trim()) continue;
      const range = document.createRange();
      range.selectNodeContents(node);
      for (const line of range.getClientRects()) {
        if (line.left < -0.5 || line.right > width + 0.5) {
          out.push(`text of ${name(e)} runs to ${Math.round(line.right)}px: `
            + node.textContent.trim().slice(0, 40));
          break;
        }
      }
    }
  }
}
return [width, document.documentElement.scrollWidth, out];
"""


@contextmanager
def _phone(browser: Any) -> Iterator[None]:
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", PHONE)
    try:
        yield
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def _assert_fits(browser: Any, roots: list[str], what: str) -> None:
    width, scroll_width, problems = browser.execute_script(_OVERFLOW, roots)
    assert width == PHONE["width"], f"{what}: the viewport is {width}px, not 390px"
    assert scroll_width <= width, f"{what}: the page scrolls sideways ({scroll_width}px)"
    assert problems == [], f"{what}: {problems}"


def test_a_check_opened_from_a_link_fits_a_phone(credentials: Credentials,
                                                 browser: Any) -> None:
    link = share_link(credentials.document(credentials.valid), credentials.node.url, True)
    with _phone(browser):
        for lang in LANGUAGES:
            browser.get("about:blank")
            open_portal(browser, link, lang)
            status, _ = verdict(browser)
            assert status == "valid"
            note = browser.find_element("id", "link-note")
            assert note.is_displayed() and note.text == catalogue(lang)["result.link_note"]
            browser.find_element("css selector", "#checks summary").click()  # digests, keys
            _assert_fits(browser, ["#verdict", "#link-note", "#input", "#answer"],
                         f"opened from a link, {lang}")
            screenshot(browser, credentials, f"link-note-{lang}-phone")


def test_a_pasted_link_and_its_refusal_fit_a_phone(credentials: Credentials,
                                                   browser: Any) -> None:
    link = share_link(credentials.document(credentials.valid), ELSEWHERE)
    broken = "\n    ".join(link[i:i + 60] for i in range(0, len(link), 60))
    with _phone(browser):
        for lang in LANGUAGES:
            open_portal(browser, credentials.node.url + "/", lang)
            status, _ = paste_and_check(browser, broken)
            assert status == "valid", lang
            _assert_fits(browser, ["#verdict", "#input", "#answer"], f"a pasted link, {lang}")
            status, sentence = paste_and_check(browser, link[:-50])
            assert status == "link_damaged", (lang, sentence)
            _assert_fits(browser, ["#verdict", "#input"], f"a damaged link, {lang}")
            screenshot(browser, credentials, f"link-damaged-{lang}-phone")


def test_the_holders_link_fits_a_phone(credentials: Credentials, browser: Any) -> None:
    with _phone(browser):
        for lang in LANGUAGES:
            open_portal(browser, credentials.node.url + "/holder", lang)
            browser.find_element("id", "file").send_keys(str(credentials.valid))
            wait_for(lambda: browser.find_element("id", "choose").is_displayed(),
                     PAGE_TIMEOUT_S, "the list of fields")
            browser.find_element("id", "hide-personal").click()
            browser.find_element("id", "link").click()
            made = wait_for(
                lambda: browser.find_element("id", "link-text").get_attribute("value"),
                PAGE_TIMEOUT_S, "the link")
            assert made.startswith(credentials.node.url + "/#docz="), made
            _assert_fits(browser, ["main", ".top", ".foot"], f"the holder's page, {lang}")
            screenshot(browser, credentials, f"holder-link-{lang}-phone")
