"""The document card, in a real Chromium against a real node: a certificate states its
own date of issue, which the card keeps apart from the day its record reached the chain
in every language (both were labelled "Дата выдачи" in Russian and "Берілген күні" in
Kazakh), and each of its fields is labelled in the page's language; a diploma's fields
read in the order of its type's standard fields."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any

import pytest

from ledger.labels import TYPE_FIELDS
from tests.browser.conftest import (
    BROWSER_MISSING,
    CHROMEDRIVER,
    CHROMIUM,
    GRADUATES,
    Credentials,
)
from tests.browser.test_portal_browser import open_portal, paste_and_check, shown_fields

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180),
              pytest.mark.skipif(CHROMIUM is None or CHROMEDRIVER is None,
                                 reason=BROWSER_MISSING)]
COURSE_TITLE = {"en": "Course title", "ru": "Название курса", "kk": "Курс атауы"}
PAPER_DATE = {"en": "5 July 2026", "ru": "5 июля 2026 г.", "kk": "2026 жылғы 5 шілде"}


def issued_with_a_date(credentials: Credentials, tmp_path: Path) -> Path:
    net, node = credentials.net, credentials.node
    net.cli("accredit", "--key", str(net.key_path("mshe")), "--issuer",
            net.member_id("kaznu"), "--types", "certificate", node=node)
    record = {"full_name": GRADUATES[0]["full_name"], "iin": GRADUATES[0]["iin"],
              "course_title": "Data Analysis (professional development)", "hours": "72",
              "issue_date": "2026-07-05"}
    table = tmp_path / "certificates.csv"
    with table.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(record))
        writer.writeheader()
        writer.writerow(record)
    out = tmp_path / "jobs" / "certificates"
    net.cli("issue", "--key", str(net.key_path("kaznu")), "--type", "certificate", "--input",
            str(table), "--out", str(out), node=node)
    (path,) = out.rglob("certificate-*.json")
    return path


def test_the_date_of_issue_and_the_day_on_chain_are_told_apart(credentials: Credentials,
                                                               browser: Any,
                                                               tmp_path: Path) -> None:
    text = issued_with_a_date(credentials, tmp_path).read_text(encoding="utf-8")
    assert json.loads(text)["fields"]["issue_date"]["value"] == "2026-07-05"
    for lang in ("kk", "ru", "en"):
        open_portal(browser, credentials.node.url + "/", lang)
        status, _sentence = paste_and_check(browser, text)
        assert status == "valid"
        labels = [dt.text for dt in browser.find_elements("css selector", "#fields dt")]
        assert len(labels) == len(set(labels)), (lang, labels)
        fields = shown_fields(browser)
        assert fields["issue_date"][1] == PAPER_DATE[lang]
        assert fields["course_title"][0] == COURSE_TITLE[lang]
        if lang != "en":
            english = [label for label in labels
                       if re.search(r"[A-Za-z]{3,}", label.replace("Senim", ""))]
            assert not english, (lang, english)


def test_a_diploma_reads_in_the_order_of_its_standard_fields(credentials: Credentials,
                                                              browser: Any) -> None:
    # The programme's code came last, after the honours, as a field the page did not know.
    open_portal(browser, credentials.node.url + "/", "en")
    status, _sentence = paste_and_check(browser, credentials.valid.read_text(encoding="utf-8"))
    assert status == "valid"
    shown = list(shown_fields(browser))
    assert shown == [name for name in TYPE_FIELDS["diploma"] if name in shown], shown
