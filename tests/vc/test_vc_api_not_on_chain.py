"""A VC no Senim chain records, at the VC-API: a credential anyone signed with a did:key of
their own, naming a university, with a diploma of their choosing. Its proof holds, so the
VC-API says `verified` (the proof checks are all a W3C verifier promises), and it said
nothing else: no warning, where `senim verify` says UNCONFIRMED and the portal says that
anyone can sign one. An HR system reading the answer now gets the warning `not_on_chain`,
and of a presentation, one for each such credential it holds, naming which."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from cli.language import Words
from cli.vc_verify import WARNING_KEYS
from ledger.identity import KeyPair
from ledger.vc.canon import CREDENTIALS_V2
from ledger.vc.didkey import did_key
from ledger.vc.proofs import add_proof
from ledger.vc.verify import verify_vc
from ledger.vc.warning_codes import (
    FIXED,
    NOT_ON_CHAIN,
    STATUS_LIST_NOT_ISSUERS,
    STATUS_LIST_UNCHECKED,
    warning_code,
)
from node.vc_problems import SENIM_PROBLEMS
from tests.vc.conftest import VcNode, post
from tests.vc.test_vc_api import exported
from tests.vc.test_vc_api_answer_schema import check_against_spec
from tests.vc.test_vc_api_presentations import presentation

FORGER = KeyPair.from_seed(b"\x66" * 32)
SIGNED_AT = "2026-07-01T09:00:00Z"


def forged_diploma(name: str = "Aigerim Sarsenova") -> dict[str, Any]:
    """A VC with no `senim` section, signed by a key no member holds, naming KazNU."""
    return add_proof({"@context": [CREDENTIALS_V2], "type": ["VerifiableCredential"],
                      "issuer": {"id": did_key(FORGER.public_key), "name": "KazNU"},
                      "credentialSubject": {"name": name,
                                            "description": "Diploma in Law, GPA 4.0"}},
                     FORGER, SIGNED_AT)


def not_on_chain(answer: dict[str, Any]) -> list[dict[str, Any]]:
    return [w for w in answer["warnings"] if w["code"] == "not_on_chain"]


async def test_a_vc_no_chain_records_verifies_with_the_warning_not_on_chain(
        node: VcNode) -> None:
    spec = await (await node.client.get("/openapi.json")).json()
    answer = await check_against_spec(node, spec, "/credentials/verify",
                                      {"verifiableCredential": forged_diploma()}, 200)
    assert answer["verified"] is True and answer["errors"] == [], answer
    assert answer["warnings"] == [{
        "type": SENIM_PROBLEMS + "not_on_chain", "code": "not_on_chain",
        "title": "not on chain", "detail": NOT_ON_CHAIN}], answer["warnings"]
    # the verdict beside it carries it too, by its code, for a reader in another language
    assert answer["verdict"]["warning_codes"] == ["not_on_chain"], answer["verdict"]
    assert answer["verdict"]["warnings"] == [NOT_ON_CHAIN], answer["verdict"]


async def test_a_senim_vc_the_chain_confirms_carries_no_such_warning(node: VcNode) -> None:
    answer = await post(node, "/credentials/verify",
                        {"verifiableCredential": exported(node, 0)}, 200)
    assert answer["verified"] is True and answer["warnings"] == [], answer["warnings"]
    assert answer["verdict"]["warning_codes"] == [], answer["verdict"]


async def test_a_presentation_warns_of_each_credential_no_chain_records(node: VcNode) -> None:
    spec = await (await node.client.get("/openapi.json")).json()
    vp = presentation([exported(node, 0), forged_diploma(), forged_diploma("Dana Bekova")])
    answer = await check_against_spec(
        node, spec, "/presentations/verify",
        {"verifiablePresentation": vp, "options": {"challenge": "c-1"}}, 200)
    assert answer["verified"] is True, answer
    # the Senim diploma (index 0) is confirmed by the chain; the other two only signed
    assert [(w["credential"], w["type"], w["detail"]) for w in not_on_chain(answer)] == [
        (1, SENIM_PROBLEMS + "not_on_chain", NOT_ON_CHAIN),
        (2, SENIM_PROBLEMS + "not_on_chain", NOT_ON_CHAIN)], answer["warnings"]
    # the presentation's own warnings are as before, and name no credential
    assert [w["code"] for w in answer["warnings"] if "credential" not in w] == [
        "not_checked"], answer["warnings"]  # holder_not_subject
    assert [c["warning_codes"] for c in answer["verdict"]["credentials"]] == [
        [], ["not_on_chain"], ["not_on_chain"]], answer["verdict"]["credentials"]


async def test_a_presentation_that_fails_still_says_which_no_chain_records(
        node: VcNode) -> None:
    altered = exported(node, 0)
    altered["credentialSubject"]["fields"]["full_name"] = "Someone Else"
    vp = presentation([altered, forged_diploma()])
    answer = await post(node, "/presentations/verify",
                        {"verifiablePresentation": vp, "options": {"challenge": "c-1"}}, 400)
    assert answer["verified"] is False, answer
    assert [w["credential"] for w in not_on_chain(answer)] == [1], answer["warnings"]


def test_the_ledger_gives_the_warning_only_to_a_valid_vc_with_no_senim_section() -> None:
    now = datetime(2026, 8, 1, tzinfo=UTC)
    verdict = verify_vc(forged_diploma(), now)
    assert verdict.valid and verdict.warnings == [NOT_ON_CHAIN], verdict
    assert warning_code(NOT_ON_CHAIN) == ("not_on_chain", None)
    assert FIXED[NOT_ON_CHAIN] == "not_on_chain"
    altered = forged_diploma()
    altered["credentialSubject"]["description"] = "Diploma in Medicine, GPA 4.0"
    refused = verify_vc(altered, now)
    assert refused.status == "tampered" and refused.warnings == [], refused


@pytest.mark.parametrize("lang", ["en", "kk", "ru"])
def test_every_warning_code_has_words_on_the_command_line(lang: str) -> None:
    # as the portal's test asserts of the page (tests/browser/test_portal_bundle.py): a
    # code with no words was said in English, whatever the reader's language. All but
    # not_on_chain, which `senim verify` says as its verdict (UNCONFIRMED) and never as a
    # note under it (cli.vc_verify.unconfirmed; tests/cli/test_files_not_credentials.py):
    # words for it were words no reader was shown.
    codes = {*FIXED.values(), STATUS_LIST_UNCHECKED, STATUS_LIST_NOT_ISSUERS} - {"not_on_chain"}
    assert codes <= set(WARNING_KEYS), sorted(codes - set(WARNING_KEYS))
    words = Words(lang)
    for code in codes:
        assert words.has(WARNING_KEYS[code]), (lang, code)
    assert "not_on_chain" not in WARNING_KEYS and not words.has("cli.vc.not_on_chain")
