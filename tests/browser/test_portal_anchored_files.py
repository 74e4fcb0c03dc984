"""An anchored JSON file dropped on the portal, in a real Chromium against a real node.
`senim verify` says such a file VALID, recorded by its member at its block, with the
sentence that the chain vouches only that the member recorded this very file then, not for
anything it says; the portal sent it to /v1/verify as a credential and called it
"malformed". It now looks the file's exact bytes up (/v1/verify/anchor) when the file is no
credential and no W3C document, as the CLI tells them (cli.verify_files.is_credential), and
says the CLI's verdict in the page's language: a caution when the file names another
issuer than its recorder, refused when it names another member's id. A credential-shaped
forgery stays MALFORMED, as in the CLI, anchored or not."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from cli.language import Words
from ledger.vc.export import to_vc
from node.files import load_key
from tests.browser.conftest import BROWSER_MISSING, CHROMEDRIVER, CHROMIUM, KAZNU, Credentials
from tests.browser.test_portal_browser import open_portal, paste_and_check, screenshot, verdict

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180),
              pytest.mark.skipif(CHROMIUM is None or CHROMEDRIVER is None,
                                 reason=BROWSER_MISSING)]

ORDER = {"title": "Order 17: graduates of 2026",
         "rows": [["Aigerim Sarsenova", "3.91"], ["Nurlan Seitkali", "3.05"]]}
# What each language says of a valid anchored file (node/static/i18n status.anchored, the
# words of the CLI's cli.status.anchored).
RECORDED = {"en": f"Recorded on the Senim chain by {KAZNU} on ",
            "ru": f"Записан в цепочке Senim организацией «{KAZNU}» ",
            "kk": f"Senim тізбегінде «{KAZNU}» тіркеген (уақыты — "}
VOUCHES = {"en": f"The chain vouches only that {KAZNU} recorded it then, not for anything "
                 "the file says.",
           "ru": f"Цепочка ручается лишь за то, что организация «{KAZNU}» тогда записала "
                 "его, а не за что-либо из сказанного в файле.",
           "kk": f"Тізбек тек «{KAZNU}» оны сол кезде тіркегеніне ғана кепіл болады, файлда "
                 "жазылғандардың ешқайсысына емес."}


def anchored(credentials: Credentials, path: Path, document: Any) -> Path:
    """`document` written to `path` (indented, a newline at its end, as an editor saves it)
    and anchored by KazNU."""
    path.write_text(json.dumps(document, ensure_ascii=False, indent=2) + "\n",
                    encoding="utf-8")
    credentials.net.cli("anchor", "--key", str(credentials.net.key_path("kaznu")), str(path),
                        node=credentials.node)
    return path


def picked(browser: Any, credentials: Credentials, path: Path, lang: str) -> tuple[str, str]:
    open_portal(browser, credentials.node.url + "/", lang)
    browser.find_element("id", "file").send_keys(str(path))
    return verdict(browser)


def cautions(browser: Any) -> list[str]:
    """The lines under the verdict, each without the mark before it."""
    return [li.text.removeprefix("⚠").strip()
            for li in browser.find_elements("css selector", "#warnings li")]


@pytest.mark.parametrize("lang", ["en", "ru", "kk"])
def test_an_anchored_json_file_is_said_as_the_cli_says_it(
        credentials: Credentials, browser: Any, tmp_path: Path, lang: str) -> None:
    # one file for each language: the node, shared, refuses a second anchor of the same bytes
    path = anchored(credentials, tmp_path / "order-17.json", {**ORDER, "copy": lang})
    status, sentence = picked(browser, credentials, path, lang)
    assert status == "valid", sentence
    assert RECORDED[lang] in sentence and VOUCHES[lang] in sentence, sentence
    words = Words(lang)
    assert words.t("status.anchored", author=KAZNU, when="\0") == words.t(
        "cli.status.anchored", author=KAZNU, when="\0")  # the CLI's very words
    assert cautions(browser) == []
    # the file's contents are not shown as a confirmed document's
    assert not browser.find_element("id", "document").is_displayed()
    screenshot(browser, credentials, f"anchored-{lang}")
    # pasted whole, the line ending at its end included, it is the same bytes
    status, sentence = paste_and_check(browser, path.read_text(encoding="utf-8"))
    assert status == "valid" and VOUCHES[lang] in sentence, sentence


def test_an_anchored_file_naming_another_issuer_is_cautioned(
        credentials: Credentials, browser: Any, tmp_path: Path) -> None:
    path = anchored(credentials, tmp_path / "letter.json",
                    {"issuer": {"name": "Harvard University"}, **ORDER})
    status, sentence = picked(browser, credentials, path, "ru")
    assert status == "valid", sentence
    assert cautions(browser) == [
        "В этом файле выдавшей его организацией названа «Harvard University»; цепочка "
        f"показывает лишь то, что его записала организация «{KAZNU}»."]
    screenshot(browser, credentials, "anchored-named-ru")
    # another member's id: not valid, as the CLI's issuer_not_recorder
    ministry = credentials.net.member_id("mshe")
    path = anchored(credentials, tmp_path / "letter-2.json",
                    {"issuer": {"member_id": ministry}, **ORDER})
    status, sentence = picked(browser, credentials, path, "en")
    assert status == "issuer_not_recorder", sentence
    assert f"names member id {ministry} as its issuer" in sentence, sentence


def test_an_unrecorded_json_file_is_said_not_recorded(
        credentials: Credentials, browser: Any, tmp_path: Path) -> None:
    path = tmp_path / "never-anchored.json"
    path.write_text(json.dumps(ORDER), encoding="utf-8")
    status, sentence = picked(browser, credentials, path, "en")
    assert status == "unknown", sentence
    assert sentence.startswith("This file is not a Senim credential, and no record of it is "
                               "on the Senim chain"), sentence


def test_a_credential_shaped_forgery_stays_malformed(
        credentials: Credentials, browser: Any, tmp_path: Path) -> None:
    """A diploma with its format edited and a key deleted, anchored by KazNU: the CLI says
    it MALFORMED (a credential failing its own checks), never "recorded by"."""
    forged = credentials.document(credentials.valid)
    forged["format"] = "my-own-format"
    del forged["chain_id"]
    path = anchored(credentials, tmp_path / "forged.json", forged)
    status, sentence = picked(browser, credentials, path, "en")
    assert status == "malformed", sentence
    done = credentials.net.cli("verify", str(path), "--json", node=credentials.node,
                               check=False)
    assert json.loads(done.stdout)["status"] == "malformed", done.stdout


def test_a_vc_naming_another_issuer_is_cautioned(credentials: Credentials, browser: Any,
                                                 tmp_path: Path) -> None:
    """A Senim VC signed by KazNU's key, its issuer.name "Harvard University" (exported
    before export-vc signed the chain's name): genuine on chain, and said to name another."""
    exported = credentials.document(credentials.revoked_vc)  # the batch's height
    now = int(time.time() * 1000)
    vc = to_vc(credentials.document(credentials.valid),
               load_key(credentials.net.key_path("kaznu")), credentials.node.url,
               exported["senim"]["block_height"], now, now, issuer_name="Harvard University")
    path = tmp_path / "diploma.vc.json"
    path.write_text(json.dumps(vc, ensure_ascii=False), encoding="utf-8")
    for lang, said in (("en", "This credential names Harvard University as its issuer; the "
                              f"chain records it as issued by {KAZNU}."),
                       ("kk", "Бұл құжатта оны берген ұйым ретінде «Harvard University» "
                              f"аталған; тізбекте ол «{KAZNU}» берген құжат ретінде "
                              "тіркелген.")):
        status, sentence = picked(browser, credentials, path, lang)
        assert status == "valid", sentence
        assert cautions(browser) == [said]
    screenshot(browser, credentials, "vc-named-kk")
    # the chain's own name, in another case: no caution
    vc = to_vc(credentials.document(credentials.valid),
               load_key(credentials.net.key_path("kaznu")), credentials.node.url,
               exported["senim"]["block_height"], now, now, issuer_name=KAZNU.upper())
    path.write_text(json.dumps(vc, ensure_ascii=False), encoding="utf-8")
    status, sentence = picked(browser, credentials, path, "en")
    assert status == "valid" and cautions(browser) == [], sentence


def test_a_credential_inside_other_json_is_said_damaged(
        credentials: Credentials, browser: Any, tmp_path: Path) -> None:
    """Not recorded, and a credential's format near its start: `senim verify` says it a
    credential damaged or with other text around it, and so does the page."""
    path = tmp_path / "wrapped.json"
    path.write_text(json.dumps({"diploma": credentials.document(credentials.valid)}),
                    encoding="utf-8")
    status, _sentence = picked(browser, credentials, path, "en")
    assert status == "damaged"
    done = credentials.net.cli("verify", str(path), "--lang", "en", node=credentials.node,
                               check=False)
    assert "cut short or damaged, or with other text around it" in " ".join(
        done.stdout.split()), done.stdout
