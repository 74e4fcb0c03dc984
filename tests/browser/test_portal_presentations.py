"""W3C presentations in a real Chromium against a real node. The portal sent a
presentation to /credentials/verify, and an HR officer handed one by a graduate's wallet
read "not a Senim credential". It now says the presentation's verdict (who signed it,
whether it answers the challenge the officer gave), then each credential's own verdict,
card and checks, as a single VC's; with no challenge checked, that it could be a replay.
Hostile and broken ones each get a sentence in the page's language."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ledger.identity import KeyPair
from ledger.vc.canon import CREDENTIALS_V2
from ledger.vc.didkey import did_key
from ledger.vc.presentation import MAX_CREDENTIALS_PER_PRESENTATION
from ledger.vc.proofs import add_proof
from node.i18n import catalogue
from tests.browser.conftest import BROWSER_MISSING, CHROMEDRIVER, CHROMIUM, Credentials
from tests.browser.test_portal_browser import open_portal, paste_and_check, screenshot, verdict

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240),
              pytest.mark.skipif(CHROMIUM is None or CHROMEDRIVER is None,
                                 reason=BROWSER_MISSING)]
HOLDER = KeyPair.from_seed(b"\x81" * 32)
STRANGER = KeyPair.from_seed(b"\x82" * 32)
CHALLENGE = "hr-7731"
DOMAIN = "hr.example.kz"
SHOWN = """
const rows = (root, sel) => [...root.querySelectorAll(sel)];
const v = document.getElementById('verdict');
return {status: v.dataset.status || '', text: v.textContent, tone: v.dataset.tone,
  warnings: rows(document, '#warnings li').map((li) => li.dataset.warning),
  warningTexts: rows(document, '#warnings li').map((li) => li.textContent),
  options: !document.getElementById('vp-options').hidden,
  facts: Object.fromEntries(rows(document, '#vp-facts dd').map((dd) => [dd.dataset.fact,
    dd.textContent])),
  marks: rows(document, '#vp-facts span, #credentials .vp-summary span,'
    + ' #credentials [data-part="check-list"] li > span')
    .map((s) => [s.className, s.textContent, s.getAttribute('aria-label')]),
  credentials: rows(document, '#credentials .vp-credential').map((box) => {
    const part = box.querySelector('[data-part="verdict"]');
    return {status: part.dataset.status, tone: part.dataset.tone, text: part.textContent,
      heading: box.querySelector('h3').textContent,
      fields: Object.fromEntries(rows(box, '[data-part="fields"] dd[data-field]')
        .map((dd) => [dd.dataset.field, dd.textContent])),
      checks: rows(box, '[data-part="check-list"] li').map((li) => li.dataset.check)};
  })};
