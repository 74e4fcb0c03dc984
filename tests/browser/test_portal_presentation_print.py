"""A presentation's verdict as an HR officer files it and as a graduate sends it, in a real
Chromium against a real node. A presentation had no print button (the single
credential's is inside the card a presentation does not show), and its printout said
neither what it was signed for nor when or by which node it was checked; one sent by link
was never tried, and one holding more credentials than are checked at once was said, by
link, to be a damaged link; a presentation cut short in a copy was said as a damaged
Senim credential, naming neither the presentation nor what to ask its holder for."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from cli.sharing import share_link
from ledger.vc.didkey import did_key
from ledger.vc.presentation import MAX_CREDENTIALS_PER_PRESENTATION
from tests.browser.conftest import BROWSER_MISSING, CHROMEDRIVER, CHROMIUM, Credentials
from tests.browser.test_portal_browser import (
    PAGE_TIMEOUT_S,
    assert_fits_phone,
    open_portal,
    paste_and_check,
    phone,
    screenshot,
    verdict,
    wait_for,
)
from tests.browser.test_portal_presentations import (
    CHALLENGE,
    HOLDER,
    check_again,
    presentation,
    short_did,
    shown,
    words,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240),
              pytest.mark.skipif(CHROMIUM is None or CHROMEDRIVER is None,
                                 reason=BROWSER_MISSING)]
# The most screens of a phone's answer photographed: two credentials' worth and more.
SCREENS_SHOT_MAX = 8
SUMMARY = """return [...document.querySelectorAll('#credentials .vp-summary li')]
  .map((li) => [li.dataset.tone, li.textContent]);"""
# What a printout shows: each element's text, or None when print hides it.
PRINTED = """
const seen = (el) => el && el.offsetParent !== null ? el.textContent : null;
const rows = (sel) => [...document.querySelectorAll(sel)];
return {input: seen(document.getElementById('input')),
  verdict: seen(document.getElementById('verdict')),
  facts: Object.fromEntries(rows('#vp-facts dd').map((dd) => [dd.dataset.fact, seen(dd)])),
  verdicts: rows('#credentials [data-part="verdict"]').map(seen),
  summary: rows('#credentials .vp-summary li').map(seen),
  boxMeta: rows('#credentials [data-part="print-meta"]').map(seen),
  meta: seen(document.getElementById('vp-print-meta')),
  button: seen(document.getElementById('vp-print'))};
