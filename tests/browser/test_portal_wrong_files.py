"""Files the portal cannot read as a credential, in a real Chromium against a real node: a
PDF, a photo or a video of the diploma dropped instead of its file, a file far too large (each
named at once, without the page reading it all), and a credential of a later format.
Each gets its own sentence in the page's language. And a damaged file picked again once
a good copy was saved over it is read again; a credential pasted with the letter it came
in, or cut short, is told apart from text that is no credential."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.support.ui import WebDriverWait

from cli.sharing import share_link
from tests.browser.conftest import BROWSER_MISSING, CHROMEDRIVER, CHROMIUM, Credentials
from tests.browser.test_portal_browser import open_portal, paste_and_check, verdict

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180),
              pytest.mark.skipif(CHROMIUM is None or CHROMEDRIVER is None,
                                 reason=BROWSER_MISSING)]
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
ASK_FOR_THE_FILE = {"en": "Ask the holder for the credential file (.json)",
                    "ru": "Попросите владельца прислать файл документа (.json)",
                    "kk": "Иесінен өзі алған құжат файлын (.json)"}
OPENINGS = {("pdf", "en"): "This is a PDF, not a Senim credential file",
            ("pdf", "ru"): "Это PDF-файл, а не файл документа Senim",
            ("pdf", "kk"): "Бұл — PDF файлы, Senim құжатының файлы емес",
            ("image", "en"): "This is an image, not a Senim credential file",
            ("image", "ru"): "Это изображение, а не файл документа Senim",
            ("image", "kk"): "Бұл — сурет, Senim құжатының файлы емес",
            ("video", "en"): "This is a video, not a Senim credential file",
            ("video", "ru"): "Это видео, а не файл документа Senim",
            ("video", "kk"): "Бұл — бейне, Senim құжатының файлы емес"}


def iso_file(brand: bytes) -> bytes:
    """The start of an ISO base media file (MP4, MOV, HEIC, AVIF): its ftyp box."""
    return b"\x00\x00\x00\x20ftyp" + brand + b"\x00\x00\x02\x00" + brand + b"mp41" + bytes(3000)


# Reading 50 MB into the text box held the page for about 30 s on this machine.
PROMPTLY_S = 5.0


def pick(browser: Any, path: Path) -> tuple[str, str]:
    browser.find_element("id", "file").send_keys(str(path))
    return verdict(browser)


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_a_pdf_or_a_photo_of_the_diploma_is_named_as_such(credentials: Credentials,
                                                          browser: Any, tmp_path: Path,
                                                          lang: str) -> None:
    for kind, name, body in (("pdf", "diploma.pdf", PDF + bytes(3000)),
                             ("image", "IMG_2041.jpg", JPEG + bytes(3000))):
        path = tmp_path / name
        path.write_bytes(body)
        open_portal(browser, credentials.node.url + "/", lang)
        status, sentence = pick(browser, path)
        assert status == f"file_{kind}", (kind, lang, sentence)
        assert sentence.startswith(OPENINGS[kind, lang]), sentence
        assert ASK_FOR_THE_FILE[lang] in sentence, sentence
        assert not browser.find_element("id", "answer").is_displayed()
        # "Check" pressed then says it again: it said "nothing to check" beside its name
        browser.execute_script("delete document.getElementById('verdict').dataset.status;")
        browser.find_element("id", "verify").click()
        assert verdict(browser) == (status, sentence)


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_a_video_is_not_called_a_photo(credentials: Credentials, browser: Any, tmp_path: Path,
                                       lang: str) -> None:
    # Phones save photos (HEIC, AVIF) and videos (MP4, MOV) in the same box format; the
    # page called every one of them a picture.
    for kind, name, brand in (("video", "VID_2041.mp4", b"isom"), ("video", "IMG_2042.MOV",
                              b"qt  "), ("video", "clip.mp4", b"mp42"),
                              ("image", "IMG_2043.HEIC", b"heic"),
                              ("image", "photo.avif", b"avif")):
        path = tmp_path / name
        path.write_bytes(iso_file(brand))
        open_portal(browser, credentials.node.url + "/", lang)
        status, sentence = pick(browser, path)
        assert status == f"file_{kind}", (name, lang, sentence)
        assert sentence.startswith(OPENINGS[kind, lang]), sentence
        assert ASK_FOR_THE_FILE[lang] in sentence, sentence
    # another file of that format (an M4A recording) is no credential, and not named
    path = tmp_path / "voice.m4a"
    path.write_bytes(iso_file(b"M4A "))
    open_portal(browser, credentials.node.url + "/", lang)
    assert pick(browser, path)[0] == "malformed"
    assert browser.find_element("id", "doc").get_attribute("value") == ""


def test_a_huge_file_is_refused_at_once_unread(credentials: Credentials, browser: Any,
                                               tmp_path: Path) -> None:
    huge = tmp_path / "diploma.json"
    with huge.open("w", encoding="utf-8") as handle:
        handle.write('{"format": "senim-credential/v2", "pad": "')
        handle.write("x" * (50 * 1024 * 1024))
        handle.write('"}')
    open_portal(browser, credentials.node.url + "/", "ru")
    browser.set_script_timeout(60)  # a page held busy is reported as slow, not as an error
    started = time.monotonic()
    status, sentence = pick(browser, huge)
    elapsed = time.monotonic() - started
    assert status == "too_large", sentence
    assert sentence.startswith("Это намного больше любого документа"), sentence
    assert ASK_FOR_THE_FILE["ru"] in sentence, sentence
    assert elapsed < PROMPTLY_S, f"answered after {elapsed:.1f}s"
    assert browser.find_element("id", "doc").get_attribute("value") == ""
    # the page still works: a real credential picked next is checked
    browser.execute_script("delete document.getElementById('verdict').dataset.status;")
    status, _sentence = pick(browser, credentials.valid)
    assert status == "valid"


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_text_far_too_large_says_what_to_ask_the_holder_for(credentials: Credentials,
                                                              browser: Any, lang: str) -> None:
    """5 MB of JSON pasted (an export, a log) was said only to be "too large for a
    credential", where a PDF, a photo or an empty file each says what to ask the holder
    for; and as "this file" though no file was given."""
    text = json.dumps([{"row": n, "pad": "x" * 100} for n in range(50_000)])
    open_portal(browser, credentials.node.url + "/", lang)
    status, sentence = paste_and_check(browser, text)
    assert status == "too_large", sentence
    assert ASK_FOR_THE_FILE[lang] in sentence, sentence
    assert not sentence.startswith(("This file", "Этот файл", "Бұл файл")), sentence


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_a_document_past_the_nodes_limit_is_said_as_that(credentials: Credentials,
                                                         browser: Any, lang: str) -> None:
    """The page sends up to 1 MiB; the node checks at most 256 KiB at /v1/verify. Its 413
    was said as something far too large to be a credential, some other file, which the
    page has no grounds to say of 300 KB."""
    text = json.dumps({"format": "senim-credential/v2", "pad": "x" * (300 * 1024)})
    open_portal(browser, credentials.node.url + "/", lang)
    status, sentence = paste_and_check(browser, text)
    assert status == "node_too_large", sentence
    assert ASK_FOR_THE_FILE[lang] in sentence, sentence


LATER_FORMAT = {"en": "This document is in a newer format than this node's software reads",
                "ru": "Этот документ в более новом формате, чем умеет читать программа этого "
                      "узла",
                "kk": "Бұл құжат осы түйіннің бағдарламасы оқи алатыннан жаңа пішімде"}


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_a_credential_of_a_later_format_is_not_called_damaged(credentials: Credentials,
                                                              browser: Any, lang: str) -> None:
    document = credentials.document(credentials.valid)
    document["format"] = "senim-credential/v3"
    open_portal(browser, credentials.node.url + "/", lang)
    status, sentence = paste_and_check(browser, json.dumps(document, ensure_ascii=False))
    assert status == "newer_format" and sentence.startswith(LATER_FORMAT[lang]), sentence
    assert browser.find_element("id", "verdict").get_attribute("data-tone") == "warn"
    assert not browser.find_element("id", "answer").is_displayed()


def test_the_same_file_picked_again_after_a_new_copy_is_read_again(credentials: Credentials,
                                                                   browser: Any,
                                                                   tmp_path: Path) -> None:
    # The holder sends the file again and it is saved over the damaged one, same name.
    received = tmp_path / "diploma.json"
    whole = credentials.valid.read_text(encoding="utf-8")
    received.write_text(whole[: len(whole) // 2], encoding="utf-8")
    open_portal(browser, credentials.node.url + "/", "en")
    assert pick(browser, received)[0] == "damaged"
    browser.execute_script("delete document.getElementById('verdict').dataset.status;")
    shutil.copy(credentials.valid, received)
    status, sentence = pick(browser, received)
    assert status == "valid", sentence


PASTE_ONLY = {"en": "This looks like a Senim credential, but not a whole one",
              "ru": "Это похоже на документ Senim, но не целый",
              "kk": "Бұл Senim құжатына ұқсайды, бірақ толық емес"}


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_a_credential_pasted_with_its_letter_is_told_what_to_do(credentials: Credentials,
                                                                browser: Any,
                                                                lang: str) -> None:
    whole = credentials.valid.read_text(encoding="utf-8")
    open_portal(browser, credentials.node.url + "/", lang)
    for text in (f"Здравствуйте! Вот мой диплом:\n{whole}\n--\nС уважением, Әлия",
                 whole[: len(whole) // 2]):
        status, sentence = paste_and_check(browser, text)
        assert status == "damaged" and sentence.startswith(PASTE_ONLY[lang]), sentence
        assert not browser.find_element("id", "answer").is_displayed()
    status, _sentence = paste_and_check(browser, "Dear HR, please find my diploma attached.")
    assert status == "malformed"


def test_an_empty_file_is_not_taken_for_an_empty_text_box(credentials: Credentials,
                                                          browser: Any, tmp_path: Path) -> None:
    empty = tmp_path / "diploma.json"
    empty.write_bytes(b"")  # a download that failed
    open_portal(browser, credentials.node.url + "/", "ru")
    status, sentence = pick(browser, empty)
    assert status == "file_empty", sentence
    assert sentence.startswith("Этот файл пуст (0 байт)")
    assert "Попросите владельца прислать файл документа ещё раз" in sentence


LINK_CUT_SHORT = {"en": "This link does not carry a whole Senim credential",
                  "ru": "Эта ссылка не содержит целого документа Senim",
                  "kk": "Бұл сілтемеде Senim құжаты толық емес"}


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_a_link_cut_short_is_not_called_a_file_or_a_paste(credentials: Credentials,
                                                           browser: Any, lang: str) -> None:
    link = share_link(credentials.document(credentials.valid), credentials.node.url)
    browser.get("about:blank")
    open_portal(browser, link[: len(link) * 2 // 3], lang)
    status, sentence = verdict(browser)
    assert status == "link_damaged" and sentence.startswith(LINK_CUT_SHORT[lang]), sentence
    # The same text typed over is a paste again, told to paste only the credential.
    whole = credentials.valid.read_text(encoding="utf-8")
    status, sentence = paste_and_check(browser, whole[: len(whole) // 2])
    assert status == "damaged" and sentence.startswith(PASTE_ONLY[lang]), sentence


NOT_TEXT = {"en": "This file is damaged, or was saved again in another encoding",
            "ru": "Этот файл повреждён или пересохранён в другой кодировке",
            "kk": "Бұл файл бүлінген немесе басқа кодтауда қайта сақталған"}


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_a_file_whose_bytes_are_not_text_is_not_called_altered(
        credentials: Credentials, browser: Any, tmp_path: Path, lang: str) -> None:
    """A genuine credential saved again as Notepad's "ANSI" (cp1251), or with one byte
    damaged, read as "Altered document: do not rely on it", its garbled text shown as its
    contents; senim verify and the holder page call it damaged."""
    genuine = credentials.valid.read_text(encoding="utf-8")
    for name, body in (("ansi.json", genuine.encode("cp1251", errors="replace")),
                       ("byte.json", genuine.encode("utf-8").replace("ә".encode(), b"\xe6",
                                                                     1))):
        assert body != genuine.encode("utf-8"), name  # the file holds a Kazakh letter
        path = tmp_path / name
        path.write_bytes(body)
        open_portal(browser, credentials.node.url + "/", lang)
        status, sentence = pick(browser, path)
        assert status == "not_text", (name, sentence)
        assert sentence.startswith(NOT_TEXT[lang]), sentence
        assert not browser.find_element("id", "answer").is_displayed()


def test_a_refusal_after_a_slow_check_is_not_overwritten_by_its_answer(
        credentials: Credentials, browser: Any, tmp_path: Path) -> None:
    """A genuine file picked, then a PDF while the node still answered the first: the
    PDF's refusal showed, and then "Genuine diploma" with the first file's card."""
    pdf = tmp_path / "scan.pdf"
    pdf.write_bytes(PDF + bytes(3000))
    open_portal(browser, credentials.node.url + "/", "en")
    browser.execute_cdp_cmd("Network.enable", {})
    browser.execute_cdp_cmd("Network.emulateNetworkConditions", {
        "offline": False, "latency": 1500, "downloadThroughput": -1,
        "uploadThroughput": -1})
    try:
        browser.find_element("id", "file").send_keys(str(credentials.valid))
        WebDriverWait(browser, 10).until(  # read, and its check under way (1.5 s to answer)
            lambda b: b.execute_script("return document.getElementById('doc').value.length"))
        status, sentence = pick(browser, pdf)
        assert status == "file_pdf", sentence
        deadline = time.monotonic() + 6  # well past the first answer's arrival
        while time.monotonic() < deadline:
            shown = browser.find_element("id", "verdict").get_attribute("data-status")
            assert shown == "file_pdf", shown
            time.sleep(0.25)
        assert not browser.find_element("id", "answer").is_displayed()
    finally:
        browser.execute_cdp_cmd("Network.emulateNetworkConditions", {
            "offline": False, "latency": 0, "downloadThroughput": -1,
            "uploadThroughput": -1})
