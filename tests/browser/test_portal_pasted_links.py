"""A link an HR officer was sent, pasted into the portal of a node they trust: the document
it carries is checked there, not on the node the link opens (which whoever sent it chose);
and a check opened from a link says that the sender chose its node. In real Chromium
against a real node."""

from __future__ import annotations

import base64
import time
import zlib
from typing import Any

import pytest

from cli.sharing import share_link
from node.i18n import catalogue
from tests.browser.conftest import BROWSER_MISSING, CHROMEDRIVER, CHROMIUM, Credentials
from tests.browser.test_portal_browser import open_portal, paste_and_check, verdict
from tests.cli import link_variants

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180),
              pytest.mark.skipif(CHROMIUM is None or CHROMEDRIVER is None,
                                 reason=BROWSER_MISSING)]

ELSEWHERE = "http://127.0.0.9:1"  # a forger's node: nothing listens there
# How long the page may take to tell a long text holds no whole link: it takes well under
# a second; 70 s when its reading backtracked.
LONG_TEXT_READ_S = 15
MAX_FILE_BYTES = 1024 * 1024  # portal-links.js: the most a link's document may inflate to


def _note_shown(browser: Any) -> str | None:
    note = browser.find_element("id", "link-note")
    return note.text if note.is_displayed() else None


def _bomb_link(origin: str) -> str:
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    data = packer.compress(b" " * (64 * MAX_FILE_BYTES)) + packer.flush()
    return f"{origin}/#docz=" + base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_a_pasted_link_is_checked_on_this_node(credentials: Credentials,
                                               browser: Any) -> None:
    open_portal(browser, credentials.node.url + "/", "en")
    for compressed in (False, True):
        link = share_link(credentials.document(credentials.disclosed), ELSEWHERE, compressed)
        for pasted in (link, f"<{link}>.", f"  {link}\n", f"«{link}».", f'"{link}"',
                       f"„{link}.“"):
            status, sentence = paste_and_check(browser, pasted)
            assert status == "valid", (pasted[:60], sentence)
            assert _note_shown(browser) is None  # the reader chose this node
    status, _ = paste_and_check(browser, share_link(credentials.document(credentials.tampered),
                                                    ELSEWHERE))
    assert status == "tampered"
    status, _ = paste_and_check(browser, share_link(credentials.document(credentials.revoked),
                                                    ELSEWHERE, True))
    assert status == "revoked"


def test_pasted_links_that_carry_no_whole_credential(credentials: Credentials,
                                                     browser: Any) -> None:
    open_portal(browser, credentials.node.url + "/", "ru")
    link = share_link(credentials.document(credentials.valid), ELSEWHERE, True)
    for damaged in (link[:-30], f"{ELSEWHERE}/", f"{ELSEWHERE}/#doc=%%%", f"{ELSEWHERE}/#doc=e30",
                    f"http://{'a' * 500_000}"):
        started = time.monotonic()
        status, sentence = paste_and_check(browser, damaged)
        assert status == "link_damaged", (damaged[:60], status)
        assert sentence.startswith("Эта ссылка не содержит целого документа Senim"), sentence
        # Half a megabyte with no "?" in it is read at once: a pattern for a redirect's
        # host, path and query backtracked over it, the page frozen for over a minute.
        assert time.monotonic() - started < LONG_TEXT_READ_S, damaged[:60]
    # Refused once it passed the limit: inflated whole, 64 MiB of spaces would be no
    # document at all, not one too large.
    status, _ = paste_and_check(browser, _bomb_link(ELSEWHERE))
    assert status == "too_large"


def test_a_check_opened_from_a_link_says_who_chose_the_node(credentials: Credentials,
                                                            browser: Any) -> None:
    link = share_link(credentials.document(credentials.valid), credentials.node.url)
    for lang in ("kk", "ru", "en"):
        browser.get("about:blank")
        open_portal(browser, link, lang)
        status, _ = verdict(browser)
        assert status == "valid"
        assert _note_shown(browser) == catalogue(lang)["result.link_note"]
    # Checking something else in the box is the reader's own choice again.
    status, _ = paste_and_check(browser, credentials.valid.read_text(encoding="utf-8") + " ")
    assert status == "valid" and _note_shown(browser) is None
    browser.get("about:blank")
    open_portal(browser, _bomb_link(credentials.node.url), "en")
    status, _ = verdict(browser)
    assert status == "too_large"


def test_a_pasted_link_a_letter_or_a_chat_broke(credentials: Credentials, browser: Any) -> None:
    """The same links `senim verify` is given (tests/cli/test_verify_links.py): read whole
    when only breaks, words before or a mail service's redirect were put around them, said
    to be damaged, in each language, when not, and refused when the text holds two."""
    document = credentials.document(credentials.disclosed)
    for lang in ("en", "kk", "ru"):
        open_portal(browser, credentials.node.url + "/", lang)
        for compressed in (False, True):
            link = share_link(document, ELSEWHERE, compressed)
            # The reading is the same in every language, so every variant is pasted in
            # one; the others show one of each kind, for the sentence they say it in
            # (all of them in all three took 76 s of a slow 2-core CI machine).
            every = lang == "en"
            for what, sent in link_variants.whole(link).items() if every else ():
                status, sentence = paste_and_check(browser, sent)
                assert status == "valid", (lang, compressed, what, sentence)
                assert _note_shown(browser) is None
            for what, sent in _some(link_variants.damaged(link), every):
                status, sentence = paste_and_check(browser, sent)
                assert status == "link_damaged", (lang, compressed, what, status)
                assert sentence == catalogue(lang)["status.link_damaged"], (what, sentence)
            for what, sent in _some(link_variants.two(link), every):
                status, sentence = paste_and_check(browser, sent)
                assert status == "link_two", (lang, compressed, what, status)
                assert sentence == catalogue(lang)["status.link_two"], (what, sentence)
            for what, sent in _some(link_variants.documents(link), every):  # as a document
                status, sentence = paste_and_check(browser, sent)
                assert status in ("malformed", "damaged"), (lang, compressed, what, status)


def _some(variants: dict[str, str], every: bool) -> list[tuple[str, str]]:
    return list(variants.items()) if every else list(variants.items())[:1]


def test_a_link_with_a_space_in_it_opened_in_the_address_bar(credentials: Credentials,
                                                              browser: Any) -> None:
    """Pasted in the address bar, a link keeps the space a letter put in it (the browser
    writes it %20): the page reads it as the link it was, as from its box."""
    link = share_link(credentials.document(credentials.valid), credentials.node.url, True)
    middle = len(link) - 40
    for space in (" ", "\u00a0", "\u200b"):
        browser.get("about:blank")
        open_portal(browser, link[:middle] + space + link[middle:], "kk")
        status, sentence = verdict(browser)
        assert status == "valid", (repr(space), sentence)
        assert _note_shown(browser) == catalogue("kk")["result.link_note"]
    browser.get("about:blank")
    open_portal(browser, link[:middle] + "%" + link[middle:], "kk")  # no escape: damaged
    assert verdict(browser)[0] == "link_damaged"
    # more in the fragment before the document: damaged, as `senim verify` calls it
    browser.get("about:blank")
    open_portal(browser, link.replace("#", "#a#", 1), "kk")
    assert verdict(browser)[0] == "link_damaged"
