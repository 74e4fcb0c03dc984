"""The portal and `senim verify` give a file one verdict, in a real Chromium against a real
node, where they gave two: a JSON file giving a key twice (JSON.parse keeps the last, a
reader may see the first) is refused as the CLI refuses it; a "format" is read alike on both
sides (NFKC, lower-cased, ASCII letters alone: "ſenim" names Senim in both); a Senim VC
whose issuer.name is another member's id fails, alone or in a presentation, and one naming
another issuer is cautioned there too; issuer.name is read as VC 2.0 defines it (a string,
a language value object, a list of either); a name in «» is not quoted twice."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from cli.verify_files import is_credential
from ledger.vc.export import to_vc
from node.files import load_key
from node.i18n import catalogue
from tests.browser.conftest import BROWSER_MISSING, CHROMEDRIVER, CHROMIUM, KAZNU, Credentials
from tests.browser.test_portal_anchored_files import cautions, picked
from tests.browser.test_portal_browser import open_portal, paste_and_check, verdict
from tests.browser.test_portal_presentations import presentation, shown

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240),
              pytest.mark.skipif(CHROMIUM is None or CHROMEDRIVER is None,
                                 reason=BROWSER_MISSING)]

HARVARD = "Harvard University"


def words(lang: str, entry: str, /, **params: str) -> str:
    text = catalogue(lang)[entry]
    for name, value in params.items():
        text = text.replace("{" + name + "}", value)
    return text


def anchored_bytes(credentials: Credentials, path: Path, body: str) -> Path:
    path.write_text(body, encoding="utf-8")
    credentials.net.cli("anchor", "--key", str(credentials.net.key_path("kaznu")), str(path),
                        node=credentials.node)
    return path


def cli_said(credentials: Credentials, path: Path) -> tuple[int, str]:
    done = credentials.net.cli("verify", str(path), "--lang", "en", node=credentials.node,
                               check=False)
    return done.returncode, " ".join((done.stdout + done.stderr).split())


def test_a_key_given_twice_is_refused_as_the_cli_refuses_it(
        credentials: Credentials, browser: Any, tmp_path: Path) -> None:
    mshe = credentials.net.member_id("mshe")
    # "issuer" another member's id by its first key, KazNU by its last (JSON.parse's)
    path = anchored_bytes(credentials, tmp_path / "dup-issuer.json",
                          f'{{"title": "Diploma", "issuer": "{mshe}", "issuer": "{KAZNU}"}}\n')
    for lang in ("en", "kk", "ru"):
        status, sentence = picked(browser, credentials, path, lang)
        assert status == "duplicate_key", sentence
        assert sentence == words(lang, "status.duplicate_key", key="issuer"), sentence
    code, said = cli_said(credentials, path)
    assert code == 2 and 'gives the key "issuer" twice' in said, said
    # a lookalike diploma: a credential's format by its first key, "x" by its last
    forged = credentials.document(credentials.valid)
    del forged["batch"], forged["target_hash"]
    fmt = forged["format"]
    body = json.dumps(forged).replace(f'"format": "{fmt}"', f'"format": "{fmt}", "format": "x"')
    path = anchored_bytes(credentials, tmp_path / "dup-format.json", body)
    status, sentence = picked(browser, credentials, path, "en")
    assert (status, sentence) == ("duplicate_key",
                                  words("en", "status.duplicate_key", key="format"))
    code, said = cli_said(credentials, path)
    assert code == 2 and 'gives the key "format" twice' in said, said
    # a key given twice that decides nothing: an anchored document on both sides
    path = anchored_bytes(credentials, tmp_path / "dup-note.json",
                          f'{{"title": "Order 9", "issuer": "{KAZNU}", "note": 1, "note": 2}}')
    status, sentence = picked(browser, credentials, path, "en")
    assert status == "valid", sentence
    code, said = cli_said(credentials, path)
    assert code == 0 and said.startswith("VALID"), said


# Formats read alike or not by Python's strip/casefold and JavaScript's trim/toLowerCase,
# and by NFKC: a long s, fullwidth letters, a dash or an invisible character inside.
FORMATS = ["ſenim diploma", "\x85Senim diploma", "\u2028senim", "\ufeffsenim", "\x1csenim",
           " \t\r\nSeNiM x", "SENIM", "senim", "ѕenim", "ＳＥＮＩＭ", "seni\u0307m", "x senim",
           "\u3000senim", "\xa0senim", "SENİM", "ſ", "", "ｓｅｎｉｍ", "se-nim", "\u200bsenim",
           "Ѕenim"]
# Those naming no Senim: Cyrillic dze (ѕ, Ѕ) is dropped as no ASCII letter, leaving "enim".
NOT_SENIM = {"ѕenim", "x senim", "ſ", "", "Ѕenim"}


def test_the_page_and_the_cli_tell_a_credential_alike(
        credentials: Credentials, browser: Any) -> None:
    """The same documents through cli.verify_files.is_credential and, in the page,
    portal-anchored.js's isCredential: one structure a credential holds (salted fields)
    beside each format, and the lookalike diplomas (format edited, a key deleted)."""
    fields = {"gpa": {"salt": "00" * 16, "value": "3.9"}}
    docs: list[Any] = [{"format": each, "fields": fields} for each in FORMATS]
    diploma = credentials.document(credentials.valid)
    for key in list(diploma):
        lookalike = {k: v for k, v in diploma.items() if k != key}
        docs.append({**lookalike, "format": "x"})
        docs.append({**lookalike, "format": "ſenim diploma"})
    docs.append({k: v for k, v in diploma.items() if k not in ("batch", "target_hash")}
                | {"format": "ſenim diploma"})
    open_portal(browser, credentials.node.url + "/", "en")
    in_page = browser.execute_async_script(
        "const [docs, done] = arguments;"
        "import('/static/portal-anchored.js').then((m) => done(docs.map(m.isCredential)));",
        docs)
    assert in_page == [is_credential(doc) for doc in docs]
    assert {each for each, doc in zip(FORMATS, docs[:len(FORMATS)], strict=True)
            if not is_credential(doc)} == NOT_SENIM
    assert in_page[-1] is True  # its format and fields alone make it a credential


def test_a_lookalike_whose_format_reads_senim_in_a_long_s_is_malformed(
        credentials: Credentials, browser: Any, tmp_path: Path) -> None:
    """A diploma, its format "ſenim diploma" and its batch and target hash deleted, anchored
    by another member: a credential failing its own checks on both sides (NFKC reads the
    long s as s), never "recorded by" that member."""
    forged = credentials.document(credentials.valid)
    forged["format"] = "ſenim diploma"
    del forged["batch"], forged["target_hash"]
    path = tmp_path / "long-s.json"
    path.write_text(json.dumps(forged, ensure_ascii=False), encoding="utf-8")
    credentials.net.cli("anchor", "--key", str(credentials.net.key_path("mshe")), str(path),
                        node=credentials.node)
    status, sentence = picked(browser, credentials, path, "en")
    assert status == "malformed", sentence
    code, said = cli_said(credentials, path)
    assert code == 1 and said.startswith("MALFORMED"), said


def vc_named(credentials: Credentials, name: Any, tmp_path: Path, tag: str) -> Path:
    exported = credentials.document(credentials.revoked_vc)  # the batch's height
    now = int(time.time() * 1000)
    vc = to_vc(credentials.document(credentials.valid),
               load_key(credentials.net.key_path("kaznu")), credentials.node.url,
               exported["senim"]["block_height"], now, now, issuer_name=name)
    path = tmp_path / f"{tag}.vc.json"
    path.write_text(json.dumps(vc, ensure_ascii=False), encoding="utf-8")
    return path


def test_a_vc_naming_another_members_id_fails_as_in_the_cli(
        credentials: Credentials, browser: Any, tmp_path: Path) -> None:
    mshe = credentials.net.member_id("mshe")
    path = vc_named(credentials, mshe, tmp_path, "other-id")
    for lang in ("en", "kk", "ru"):
        status, sentence = picked(browser, credentials, path, lang)
        assert status == "vc_issuer_not_recorder", sentence
        assert sentence == words(lang, "status.vc_issuer_not_recorder", named=mshe,
                                 issuer=KAZNU), sentence
        assert catalogue(lang)["status.vc_issuer_not_recorder"].endswith(
            {"en": "Do not rely on it.", "kk": "Оған сенуге болмайды.",
             "ru": "Не полагайтесь на него."}[lang])
        assert browser.execute_script(
            "return document.getElementById('verdict').dataset.tone") == "bad"
    code, said = cli_said(credentials, path)
    assert code == 1 and "Do not rely on it." in said, said
    # in a presentation: that credential fails, and so does the presentation
    other = json.loads(path.read_text(encoding="utf-8"))
    harvard = json.loads(vc_named(credentials, HARVARD, tmp_path, "harvard").read_text(
        encoding="utf-8"))
    open_portal(browser, credentials.node.url + "/", "en")
    status, sentence = paste_and_check(browser, json.dumps(presentation([harvard, other],
                                                                        challenge=None)))
    page = shown(browser)
    assert status == "vc_issuer_not_recorder" and page["tone"] == "bad", sentence
    assert [c["status"] for c in page["credentials"]] == ["valid", "vc_issuer_not_recorder"]
    assert [c["tone"] for c in page["credentials"]] == ["warn", "bad"]
    box_cautions = browser.execute_script(
        "return [...document.querySelectorAll('#credentials .vp-credential')].map((box) =>"
        " [...box.querySelectorAll('[data-warning=\"named_issuer\"]')].map((li) =>"
        " li.textContent.replace(/^⚠/, '').trim()))")
    assert box_cautions == [[words("en", "caution.vc_named_issuer", named=HARVARD,
                                   issuer=KAZNU)], []]


def test_issuer_name_is_read_as_vc_2_defines_it(
        credentials: Credentials, browser: Any, tmp_path: Path) -> None:
    for tag, name, caution in (
            ("value", {"@value": KAZNU, "@language": "en"}, None),  # honest: no caution
            ("list", [HARVARD], HARVARD),
            ("value-list", [{"@value": HARVARD, "@language": "en"}], HARVARD),
            ("quoted", f"«{KAZNU}»", None)):
        path = vc_named(credentials, name, tmp_path, tag)
        status, sentence = picked(browser, credentials, path, "en")
        assert status == "valid", (tag, sentence)
        expected = [] if caution is None else [
            words("en", "caution.vc_named_issuer", named=caution, issuer=KAZNU)]
        assert cautions(browser) == expected, tag
        done = credentials.net.cli("verify", str(path), "--json", node=credentials.node,
                                   check=False)
        assert json.loads(done.stdout)["facts"].get("named_issuer") == caution, done.stdout
    # a name already in «» is not quoted twice in kk or ru
    path = vc_named(credentials, f"«{HARVARD}»", tmp_path, "quoted-other")
    for lang in ("kk", "ru"):
        picked(browser, credentials, path, lang)
        said = cautions(browser)
        assert said == [words(lang, "caution.vc_named_issuer", named=HARVARD, issuer=KAZNU)]
        assert "««" not in said[0], said
    status, _ = verdict(browser)
    assert status == "valid"
