"""The holder's page (/holder) in a real Chromium against a real node: a graduate opens
their diploma file, hides what the reader does not need, and gets a copy (a file saved,
its text, a link) that is exactly what `senim disclose` makes and that the portal finds
genuine, with the hidden fields hidden; a file that is no credential, a W3C VC, an empty
or a damaged one is refused in a sentence of the page's language."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ledger.credential_documents import disclose
from node.i18n import catalogue
from tests.browser.conftest import BROWSER_MISSING, CHROMEDRIVER, CHROMIUM, Credentials
from tests.browser.test_portal_browser import (
    PAGE_TIMEOUT_S,
    open_portal,
    screenshot,
    shown_fields,
    verdict,
    wait_for,
)
from tests.browser.test_portal_presentation_print import INKED, on_paper
from tests.e2e.harness import http

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180),
              pytest.mark.skipif(CHROMIUM is None or CHROMEDRIVER is None,
                                 reason=BROWSER_MISSING)]
PERSONAL = ["iin", "birth_date", "student_id"]
PRINTED_BUTTONS = """return [...document.querySelectorAll('button, .button')]
  .filter((el) => el.getClientRects().length > 0).map((el) => el.id || el.className);"""


def _open(browser: Any, credentials: Credentials, lang: str, path: Path) -> None:
    open_portal(browser, credentials.node.url + "/holder", lang)
    browser.find_element("id", "file").send_keys(str(path))


def _copy(browser: Any, hidden: list[str]) -> dict[str, Any]:
    """The copy's text, once it hides exactly `hidden`."""
    def ready() -> dict[str, Any] | None:
        text = browser.execute_script("return document.getElementById('copy-text').value")
        if not text:
            return None
        copy: dict[str, Any] = json.loads(text)
        hashed = sorted(n for n, e in copy["fields"].items() if "hash" in e)
        return copy if hashed == sorted(hidden) else None
    found: dict[str, Any] = wait_for(ready, PAGE_TIMEOUT_S, f"a copy hiding {hidden}")
    return found


