"""`senim verify` of a Senim W3C VC whose issuer.name is not the chain's name of its member.
The name is in the VC's proof but in no hash the chain holds: a VC exported before `senim
export-vc` signed the chain's spelling, or one its issuer signed by other means, may name
"Harvard University" for the member the chain records as KazNU. `senim verify` said VALID,
"issued by KazNU", and nothing of the name the credential itself shows (what a wallet shows).
It stays VALID, with a caution line in the reader's language and the fact `named_issuer`
in --json (cli.named_issuer.vc_issuer_checked); a name that is another member's id is
ISSUER_NOT_RECORDER, as in an anchored file. A VC signed by another member's did:key was
refused before (TAMPERED: ledger.vc.issuer_keys), and still is."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cli.language import Words
from ledger.credentials import make_batch
from ledger.payloads import IssueBatchPayload
from ledger.vc.didkey import did_key
from ledger.vc.export import to_vc
from ledger.vc.proofs import add_proof
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
HARVARD = "Harvard University"


@dataclass(frozen=True)
class Issued:
    url: str
    document: dict[str, Any]
    net: Consortium


@pytest.fixture
async def issued() -> AsyncIterator[Issued]:
    """A node holding one diploma of KazNU's, and that diploma as issued."""
    net = make_consortium()
    kv = MemoryStore()
    core = api_core(net.ministry, net.genesis, kv)
    commit(core.chain, [accredit(net, net.university, ["diploma"])])
    batch = make_batch([{"full_name": "Aigerim Sarsenova", "gpa": "3.41"}], "diploma",
                       CHAIN_ID, net.university.member_id, CHAIN_NAME)
    commit(core.chain, [make_tx(net.university, IssueBatchPayload("diploma", batch.root, 1))])
    try:
        async with serving_url(core) as url:
            yield Issued(url, documents_of(batch)[0], net)
    finally:
        kv.close()


def vc_naming(issued: Issued, name: Any, folder: Path) -> Path:
    """KazNU's diploma as a VC signed by KazNU, its issuer.name `name`."""
    now = int(time.time() * 1000)
    vc = to_vc(issued.document, issued.net.university, issued.url, 2, now, now,
               issuer_name=name)
    path = folder / "diploma.vc.json"
    path.write_text(json.dumps(vc, ensure_ascii=False), encoding="utf-8")
    return path


async def as_json(path: Path, issued: Issued) -> tuple[int, dict[str, Any]]:
    result = await senim("verify", str(path), "--node", issued.url, "--json")
    return result.exit_code, json.loads(result.output)


def flat(output: str) -> str:
    return " ".join(output.split())


@pytest.mark.parametrize("name", [HARVARD, "КаzNU"])  # the second's К and а are Cyrillic
async def test_a_vc_naming_another_issuer_is_valid_with_a_caution(
        issued: Issued, tmp_path: Path, name: str) -> None:
    path = vc_naming(issued, name, tmp_path)
    code, verdict = await as_json(path, issued)
    assert code == 0 and verdict["status"] == "valid", verdict
    assert verdict["facts"]["named_issuer"] == name, verdict
    assert verdict["facts"]["issuer"] == CHAIN_NAME, verdict
    result = await senim("verify", str(path), "--node", issued.url, "--lang", "en")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("VALID"), result.output
    assert (f"This credential names {name} as its issuer; the chain records it as issued "
            f"by {CHAIN_NAME}.") in flat(result.output), result.output


@pytest.mark.parametrize("language", ["kk", "ru"])
async def test_the_caution_is_said_in_the_readers_language(
        issued: Issued, tmp_path: Path, language: str) -> None:
    path = vc_naming(issued, HARVARD, tmp_path)
    result = await senim("verify", str(path), "--node", issued.url, "--lang", language)
    assert result.exit_code == 0, result.output
    said = {"kk": f"Бұл құжатта оны берген ұйым ретінде «{HARVARD}» аталған; тізбекте ол "
                  f"«{CHAIN_NAME}» берген құжат ретінде тіркелген.",
            "ru": f"В этом документе выдавшей его организацией названа «{HARVARD}»; в "
                  f"цепочке он записан как выданный организацией «{CHAIN_NAME}»."}[language]
    assert said == Words(language).t("cli.named_issuer.vc_caution", named=HARVARD,
                                     issuer=CHAIN_NAME)
    assert said in flat(result.output), result.output
    assert "This credential names" not in result.output, result.output


