"""A W3C VC's warnings in a real Chromium against a real node. The node's verdict carried
them ("status list … was not checked", and others), and the page showed none: an HR
officer read "not confirmed: recorded on no Senim chain" and was not told that the list
that could say "revoked" had not been looked at. Each is now said under the verdict, in
the page's language, marked as a warning and never as a check passed. And a VC whose
status list could not be used is said as one whose revocation status is not confirmed,
not as a credential never issued on this network."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ledger.identity import KeyPair
from ledger.vc.canon import CREDENTIALS_V2
from ledger.vc.didkey import did_key
from ledger.vc.proofs import add_proof
from ledger.vc.status import status_entry, status_list_credential
from ledger.vc.verify import verify_vc
from node.i18n import catalogue
from tests.browser.conftest import BROWSER_MISSING, CHROMEDRIVER, CHROMIUM, Credentials
from tests.browser.test_portal_browser import (
    open_portal,
    paste_and_check,
    screenshot,
    wait_for,
)
from tests.browser.test_portal_node_answers import ANSWER_NEXT
from tests.vc.conftest import NOW

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180),
              pytest.mark.skipif(CHROMIUM is None or CHROMEDRIVER is None,
                                 reason=BROWSER_MISSING)]
ISSUER = KeyPair.from_seed(b"\x77" * 32)
# No node reads a list it does not keep: nothing need listen here.
LIST_URL = "http://127.0.0.1:1/lists/7"
SHOWN = """
const list = document.getElementById('warnings') || document.createElement('ul');
return {hidden: !list.isConnected || list.hidden || getComputedStyle(list).display === 'none',
        rows: [...list.querySelectorAll('li')].map((li) => ({
          code: li.dataset.warning, text: li.textContent,
          mark: li.querySelector('.mark-warn') && li.querySelector('.mark-warn').textContent,
          label: li.querySelector('.mark-warn')
            && li.querySelector('.mark-warn').getAttribute('aria-label'),
          passed: !!li.querySelector('.mark-ok')})),
        tone: document.getElementById('verdict').dataset.tone,
        inChecks: !!document.querySelector('#check-list [data-warning]')};
"""


def foreign_vc(**more: Any) -> dict[str, Any]:
    """A VC its did:key issuer signed, naming a revocation list at its issuer's host."""
    return add_proof({
        "@context": [CREDENTIALS_V2], "type": ["VerifiableCredential"],
        "issuer": did_key(ISSUER.public_key), "validFrom": "2024-06-01T00:00:00Z",
        "credentialSubject": {"id": "did:example:graduate", "name": "A. Graduate"},
        "credentialStatus": status_entry(LIST_URL, 3), **more}, ISSUER, "2024-06-01T00:00:00Z")


def shown(browser: Any) -> dict[str, Any]:
    found: dict[str, Any] = browser.execute_script(SHOWN)
    return found


def said(lang: str, key: str) -> str:
    return catalogue(lang)[key]


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_a_vcs_unchecked_revocation_list_is_said_as_a_warning(
        credentials: Credentials, browser: Any, lang: str) -> None:
    vc = foreign_vc()
    _code, answer = credentials.node.post_json("/credentials/verify",
                                               {"verifiableCredential": vc})
    assert answer["verdict"]["warning_codes"] == ["status_list_unchecked", "not_on_chain"], (
        answer)
    open_portal(browser, credentials.node.url + "/", lang)
    status, sentence = paste_and_check(browser, json.dumps(vc))
    assert status == "valid" and sentence == said(lang, "status.valid_vc").replace(
        "{issuer}", vc["issuer"]), sentence
    found = shown(browser)
    assert not found["hidden"] and found["tone"] == "warn", found
    # not_on_chain is what the sentence above says: not said again as a row
    assert found["rows"] == [{"code": "status_list_unchecked",
                              "text": "⚠ " + said(lang, "warning.status_list_unchecked"),
                              "mark": "⚠ ", "label": said(lang, "warnings.mark"),
                              "passed": False}], found
    assert not found["inChecks"], found
    screenshot(browser, credentials, f"vc-warning-{lang}")
    # said again in the language chosen next, and gone once another document is checked
    other = next(choice for choice in ("kk", "ru", "en") if choice != lang)
    browser.find_element("css selector", f"[data-lang-choice='{other}']").click()
    wait_for(lambda: shown(browser)["rows"][0]["text"] == "⚠ " + said(
        other, "warning.status_list_unchecked"), 10, f"the warning in {other}")
    status, _sentence = paste_and_check(browser, credentials.valid.read_text(encoding="utf-8"))
    assert status == "valid" and shown(browser)["hidden"], shown(browser)


