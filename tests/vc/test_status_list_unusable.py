"""A status list that cannot be read for a credential's entry: not a status list at all,
not for the entry's purpose, an encodedList that does not decode, or too short for the
entry's index. The verdict was "malformed", which `senim verify` and the portal say as a
damaged credential; it is the list that is wrong, and what that leaves unknown is the
revocation status. The verdict is now "unknown", as of an out-of-date list, with `facts`
naming what was wrong. And a verdict's warnings come with their codes."""

from __future__ import annotations

import base64
import gzip
from typing import Any

import pytest

from ledger.identity import KeyPair
from ledger.vc.canon import CREDENTIALS_V2
from ledger.vc.didkey import did_key
from ledger.vc.proofs import add_proof
from ledger.vc.status import status_entry, status_list_credential
from ledger.vc.verify import VcVerdict, verify_vc
from ledger.vc.warning_codes import NOT_ON_CHAIN, list_unchecked, warning_code
from tests.vc.conftest import NOW

ISSUER = KeyPair.from_seed(b"\x61" * 32)
URL = "https://issuer.example/lists/1"
SIGNED_AT = "2029-12-31T23:55:00Z"


def _list(**changes: Any) -> dict[str, Any]:
    """The issuer's list of 16 credentials, changed as given (`subject_as` its subject's
    whole), then signed by the issuer."""
    listed = status_list_credential(URL, did_key(ISSUER.public_key), SIGNED_AT, [3], 16)
    subject = changes.pop("subject_as", None) or {**listed["credentialSubject"],
                                                   **changes.pop("subject", {})}
    return add_proof({**listed, "credentialSubject": subject, **changes}, ISSUER, SIGNED_AT)


def _vc(entry: dict[str, Any]) -> dict[str, Any]:
    return add_proof({
        "@context": [CREDENTIALS_V2], "type": ["VerifiableCredential"],
        "issuer": did_key(ISSUER.public_key), "validFrom": "2024-06-01T00:00:00Z",
        "credentialSubject": {"id": "did:example:graduate", "name": "A. Graduate"},
        "credentialStatus": entry}, ISSUER, "2024-06-01T00:00:00Z")


def _verified(listed: Any, entry: dict[str, Any] | None = None) -> VcVerdict:
    return verify_vc(_vc(entry or status_entry(URL, 3)), NOW, None, None, {URL: listed}.get)


UNUSABLE: dict[str, tuple[dict[str, Any], str, str]] = {
    "no list credential": ({"type": ["VerifiableCredential"]}, "not_a_status_list",
                           "not a BitstringStatusListCredential"),
    "an entry for its subject": ({"subject_as": status_entry(URL, 3)}, "not_a_status_list",
                                 "subject is not a BitstringStatusList"),
    "another purpose": ({"subject": {"statusPurpose": "suspension"}}, "not_for_purpose",
                        "not for 'revocation'"),
    "no multibase": ({"subject": {"encodedList": "H4sI"}}, "undecodable",
                     "encodedList must be multibase"),
    "no gzip": ({"subject": {"encodedList": "uAAAA"}}, "undecodable", "does not decode"),
    "too short": ({"subject": {"encodedList": "u" + base64.urlsafe_b64encode(
        gzip.compress(bytes(16), mtime=0)).decode().rstrip("=")}}, "undecodable",
        "wrong length"),
}


@pytest.mark.parametrize("case", UNUSABLE)
def test_an_unusable_list_leaves_the_status_unconfirmed_not_the_credential_malformed(
        case: str) -> None:
    changes, problem, said = UNUSABLE[case]
    verdict = _verified(_list(**changes))
    assert (verdict.valid, verdict.status) == (False, "unknown"), verdict.to_json()
    assert verdict.facts["status_list_problem"] == problem, verdict.facts
    assert verdict.reason.startswith("the revocation status could not be confirmed: "), \
        verdict.reason
    assert said in verdict.reason and "do not rely on the credential" in verdict.reason
    assert [c.name for c in verdict.checks if not c.ok] == ["status"]


def test_the_facts_name_the_purpose_and_the_index_the_list_lacks() -> None:
    suspension = {**status_entry(URL, 3), "statusPurpose": "suspension"}
    verdict = _verified(_list(), suspension)
    assert verdict.facts == {"status_list_problem": "not_for_purpose",
                             "status_list_purpose": "suspension"}, verdict.facts
    beyond = _verified(_list(), status_entry(URL, 200_000))  # the list holds 131,072
    assert (beyond.status, beyond.facts) == ("unknown", {
        "status_list_problem": "index_outside", "status_list_index": 200_000}), beyond.facts
    assert "holds 131072 entries" in beyond.reason, beyond.reason


def test_an_entry_of_no_purpose_is_the_credentials_own_fault() -> None:
    entry = {k: v for k, v in status_entry(URL, 3).items() if k != "statusPurpose"}
    verdict = _verified(_list(), entry)
    assert verdict.status == "malformed" and "statusPurpose" in verdict.reason


def test_a_usable_list_is_still_read() -> None:
    assert _verified(_list()).status == "revoked"
    assert _verified(_list(), status_entry(URL, 2)).status == "valid"


def test_each_warning_comes_with_its_code_in_order() -> None:
    unread = verify_vc(_vc(status_entry(URL, 3)), NOW)  # no lookup: the list is not read
    body = unread.to_json()
    # a VC with no senim section: no chain records it, said last
    assert body["warnings"] == [list_unchecked(URL), NOT_ON_CHAIN]
    assert body["warning_codes"] == ["status_list_unchecked", "not_on_chain"]
    assert warning_code(list_unchecked("http://a b\nc")) == ("status_list_unchecked",
                                                            "http://a b\nc")
    assert warning_code("something no verifier said") == ("other", None)