@pytest.mark.parametrize("name", [CHAIN_NAME, "  kaznu ", "Kaz\u200bNU"])
async def test_the_chains_own_name_draws_no_caution(issued: Issued, tmp_path: Path,
                                                     name: str) -> None:
    """Case, spaces and an invisible character read as the same name."""
    code, verdict = await as_json(vc_naming(issued, name, tmp_path), issued)
    assert code == 0 and verdict["status"] == "valid", verdict
    assert "named_issuer" not in verdict["facts"], verdict
    result = await senim("verify", str(vc_naming(issued, name, tmp_path)), "--node",
                         issued.url, "--lang", "en")
    assert result.exit_code == 0 and "names" not in result.output, result.output


async def test_a_name_that_is_another_members_id_is_refused(issued: Issued,
                                                            tmp_path: Path) -> None:
    employer = issued.net.employer.member_id.hex()
    path = vc_naming(issued, employer, tmp_path)
    code, verdict = await as_json(path, issued)
    assert code == 1 and verdict["status"] == "issuer_not_recorder", verdict
    assert verdict["facts"]["named_issuer"] == employer, verdict
    result = await senim("verify", str(path), "--node", issued.url, "--lang", "en")
    assert result.exit_code == 1, result.output
    assert (f"this credential names member id {employer} as its issuer, but the chain "
            f"records it as issued by {CHAIN_NAME}") in flat(result.output), result.output
    assert "Do not rely on it." in flat(result.output), result.output
    result = await senim("verify", str(path), "--node", issued.url, "--lang", "ru")
    assert result.exit_code == 1, result.output
    assert (f"В этом документе выдавшей его организацией назван идентификатор участника "
            f"{employer}, но в цепочке он записан как выданный организацией «{CHAIN_NAME}»"
            ) in flat(result.output), result.output
    assert "Не полагайтесь на него." in flat(result.output), result.output
    # its own member id, as any case of it, is its name
    own = issued.net.university.member_id.hex().upper()
    code, verdict = await as_json(vc_naming(issued, own, tmp_path), issued)
    assert code == 0 and "named_issuer" not in verdict["facts"], verdict


async def test_a_vc_signed_by_another_members_key_stays_tampered(issued: Issued,
                                                                 tmp_path: Path) -> None:
    now = int(time.time() * 1000)
    vc = to_vc(issued.document, issued.net.university, issued.url, 2, now, now)
    del vc["proof"]
    vc["issuer"]["id"] = did_key(issued.net.employer.public_key)
    signed = add_proof(vc, issued.net.employer, "2026-01-01T00:00:00Z")
    path = tmp_path / "forged.vc.json"
    path.write_text(json.dumps(signed), encoding="utf-8")
    code, verdict = await as_json(path, issued)
    assert code == 1 and verdict["status"] == "tampered", verdict
    assert verdict["facts"]["did_key"] == "not_the_issuers", verdict


@pytest.mark.parametrize(("name", "named"), [
    ({"@value": CHAIN_NAME, "@language": "en"}, None),  # VC 2.0's language value object
    ([CHAIN_NAME, {"@value": CHAIN_NAME, "@language": "kk"}], None),
    ([HARVARD], HARVARD),
    ([{"@value": HARVARD, "@language": "en"}], HARVARD),
    ([CHAIN_NAME, HARVARD], HARVARD),
    (f"«{CHAIN_NAME}»", None),
    (f"«{HARVARD}»", HARVARD)])
async def test_issuer_name_is_read_as_vc_2_defines_it(issued: Issued, tmp_path: Path,
                                                      name: Any, named: str | None) -> None:
    """A string, a language value object (its @value), or a list of either; a name in
    quotes is the name in them."""
    code, verdict = await as_json(vc_naming(issued, name, tmp_path), issued)
    assert code == 0 and verdict["status"] == "valid", verdict
    assert verdict["facts"].get("named_issuer") == named, verdict


async def test_a_list_naming_another_members_id_is_refused(issued: Issued,
                                                           tmp_path: Path) -> None:
    employer = issued.net.employer.member_id.hex()
    path = vc_naming(issued, [CHAIN_NAME, {"@value": employer, "@language": "en"}], tmp_path)
    code, verdict = await as_json(path, issued)
    assert code == 1 and verdict["status"] == "issuer_not_recorder", verdict


@pytest.mark.parametrize("language", ["kk", "ru"])
async def test_a_name_in_guillemets_is_not_quoted_twice(issued: Issued, tmp_path: Path,
                                                        language: str) -> None:
    path = vc_naming(issued, f"«{HARVARD}»", tmp_path)
    result = await senim("verify", str(path), "--node", issued.url, "--lang", language)
    assert result.exit_code == 0, result.output
    assert f"«{HARVARD}»" in flat(result.output) and "««" not in result.output, result.output
