"""A member admitted with a ministry's key declared stolen since (rules version 9), in a
real Chromium against a real node: the page says why its credential is not recognised,
and why a recognition resting on its transcript is in doubt, in kk, ru and en. The node's
real verdicts are answered with the facts a node gives in those states, which the fixture's
chain does not hold (tests/node/test_stolen_key_admission.py has the ledger give them)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.browser.test_portal_browser import open_portal, paste_and_check
from tests.browser.test_portal_node_answers import ANSWER_NEXT
from tests.browser.test_portal_records import (
    LANGS,
    Records,
    assert_in_page_language,
    checks_said,
    records,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]
__all__ = ["records"]  # the fixture, used by name

ADMISSION = {
    "en": ("Not recognised: Астана Колледж was admitted to the consortium by Әділет "
           "министрлігі, with a key of Әділет министрлігі's declared stolen from block 7",
           "Admitted by Әділет министрлігі at block 9, with a key declared stolen from "
           "block 7."),
    "ru": ("Не признан: «Астана Колледж» принята в консорциум министерством «Әділет "
           "министрлігі» ключом «Әділет министрлігі», объявленным похищенным начиная с блока 7",
           "Принята министерством «Әділет министрлігі» в блоке 9 ключом, объявленным "
           "похищенным начиная с блока 7."),
    "kk": ("Танылмайды: «Астана Колледж» консорциумға «Әділет министрлігі» ұйымының 7 "
           "блоктан бастап ұрланған деп жарияланған кілтімен қабылданған",
           "«Әділет министрлігі» 9 блокта 7 блоктан бастап ұрланған деп жарияланған "
           "кілтпен қабылдаған.")}
LABEL = {"en": "Issuer's admission", "ru": "Приём организации", "kk": "Ұйымның қабылдануы"}
ORIGINAL = {"en": "Ask the ministries whether Астана Колледж is a genuine member.",
            "ru": "Уточните у министерств, настоящий ли это член консорциума.",
            "kk": "«Астана Колледж» нағыз мүше ме екенін министрліктерден нақтылаңыз."}


def said_for(records: Records, browser: Any, lang: str, path: Path,
             edit: Any) -> tuple[str, str, dict[str, str]]:
    """The page's status, sentence and checks for the document at `path`, the node's real
    verdict of it changed by `edit`."""
    text = path.read_text(encoding="utf-8")
    _code, answer = records.node.post_json("/v1/verify", json.loads(text))
    edit(answer)
    open_portal(browser, records.node.url + "/", lang)
    browser.execute_script(ANSWER_NEXT, answer)
    status, sentence = paste_and_check(browser, text)
    return status, sentence, checks_said(browser)


@pytest.mark.parametrize("lang", LANGS)
def test_a_credential_of_a_member_a_thief_admitted(records: Records, browser: Any,
                                                   lang: str) -> None:
    def admitted_by_a_thief(answer: dict[str, Any]) -> None:
        answer.update(valid=False, status="admission_compromised")
        answer["facts"].update(issuer="Астана Колледж", admitted_by="Әділет министрлігі",
                               admitted_at_height=9, key_compromised_from=7)
        answer["checks"] = [*answer["checks"][:2], {"check": "admitted", "ok": False,
                                                    "detail": "English detail"}]

    status, sentence, said = said_for(records, browser, lang, records.transcript,
                                      admitted_by_a_thief)
    headline, line = ADMISSION[lang]
    assert status == "admission_compromised"
    assert headline in sentence, sentence
    assert said["admitted"] == f"{LABEL[lang]}: {line}", said
    assert_in_page_language(lang, said)


@pytest.mark.parametrize("lang", LANGS)
def test_a_recognition_on_a_transcript_of_a_member_a_thief_admitted(
        records: Records, browser: Any, lang: str) -> None:
    def on_a_doubted_admission(answer: dict[str, Any]) -> None:
        answer.update(valid=False, status="original_invalid")
        answer["facts"]["original"].update(status="admission_doubted", issuer="Астана Колледж")
        for check in answer["checks"]:
            if check["check"] == "original":
                check.update(ok=False, detail="English detail")

    status, sentence, said = said_for(records, browser, lang, records.recognition,
                                      on_a_doubted_admission)
    assert status == "original_invalid"
    assert ORIGINAL[lang] in sentence, sentence
    assert "Астана Колледж" in said["original"] and "{" not in said["original"], said
    assert_in_page_language(lang, said)
