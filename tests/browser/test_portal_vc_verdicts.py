"""W3C VCs in a real Chromium against a real node: a Senim VC revoked in its status list
says when and why, as the Senim document does; a VC anyone could sign is not dressed as a
confirmed document; a VC outside its validity period says which end and when. Each
verdict is a whole sentence."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ledger.identity import KeyPair
from ledger.vc.canon import CREDENTIALS_V2
from ledger.vc.didkey import did_key
from ledger.vc.proofs import add_proof
from tests.browser.conftest import BROWSER_MISSING, CHROMEDRIVER, CHROMIUM, Credentials
from tests.browser.test_portal_browser import open_portal, paste_and_check, spoken_date
from tests.browser.test_portal_node_answers import ANSWER_NEXT

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180),
              pytest.mark.skipif(CHROMIUM is None or CHROMEDRIVER is None,
                                 reason=BROWSER_MISSING)]
EXAMPLES_CONTEXT = "https://www.w3.org/ns/credentials/examples/v2"
REVOCATION_REASON_WORDS = {"en": "“issued in error”", "ru": "«выдан по ошибке»",
                           "kk": "«қате берілген»"}


def tone_and_caveat(browser: Any) -> tuple[str, str | None]:
    tone, caveat = browser.execute_script(
        "const c = document.getElementById('document-caveat');"
        "return [document.getElementById('verdict').dataset.tone,"
        "        c.hidden ? null : c.textContent];")
    assert isinstance(tone, str) and (caveat is None or isinstance(caveat, str)), (tone, caveat)
    return tone, caveat


def test_a_vc_revoked_in_its_status_list_says_when_and_why(
        credentials: Credentials, browser: Any) -> None:
    """The list's bit refuses it; the node adds the chain's revocation, so the HR officer
    reads the same sentence, date and reason as for the Senim document itself."""
    vc = credentials.revoked_vc  # exported before the revocation
    _code, answer = credentials.node.post_json("/v1/verify",
                                               credentials.document(credentials.revoked))
    for lang, reason in REVOCATION_REASON_WORDS.items():
        open_portal(browser, credentials.node.url + "/", lang)
        native = paste_and_check(browser, credentials.revoked.read_text(encoding="utf-8"))
        open_portal(browser, credentials.node.url + "/", lang)
        status, sentence = paste_and_check(browser, vc.read_text(encoding="utf-8"))
        assert (status, sentence) == native, lang
        assert spoken_date(answer["facts"]["revoked_at"], lang) in sentence and reason in sentence
        assert tone_and_caveat(browser)[0] == "warn"


def test_a_vc_anyone_could_sign_is_not_shown_as_a_confirmed_document(
        credentials: Credentials, browser: Any) -> None:
    keys = KeyPair.generate()
    claims = {"credentialType": "diploma", "full_name": "Someone", "gpa": "4.00",
              "qualification": "Master of Science"}
    vc = add_proof({"@context": [CREDENTIALS_V2, EXAMPLES_CONTEXT],
                    "type": ["VerifiableCredential"], "issuer": did_key(keys.public_key),
                    "credentialSubject": claims}, keys, "2026-01-01T00:00:00Z")
    open_portal(browser, credentials.node.url + "/", "en")
    status, sentence = paste_and_check(browser, json.dumps(vc))
    # It opened "Valid W3C credential", in kk and ru too, under the amber tone.
    assert status == "valid" and sentence.startswith("Not confirmed: this W3C credential")
    assert "neither its issuer nor its contents are confirmed" in sentence
    tone, caveat = tone_and_caveat(browser)
    assert tone == "warn"
    assert caveat == "Contents as written in the file. They are not confirmed."


def test_a_vc_only_a_status_list_calls_revoked_is_not_shown_as_confirmed(
        credentials: Credentials, browser: Any) -> None:
    # A revoked verdict showed the file's fields as a confirmed document's, though no
    # chain was read: a node that read a stranger's VC against a real batch's list said
    # "revoked" of it, and the page then dressed its made-up fields as confirmed.
    keys = KeyPair.generate()
    vc = add_proof({"@context": [CREDENTIALS_V2, EXAMPLES_CONTEXT],
                    "type": ["VerifiableCredential"], "issuer": did_key(keys.public_key),
                    "credentialSubject": {"credentialType": "diploma",
                                          "full_name": "Forged Person"}},
                   keys, "2026-01-01T00:00:00Z")
    _code, answer = credentials.node.post_json("/credentials/verify",
                                               {"verifiableCredential": vc})
    answer["verdict"].update(valid=False, status="revoked",
                             reason="revoked: its bit is set in the issuer's status list")
    assert "type" not in answer["verdict"]["facts"]
    open_portal(browser, credentials.node.url + "/", "en")
    browser.execute_script(ANSWER_NEXT, answer)
    status, _sentence = paste_and_check(browser, json.dumps(vc))
    assert status == "revoked"
    assert tone_and_caveat(browser)[1] == ("Contents as written in the file. They are not "
                                           "confirmed.")


OUTSIDE_ITS_PERIOD = {
    ("expired", "en"): "Expired: this credential was valid until 1 June 2026.",
    ("expired", "ru"): "Срок действия истёк: документ действовал до 1 июня 2026 г.",
    ("expired", "kk"): "Мерзімі өткен: құжаттың жарамдылық мерзімі аяқталған (соңғы күні — "
                       "2026 жылғы 1 маусым).",
    ("early", "en"): "Not valid yet: this credential is valid only from 1 June 2126.",
    ("early", "ru"): "Ещё не действует: документ действителен только с 1 июня 2126 г.",
    ("early", "kk"): "Әлі күшіне енбеген: құжаттың жарамды бола бастайтын күні — "
                     "2126 жылғы 1 маусым."}


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_a_vc_outside_its_period_says_which_end_and_when(credentials: Credentials,
                                                         browser: Any, lang: str) -> None:
    # Both were "Expired: this credential is outside its validity period", a credential
    # that becomes valid in a century included.
    keys = KeyPair.generate()
    base = {"@context": [CREDENTIALS_V2, EXAMPLES_CONTEXT], "type": ["VerifiableCredential"],
            "issuer": did_key(keys.public_key), "credentialSubject": {"full_name": "Someone"}}
    for kind, bound in (("expired", {"validUntil": "2026-06-01T12:00:00Z"}),
                        ("early", {"validFrom": "2126-06-01T12:00:00Z"})):
        vc = add_proof({**base, **bound}, keys, "2026-01-01T00:00:00Z")
        open_portal(browser, credentials.node.url + "/", lang)
        status, sentence = paste_and_check(browser, json.dumps(vc))
        assert status == "expired" and sentence.startswith(OUTSIDE_ITS_PERIOD[kind, lang]), \
            (kind, sentence)
        assert ".." not in sentence, sentence  # a Russian date ends "г."


def test_a_superseded_vcs_status_list_row_is_said_as_a_replacement(
        credentials: Credentials, browser: Any, tmp_path: Path) -> None:
    """The node's English "revoked: its bit is set in the issuer's status list" stood under
    a headline saying the credential was replaced; kk and ru said only "failed"."""
    vc = tmp_path / "valid.vc.json"
    credentials.net.cli("export-vc", str(credentials.valid), "--key",
                        str(credentials.net.key_path("kaznu")), "--out", str(vc),
                        node=credentials.node)
    said = {"en": "the issuer replaced it by a corrected document",
            "ru": "она заменила его исправленным документом",
            "kk": "ұйым оны түзетілген құжатпен ауыстырған"}
    for lang, words in said.items():
        open_portal(browser, credentials.node.url + "/", lang)
        browser.execute_script(ANSWER_NEXT, {"verdict": {
            "valid": False, "status": "superseded", "reason": "superseded",
            "checks": [{"check": "status", "ok": False,
                        "detail": "revoked: its bit is set in the issuer's status list"}],
            "facts": {"type": "diploma", "revocation_reason": "superseded"}}})
        status, _sentence = paste_and_check(browser, vc.read_text(encoding="utf-8"))
        assert status == "superseded", status
        rows = browser.execute_script(
            "return document.getElementById('check-list').textContent")
        assert words in rows and "its bit is set" not in rows, rows


def test_a_vc_giving_a_key_twice_is_sent_as_pasted_and_refused(
        credentials: Credentials, browser: Any) -> None:
    """The page sent the VC as the browser had parsed it, which keeps the last of a repeated
    key: a file showing a grade of 4.00 in an editor's search, and 3.5 after it, reached the
    node as the genuine file and was checked as that. The node refuses such a file (a JSON
    key given twice), as it refuses a Senim document pasted so."""
    text = credentials.revoked_vc.read_text(encoding="utf-8")
    genuine = json.loads(text)
    subject = genuine["credentialSubject"]
    name, value = next((k, v) for k, v in subject.items() if isinstance(v, str) and k != "id")
    opening = text.index('"credentialSubject"')
    brace = text.index("{", opening) + 1
    twice = text[:brace] + json.dumps(name) + ": " + json.dumps(value + " (forged)") + ", " \
        + text[brace:]
    assert json.loads(twice) == genuine  # the last of the two is the genuine one
    open_portal(browser, credentials.node.url + "/", "en")
    status, sentence = paste_and_check(browser, twice)
    assert status == "malformed", (status, sentence)