"""


@pytest.fixture(scope="module")
def held(credentials: Credentials, tmp_path_factory: pytest.TempPathFactory
         ) -> Iterator[list[dict[str, Any]]]:
    """Әлия's diploma as a W3C VC, and Nurlan's, exported before it was revoked."""
    out = tmp_path_factory.mktemp("vp-print") / "aliya.vc.json"
    credentials.net.cli("export-vc", str(credentials.valid), "--key",
                        str(credentials.net.key_path("kaznu")), "--out", str(out),
                        node=credentials.node)
    yield [json.loads(out.read_text(encoding="utf-8")),
           credentials.document(credentials.revoked_vc)]


@contextmanager
def on_paper(browser: Any) -> Iterator[None]:
    """The page as printed: print media, after the page's beforeprint (which opens what a
    printout shows closed on the screen), scrolled to its top."""
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    try:
        browser.execute_script("window.dispatchEvent(new Event('beforeprint'));"
                               "window.scrollTo(0, 0);")
        yield
    finally:
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})


def printed(browser: Any, credentials: Credentials, name: str) -> dict[str, Any]:
    """What the printout shows, photographed as printed (its first screen)."""
    with on_paper(browser):
        found: dict[str, Any] = browser.execute_script(PRINTED)
        screenshot(browser, credentials, name)
        return found


@pytest.mark.parametrize("lang", ["kk", "en"])
def test_a_presentations_printout_shows_each_verdict_the_challenge_and_who_checked(
        credentials: Credentials, browser: Any, held: list[dict[str, Any]], lang: str) -> None:
    open_portal(browser, credentials.node.url + "/", lang)
    paste_and_check(browser, json.dumps(presentation(held), ensure_ascii=False))
    found = check_again(browser, CHALLENGE)
    assert found["status"] == "revoked", found
    assert browser.find_element("id", "vp-print").is_displayed()  # on the screen
    height = credentials.node.status()["height"]
    paper = printed(browser, credentials, f"presentation-print-{lang}")
    assert paper["input"] is None and paper["button"] is None, paper  # not on paper
    assert paper["verdict"] == words(lang, "vp.credential_fails", signer=short_did(did_key(
        HOLDER.public_key)), failed=1, count=2), paper
    assert paper["facts"] == {
        "signer": did_key(HOLDER.public_key),
        "challenge": "✔ " + words(lang, "vp.challenge.checked", value=CHALLENGE),
        "domain": words(lang, "vp.domain.not_checked")}, paper
    revoked_on = words(lang, "status.revoked").split("{")[0]
    assert paper["verdicts"][0].startswith(words(lang, "status.valid").split("{")[0]), paper
    assert paper["verdicts"][1].startswith(revoked_on), paper
    assert len(paper["summary"]) == 2 and all(paper["summary"]), paper
    # One line of when, by which node and at which height, for the whole printout.
    assert paper["boxMeta"] == [None, None], paper
    assert paper["meta"].startswith(words(lang, "print.meta").split("{when}")[0]), paper
    assert "mshe" in paper["meta"] and str(height) in paper["meta"], paper


def test_a_wrong_challenge_is_printed_with_what_was_entered(
        credentials: Credentials, browser: Any, held: list[dict[str, Any]]) -> None:
    open_portal(browser, credentials.node.url + "/", "ru")
    paste_and_check(browser, json.dumps(presentation(held[:1]), ensure_ascii=False))
    check_again(browser, "hr-0000")
    paper = printed(browser, credentials, "presentation-print-mismatch-ru")
    assert paper["verdict"] == words("ru", "vp.challenge_mismatch"), paper
    assert paper["facts"]["challenge"] == "✘ " + words(
        "ru", "vp.challenge.mismatch", value="hr-0000"), paper
    assert paper["meta"] and paper["verdicts"] == [], paper


# What a printout colours that a reader is not told by words: each element shown on paper
# whose background is neither none nor the paper's white (printed only when the browser's
# "background graphics" is ticked, and then a tone's tint), or which has a border of a
# colour not grey (a tone's rule, printed always).
INKED = """
const paper = ['rgba(0, 0, 0, 0)', 'rgb(255, 255, 255)'];
const coloured = (rgb) => {
  const [r, g, b] = (rgb.match(/\\d+/g) || []).map(Number);
  return Math.max(r, g, b) - Math.min(r, g, b) > 40;
};
const sides = ['Top', 'Right', 'Bottom', 'Left'];
return [...document.querySelectorAll('body, body *')]
  .filter((el) => el.getClientRects().length > 0)
  .map((el) => [el, getComputedStyle(el)])
  .filter(([el, style]) => style.visibility !== 'hidden'
    && (!paper.includes(style.backgroundColor) || style.backgroundImage !== 'none'
      || sides.some((side) => parseFloat(style[`border${side}Width`]) > 0
        && style[`border${side}Style`] !== 'none' && coloured(style[`border${side}Color`]))))
  .map(([el, style]) => `${el.tagName.toLowerCase()}#${el.id}.${el.className}`
    + `[${el.dataset.tone || ''}] ${style.backgroundColor} ${style.backgroundImage}`
    + ` ${style.borderColor}`);
