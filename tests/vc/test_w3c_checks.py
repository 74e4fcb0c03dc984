"""The checks of the W3C suites (VC DM 2.0, Data Integrity EdDSA, Bitstring Status
List), run by hand: the suites themselves install from GitHub, which this build
cannot reach. Each case is a verifier MUST the suites exercise; the fixtures are
written here, in the spirit of theirs."""

from __future__ import annotations

import base64
import copy
import gzip
from collections.abc import Callable
from typing import Any

import pytest

from ledger.errors import InvalidDocument
from ledger.identity import KeyPair
from ledger.vc.canon import CREDENTIALS_V2
from ledger.vc.didkey import did_key, multibase_encode
from ledger.vc.presentation import verify_presentation
from ledger.vc.proofs import add_proof, verify_proof
from ledger.vc.status import MIN_LIST_BITS, status_entry, status_list_credential
from ledger.vc.verify import verify_vc
from tests.vc.conftest import NOW

ISSUER = KeyPair.from_seed(b"\x31" * 32)
CREATED = "2025-01-01T00:00:00Z"
LIST_URL = "https://status.example/lists/1"


def credential(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "@context": [CREDENTIALS_V2], "type": ["VerifiableCredential"],
        "issuer": did_key(ISSUER.public_key), "validFrom": "2024-01-01T00:00:00Z",
        "credentialSubject": {"id": "did:example:subject", "name": "A. Graduate"}}
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def signed(**changes: Any) -> dict[str, Any]:
    return add_proof(credential(**changes), ISSUER, CREATED)


# --- VC Data Model 2.0 -------------------------------------------------------------

DATA_MODEL_FAILURES: list[tuple[str, dict[str, Any]]] = [
    ("base context missing", credential(**{"@context": ["https://w3id.org/security/multikey/v1"]})),
    ("base context not first", credential(**{"@context": ["https://w3id.org/security/multikey/v1",
                                                          CREDENTIALS_V2]})),
    ("context not a URL", credential(**{"@context": [CREDENTIALS_V2,
                                                     "https ://not-a-url/ctx/v1"]})),
    ("id not a URL", credential(id="not a url")),
    ("id not single", credential(id=["urn:uuid:1", "urn:uuid:2"])),
    ("no type", credential(type=None)),
    ("VerifiableCredential type missing", credential(type=["AlumniCredential"])),
    ("type not mapped to a URL", credential(type=["VerifiableCredential", "Unmapped"])),
    ("issuer missing", credential(issuer=None)),
    ("issuer not a URL", credential(issuer="not a url")),
    ("issuer object without id", credential(issuer={"name": "KazNU"})),
    ("subject missing", credential(credentialSubject=None)),
    ("subject empty", credential(credentialSubject={})),
    ("subject id not a URL", credential(credentialSubject={"id": "subject 1"})),
    ("validFrom not a dateTimeStamp", credential(validFrom="2024-01-01")),
    ("validUntil in the past", credential(validUntil="2025-01-01T00:00:00Z")),
    ("validFrom in the future", credential(validFrom="2099-01-01T00:00:00Z")),
    ("status without type", credential(credentialStatus={"id": "https://status.example/1"})),
    ("evidence without type", credential(evidence={"id": "https://evidence.example/1"})),
    ("termsOfUse without type", credential(termsOfUse={"id": "https://tou.example/1"})),
    ("schema without type", credential(credentialSchema={"id": "https://schema.example/1"})),
]


@pytest.mark.parametrize(("case", "document"), DATA_MODEL_FAILURES,
                         ids=[c[0] for c in DATA_MODEL_FAILURES])
def test_data_model_violations_are_refused_signed_or_not(case: str,
                                                         document: dict[str, Any]) -> None:
    assert not verify_vc(document, NOW).valid, case
    try:
        secured = add_proof(document, ISSUER, CREATED)
    except InvalidDocument:  # the issuer refusing to sign it passes too
        return
    assert not verify_vc(secured, NOW).valid, case