def _refusal(browser: Any) -> tuple[str, str]:
    def said() -> tuple[str, str] | None:
        key, text = browser.execute_script(
            "const v = document.getElementById('verdict');"
            "return [v.dataset.said || '', v.textContent];")
        return (key, text) if key else None
    found: tuple[str, str] = wait_for(said, PAGE_TIMEOUT_S, "the page's refusal")
    return found


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_a_graduate_hides_personal_details_and_the_copy_verifies(
        credentials: Credentials, browser: Any, lang: str, tmp_path: Path) -> None:
    original = credentials.document(credentials.valid)
    browser.execute_cdp_cmd("Page.setDownloadBehavior",
                            {"behavior": "allow", "downloadPath": str(tmp_path)})
    _open(browser, credentials, lang, credentials.valid)
    wait_for(lambda: browser.find_element("id", "choose").is_displayed(), PAGE_TIMEOUT_S,
             "the list of fields")
    assert _copy(browser, []) == original  # nothing hidden until the graduate says so
    browser.find_element("id", "hide-personal").click()
    hidden = [name for name in PERSONAL if name in original["fields"]]
    assert hidden, sorted(original["fields"])
    expected = disclose(original, hidden)
    assert _copy(browser, hidden) == expected
    words = catalogue(lang)
    summary = browser.find_element("id", "summary").text
    assert words["field.iin"] in summary and f"{len(hidden)}" in summary, summary
    # a field unticked by hand is hidden too
    browser.find_element("css selector", "input[data-field='gpa']").click()
    assert _copy(browser, [*hidden, "gpa"]) == disclose(original, [*hidden, "gpa"])
    browser.find_element("css selector", "input[data-field='gpa']").click()
    assert _copy(browser, hidden) == expected
    screenshot(browser, credentials, f"holder-{lang}")
    with on_paper(browser):  # no button printed, as white words once its ground is not
        assert browser.execute_script(INKED) == []
        assert browser.execute_script(PRINTED_BUTTONS) == []

    browser.find_element("id", "save").click()
    saved = tmp_path / (credentials.valid.stem + "-shared.json")
    wait_for(lambda: saved.exists() and saved.stat().st_size > 0, PAGE_TIMEOUT_S,
             "the saved copy")
    assert json.loads(saved.read_text(encoding="utf-8")) == expected

    browser.find_element("id", "link").click()
    link = wait_for(lambda: browser.find_element("id", "link-text").get_attribute("value"),
                    PAGE_TIMEOUT_S, "the link")
    assert link.startswith(credentials.node.url + "/#docz="), link
    browser.get(link)
    status, _sentence = verdict(browser)
    assert status == "valid"
    fields = shown_fields(browser)
    assert fields["iin"][1] == words["document.hidden"], fields["iin"]
    assert original["fields"]["full_name"]["value"] in fields["full_name"][1]


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_what_is_no_credential_is_refused_in_the_pages_language(
        credentials: Credentials, browser: Any, lang: str, tmp_path: Path) -> None:
    document = credentials.document(credentials.valid)
    damaged = json.loads(json.dumps(document))
    damaged["fields"]["gpa"]["salt"] = "zz"
    # hidden fields that parse_document refuses, so a copy of them would never verify: a
    # hash that is no SHA-256 in hex, and a salt left beside a hash
    no_hash = json.loads(json.dumps(document))
    no_hash["fields"]["gpa"] = {"hash": "zz"}
    salted = json.loads(json.dumps(document))
    salted["fields"]["gpa"] = {"hash": "ab" * 32, "salt": "cd" * 16}
    vc = {"@context": ["https://www.w3.org/ns/credentials/v2"],
          "type": ["VerifiableCredential"], "credentialSubject": {"id": "x"}}
    newer = dict(document, format="senim-credential/v9")
    # more fields than any credential is issued with (ledger MAX_FIELDS): no copy to make
    crowded = json.loads(json.dumps(document))
    salt = document["fields"]["gpa"]["salt"]
    crowded["fields"] |= {f"extra_{i}": {"value": "x", "salt": salt} for i in range(200)}
    cases = {"empty.json": (b"", "holder.error.empty"),
             "diploma.pdf": (b"%PDF-1.7\n...", "holder.error.not_credential"),
             # a photo of the paper was "damaged: some of its bytes are not text"
             "IMG_2041.jpg": (b"\xff\xd8\xff\xe0\x00\x10JFIF" + bytes(200),
                              "holder.error.not_credential"),
             "scan.png": (b"\x89PNG\r\n\x1a\n" + bytes(200), "holder.error.not_credential"),
             "list.json": (b"[1, 2]", "holder.error.not_credential"),
             "vc.json": (json.dumps(vc).encode(), "holder.error.vc"),
             "newer.json": (json.dumps(newer).encode(), "holder.error.newer"),
             "damaged.json": (json.dumps(damaged).encode(), "holder.error.damaged"),
             "no-hash.json": (json.dumps(no_hash).encode(), "holder.error.damaged"),
             "salted.json": (json.dumps(salted).encode(), "holder.error.damaged"),
             "crowded.json": (json.dumps(crowded).encode(), "holder.error.not_credential")}
    words = catalogue(lang)
    for name, (body, key) in cases.items():
        path = tmp_path / name
        path.write_bytes(body)
        _open(browser, credentials, lang, path)
        said_key, text = _refusal(browser)
        assert said_key == key, (name, said_key, text)
        assert text == words[key].replace("{field}", "gpa"), (name, text)
        assert not browser.find_element("id", "choose").is_displayed(), name
    # switched to another language, the page says the refusal again in it
    other = "ru" if lang != "ru" else "kk"
    browser.find_element("css selector", f"[data-lang-choice='{other}']").click()
    assert _refusal(browser)[1] == catalogue(other)[key].replace("{field}", "gpa")


def test_the_page_shares_the_portals_top_and_its_templates_are_not_served(
        credentials: Credentials, browser: Any) -> None:
    code, headers, body = http("GET", credentials.node.url + "/holder?lang=ru")
    assert code == 200 and "default-src 'self'" in headers["Content-Security-Policy"]
    page = body.decode("utf-8")
    assert '<html lang="ru">' in page and 'data-lang-choice="kk"' in page
    assert "{{" not in page, page[:400]
    for template in ("index.html", "holder.html", "top.html"):
        assert http("GET", f"{credentials.node.url}/static/{template}")[0] == 404, template
    open_portal(browser, credentials.node.url + "/holder", "kk")
    assert browser.find_element("tag name", "h1").text == catalogue("kk")["holder.heading"]
    assert browser.title == catalogue("kk")["holder.title"]
    browser.find_element("css selector", "[data-lang-choice='en']").click()
    assert browser.find_element("tag name", "h1").text == catalogue("en")["holder.heading"]
    # the portal links here, in its own language
    open_portal(browser, credentials.node.url + "/", "ru")
    link = browser.find_element("css selector", "a[href='/holder']")
    assert link.text == catalogue("ru")["foot.holder"]