"""
MARKS = """return [...document.querySelectorAll('#vp-facts .mark-ok, #vp-facts .mark-bad,'
  + ' #vp-facts .mark-warn, #credentials .vp-summary span')]
  .filter((el) => el.getClientRects().length > 0).map((el) => el.textContent);"""


def printed_plain(browser: Any, credentials: Credentials, name: str
                  ) -> tuple[dict[str, Any], list[str], list[str]]:
    """What the printout shows, what it colours, and the marks it shows."""
    with on_paper(browser):
        inked: list[str] = browser.execute_script(INKED)
        marks: list[str] = browser.execute_script(MARKS)
        found: dict[str, Any] = browser.execute_script(PRINTED)
        screenshot(browser, credentials, name)
    return found, inked, marks


def test_a_printout_inks_no_background_and_keeps_the_verdict_and_marks(
        credentials: Credentials, browser: Any, held: list[dict[str, Any]]) -> None:
    """A failed verdict printed on a pink ground, a revoked diploma's box on amber and the
    warnings on amber: print said `background: none` of the verdict, but its tone's
    colours were more specific. On paper each is its words and its marks."""
    open_portal(browser, credentials.node.url + "/", "kk")
    paste_and_check(browser, json.dumps(presentation(held), ensure_ascii=False))
    assert browser.execute_script(INKED), "on the screen, the verdict is tinted"
    check_again(browser, "hr-0000")
    paper, inked, marks = printed_plain(browser, credentials, "presentation-print-plain-bad")
    assert inked == [], inked
    assert paper["verdict"] == words("kk", "vp.challenge_mismatch"), paper
    assert marks == ["✘ "], marks
    check_again(browser, CHALLENGE)  # valid, and a revoked one inside: said, and marked
    paper, inked, marks = printed_plain(browser, credentials, "presentation-print-plain-ok")
    assert inked == [], inked
    assert paper["verdict"] == words("kk", "vp.credential_fails", signer=short_did(did_key(
        HOLDER.public_key)), failed=1, count=2), paper
    assert marks == ["✔ ", "✔ ", "⚠ "], marks
    assert paper["verdicts"][0].startswith(words("kk", "status.valid").split("{")[0]), paper
    check_again(browser, "")  # no challenge entered: warned of, on amber on the screen
    paper, inked, marks = printed_plain(browser, credentials, "presentation-print-plain-warn")
    assert inked == [], inked
    assert paper["facts"]["challenge"] == "⚠ " + words("kk", "vp.challenge.not_checked"), paper
    assert marks == ["⚠ ", "✔ ", "⚠ "], marks


def opened(browser: Any, link: str) -> tuple[str, str]:
    browser.get("about:blank")
    browser.get(link)
    wait_for(lambda: browser.execute_script("return document.body.dataset.ready === 'true'"),
             PAGE_TIMEOUT_S, "the portal to load its texts")
    return verdict(browser)


@pytest.mark.parametrize("compressed", [False, True])
def test_a_presentation_sent_by_link(credentials: Credentials, browser: Any,
                                     held: list[dict[str, Any]], compressed: bool) -> None:
    open_portal(browser, credentials.node.url + "/", "en")  # the language, as a browser's
    signer = short_did(did_key(HOLDER.public_key))
    vp = presentation(held[:1])
    status, sentence = opened(browser, share_link(vp, credentials.node.url, compressed))
    assert (status, sentence) == ("valid", words("en", "vp.valid", signer=signer, count=1))
    found = shown(browser)
    assert found["options"] and found["warnings"][0] == "challenge_not_checked", found
    assert [c["status"] for c in found["credentials"]] == ["valid"], found
    assert browser.find_element("id", "link-note").is_displayed()
    # The officer enters the challenge they gave the holder, and checks the link's again.
    again = check_again(browser, CHALLENGE)
    assert again["text"] == words("en", "vp.valid", signer=signer, count=1) + " " + words(
        "en", "vp.challenge_matched"), again
    # Too many to check at once is said as that, not as a link that was damaged.
    too_many = presentation(held[:1])
    too_many["verifiableCredential"] = held[:1] * (MAX_CREDENTIALS_PER_PRESENTATION + 1)
    assert opened(browser, share_link(too_many, credentials.node.url, compressed)) == (
        "malformed", words("en", "vp.too_many", count=MAX_CREDENTIALS_PER_PRESENTATION + 1,
                           max=MAX_CREDENTIALS_PER_PRESENTATION))


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_a_presentation_cut_short_is_said_to_be_incomplete(
        credentials: Credentials, browser: Any, held: list[dict[str, Any]], lang: str) -> None:
    text = json.dumps(presentation(held), ensure_ascii=False)
    open_portal(browser, credentials.node.url + "/", lang)
    expected = ("vp_incomplete", words(lang, "status.vp_incomplete"))
    for cut in (len(text) // 3, len(text) - 1):
        assert paste_and_check(browser, text[:cut]) == expected, cut
    # Whole, but with a letter's words after it: not "incomplete".
    assert paste_and_check(browser, text + " Regards, Aliya")[0] == "damaged"
    # A link whose presentation was cut before it was sent.
    cut_link = credentials.node.url + "/#doc=" + base64.urlsafe_b64encode(
        text[:len(text) // 2].encode()).rstrip(b"=").decode()
    assert opened(browser, cut_link) == expected


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_a_presentation_of_a_valid_and_a_revoked_diploma_on_a_phone(
        credentials: Credentials, browser: Any, held: list[dict[str, Any]], lang: str) -> None:
    open_portal(browser, credentials.node.url + "/", lang)
    paste_and_check(browser, json.dumps(presentation(held), ensure_ascii=False))
    found = check_again(browser, CHALLENGE)
    assert [(c["status"], c["tone"]) for c in found["credentials"]] == [
        ("valid", "ok"), ("revoked", "warn")], found
    # Which passed and which did not, before the first card: the revoked diploma's verdict
    # is three screens down on a phone.
    title = words(lang, "title.diploma")
    assert browser.execute_script(SUMMARY) == [["ok", f"✔ {title} — Әлия Сәрсенбаева"],
                                               ["warn", f"⚠ {title} — Nurlan Seitkali"]]
    # The holder's DID in full under the verdict, not across a phone's screen in it.
    assert did_key(HOLDER.public_key) not in found["text"], found
    with phone(browser):
        assert_fits_phone(browser)
        screenshot(browser, credentials, f"presentation-phone-{lang}")
        # The rest of the answer, a screen at a time, as a person scrolls through it.
        for screen in range(1, SCREENS_SHOT_MAX):
            if browser.execute_script("const before = window.scrollY;"
                                      "window.scrollBy(0, window.innerHeight - 60);"
                                      "return window.scrollY === before;"):
                break
            screenshot(browser, credentials, f"presentation-phone-{lang}-{screen}")
