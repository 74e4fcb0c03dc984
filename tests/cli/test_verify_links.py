"""`senim verify LINK`: an HR officer who was sent a link checks the document it carries
against a node of their choosing (with --genesis, against no single node), not against
the node the link opens, which whoever sent it chose: a forger's own node would call a
forged diploma genuine."""

from __future__ import annotations

import itertools
import json
import zlib
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from cli.language import catalogue
from cli.link_arguments import shown_briefly
from cli.main import main
from cli.share_links import LINK_DOCUMENT_BYTES_MAX
from cli.sharing import share_link
from tests.cli.link_variants import damaged, two, whole
from tests.cli.test_verify_across_set_changes import net, node_url, senim, verdict_of

__all__ = ["net", "node_url"]  # the fixtures: a node holding one diploma

HOSTILE = "http://127.0.0.9:1"  # the node a forger's link would open; never asked


def _diploma(tmp_path: Path) -> dict[str, object]:
    document: dict[str, object] = json.loads((tmp_path / "diploma.json").read_text())
    return document


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where the command keeps the link's document while it checks it."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setenv("TMPDIR", str(folder))
    import tempfile
    monkeypatch.setattr(tempfile, "tempdir", None)
    return folder


async def test_a_link_is_checked_against_the_readers_node_not_the_links(
        node_url: str, tmp_path: Path, private_tmp: Path) -> None:
    genesis = str(tmp_path / "genesis.json")
    for compressed in (False, True):
        link = share_link(_diploma(tmp_path), HOSTILE, compressed)
        judged = await senim("verify", link, "--node", node_url, "--genesis", genesis,
                             "--json")
        assert judged.exit_code == 0, judged.output
        verdict = verdict_of(judged)
        assert verdict["valid"] and verdict["facts"]["as_of_height"] == 5
        assert verdict["file"] == f"the document in a link to {HOSTILE}"
    for lang in ("kk", "ru"):  # --json is the same in every language
        judged = await senim("verify", link, "--node", node_url, "--json", "--lang", lang)
        assert judged.exit_code == 0, judged.output
        assert verdict_of(judged)["file"] == f"the document in a link to {HOSTILE}"
    said = await senim("verify", f"<{link}>.", "--node", node_url)  # as a letter wraps it
    assert said.exit_code == 0, said.output
    assert (f"the link opens the portal of {HOSTILE}, a node its sender chose; it was "
            f"checked against {node_url} instead") in said.output
    for lang in ("kk", "ru"):
        said = await senim("verify", link, "--node", node_url, "--lang", lang)
        assert said.exit_code == 0, said.output
        assert catalogue(lang)["cli.link.checked_here"].format(
            origin=HOSTILE, node=node_url) in said.output
    # The document was kept only while it was checked, readable by this user alone.
    assert list(private_tmp.iterdir()) == []


async def test_a_link_to_the_node_asked_says_nothing_of_another(node_url: str,
                                                                tmp_path: Path) -> None:
    said = await senim("verify", share_link(_diploma(tmp_path), node_url), "--node", node_url)
    assert said.exit_code == 0, said.output
    assert "a node its sender chose" not in said.output


async def test_an_altered_document_in_a_link_is_refused(node_url: str, tmp_path: Path) -> None:
    document = _diploma(tmp_path)
    fields = document["fields"]
    assert isinstance(fields, dict)
    fields["gpa"]["value"] = "4.0"
    judged = await senim("verify", share_link(document, HOSTILE, True), "--node", node_url,
                         "--json")
    assert judged.exit_code == 1, judged.output
    assert verdict_of(judged)["status"] == "tampered"


def _deflated(data: bytes) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    return packer.compress(data) + packer.flush()


def _link_of(raw: bytes, key: str = "docz") -> str:
    import base64
    return f"{HOSTILE}/#{key}=" + base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


async def test_links_that_carry_no_whole_document_are_refused_in_the_readers_language(
        node_url: str, tmp_path: Path, private_tmp: Path) -> None:
    link = share_link(_diploma(tmp_path), HOSTILE, True)
    bomb = _deflated(b" " * (LINK_DOCUMENT_BYTES_MAX + 1))
    assert len(bomb) < 10_000  # a link of a few KiB that would unpack to megabytes
    cases = {
        "cli.link.damaged": [link[:-40], link[:-1] + "!", _link_of(b"\x00garbage"),
                             f"{HOSTILE}/#doc=e30", _link_of(b"[1, 2]", "doc"),
                             _link_of(b'{"format": 1', "doc")],
        "cli.link.no_document": [f"{HOSTILE}/", f"{HOSTILE}/#doc", f"{HOSTILE}/?doc=abc"],
        "cli.link.too_large": [_link_of(bomb)],
    }
    for key, links in cases.items():
        for bad in links:
            for lang in ("en", "kk", "ru"):
                refused = await senim("verify", bad, "--node", node_url, "--lang", lang)
                assert refused.exit_code == 2, (bad, refused.output)
                said = catalogue(lang)[key].format(origin=HOSTILE, megabytes=4)
                assert said in refused.output, (bad, lang, refused.output)
                assert "Traceback" not in refused.output
    assert list(private_tmp.iterdir()) == []


