"""Times on the page and its printout, in a real Chromium against a real node: every moment
(a revocation, the record on chain, the block the node answered at, the check itself) is
said in the browser's zone with that zone's offset from UTC, in each language. The
printout gave the check's time in local time with no zone beside a revocation time in
UTC, so a printout filed by an HR officer in Astana read as if both were the same zone."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.browser.conftest import BROWSER_MISSING, CHROMEDRIVER, CHROMIUM, Credentials
from tests.browser.test_portal_browser import open_portal, paste_and_check, spoken_date

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180),
              pytest.mark.skipif(CHROMIUM is None or CHROMEDRIVER is None,
                                 reason=BROWSER_MISSING)]
# Kazakhstan has one zone, UTC+5, since March 2024; the others have no summer time in
# December (New York's winter offset), and one is half an hour off the hour.
ZONES = {"Asia/Almaty": (timedelta(hours=5), "UTC+5"),
         "Asia/Kolkata": (timedelta(hours=5, minutes=30), "UTC+5:30"),
         "America/New_York": (timedelta(hours=-5), "UTC-5"),
         "UTC": (timedelta(0), "UTC")}
AT = {"en": "at {time}", "ru": "в {time}", "kk": "сағат {time}"}
RECORDED = {"en": "Recorded on the Senim chain", "ru": "Записан в цепочку Senim",
            "kk": "Senim тізбегіне жазылған уақыты"}
BLOCK_TIME = {"en": "Time of that block", "ru": "Время этого блока",
              "kk": "Сол блоктың уақыты"}


def node_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S UTC").replace(tzinfo=UTC)


def local(moment: datetime, zone: str, lang: str) -> tuple[str, str]:
    """(the day said in `lang`, "HH:MM (UTC+5)") of a moment in one of ZONES."""
    offset, label = ZONES[zone]
    there = moment + offset
    return spoken_date(there.strftime("%Y-%m-%d"), lang), f"{there:%H:%M} ({label})"


@contextmanager
def in_zone(browser: Any, zone: str) -> Iterator[None]:
    browser.execute_cdp_cmd("Emulation.setTimezoneOverride", {"timezoneId": zone})
    try:
        yield
    finally:
        browser.execute_cdp_cmd("Emulation.setTimezoneOverride", {"timezoneId": ""})


def shown_row(browser: Any, list_id: str, label: str) -> str:
    """The text beside `label` in the page's list `list_id` (tech: the checks; fields: the
    document card)."""
    rows: dict[str, str] = browser.execute_script(
        "const out = {};"
        "document.querySelectorAll('#' + arguments[0] + ' dt').forEach((dt) => {"
        "  out[dt.textContent] = dt.nextElementSibling.textContent; });"
        "return out;", list_id)
    return rows[label]


@pytest.mark.parametrize("lang,zone", [("kk", "Asia/Almaty"), ("ru", "Asia/Almaty"),
                                       ("en", "Asia/Almaty"), ("en", "Asia/Kolkata"),
                                       ("ru", "America/New_York"), ("en", "UTC")])
def test_every_time_is_said_in_one_zone_and_names_it(credentials: Credentials, browser: Any,
                                                     lang: str, zone: str) -> None:
    _code, answer = credentials.node.post_json("/v1/verify",
                                               credentials.document(credentials.revoked))
    facts = answer["facts"]
    open_portal(browser, credentials.node.url + "/", lang)
    with in_zone(browser, zone):
        east = -browser.execute_script("return new Date().getTimezoneOffset()")
        assert east == ZONES[zone][0] // timedelta(minutes=1), (zone, east)
        before, head_before = datetime.now(UTC), credentials.node.get_json("/v1/status")
        status, sentence = paste_and_check(browser,
                                           credentials.revoked.read_text(encoding="utf-8"))
        after, head_after = datetime.now(UTC), credentials.node.get_json("/v1/status")
        assert status == "revoked"
        day, time = local(node_time(facts["revoked_at"]), zone, lang)
        assert day in sentence and AT[lang].format(time=time) in sentence, sentence
        assert sentence.count("UTC") == 1, sentence  # the zone is named once, with the time

        day, time = local(node_time(facts["issued_at"]), zone, lang)
        assert shown_row(browser, "fields", RECORDED[lang]) == f"{day}, {time}"
        on_chain = browser.find_element("css selector", "#check-list li[data-check='on_chain']")
        assert f"{day}, {time}" in on_chain.get_attribute("textContent")

        heads = {"{}, {}".format(*local(node_time(head["head_time"]), zone, lang))
                 for head in (head_before, head_after)}
        assert shown_row(browser, "tech", BLOCK_TIME[lang]) in heads

        meta = browser.find_element("id", "print-meta").get_attribute("textContent")
        said = {"{}, {}".format(*local(moment, zone, lang)) for moment in (before, after)}
        assert any(when in meta for when in said), (meta, said)
        # No time on the page is left without its zone.
        page = browser.find_element("id", "result").get_attribute("textContent")
        bare = [m.group(0) for m in re.finditer(r"\d{2}:\d{2}(?! \(UTC)", page)]
        assert not bare, (bare, page)
