"""`senim export-vc` of a credential whose issuer.name its holder rewrote: that name is in
no hash, so `senim verify` still says VALID, and the file's "Harvard University" was signed
into the VC's issuer.name (what other wallets show) under KazNU's own key. The VC now
carries the chain's name of the issuer; a file naming its issuer otherwise (as
cli.member_names compares names) is refused, exit 2, in the registrar's language."""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from cli.link_arguments import EXTRA_SHOWN_MAX
from ledger.credentials import make_batch
from ledger.payloads import IssueBatchPayload
from node.files import save_key
from storage.kv import MemoryStore
from tests.cli.test_ministry_languages import senim
from tests.node.api_server import api_core, serving_url
from tests.node.conftest import (
    CHAIN_ID,
    Consortium,
    accredit,
    commit,
    documents_of,
    make_consortium,
    make_tx,
)

CHAIN_NAME = "KazNU"  # the university's name in make_consortium's genesis


@pytest.fixture
def net() -> Consortium:
    return make_consortium()


@pytest.fixture
async def issued(net: Consortium, tmp_path: Path) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    """A node holding one diploma of KazNU's, and that diploma as issued."""
    kv = MemoryStore()
    core = api_core(net.ministry, net.genesis, kv)
    commit(core.chain, [accredit(net, net.university, ["diploma"])])
    batch = make_batch([{"full_name": "Aigerim Sarsenova", "gpa": "3.41"}], "diploma",
                       CHAIN_ID, net.university.member_id, CHAIN_NAME)
    commit(core.chain, [make_tx(net.university, IssueBatchPayload("diploma", batch.root, 1))])
    save_key(tmp_path / "kaznu.key", net.university)
    try:
        async with serving_url(core) as url:
            yield url, documents_of(batch)[0]
    finally:
        kv.close()


def named(document: dict[str, Any], name: object, folder: Path) -> Path:
    renamed = copy.deepcopy(document)
    renamed["issuer"]["name"] = name
    path = folder / "diploma.json"
    path.write_text(json.dumps(renamed, ensure_ascii=False), encoding="utf-8")
    return path


async def export(path: Path, url: str, folder: Path, *extra: str) -> tuple[Any, Path]:
    out = folder / "diploma.vc.json"
    out.unlink(missing_ok=True)
    result = await senim("export-vc", str(path), "--key", str(folder / "kaznu.key"), "--out",
                         str(out), "--node", url, *extra)
    return result, out


async def test_a_name_the_holder_wrote_is_refused_and_no_vc_written(
        issued: tuple[str, dict[str, Any]], tmp_path: Path) -> None:
    url, document = issued
    for forged in ("Harvard University", "КаzNU"):  # the second's К and а are Cyrillic
        path = named(document, forged, tmp_path)
        native = await senim("verify", str(path), "--node", url, "--lang", "en")
        assert native.exit_code == 0, native.output  # the name is in no hash
        result, out = await export(path, url, tmp_path, "--lang", "en")
        assert result.exit_code == 2, result.output
        assert repr(forged) in result.output and CHAIN_NAME in result.output, result.output
        assert "was edited after it was issued" in result.output, result.output
        assert not out.exists()
    for lang, said in (("kk", "берілгеннен кейін өзгертілген"), ("ru", "изменён после выдачи")):
        result, out = await export(named(document, "Harvard University", tmp_path), url,
                                   tmp_path, "--lang", lang)
        assert result.exit_code == 2 and said in result.output, result.output
        assert not out.exists()


async def test_the_vc_carries_the_chains_name(issued: tuple[str, dict[str, Any]],
                                              tmp_path: Path) -> None:
    """As issued, or the name read as the same (case, spaces): the VC says the chain's."""
    url, document = issued
    for written in (CHAIN_NAME, "  kaznu "):
        result, out = await export(named(document, written, tmp_path), url, tmp_path,
                                   "--lang", "en")
        assert result.exit_code == 0, result.output
        assert json.loads(out.read_text())["issuer"]["name"] == CHAIN_NAME
        checked = await senim("verify", str(out), "--node", url, "--lang", "en")
        assert checked.exit_code == 0, checked.output


async def test_a_long_name_is_shown_briefly(issued: tuple[str, dict[str, Any]],
                                            tmp_path: Path) -> None:
    """A 5,000-character name was printed whole, and one with a terminal's escape as it was."""
    url, document = issued
    for forged in ("x" * 5000, "Kaz\x1b[31mNU"):
        result, out = await export(named(document, forged, tmp_path), url, tmp_path,
                                   "--lang", "en")
        assert result.exit_code == 2, result.output
        assert "was edited after it was issued" in result.output, result.output
        assert "x" * (EXTRA_SHOWN_MAX + 1) not in result.output and "\x1b" not in (
            result.output), result.output
        assert not out.exists()


@pytest.mark.parametrize("language, said", [
    ("en", "it names no issuer, but the chain's name of that member is KazNU"),
    ("kk", "онда құжатты берген ұйымның атауы жоқ"),
    ("ru", "в нём не названа выдавшая организация"),
])
async def test_a_file_naming_no_issuer_is_said_to(issued: tuple[str, dict[str, Any]],
                                                  tmp_path: Path, language: str,
                                                  said: str) -> None:
    """A name null, empty, blank or not text, or none at all, was shown as 'None', '' or
    '123': the file names no issuer, and is refused saying so."""
    url, document = issued
    unnamed = copy.deepcopy(document)
    del unnamed["issuer"]["name"]
    (tmp_path / "unnamed.json").write_text(json.dumps(unnamed), encoding="utf-8")
    for name in (None, "", "  ", 123, "absent"):
        path = (tmp_path / "unnamed.json" if name == "absent"
                else named(document, name, tmp_path))
        result, out = await export(path, url, tmp_path, "--lang", language)
        assert result.exit_code == 2, result.output
        assert said in " ".join(result.output.split()), result.output
        assert "None" not in result.output and "''" not in result.output, result.output
        assert not out.exists()
