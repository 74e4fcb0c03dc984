"""`senim verify` of a W3C VC whose status list, fetched from the address the VC names,
cannot be read for it: not a status list at all, not for the purpose its entry names, an
encodedList that does not decode, or too short for its index. Each was said as a
malformed credential ("not a Senim credential, or damaged"), of a credential whose
signature holds; now, as of an out-of-date list, that its revocation status is not
confirmed and what was wrong with the list, in kk, ru and en, exit 1."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cli.language import Words
from ledger.vc.canon import CREDENTIALS_V2
from ledger.vc.didkey import did_key
from ledger.vc.proofs import add_proof
from ledger.vc.status import status_entry, status_list_credential
from tests.cli.test_verifier_lines_translated import english_in
from tests.cli.test_verify_stale_status_list import ISSUER, ListServer, lists, verify

__all__ = ["lists"]  # the fixture, shared
SIGNED_AT = "2025-01-01T00:00:00Z"
# (what the list is, the entry's purpose and index) by the problem the facts name
CASES: dict[str, tuple[dict[str, Any], str, int]] = {
    "not_a_status_list": ({"type": ["VerifiableCredential"]}, "revocation", 3),
    "not_for_purpose": ({}, "suspension", 3),
    "undecodable": ({"subject": {"encodedList": "uAAAA"}}, "revocation", 3),
    "index_outside": ({}, "revocation", 200_000),
}
# What each language said before: a file that is no credential, or a damaged one.
SAID_MALFORMED = {"kk": "бүлінген", "ru": "повреждён", "en": "MALFORMED"}


def vc_with_unusable_list(server: ListServer, tmp_path: Path, problem: str) -> Path:
    changes, purpose, index = CASES[problem]
    issuer, url = did_key(ISSUER.public_key), f"{server.url}/lists/{problem}"
    listed = status_list_credential(url, issuer, SIGNED_AT, [], 16)
    listed["credentialSubject"].update(changes.get("subject", {}))
    listed.update({k: v for k, v in changes.items() if k != "subject"})
    server.lists[f"/lists/{problem}"] = add_proof(listed, ISSUER, SIGNED_AT)
    vc = add_proof({
        "@context": [CREDENTIALS_V2], "type": ["VerifiableCredential"], "issuer": issuer,
        "validFrom": "2024-06-01T00:00:00Z",
        "credentialSubject": {"id": "did:example:graduate", "name": "A. Graduate"},
        "credentialStatus": {**status_entry(url, index), "statusPurpose": purpose}},
        ISSUER, "2024-06-01T00:00:00Z")
    file = tmp_path / f"{problem}.vc.json"
    file.write_text(json.dumps(vc), encoding="utf-8")
    return file


@pytest.mark.parametrize("problem", CASES)
def test_the_json_verdict_is_unknown_and_names_what_was_wrong(
        lists: ListServer, tmp_path: Path, problem: str) -> None:
    result = verify(vc_with_unusable_list(lists, tmp_path, problem), "--json")
    verdict = json.loads(result.output)
    assert result.exit_code == 1 and (verdict["valid"], verdict["status"]) == (
        False, "unknown"), verdict
    assert verdict["facts"]["status_list_problem"] == problem, verdict
    assert verdict["reason"].startswith("the revocation status could not be confirmed"), \
        verdict["reason"]
    assert [c["check"] for c in verdict["checks"] if not c["ok"]] == ["status"], verdict


@pytest.mark.parametrize("problem", CASES)
@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_the_officer_reads_that_no_revocation_status_was_confirmed(
        lists: ListServer, tmp_path: Path, problem: str, lang: str) -> None:
    result = verify(vc_with_unusable_list(lists, tmp_path, problem), "--lang", lang)
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    headline, status_line = lines[0], next(line for line in lines if "✘" in line)
    assert SAID_MALFORMED[lang] not in result.output, result.output
    if lang == "en":  # English says the ledger's own words
        assert headline.startswith("UNKNOWN: the revocation status could not be confirmed"), \
            headline
        assert "do not rely on the credential" in headline, headline
        return
    words = Words(lang)
    assert headline == words.t("cli.status.status_list_unusable"), headline
    detail = words.t(f"cli.detail.status_list_{problem}", purpose="suspension",
                     index="200000")
    assert status_line.endswith(words.t("check.status") + ": " + detail), status_line
    assert not english_in(result.output), result.output
