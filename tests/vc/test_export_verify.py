"""Native → VC 2.0 → verify; each tampering refused; foreign issuers; presentations."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from ledger.credential_documents import disclose
from ledger.errors import InvalidDocument
from ledger.identity import KeyPair
from ledger.payloads import CredentialRef, RevokePayload
from ledger.vc.canon import CREDENTIALS_V2
from ledger.vc.didkey import did_key
from ledger.vc.export import to_vc
from ledger.vc.presentation import verify_presentation
from ledger.vc.proofs import add_proof
from ledger.vc.status import (
    MIN_LIST_BITS,
    bit_is_set,
    decode_list,
    encode_list,
    status_list_credential,
)
from ledger.vc.verify import verify_vc
from ledger.vc.warning_codes import HOLDER_NOT_SUBJECT
from storage.batch_tree import audit_path
from tests.node.conftest import CHAIN_ID, commit, make_tx
from tests.vc.conftest import NOW, STATUS_BASE, Issued

CREATED_MS = 1_750_000_000_000


def export(issued: Issued, index: int = 0, hide: tuple[str, ...] = ()) -> dict[str, Any]:
    document = disclose(issued.documents[index], list(hide))
    return to_vc(document, issued.net.university, STATUS_BASE, issued.height,
                 issued.time_ms, CREATED_MS)


def test_round_trip_verifies_with_chain_checks(issued: Issued) -> None:
    vc = export(issued, 1, hide=("iin",))
    assert vc["@context"][0] == CREDENTIALS_V2
    assert vc["issuer"]["id"] == did_key(issued.net.university.public_key)
    assert "iin" not in vc["credentialSubject"]["fields"]
    assert "iin" in vc["senim"]["hidden"] and "iin" not in vc["senim"]["salts"]
    assert vc["credentialStatus"]["statusListIndex"] == "1"
    assert vc["credentialStatus"]["statusListCredential"].endswith(issued.batch.root.hex())
    verdict = verify_vc(vc, NOW, issued.facts(), CHAIN_ID)
    assert (verdict.valid, verdict.status) == (True, "valid"), verdict.to_json()
    names = [c.name for c in verdict.checks]
    assert names == ["format", "signature", "validity", "fields", "batch", "on_chain",
                     "issuer_key", "accredited", "not_revoked", "member"]
    alone = verify_vc(vc, NOW)
    assert alone.valid and any("not run" in w for w in alone.warnings)


def test_only_the_issuer_key_exports(issued: Issued) -> None:
    with pytest.raises(InvalidDocument, match="not the credential's issuer"):
        to_vc(issued.documents[0], issued.net.university2, STATUS_BASE, 1, 0, CREATED_MS)


TAMPERINGS = [
    ("shown value", lambda vc: vc["credentialSubject"]["fields"].update(degree="PhD")),
    ("credential type", lambda vc: vc["credentialSubject"].update(credentialType="attestat")),
    ("issuer name", lambda vc: vc["issuer"].update(name="Harvard")),
    ("valid from", lambda vc: vc.update(validFrom="2001-01-01T00:00:00Z")),
    ("status index", lambda vc: vc["credentialStatus"].update(statusListIndex="3")),
    ("salt", lambda vc: vc["senim"]["salts"].update(degree="00" * 16)),
    ("target hash", lambda vc: vc["senim"].update(target_hash="11" * 32)),
    ("batch root", lambda vc: vc["senim"]["batch"].update(root="22" * 32)),
    ("block height", lambda vc: vc["senim"].update(block_height=1)),
    ("proof created", lambda vc: vc["proof"].update(created="2020-01-01T00:00:00Z")),
    ("proof value", lambda vc: vc["proof"].update(
        proofValue=vc["proof"]["proofValue"][:-3] + "abc")),
    ("added field", lambda vc: vc["credentialSubject"].update(extra="x")),
    ("dropped status", lambda vc: vc.pop("credentialStatus")),
]


@pytest.mark.parametrize(("what", "change"), TAMPERINGS, ids=[t[0] for t in TAMPERINGS])
def test_each_tampering_is_refused(issued: Issued, what: str, change: Any) -> None:
    vc = export(issued, 2)
    tampered = copy.deepcopy(vc)
    change(tampered)
    verdict = verify_vc(tampered, NOW, issued.facts(), CHAIN_ID)
    assert not verdict.valid, what
    assert verdict.status in ("tampered", "malformed"), verdict.to_json()


def test_resigned_by_another_key_is_refused(issued: Issued) -> None:
    """A forger who re-signs with its own did:key still cannot pass the chain checks."""
    forger = KeyPair.from_seed(b"\x09" * 32)
    vc = export(issued, 0)
    vc["issuer"]["id"] = did_key(forger.public_key)
    resigned = add_proof(vc, forger, "2025-06-15T12:00:00Z")
    verdict = verify_vc(resigned, NOW, issued.facts(), CHAIN_ID)
    assert (verdict.valid, verdict.status) == (False, "tampered"), verdict.to_json()
    # The signature itself is fine; a proof by a key other than the issuer's is not.
    vc2 = export(issued, 0)
    stolen = add_proof(vc2, forger, "2025-06-15T12:00:00Z")
    assert verify_vc(stolen, NOW).status == "tampered"


def test_revocation_on_chain_is_reported(issued: Issued) -> None:
    vc = export(issued, 3)
    targets = issued.batch.target_hashes
    commit(issued.chain, [make_tx(issued.net.university, RevokePayload(CredentialRef(
        issued.batch.root, targets[3], 3, tuple(audit_path(targets, 3))), "fraud"))])
    verdict = verify_vc(vc, NOW, issued.facts(), CHAIN_ID)
    assert (verdict.valid, verdict.status) == (False, "revoked")


def test_status_list_bits_and_lookup(issued: Issued) -> None:
    encoded = encode_list([0, 3, 9], MIN_LIST_BITS)
    bits = decode_list(encoded)
    assert len(bits) * 8 == MIN_LIST_BITS and bits[0] == 0b1001_0000 and bits[1] == 0b0100_0000
    assert [bit_is_set(bits, i) for i in (0, 1, 3, 9)] == [True, False, True, True]
    with pytest.raises(InvalidDocument):
        decode_list("u" + "A" * 20)
    node = KeyPair.from_seed(b"\x03" * 32)
    vc = export(issued, 3)
    url = vc["credentialStatus"]["statusListCredential"]

    def lookup_with(revoked: list[int]) -> Any:
        listed = status_list_credential(url, did_key(node.public_key), "2025-01-01T00:00:00Z",
                                        revoked, 5)
        signed = add_proof(listed, node, "2025-01-01T00:00:00Z")
        return lambda wanted: signed if wanted == url else None

    assert verify_vc(vc, NOW, status_lookup=lookup_with([1]), lists_vouched=True).valid
    refused = verify_vc(vc, NOW, status_lookup=lookup_with([3]), lists_vouched=True)
    assert (refused.valid, refused.status) == (False, "revoked")
    # Not the verifier's own, a list the issuer did not sign says nothing
    ignored = verify_vc(vc, NOW, status_lookup=lookup_with([3]))
    assert ignored.valid and any("not signed by the credential's issuer" in w
                                 for w in ignored.warnings), ignored.to_json()


def _listing(vc: dict[str, Any], revoked: list[int]) -> Any:
    """A signed status list for `vc`'s batch with `revoked` set, as a node serves it."""
    node = KeyPair.from_seed(b"\x03" * 32)
    url = vc["credentialStatus"]["statusListCredential"]
    signed = add_proof(status_list_credential(url, did_key(node.public_key),
                                              "2025-01-01T00:00:00Z", revoked, 5),
                       node, "2025-01-01T00:00:00Z")
    return lambda wanted: signed if wanted == url else None


