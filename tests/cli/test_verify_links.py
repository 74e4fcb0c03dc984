"""`senim verify LINK`: an HR officer who was sent a link checks the document it carries
against a node of their choosing (with --genesis, against no single node), not against
the node the link opens, which whoever sent it chose: a forger's own node would call a
forged diploma genuine."""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import pytest

from cli.language import catalogue
from cli.share_links import LINK_DOCUMENT_BYTES_MAX
from cli.sharing import share_link
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
