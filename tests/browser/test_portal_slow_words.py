"""On a slow line the portal's words (node/static/i18n/) arrive after the page can take a
file: a file picked then waits for them, and is never answered in bare catalogue keys
("result.checking"), in a real Chromium against a real node."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

from tests.browser.conftest import BROWSER_MISSING, CHROMEDRIVER, CHROMIUM, Credentials
from tests.browser.test_portal_browser import PAGE_TIMEOUT_S

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180),
              pytest.mark.skipif(CHROMIUM is None or CHROMEDRIVER is None,
                                 reason=BROWSER_MISSING)]
# Each request the page makes waits this long: the words arrive well after the page's
# file input is wired up.
LATENCY_MS = 1500
KEY = re.compile(r"\b[a-z]+\.[a-z_]+\b")  # "result.checking", "status.valid"


def test_a_file_picked_before_the_words_arrive_is_never_answered_in_keys(
        credentials: Credentials, browser: Any) -> None:
    browser.execute_cdp_cmd("Network.enable", {})
    browser.execute_cdp_cmd("Network.setExtraHTTPHeaders", {"headers": {}})
    browser.execute_cdp_cmd("Network.emulateNetworkConditions", {
        "offline": False, "latency": LATENCY_MS, "downloadThroughput": -1,
        "uploadThroughput": -1})
    try:
        browser.get(credentials.node.url + "/?lang=ru")
        assert browser.execute_script("return document.body.dataset.ready") != "true", \
            "the words arrived with the page: this test shows nothing"
        browser.find_element("id", "file").send_keys(str(credentials.valid))
        shown: list[str] = []
        deadline = time.monotonic() + PAGE_TIMEOUT_S
        status = ""
        while not status and time.monotonic() < deadline:
            status, text = browser.execute_script(
                "const v = document.getElementById('verdict');"
                "return [v.dataset.status || '', v.textContent];")
            shown.append(text)
        assert status == "valid", shown[-3:]
        assert shown[-1].startswith("Подлинный диплом"), shown[-1]
        keys = sorted({text for text in shown if KEY.search(text)})
        assert not keys, keys
    finally:
        browser.execute_cdp_cmd("Network.emulateNetworkConditions", {
            "offline": False, "latency": 0, "downloadThroughput": -1,
            "uploadThroughput": -1})


@pytest.mark.parametrize(("lang", "said"), [
    ("ru", "Senim: странице не удалось загрузить свои тексты; обновите страницу."),
    ("kk", "Senim: бет өз мәтіндерін жүктей алмады; бетті қайта жүктеңіз.")])
def test_words_that_cannot_load_are_reported_in_the_pages_language(
        credentials: Credentials, browser: Any, lang: str, said: str) -> None:
    browser.execute_cdp_cmd("Network.enable", {})
    browser.execute_cdp_cmd("Network.setBlockedURLs", {"urls": ["*/static/i18n/*"]})
    try:
        browser.get(credentials.node.url + f"/?lang={lang}")
        deadline = time.monotonic() + PAGE_TIMEOUT_S
        text = ""
        while not text and time.monotonic() < deadline:
            text = browser.execute_script(
                "return document.getElementById('verdict').textContent")
        assert text == said
    finally:
        browser.execute_cdp_cmd("Network.setBlockedURLs", {"urls": []})