DATA_MODEL_OK: list[tuple[str, dict[str, Any]]] = [
    ("minimal", credential()),
    ("issuer object", credential(issuer={"id": did_key(ISSUER.public_key), "name": "KazNU"})),
    ("several subjects", credential(credentialSubject=[{"id": "did:example:1"},
                                                       {"name": "B"}])),
    ("names and descriptions in languages", credential(
        name=[{"@value": "Диплом", "@language": "kk"}, {"@value": "Diploma", "@language": "en"}],
        description="Bachelor's diploma")),
    ("evidence and terms with types (as URLs)", credential(
        evidence={"type": ["https://vocab.example/Evidence"], "id": "https://evidence.example/1"},
        termsOfUse={"type": "https://vocab.example/TrustFrameworkPolicy"})),
    ("id as a URN", credential(id="urn:uuid:2f0b8d3c-4c3a-4f6e-9d6a-6a7f2b0c1d2e")),
    ("no validity period", credential(validFrom=None)),
]


@pytest.mark.parametrize(("case", "document"), DATA_MODEL_OK, ids=[c[0] for c in DATA_MODEL_OK])
def test_conforming_credentials_are_issued_and_verify(case: str,
                                                      document: dict[str, Any]) -> None:
    verdict = verify_vc(add_proof(document, ISSUER, CREATED), NOW)
    assert verdict.valid, (case, verdict.to_json())


def test_presentation_data_model() -> None:
    holder = KeyPair.from_seed(b"\x32" * 32)

    def vp(**changes: Any) -> dict[str, Any]:
        document = {"@context": [CREDENTIALS_V2], "type": ["VerifiablePresentation"],
                    "holder": did_key(holder.public_key), "verifiableCredential": [signed()]}
        document.update(changes)
        return {k: v for k, v in document.items() if v is not None}

    def check(document: dict[str, Any]) -> bool:
        if "type" in document and "VerifiablePresentation" not in document["type"]:
            return verify_presentation(document, NOW, "c", None).valid
        try:
            secured = add_proof(document, holder, CREATED, purpose="authentication",
                                challenge="c")
        except InvalidDocument:
            return False
        return verify_presentation(secured, NOW, "c", None).valid

    assert check(vp())
    assert check(vp(verifiableCredential=None, holder=None))  # both optional
    assert check(vp(verifiableCredential=[]))
    assert not check(vp(type=["Presentation"]))
    assert not check(vp(holder="not a url"))
    assert not check(vp(verifiableCredential=[credential(type=["Nope"])]))


# --- Data Integrity EdDSA (eddsa-rdfc-2022) ------------------------------------------

def _proof(change: Callable[[dict[str, Any]], Any]) -> dict[str, Any]:
    document = signed()
    change(document["proof"])
    return document


DI_FAILURES: list[tuple[str, dict[str, Any]]] = [
    ("no proof", credential()),
    ("proof type not DataIntegrityProof",
     _proof(lambda p: p.update(type="Ed25519Signature2020"))),
    ("other cryptosuite", _proof(lambda p: p.update(cryptosuite="eddsa-jcs-2022"))),
    ("proofValue not base58btc", _proof(lambda p: p.update(
        proofValue="u" + base64.urlsafe_b64encode(b"\0" * 64).decode().rstrip("=")))),
    ("proofValue not 64 bytes", _proof(lambda p: p.update(
        proofValue=multibase_encode(b"\1" * 32)))),
    ("created not a dateTime", _proof(lambda p: p.update(created="yesterday"))),
    ("proof expired", _proof(lambda p: p.update(expires="2025-06-01T00:00:00Z"))),
    ("wrong proofPurpose", _proof(lambda p: p.update(proofPurpose="authentication"))),
    ("verificationMethod not the issuer's", _proof(lambda p: p.update(
        verificationMethod=f"{did_key(b'1' * 32)}#{did_key(b'1' * 32)[8:]}"))),
    ("proof @context not the document's", _proof(lambda p: p.update(
        **{"@context": ["https://w3id.org/security/data-integrity/v2"]}))),
    ("signature of another document", _proof(lambda p: p.update(
        proofValue=signed(validFrom="2024-02-01T00:00:00Z")["proof"]["proofValue"]))),
]