def test_fields_named_like_the_pages_own_parts_or_javascripts_are_only_fields(
        credentials: Credentials, browser: Any, tmp_path: Path) -> None:
    """A hostile or odd file: fields named `all` (the page's "show everything" button is
    #show-all), `__proto__` and `constructor`, and HTML in a value. Each is a field like
    any other: its label toggles it alone, and the copy is disclose()'s."""
    odd = credentials.document(credentials.valid)
    for name, value in (("all", "<b>every</b>"), ("__proto__", "p"), ("constructor", "c")):
        odd["fields"][name] = {"value": value, "salt": "5a" * 16}
    path = tmp_path / "odd.json"
    path.write_text(json.dumps(odd), encoding="utf-8")
    _open(browser, credentials, "en", path)
    wait_for(lambda: browser.find_element("id", "choose").is_displayed(), PAGE_TIMEOUT_S,
             "the list of fields")
    browser.find_element("id", "hide-personal").click()
    hidden = [name for name in PERSONAL if name in odd["fields"]]
    assert _copy(browser, hidden) == disclose(odd, hidden)
    for name in ("all", "__proto__", "constructor"):  # each by the words beside its box
        row = browser.find_element("css selector", f"input[data-field='{name}']")
        row.find_element("xpath", "./ancestor::li//label").click()
        hidden.append(name)
        assert _copy(browser, hidden) == disclose(odd, hidden), name
    said = browser.find_element("id", "field-list").text
    assert "<b>every</b>" in said and not browser.find_elements("css selector", "#choose b")


def test_hostile_files_are_refused_in_a_sentence_and_stop_nothing(
        credentials: Credentials, browser: Any, tmp_path: Path) -> None:
    """A `type` that is an object threw in the page ('Cannot convert object to primitive
    value'): no sentence, no list. A damaged byte became U+FFFD in a value, and the page
    made a copy of it that would not verify."""
    document = credentials.document(credentials.valid)
    value = document["fields"]["gpa"]["value"]
    damaged_byte = json.dumps(document).encode().replace(
        f'"{value}"'.encode(), b'"3.\xff9"')
    typed = dict(document, type={"toString": 1})
    batchless = {k: v for k, v in document.items() if k != "batch"}
    cases = {"deep.json": (b"[" * 400_000 + b"]" * 400_000, "holder.error.not_credential"),
             "huge.json": (b" " * (10 * 1024 * 1024) + b"{}", "holder.error.too_large"),
             "byte.json": (damaged_byte, "holder.error.not_text"),
             "typed.json": (json.dumps(typed).encode(), "holder.error.not_credential"),
             "batchless.json": (json.dumps(batchless).encode(), "holder.error.not_credential")}
    browser.get_log("browser")  # what earlier pages said
    for name, (body, key) in cases.items():
        path = tmp_path / name
        path.write_bytes(body)
        _open(browser, credentials, "en", path)
        assert _refusal(browser)[0] == key, name
        assert not browser.find_element("id", "choose").is_displayed(), name
    assert [e for e in browser.get_log("browser") if e.get("level") == "SEVERE"] == []
    # a file saved as UTF-16 (with its byte-order mark) is the same credential
    path = tmp_path / "utf16.json"
    path.write_bytes(json.dumps(document, ensure_ascii=False).encode("utf-16"))
    _open(browser, credentials, "en", path)
    wait_for(lambda: browser.find_element("id", "choose").is_displayed(), PAGE_TIMEOUT_S,
             "the list of fields")
    assert _copy(browser, []) == disclose(document, [])


def test_an_issuer_name_the_file_gives_is_isolated(credentials: Credentials, browser: Any,
                                                   tmp_path: Path) -> None:
    """A right-to-left override in the issuer's name, as the file gives it, turned the
    words after it around ("Evil ‮ytisrevinU‬"): the name is isolated, as field values are."""
    document = json.loads(credentials.valid.read_text(encoding="utf-8"))
    document["issuer"]["name"] = "Evil \u202eytisrevinU"
    path = tmp_path / "named.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    _open(browser, credentials, "en", path)
    shown = wait_for(lambda: browser.execute_script(
        "return document.getElementById('choose-issuer').textContent") or None,
        PAGE_TIMEOUT_S, "the issuer's line")
    assert shown == "Issued by \u2068Evil \u202eytisrevinU\u2069", repr(shown)