def test_a_genuine_document_with_a_warning_is_not_shown_as_a_pass(
        credentials: Credentials, browser: Any, tmp_path: Path) -> None:
    """A Senim VC the chain confirms, under a warning (a credentialStatus of a kind no one
    checked, and one a newer node words that this page cannot): amber, not green."""
    path = tmp_path / "valid.vc.json"
    credentials.net.cli("export-vc", str(credentials.valid), "--key",
                        str(credentials.net.key_path("kaznu")), "--out", str(path),
                        node=credentials.node)
    text = path.read_text(encoding="utf-8")
    _code, answer = credentials.node.post_json("/credentials/verify",
                                               {"verifiableCredential": json.loads(text)})
    assert answer["verdict"]["status"] == "valid" and not answer["verdict"]["warnings"]
    open_portal(browser, credentials.node.url + "/", "en")
    assert paste_and_check(browser, text)[0] == "valid"
    assert (shown(browser)["tone"], shown(browser)["hidden"]) == ("ok", True), shown(browser)
    warned = dict(answer["verdict"], warnings=[
        "a credentialStatus of an unknown type was not checked", "something newer",
        "a credentialStatus of an unknown type was not checked"],
        warning_codes=["status_type_unknown", "newer_code", "status_type_unknown"])
    open_portal(browser, credentials.node.url + "/", "en")
    browser.execute_script(ANSWER_NEXT, {"verdict": warned})
    assert paste_and_check(browser, text)[0] == "valid"
    found = shown(browser)
    assert found["tone"] == "warn", found
    assert [(row["code"], row["text"]) for row in found["rows"]] == [
        ("status_type_unknown", "⚠ " + said("en", "warning.status_type_unknown")),
        ("other", "⚠ something newer")], found  # each once; the node's English as it is
    assert not any(row["passed"] for row in found["rows"]), found


def unusable_list_verdict() -> tuple[dict[str, Any], dict[str, Any]]:
    """A foreign VC and the ledger's verdict of it against a list its issuer signed that
    is no status list: as `senim verify` reads it; no node reads a foreign list."""
    vc = foreign_vc()
    listed = status_list_credential(LIST_URL, vc["issuer"], "2029-12-31T23:00:00Z", [], 16)
    listed["type"] = ["VerifiableCredential"]
    verdict = verify_vc(vc, NOW, None, None, {LIST_URL: add_proof(
        listed, ISSUER, "2029-12-31T23:00:00Z")}.get)
    assert verdict.status == "unknown", verdict.to_json()
    return vc, verdict.to_json()


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_a_vc_whose_status_list_cannot_be_used_is_no_never_issued(
        credentials: Credentials, browser: Any, lang: str) -> None:
    vc, verdict = unusable_list_verdict()
    open_portal(browser, credentials.node.url + "/", lang)
    browser.execute_script(ANSWER_NEXT, {"verdict": verdict})
    status, sentence = paste_and_check(browser, json.dumps(vc))
    assert status == "unknown" and sentence == said(lang, "status.status_list_unconfirmed"), \
        sentence
    assert sentence != said(lang, "status.unknown")
    rows = browser.execute_script(
        "return [...document.querySelectorAll('#check-list li')]"
        "  .map((li) => [li.dataset.check, li.textContent]);")
    assert ["status", "✘ " + said(lang, "check.status") + ": "
            + said(lang, "detail.status.fail_unconfirmed")] in rows, rows
    assert shown(browser)["tone"] == "bad"