@pytest.mark.parametrize(("case", "document"), DI_FAILURES, ids=[c[0] for c in DI_FAILURES])
def test_data_integrity_violations_are_refused(case: str, document: dict[str, Any]) -> None:
    verdict = verify_vc(document, NOW)
    assert not verdict.valid, case


def test_created_proof_has_the_suite_shape() -> None:
    proof = signed()["proof"]
    assert proof["type"] == "DataIntegrityProof" and proof["cryptosuite"] == "eddsa-rdfc-2022"
    assert proof["proofPurpose"] == "assertionMethod" and proof["proofValue"].startswith("z")
    method = proof["verificationMethod"]
    assert method.startswith("did:key:z6Mk") and method.split("#")[1] == method[8:].split("#")[0]
    assert "proofValue" in proof and verify_proof(signed()).ok


# --- Bitstring Status List -----------------------------------------------------------

def status_list(purpose: Any = "revocation", revoked: tuple[int, ...] = (),
                **changes: Any) -> dict[str, Any]:
    listed = status_list_credential(LIST_URL, did_key(ISSUER.public_key), CREATED,
                                    revoked, 100)
    listed["credentialSubject"]["statusPurpose"] = purpose
    listed.update(changes)
    return add_proof({k: v for k, v in listed.items() if v is not None}, ISSUER, CREATED)


def with_status(index: int, purpose: str, listed: dict[str, Any]) -> tuple[bool, str]:
    entry = {**status_entry(LIST_URL, index), "statusPurpose": purpose}
    verdict = verify_vc(signed(credentialStatus=entry), NOW,
                        status_lookup=lambda url: listed if url == LIST_URL else None)
    return verdict.valid, verdict.status


def short_list() -> dict[str, Any]:
    listed = status_list()
    short = base64.urlsafe_b64encode(gzip.compress(b"\0" * 16, mtime=0)).decode().rstrip("=")
    listed["credentialSubject"]["encodedList"] = "u" + short
    return add_proof({k: v for k, v in listed.items() if k != "proof"}, ISSUER, CREATED)


def test_status_list_checks() -> None:
    assert with_status(5, "revocation", status_list()) == (True, "valid")
    assert with_status(5, "revocation", status_list(revoked=(5,))) == (False, "revoked")
    assert with_status(7, "suspension", status_list("suspension", (7,))) == (False, "suspended")
    multi = status_list(["revocation", "suspension"], (7,))
    assert with_status(7, "suspension", multi) == (False, "suspended")
    assert with_status(6, "revocation", multi) == (True, "valid")
    assert with_status(5, "suspension", status_list("revocation"))[0] is False  # purpose
    assert with_status(MIN_LIST_BITS, "revocation", status_list())[0] is False  # range
    assert with_status(1, "revocation", short_list())[0] is False
    wrong_type = status_list(type=["VerifiableCredential"])
    assert with_status(1, "revocation", wrong_type)[0] is False
    expired = status_list(validUntil="2025-06-01T00:00:00Z")
    assert with_status(1, "revocation", expired)[0] is False
    tampered = copy.deepcopy(status_list(revoked=(5,)))
    tampered["credentialSubject"]["encodedList"] = status_list()["credentialSubject"][
        "encodedList"]
    assert with_status(5, "revocation", tampered)[0] is False
    invalid = status_list()
    invalid["credentialSubject"]["encodedList"] = "u!!!"
    assert with_status(1, "revocation", invalid)[0] is False