"""


def short_did(did: str) -> str:
    """A DID as the verdict's sentence names it (portal-presentation.js shortDid): the full
    one is shown under it."""
    return did[:16] + "…" + did[-6:]


def words(lang: str, key: str, **params: Any) -> str:
    text = catalogue(lang)[key]
    for name, value in params.items():
        text = text.replace("{" + name + "}", str(value))
    return text


def presentation(credentials: list[dict[str, Any]], signer: KeyPair = HOLDER,
                 challenge: str | None = CHALLENGE, domain: str | None = None
                 ) -> dict[str, Any]:
    return add_proof({"@context": [CREDENTIALS_V2], "type": ["VerifiablePresentation"],
                      "holder": did_key(HOLDER.public_key),
                      "verifiableCredential": credentials}, signer, "2026-07-01T09:00:00Z",
                     purpose="authentication", challenge=challenge, domain=domain)


@pytest.fixture(scope="module")
def vcs(credentials: Credentials, tmp_path_factory: pytest.TempPathFactory
        ) -> Iterator[list[dict[str, Any]]]:
    """Әлия's diploma and Dana's (IIN and birth date hidden), exported as W3C VCs."""
    root = tmp_path_factory.mktemp("vp")
    exported = []
    for name, source in (("aliya", credentials.valid), ("dana", credentials.disclosed)):
        out = root / f"{name}.vc.json"
        credentials.net.cli("export-vc", str(source), "--key",
                            str(credentials.net.key_path("kaznu")), "--out", str(out),
                            node=credentials.node)
        exported.append(json.loads(out.read_text(encoding="utf-8")))
    yield exported


def shown(browser: Any) -> dict[str, Any]:
    found: dict[str, Any] = browser.execute_script(SHOWN)
    return found


def check_again(browser: Any, challenge: str, domain: str = "") -> dict[str, Any]:
    """The officer enters the challenge (and domain) they gave the holder and checks
    again."""
    browser.execute_script("document.getElementById('vp-challenge').value = arguments[0];"
                           "document.getElementById('vp-domain').value = arguments[1];"
                           "document.getElementById('verdict').removeAttribute('data-status');",
                           challenge, domain)
    browser.find_element("id", "verify").click()
    verdict(browser)
    return shown(browser)


@pytest.mark.parametrize("lang", ["en", "kk"])
def test_a_presentation_of_two_credentials_shows_each_and_the_challenge(
        credentials: Credentials, browser: Any, vcs: list[dict[str, Any]], lang: str) -> None:
    signer = short_did(did_key(HOLDER.public_key))
    open_portal(browser, credentials.node.url + "/", lang)
    assert not shown(browser)["options"]  # no presentation given: no challenge field
    paste_and_check(browser, json.dumps(presentation(vcs), ensure_ascii=False))
    found = shown(browser)
    assert (found["status"], found["text"]) == (
        "valid", words(lang, "vp.valid", signer=signer, count=2)), found
    # A presentation no challenge was checked for could be a replay: said, and amber.
    assert found["warnings"] == ["challenge_not_checked", "holder_not_subject"], found
    assert found["warningTexts"][0] == "⚠ " + words(lang, "warning.challenge_not_checked")
    assert found["tone"] == "warn" and found["options"], found
    held = found["credentials"]
    assert [c["heading"] for c in held] == [
        words(lang, "vp.credential_heading", n=n, count=2) for n in (1, 2)], held
    assert [(c["status"], c["tone"]) for c in held] == [("valid", "ok")] * 2, held
    assert held[0]["fields"]["full_name"] == "Әлия Сәрсенбаева", held[0]
    assert held[1]["fields"]["full_name"] == "Dana Omarova", held[1]
    assert held[1]["fields"]["iin"] == words(lang, "document.hidden"), held[1]
    assert {"signature", "on_chain"} <= set(held[0]["checks"]), held[0]
    screenshot(browser, credentials, f"presentation-{lang}")
    answered = check_again(browser, CHALLENGE)
    assert answered["text"] == words(lang, "vp.valid", signer=signer, count=2) + " " + words(
        lang, "vp.challenge_matched"), answered
    assert answered["warnings"] == ["holder_not_subject"], answered
    assert len(answered["credentials"]) == 2, answered
    # Each mark, named for a screen reader: the challenge's, each credential's line and
    # each of its checks (all passed).
    checks = sum(len(c["checks"]) for c in answered["credentials"])
    assert answered["marks"] == [["mark-ok", "✔ ", words(lang, "checks.passed")]] * (
        1 + 2 + checks), answered["marks"]


def test_a_tampered_credential_inside_is_named_and_the_others_still_shown(
        credentials: Credentials, browser: Any, vcs: list[dict[str, Any]]) -> None:
    altered = copy.deepcopy(vcs[1])
    fields = altered["credentialSubject"].get("fields", altered["credentialSubject"])
    fields["gpa"] = "4.00"
    open_portal(browser, credentials.node.url + "/", "ru")
    paste_and_check(browser, json.dumps(presentation([vcs[0], altered]), ensure_ascii=False))
    found = shown(browser)
    assert (found["status"], found["tone"]) == ("tampered", "bad"), found
    assert found["text"] == words("ru", "vp.credential_fails", signer=short_did(did_key(
        HOLDER.public_key)), failed=1, count=2), found
    assert [(c["status"], c["tone"]) for c in found["credentials"]] == [
        ("valid", "ok"), ("tampered", "bad")], found
    assert found["credentials"][1]["text"] == words("ru", "status.tampered"), found


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_a_wrong_challenge_says_it_may_be_a_replay(
        credentials: Credentials, browser: Any, vcs: list[dict[str, Any]], lang: str) -> None:
    open_portal(browser, credentials.node.url + "/", lang)
    paste_and_check(browser, json.dumps(presentation(vcs[:1]), ensure_ascii=False))
    found = check_again(browser, "hr-0000")
    assert (found["status"], found["text"], found["tone"]) == (
        "tampered", words(lang, "vp.challenge_mismatch"), "bad"), found
    assert found["credentials"] == [] and found["warnings"] == [], found


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_a_wrong_challenge_and_a_wrong_domain_are_both_said(
        credentials: Credentials, browser: Any, vcs: list[dict[str, Any]], lang: str) -> None:
    """The node checked no domain behind a wrong challenge, and the page said only the
    challenge: an officer who fixed it was then refused for the domain. Both are said in
    the verdict, each marked in the facts under it; one wrong alone is said alone."""
    open_portal(browser, credentials.node.url + "/", lang)
    paste_and_check(browser, json.dumps(presentation(vcs[:1], domain=DOMAIN),
                                        ensure_ascii=False))
    found = check_again(browser, "hr-0000", "evil.example")
    assert (found["status"], found["text"], found["tone"]) == (
        "tampered", words(lang, "vp.challenge_and_domain_mismatch"), "bad"), found
    assert found["facts"] == {
        "signer": did_key(HOLDER.public_key),
        "challenge": "✘ " + words(lang, "vp.challenge.mismatch", value="hr-0000"),
        "domain": "✘ " + words(lang, "vp.domain.mismatch", value="evil.example")}, found
    assert found["credentials"] == [] and found["warnings"] == [], found
    assert found["marks"] == [["mark-bad", "✘ ", words(lang, "checks.failed")]] * 2, found
    found = check_again(browser, CHALLENGE, "evil.example")
    assert (found["text"], found["facts"]["challenge"]) == (
        words(lang, "vp.domain_mismatch"),
        "✔ " + words(lang, "vp.challenge.checked", value=CHALLENGE)), found


def test_hostile_and_broken_presentations_each_get_a_sentence(
        credentials: Credentials, browser: Any, vcs: list[dict[str, Any]]) -> None:
    holder = did_key(HOLDER.public_key)
    too_many = presentation(vcs[:1])
    too_many["verifiableCredential"] = vcs[:1] * (MAX_CREDENTIALS_PER_PRESENTATION + 1)
    altered = presentation(vcs[:1])
    altered["verifiableCredential"] = vcs[1:]
    text = json.dumps(presentation(vcs), ensure_ascii=False)
    deep: Any = {"x": 1}
    for _ in range(900):
        deep = {"a": deep}
    nested = presentation(vcs[:1])
    nested["verifiableCredential"][0] = dict(vcs[0], deep=deep)
    for document, status, expected in (
            (presentation(vcs[:1], signer=STRANGER), "tampered",
             words("kk", "vp.not_holder", holder=holder)),
            (too_many, "malformed", words("kk", "vp.too_many", count=21,
                                          max=MAX_CREDENTIALS_PER_PRESENTATION)),
            (altered, "tampered", words("kk", "vp.tampered")),
            (presentation([]), "malformed", words("kk", "vp.empty", signer=short_did(holder))),
            (text[:len(text) // 2], "vp_incomplete", words("kk", "status.vp_incomplete")),
            ("not json at all", "malformed", words("kk", "status.malformed")),
            (nested, "malformed", words("kk", "vp.malformed"))):
        open_portal(browser, credentials.node.url + "/", "kk")
        pasted = document if isinstance(document, str) else json.dumps(document)
        assert paste_and_check(browser, pasted) == (status, expected), (status, expected)
        assert shown(browser)["credentials"] == []
    assert "Traceback" not in credentials.node.log_text()


def test_the_challenge_field_appears_only_for_a_presentation(
        credentials: Credentials, browser: Any, vcs: list[dict[str, Any]],
        tmp_path: Path) -> None:
    open_portal(browser, credentials.node.url + "/", "en")
    paste_and_check(browser, json.dumps(vcs[0]))
    assert not shown(browser)["options"]
    path = tmp_path / "wallet.vp.json"
    path.write_text(json.dumps(presentation(vcs[:1])), encoding="utf-8")
    browser.execute_script("document.getElementById('verdict').removeAttribute('data-status');")
    browser.find_element("id", "file").send_keys(str(path))
    assert verdict(browser)[0] == "valid"
    assert shown(browser)["options"], shown(browser)