def test_a_status_list_revocation_says_when_and_why(issued: Issued) -> None:
    """The list's bit refuses the VC first; the chain gives the date and the reason."""
    vc = export(issued, 3)
    targets = issued.batch.target_hashes
    commit(issued.chain, [make_tx(issued.net.university, RevokePayload(CredentialRef(
        issued.batch.root, targets[3], 3, tuple(audit_path(targets, 3))), "fraud"))])
    verdict = verify_vc(vc, NOW, issued.facts(), CHAIN_ID, status_lookup=_listing(vc, [3]),
                        lists_vouched=True)
    assert (verdict.valid, verdict.status) == (False, "revoked"), verdict.to_json()
    assert verdict.facts["revocation_reason"] == "fraud"
    assert verdict.facts["revoked_at_height"] == issued.chain.height
    assert verdict.facts["revoked_at"] and verdict.facts["revoked_at"] in verdict.reason
    assert [c.name for c in verdict.checks if not c.ok] == ["status", "not_revoked"]
    assert not verdict.warnings


def test_a_status_list_the_chain_does_not_bear_out_still_refuses(issued: Issued) -> None:
    vc = export(issued, 3)
    verdict = verify_vc(vc, NOW, issued.facts(), CHAIN_ID, status_lookup=_listing(vc, [3]),
                        lists_vouched=True)
    assert (verdict.valid, verdict.status) == (False, "revoked"), verdict.to_json()
    assert "revoked_at" not in verdict.facts
    assert any("holds no revocation" in w for w in verdict.warnings)


