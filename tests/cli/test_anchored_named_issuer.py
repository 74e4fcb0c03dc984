"""Who an anchored JSON file names as its issuer (cli.named_issuer): any member may anchor
any bytes, and an employer that anchored a file naming a university as its issuer had it
said VALID, "recorded by" the employer, with nothing more. A file naming a member by its id
other than its recorder's is ISSUER_NOT_RECORDER, exit 1, saying whom it names and who
recorded it; one naming anyone else by a name (another language's, a web address, a DID)
stays VALID, exit 0, with a caution saying whom it names and that the chain shows only who
recorded it, in every language and asked of one node or two: an honest organisation writes
its own name in many forms, and no name ties a file to a member. Every valid anchored
verdict says the chain vouches only for who recorded the file, not for what it says, a
file too large to read as JSON included."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from cli.language import Words
from cli.verify_files import DOCUMENT_FILE_BYTES_MAX
from ledger.anchor_verification import document_hash
from ledger.identity import KeyPair
from ledger.payloads import AnchorPayload
from storage.kv import MemoryStore
from tests.cli.test_verify_document_first import LANGUAGES, senim
from tests.node.api_server import api_core, serving_url
from tests.node.conftest import Consortium, commit, make_consortium, make_tx
from tests.node.engine_node import running_engine

UNIVERSITY = "KazNU"  # tests.node.conftest.make_consortium's university, and its employer:
EMPLOYER = "Kaspi"
ORDER = {"title": "Order 17: graduates of 2026", "rows": [["Aigerim Sarsenova", "3.91"]]}


@dataclass(frozen=True)
class Chain:
    """Two URLs of one node, and how to anchor a file on it as a member."""
    net: Consortium
    urls: tuple[str, str]
    anchor: Callable[[KeyPair, Path], None]


@pytest.fixture
async def chain() -> AsyncIterator[Chain]:
    net = make_consortium()
    kv = MemoryStore()
    core = api_core(net.ministry, net.genesis, kv)

    def anchor(member: KeyPair, path: Path) -> None:
        commit(core.chain, [make_tx(member, AnchorPayload(document_hash(path.read_bytes())))])

    try:
        async with (running_engine(core), serving_url(core, "first") as first,
                    serving_url(core, "second") as second):
            yield Chain(net, (first, second), anchor)
    finally:
        kv.close()


async def verified(path: Path, *args: str, nodes: int = 1, urls: tuple[str, str]) -> Result:
    verify = ["verify", str(path), *(arg for url in urls[:nodes] for arg in ("--node", url)),
              *args]
    return await asyncio.get_running_loop().run_in_executor(None, senim, *verify)


def written(tmp_path: Path, document: Any, name: str = "order.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(document, ensure_ascii=False, indent=1))
    return path


def caution_said(language: str, said: Result, named: str, author: str) -> None:
    words = Words(language)
    english = (f"This file names {named} as its issuer; the chain shows only that {author} "
               "recorded it.")
    sentence = english if language == "en" else words.t(
        "cli.named_issuer.caution", named=named, author=author)
    assert sentence in said.output, said.output


async def verified_valid(path: Path, chain: Chain, named: str | None, author: str) -> None:
    """Valid, asked of one node or two, in --json and in each language; with the caution
    naming `named` when it is given, with none otherwise."""
    for nodes in (1, 2):
        as_json = await verified(path, "--json", nodes=nodes, urls=chain.urls)
        assert as_json.exit_code == 0, as_json.output
        verdict = json.loads(as_json.output)
        assert verdict["status"] == "valid", verdict
        assert verdict["facts"].get("named_issuer") == named, verdict
    for language in LANGUAGES:
        said = await verified(path, "--lang", language, urls=chain.urls)
        assert said.exit_code == 0, said.output
        if named is not None:
            caution_said(language, said, named, author)
        else:
            opening = Words(language).t("cli.named_issuer.caution", named="\0",
                                        author="\0").split("\0")[0]
            assert opening not in said.output, said.output


@pytest.mark.parametrize("issuer", [
    UNIVERSITY, {"name": UNIVERSITY}, {"name": UNIVERSITY, "id": "https://kaznu.kz"},
    [UNIVERSITY], {"name": {"en": UNIVERSITY}}, {"id": UNIVERSITY}, [{"name": UNIVERSITY}],
    [EMPLOYER, {"id": "https://kaznu.kz", "name": UNIVERSITY}]])
async def test_a_file_naming_a_university_by_name_anchored_by_an_employer_is_cautioned(
        tmp_path: Path, chain: Chain, issuer: Any) -> None:
    path = written(tmp_path, {"issuer": issuer, **ORDER})
    chain.anchor(chain.net.employer, path)
    await verified_valid(path, chain, UNIVERSITY, EMPLOYER)


@pytest.mark.parametrize("issuer", [
    "university-id", "0xuniversity-id", {"member_id": "university-id"},
    {"id": "UNIVERSITY-ID"}, {"name": EMPLOYER, "member_id": "university-id"},
    ["university-id"], {"name": "university-id"}, "0xunivers\u200bity-id",
    {"member_id": "\u2060university-id"}, [{"member_id": "university-id", "name": UNIVERSITY}],
    [{"name": EMPLOYER}, {"id": "university-id"}]])
async def test_a_file_naming_another_members_id_is_not_valid(
        tmp_path: Path, chain: Chain, issuer: Any) -> None:
    """By id alone, or with the recorder's own name beside another member's id: an id
    names a member for certain, and every id the issuer gives must be its recorder's,
    wherever it gives it (in a list, as a name) and with an invisible character inside."""
    university_id = chain.net.university.member_id.hex()
    issuer = json.loads(json.dumps(issuer, ensure_ascii=False)
                        .replace("univers\u200bity-id",
                                 university_id[:8] + "\u200b" + university_id[8:])
                        .replace("university-id", university_id)
                        .replace("UNIVERSITY-ID", university_id.upper()))
    path = written(tmp_path, {"issuer": issuer, **ORDER})
    chain.anchor(chain.net.employer, path)
    for nodes in (1, 2):
        as_json = await verified(path, "--json", nodes=nodes, urls=chain.urls)
        assert as_json.exit_code == 1, as_json.output
        verdict = json.loads(as_json.output)
        assert (verdict["valid"], verdict["status"]) == (False, "issuer_not_recorder")
        assert verdict["facts"]["named_issuer"] == university_id, verdict
    for language in LANGUAGES:
        said = await verified(path, "--lang", language, urls=chain.urls)
        assert said.exit_code == 1, said.output
        if language == "en":
            reason = (f"this file names member id {university_id} as its issuer, but it was "
                      f"recorded on the chain by {EMPLOYER}: nothing on the chain shows "
                      f"{university_id} vouched for it")
            assert f"ISSUER_NOT_RECORDER: {reason}" in said.output, said.output
            assert said.output.count("vouched for it") == 1, said.output  # said once
            assert (f"names member id {university_id} as its issuer; recorded by "
                    f"{EMPLOYER}") in said.output, said.output
        else:
            words = Words(language)
            for key in ("cli.status.issuer_not_recorder", "cli.detail.issuer_not_recorder"):
                assert words.t(key, named=university_id,
                               author=EMPLOYER) in said.output, said.output
            # it says what the file gives, a member's id, not that a member is named
            member_id_words = {"kk": "мүше идентификаторы", "ru": "идентификатор участника"}
            assert said.output.count(f"{member_id_words[language]} {university_id}") == 2, \
                said.output


@pytest.mark.parametrize("issuer", [
    UNIVERSITY, "  kaznu\n", "Kaz\u200bNU", {"name": UNIVERSITY},
    {"name": "KAZNU", "id": "https://kaznu.kz"}, {"member_id": "university-id"},
    {"name": UNIVERSITY, "member_id": "university-id"}, "0xuniversity-id",
    {"id": "university-id"}, [{"name": UNIVERSITY, "member_id": "university-id"}],
    {"member_id": "university-id", "id": "https://kaznu.kz"}])
async def test_the_same_file_anchored_by_the_university_it_names_is_valid(
        tmp_path: Path, chain: Chain, issuer: Any) -> None:
    university_id = chain.net.university.member_id.hex()
    issuer = json.loads(json.dumps(issuer).replace("university-id", university_id))
    path = written(tmp_path, {"issuer": issuer, **ORDER})
    chain.anchor(chain.net.university, path)
    await verified_valid(path, chain, None, UNIVERSITY)


@pytest.mark.parametrize(("issuer", "named"), [
    ("Әл-Фараби атындағы ҚазҰУ", "Әл-Фараби атындағы ҚазҰУ"),
    ("https://kaznu.kz", "https://kaznu.kz"), ("did:web:kaznu.kz", "did:web:kaznu.kz"),
    ({"id": "https://kaznu.kz"}, "https://kaznu.kz"),
    ({"name": {"en": UNIVERSITY, "kk": "ҚазҰУ"}}, "ҚазҰУ")])
async def test_a_university_naming_itself_otherwise_stays_valid_with_the_caution(
        tmp_path: Path, chain: Chain, issuer: Any, named: str) -> None:
    """An honest organisation's own file naming it in another language or form: no name
    ties a file to a member, so it is no failure, only a caution."""
    path = written(tmp_path, {"issuer": issuer, **ORDER})
    chain.anchor(chain.net.university, path)
    await verified_valid(path, chain, named, UNIVERSITY)


async def test_a_vc_shaped_file_without_a_context_naming_a_did_is_cautioned(
        tmp_path: Path, chain: Chain) -> None:
    did = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
    path = written(tmp_path, {"type": ["VerifiableCredential"], "issuer": did,
                              "credentialSubject": {"name": "Aigerim Sarsenova"}})
    chain.anchor(chain.net.employer, path)
    await verified_valid(path, chain, did, EMPLOYER)


@pytest.mark.parametrize("export", [
    {"format": "registry-export/2", "rows": [["A", "3.41"]]},  # test_verify_json_anchored's
    {"issuer": EMPLOYER, **ORDER},
    {"issuer": {"name": EMPLOYER, "id": "https://kaspi.kz"}, **ORDER},
    {"format": "hr-export/1", "fields": {"full_name": "Aigerim Sarsenova", "gpa": "3.91"}},
    {"issuer": "", **ORDER},  # names no one
])
async def test_honest_exports_stay_valid_and_say_what_the_chain_vouches_for(
        tmp_path: Path, chain: Chain, export: dict[str, Any]) -> None:
    path = written(tmp_path, export)
    chain.anchor(chain.net.employer, path)
    for nodes in (1, 2):
        checked = await verified(path, "--json", nodes=nodes, urls=chain.urls)
        assert checked.exit_code == 0, checked.output
        assert json.loads(checked.output)["status"] == "valid", checked.output
    for language in LANGUAGES:
        said = await verified(path, "--lang", language, urls=chain.urls)
        assert said.exit_code == 0, said.output
        vouched(language, said)


def vouched(language: str, said: Result) -> None:
    """The valid verdict says the chain vouches only that the employer recorded the file."""
    if language == "en":
        assert (f"recorded by {EMPLOYER}: the chain vouches only that {EMPLOYER} recorded "
                "this very file then, not for anything it says") in said.output, said.output
        return
    sentence = Words(language).t("cli.status.anchored", author=EMPLOYER, when="{when}")
    before, after = sentence.split("{when}")
    assert before in said.output and after in said.output, said.output


async def test_a_file_too_large_to_read_as_json_is_said_to_be_vouched_for_by_its_recorder_alone(
        tmp_path: Path, chain: Chain) -> None:
    """Past DOCUMENT_FILE_BYTES_MAX a file is hashed, never parsed: its issuer cannot be
    read, and the verdict says the chain vouches for none of what it says."""
    padded = json.dumps({"issuer": UNIVERSITY, **ORDER}) + " " * DOCUMENT_FILE_BYTES_MAX
    path = tmp_path / "padded.json"
    path.write_text(padded)
    chain.anchor(chain.net.employer, path)
    for language in LANGUAGES:
        said = await verified(path, "--lang", language, urls=chain.urls)
        assert said.exit_code == 0, said.output
        vouched(language, said)