async def test_a_link_with_an_offline_proof_is_checked_offline(node_url: str,
                                                               tmp_path: Path) -> None:
    proved = tmp_path / "proved.json"
    made = await senim("prove", str(tmp_path / "diploma.json"), "--out", str(proved),
                       "--node", node_url)
    assert made.exit_code == 0, made.output
    link = share_link(json.loads(proved.read_text()), HOSTILE, True)
    judged = await senim("verify", link, "--offline", "--genesis",
                         str(tmp_path / "genesis.json"))
    assert judged.exit_code == 0, judged.output
    assert "a node its sender chose" not in judged.output  # offline no node is asked


async def test_a_link_a_letter_or_a_chat_broke_is_checked_whole_or_called_damaged(
        node_url: str, tmp_path: Path) -> None:
    for compressed in (False, True):
        link = share_link(_diploma(tmp_path), HOSTILE, compressed)
        for what, sent in whole(link).items():
            judged = await senim("verify", sent, "--node", node_url, "--json")
            assert judged.exit_code == 0, (what, judged.output)
            verdict = verdict_of_stdout(judged)  # a note of words left out on stderr
            assert verdict["valid"] and verdict["file"] == f"the document in a link to {HOSTILE}"
        for what, sent in damaged(link).items():
            for lang in ("en", "kk", "ru"):
                refused = await senim("verify", sent, "--node", node_url, "--lang", lang)
                assert refused.exit_code == 2, (what, refused.output)
                said = catalogue(lang)["cli.link.damaged"].format(origin=HOSTILE)
                assert said in refused.output, (what, lang, refused.output)
        for what, sent in two(link).items():
            for lang in ("en", "kk", "ru"):
                refused = await senim("verify", sent, "--node", node_url, "--lang", lang)
                assert refused.exit_code == 2, (what, refused.output)
                said = catalogue(lang)["cli.link.two"]
                assert said in refused.output, (what, lang, refused.output)


async def test_a_letter_pasted_whole_is_read_for_its_one_link(node_url: str,
                                                             tmp_path: Path) -> None:
    """A letter's words after the link on its line, and its other links (the university's
    site, twice), are left out; the words so left out are said, in the reader's language."""
    link = share_link(_diploma(tmp_path), HOSTILE, True)
    letter = (f"Сәлеметсіз бе! Менің дипломым (https://www.kaznu.kz): {link} Рақмет!\n"
              "Айгерим\n\n--\nhttps://www.kaznu.kz/en")
    for lang in ("en", "kk", "ru"):
        judged = await senim("verify", letter, "--node", node_url, "--lang", lang)
        assert judged.exit_code == 0, judged.output
        said = catalogue(lang)["cli.link.words_after_left_out"].format(
            words=shown_briefly("Рақмет! Айгерим -- https://www.kaznu.kz/en"))
        assert said in judged.output, judged.output


def _split(link: str, *at: int) -> list[str]:
    """The link as a shell passes it on when a space was put in it at each of `at`."""
    cuts = [0, *at, len(link)]
    return [link[start:end] for start, end in itertools.pairwise(cuts)]


async def test_a_link_the_shell_split_at_spaces_is_read_as_the_one_link_it_was(
        node_url: str, tmp_path: Path) -> None:
    link = share_link(_diploma(tmp_path), HOSTILE, True)
    dash = link.find("-", link.index("#") + 10)  # a piece base64url begins with "-"
    into_two = _split(link, 70)
    splits = [_split(link, 60), _split(link, 30, 80, 130), ["«" + into_two[0], into_two[1], "»."],
              _split(link, 15, 60)]  # "http://127.0.0." and "9:1/#docz=…"
    if dash > 0:
        splits.append(_split(link, dash))
    for pieces in splits:
        for args in (["verify", *pieces, "--node", node_url],
                     ["verify", "--node", node_url, *pieces],
                     ["verify", "--json", *pieces, "--lang", "ru", "--node", node_url]):
            judged = await senim(*args)
            assert judged.exit_code == 0, (pieces, judged.output)
            assert "Traceback" not in judged.output