def test_checked_against_a_chain_a_senim_vc_reads_no_list_from_elsewhere(
        issued: Issued) -> None:
    """A list anyone signed, at the URL the VC names (whoever serves it), made senim
    verify say REVOKED of a genuine credential; the chain holds its revocations."""
    vc = export(issued, 3)
    verdict = verify_vc(vc, NOW, issued.facts(), CHAIN_ID, status_lookup=_listing(vc, [3]))
    assert verdict.valid, verdict.to_json()
    assert "status" not in [c.name for c in verdict.checks] and not verdict.warnings
    targets = issued.batch.target_hashes
    commit(issued.chain, [make_tx(issued.net.university, RevokePayload(CredentialRef(
        issued.batch.root, targets[3], 3, tuple(audit_path(targets, 3))), "fraud"))])
    revoked = verify_vc(vc, NOW, issued.facts(), CHAIN_ID, status_lookup=_listing(vc, []))
    assert (revoked.valid, revoked.status) == (False, "revoked"), revoked.to_json()


def foreign_vc(keys: KeyPair, **extra: Any) -> dict[str, Any]:
    credential = {
        "@context": [CREDENTIALS_V2],
        "type": ["VerifiableCredential"],
        "issuer": did_key(keys.public_key),
        "validFrom": "2024-01-01T00:00:00Z",
        "credentialSubject": {"id": "did:example:graduate", "name": "A. Graduate"},
        **extra,
    }
    return add_proof(credential, keys, "2024-01-01T00:00:00Z")


def test_foreign_did_key_issuer_verifies() -> None:
    keys = KeyPair.from_seed(b"\x11" * 32)
    verdict = verify_vc(foreign_vc(keys), NOW)
    assert (verdict.valid, verdict.status) == (True, "valid"), verdict.to_json()
    expired = verify_vc(foreign_vc(keys, validUntil="2025-01-01T00:00:00Z"), NOW)
    assert (expired.valid, expired.status) == (False, "expired")
    assert expired.facts == {"validity": "expired", "valid_until": "2025-01-01 00:00:00 UTC"}
    early = verify_vc(foreign_vc(keys), datetime(2023, 1, 1, tzinfo=UTC))
    assert early.status == "expired"
    assert early.facts == {"validity": "not_yet_valid", "valid_from": "2024-01-01 00:00:00 UTC"}


