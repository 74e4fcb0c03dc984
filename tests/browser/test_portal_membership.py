"""A retired university's credential in a real Chromium: a genuine one says, after the
verdict and in its check, when the university left the consortium; one the consortium
revoked by a governance proposal says so, with the proposal, in kk, ru and en.

The node's answer is its real verdict of the fixture's diplomas with the facts of a
retired issuer put in (tests/cli/test_consortium_revocation_cli.py has a node give them
itself): the page words what the facts say."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.browser.conftest import BROWSER_MISSING, CHROMEDRIVER, CHROMIUM, Credentials
from tests.browser.test_portal_browser import open_portal, paste_and_check, spoken_date
from tests.browser.test_portal_node_answers import ANSWER_NEXT

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180),
              pytest.mark.skipif(CHROMIUM is None or CHROMEDRIVER is None,
                                 reason=BROWSER_MISSING)]
PROPOSAL = "5a" * 32
LEFT_AT = "2025-03-01 09:00:00 UTC"

LEFT = {"en": "{name} left the consortium on {date}; this document was issued before that",
        "ru": "Организация «{name}» вышла из консорциума {date}; этот документ выдан раньше",
        "kk": "«{name}» консорциумнан шықты (күні — {date}); бұл құжат одан бұрын"}
BY_CONSORTIUM = {"en": "Revoked by the consortium: ", "ru": "Отозван консорциумом: ",
                 "kk": "Консорциум күшін жойған: "}
MEMBERSHIP = {"en": "Issued while {name} was a member of the consortium, before its "
                    "departure at block 40.",
              "ru": "Выдан, когда «{name}» была участником консорциума, до её выхода в блоке 40.",
              "kk": "«{name}» консорциум мүшесі кезінде, 40-блокта шықпай тұрып берілген."}


def _answer(credentials: Credentials, which: str, scheduled: bool = False) -> dict[str, Any]:
    """`scheduled`: the retirement is approved but takes effect after the verdict's block."""
    path = credentials.valid if which == "valid" else credentials.revoked
    code, answer = credentials.node.post_json("/v1/verify", credentials.document(path))
    assert code == 200 and answer["status"] == which, answer
    retired = copy.deepcopy(answer)
    retired["facts"].update({"issuer_retired_height": 40} | (
        {"issuer_leaves": True} if scheduled else {"issuer_left_at": LEFT_AT}))
    at = next(i for i, c in enumerate(retired["checks"]) if c["check"] == "not_revoked")
    retired["checks"].insert(at, {"check": "membership", "ok": True, "detail": "(English)"})
    if which == "revoked":
        retired["facts"].update({"revoked_by": "consortium", "revoked_by_proposal": PROPOSAL,
                                 "revoked_by_proposer": "Ministry of Science"})
    return dict(retired)


def _check_text(browser: Any, name: str) -> str:
    # textContent: the checks are folded away until the reader opens them
    text = browser.find_element("css selector", f"#check-list li[data-check='{name}']"
                                ).get_attribute("textContent")
    assert isinstance(text, str)
    return text


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_a_retired_universitys_diploma_says_when_it_left(credentials: Credentials,
                                                         browser: Any, lang: str) -> None:
    answer = _answer(credentials, "valid")
    open_portal(browser, credentials.node.url + "/", lang)
    browser.execute_script(ANSWER_NEXT, answer)
    status, sentence = paste_and_check(browser, credentials.valid.read_text(encoding="utf-8"))
    assert status == "valid"
    name = answer["facts"]["issuer"]
    assert LEFT[lang].format(name=name, date=spoken_date(LEFT_AT, lang)) in sentence, sentence
    assert _check_text(browser, "membership").endswith(MEMBERSHIP[lang].format(name=name))


def test_a_university_still_leaving_is_not_said_to_have_left(credentials: Credentials,
                                                              browser: Any) -> None:
    answer = _answer(credentials, "valid", scheduled=True)
    open_portal(browser, credentials.node.url + "/", "en")
    browser.execute_script(ANSWER_NEXT, answer)
    status, sentence = paste_and_check(browser, credentials.valid.read_text(encoding="utf-8"))
    assert status == "valid"
    name = answer["facts"]["issuer"]
    assert f"{name} leaves the consortium at block 40" in sentence, sentence
    membership = _check_text(browser, "membership")
    assert membership.endswith(MEMBERSHIP["en"].format(name=name))
    assert " left" not in membership, membership


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_a_diploma_the_consortium_revoked_says_so_with_the_proposal(
        credentials: Credentials, browser: Any, lang: str) -> None:
    answer = _answer(credentials, "revoked")
    open_portal(browser, credentials.node.url + "/", lang)
    browser.execute_script(ANSWER_NEXT, answer)
    status, sentence = paste_and_check(browser,
                                       credentials.revoked.read_text(encoding="utf-8"))
    assert status == "revoked"
    assert sentence.startswith(BY_CONSORTIUM[lang]), sentence
    assert PROPOSAL[:16] + "…" in sentence
    assert spoken_date(answer["facts"]["revoked_at"], lang) in sentence
    assert PROPOSAL[:16] in _check_text(browser, "not_revoked")
    assert PROPOSAL in browser.find_element("id", "tech").get_attribute("textContent")