async def test_what_follows_a_link_and_is_no_piece_of_it_is_refused(
        node_url: str, tmp_path: Path) -> None:
    link = share_link(_diploma(tmp_path), HOSTILE, True)
    other = tmp_path / "diploma.json"
    for extra in [[link], [str(other)], ["Рахмет,", "Айгерім"], ["--node", node_url, "x!y"]]:
        for lang in ("en", "kk", "ru"):
            refused = await senim("verify", *_split(link, 60), *extra, "--node", node_url,
                                  "--lang", lang)
            assert refused.exit_code == 2, (extra, refused.output)
            first = next(arg for arg in extra if arg != "--node" and arg != node_url)
            shown = first if len(first) <= 40 else first[:40] + "…"
            said = catalogue(lang)["cli.link.extra"].format(extra=shown)
            assert said in refused.output, (extra, lang, refused.output)
            assert "Traceback" not in refused.output
    # A mistyped option after a split link is told as one, not read as a piece of the link.
    refused = await senim("verify", *_split(link, 60), "--jsn", "--node", node_url)
    assert refused.exit_code == 2 and "--json" in refused.output, refused.output
    # Two files (no link) stay click's own usage error.
    refused = await senim("verify", str(other), str(other), "--node", node_url)
    assert refused.exit_code == 2 and "unexpected extra argument" in refused.output


async def test_words_a_link_was_sent_with_are_left_out_saying_so(
        node_url: str, tmp_path: Path) -> None:
    """"Диплом: https://…" pasted unquoted reaches the command as two arguments: the words
    are the link's label, not a file that is not there (click's "File 'Диплом:' does not
    exist"), and are left out with a line saying so, in the reader's language."""
    link = share_link(_diploma(tmp_path), HOSTILE, True)
    labels = [["Диплом:"], ["Diploma", "-"], ["Аттестат", "№123"],
              ["Here", "is", "my", "diploma:"], ["Дипломым", "(т.б.)"],
              ["КазНУ,", "г.Алматы"], ["Diploma", "->"]]
    for label in labels:
        for lang in ("en", "kk", "ru"):
            for args in (["verify", *label, link, "--node", node_url],
                         ["verify", "--node", node_url, *label, *_split(link, 60)],
                         ["verify", *label, "--lang", lang, link, "--node", node_url]):
                judged = await senim(*args, "--lang", lang, "--json")
                assert judged.exit_code == 0, (label, lang, judged.output)
                assert verdict_of_stdout(judged)["valid"]
                note = catalogue(lang)["cli.link.label_left_out"].format(label=" ".join(label))
                assert judged.stderr.splitlines() == [note], (label, lang, judged.stderr)


async def test_a_file_before_a_link_is_asked_about_not_guessed(
        node_url: str, tmp_path: Path) -> None:
    link = share_link(_diploma(tmp_path), HOSTILE, True)
    diploma = str(tmp_path / "diploma.json")
    for before in ([diploma], ["Диплом:", diploma], ["diplom.json"], ["Downloads/диплом"]):
        for lang in ("en", "kk", "ru"):
            refused = await senim("verify", *before, link, "--node", node_url, "--lang", lang)
            assert refused.exit_code == 2, (before, refused.output)
            said = catalogue(lang)["cli.link.file_before"].format(
                file=next(word for word in before if word != "Диплом:"))
            assert refused.stderr.splitlines() == [
                {"en": "error", "kk": "қате", "ru": "ошибка"}[lang] + ": " + said], (
                before, lang, refused.output)
    # The file alone is checked as it was.
    judged = await senim("verify", diploma, "--node", node_url, "--json")
    assert judged.exit_code == 0 and verdict_of(judged)["valid"], judged.output


def verdict_of_stdout(result: Result) -> dict[str, Any]:
    verdict: dict[str, Any] = json.loads(result.stdout)
    return verdict


def test_a_mistyped_option_before_a_link_is_refused_not_left_out() -> None:
    """"-json" or "-J" typed before a link is an option mistyped, not words the link was
    sent with: left out, the verdict came as text to a script that asked for JSON."""
    link = share_link({"format": "senim-credential/v2"}, HOSTILE)
    for before in (["-json"], ["-J", "Диплом:"], ["Диплом:", "-J"]):
        for lang in ("en", "kk", "ru"):
            refused = CliRunner().invoke(main, ["verify", *before, link, "--node", HOSTILE,
                                                "--lang", lang])
            assert refused.exit_code == 2, (before, lang, refused.output)
            left_out = catalogue(lang)["cli.link.label_left_out"].format(
                label=" ".join(before))
            assert left_out not in refused.stderr, (before, lang)
            assert "-j" in refused.stderr.lower(), (before, lang, refused.stderr)  # named


def test_words_left_out_are_not_said_before_a_usage_error() -> None:
    """The note says the link alone is checked: not so when an option is refused."""
    link = share_link({"format": "senim-credential/v2"}, HOSTILE)
    for lang in ("en", "kk", "ru"):
        note = catalogue(lang)["cli.link.label_left_out"].format(label="Диплом:")
        for wrong in (["--timeout", "never"], ["--node"]):
            refused = CliRunner().invoke(main, ["verify", "--lang", lang, "Диплом:", link,
                                                *wrong])
            assert refused.exit_code == 2, (lang, wrong, refused.output)
            assert note not in refused.stderr, (lang, wrong, refused.stderr)