@pytest.mark.parametrize("document", [
    None, [], {"type": "VerifiableCredential"},
    {"@context": ["https://www.w3.org/2018/credentials/v1"], "type": ["VerifiableCredential"]},
    {"@context": [CREDENTIALS_V2], "type": ["VerifiableCredential"], "issuer": "did:key:z",
     "credentialSubject": {"a": 1}},
    {"@context": [CREDENTIALS_V2, "https://unknown.example/ctx"],
     "type": ["VerifiableCredential"], "issuer": did_key(b"\x01" * 32),
     "credentialSubject": {"a": 1}, "proof": {"type": "DataIntegrityProof",
                                              "cryptosuite": "eddsa-rdfc-2022",
                                              "proofPurpose": "assertionMethod",
                                              "verificationMethod": "did:key:z6Mk",
                                              "proofValue": "z1"}},
])
def test_malformed_input_gets_a_verdict_not_an_exception(document: Any) -> None:
    verdict = verify_vc(document, NOW)
    assert not verdict.valid and verdict.reason


def presentation(holder: KeyPair, credentials: list[dict[str, Any]], challenge: str | None,
                 domain: str | None) -> dict[str, Any]:
    vp = {"@context": [CREDENTIALS_V2], "type": ["VerifiablePresentation"],
          "holder": did_key(holder.public_key), "verifiableCredential": credentials}
    return add_proof(vp, holder, "2025-06-01T00:00:00Z", purpose="authentication",
                     challenge=challenge, domain=domain)


def test_presentation_challenge_and_domain(issued: Issued) -> None:
    holder = KeyPair.from_seed(b"\x21" * 32)
    vp = presentation(holder, [export(issued, 0)], "nonce-123", "hr.example.kz")
    good = verify_presentation(vp, NOW, "nonce-123", "hr.example.kz", issued.facts(), CHAIN_ID)
    assert (good.valid, good.status) == (True, "valid"), good.to_json()
    assert good.credentials[0].valid
    for challenge, domain in (("nonce-999", "hr.example.kz"), ("nonce-123", "evil.example")):
        bad = verify_presentation(vp, NOW, challenge, domain)
        assert not bad.valid and "does not match" in bad.reason
    replayed = copy.deepcopy(vp)
    replayed["proof"]["challenge"] = "nonce-999"
    assert not verify_presentation(replayed, NOW, "nonce-999", "hr.example.kz").valid
    other = KeyPair.from_seed(b"\x22" * 32)
    stolen = presentation(other, [export(issued, 0)], "n", None)
    stolen["holder"] = did_key(holder.public_key)
    assert not verify_presentation(stolen, NOW, "n", None).valid
    tampered_inner = presentation(holder, [foreign_vc(other, validUntil="2026-01-01T00:00:00Z")],
                                  "n", None)
    assert verify_presentation(tampered_inner, NOW, "n", None).status == "expired"


def test_a_presentation_says_when_its_signer_is_not_its_credentials_subject(
        issued: Issued) -> None:
    """A Senim VC names no subject: a presentation anyone signs of another graduate's
    diploma was "valid presentation" with no word of it; one with no proof was
    "tampered", which says its contents changed."""
    holder = KeyPair.from_seed(b"\x23" * 32)
    anyones = verify_presentation(presentation(holder, [export(issued, 0)], "n", None), NOW,
                                  "n", None, issued.facts(), CHAIN_ID)
    assert anyones.valid and HOLDER_NOT_SUBJECT in anyones.warnings, anyones.to_json()
    subject = did_key(holder.public_key)
    own = foreign_vc(holder, credentialSubject={"id": subject, "name": "A. Graduate"})
    bound = verify_presentation(presentation(holder, [own], "n", None), NOW, "n", None)
    assert bound.valid and HOLDER_NOT_SUBJECT not in bound.warnings, bound.to_json()
    unsigned = presentation(holder, [own], None, None)
    del unsigned["proof"]
    refused = verify_presentation(unsigned, NOW, None, None)
    assert (refused.valid, refused.status) == (False, "malformed"), refused.to_json()
