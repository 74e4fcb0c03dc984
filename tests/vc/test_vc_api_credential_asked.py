"""A credential (not a presentation) verified at /credentials/verify with an
options.challenge or options.domain that its proof does not carry.

VC Data Integrity 1.0's Verify Proof algorithm, for any secured document: a challenge (or a
domain) given that does not match the proof's is an error, INVALID_CHALLENGE_ERROR (or
INVALID_DOMAIN_ERROR), not a signature that fails. The node said it as the signature check
failing, with no problem code, so a VC-API client could tell it from an altered credential
only by parsing the English. Now it is said as a presentation's mismatch is: its own check
(`challenge`, `domain`) with its code, the facts saying which was a mismatch, the
signature check passed."""

from __future__ import annotations

from typing import Any

from ledger.identity import KeyPair
from ledger.vc.canon import CREDENTIALS_V2
from ledger.vc.didkey import did_key
from ledger.vc.proofs import add_proof
from ledger.vc.verify import CREDENTIAL_MISMATCH_PROBLEMS
from tests.vc.conftest import VcNode, post
from tests.vc.test_vc_api import exported

PATH = "/credentials/verify"


def failed(answer: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [(c["check"], c.get("problem")) for c in answer["verdict"]["checks"] if not c["ok"]]


async def test_a_challenge_or_domain_the_credential_was_not_signed_for_is_coded(
        node: VcNode) -> None:
    vc = exported(node, 2)  # a Senim VC: its issuer's proof carries neither
    cases: list[tuple[dict[str, str], dict[str, str], list[tuple[str, str | None]]]] = [
        ({"challenge": "c-9"}, {"challenge": "mismatch"},
         [("challenge", "vc_challenge_mismatch")]),
        ({"domain": "hr.example.kz"}, {"domain": "mismatch"},
         [("domain", "vc_domain_mismatch")]),
        ({"challenge": "c-9", "domain": "hr.example.kz"},
         {"challenge": "mismatch", "domain": "mismatch"},
         [("challenge", "vc_challenge_mismatch"), ("domain", "vc_domain_mismatch")])]
    for options, facts, refused in cases:
        answer = await post(node, PATH, {"verifiableCredential": vc, "options": options}, 400)
        verdict = answer["verdict"]
        assert failed(answer) == refused, answer
        assert {name: verdict["facts"].get(name) for name in facts} == facts, answer
        assert "signature" in answer["checks"], answer  # the signature itself holds
        assert verdict["status"] == "tampered", answer  # as a presentation's mismatch
        assert [(e["code"], e["detail"]) for e in answer["errors"]] == [
            ("tampered", verdict["reason"])], answer
        for name, _code in refused:
            assert f"does not carry the {name}" in verdict["reason"], answer
    assert set(CREDENTIAL_MISMATCH_PROBLEMS.values()) == {
        "vc_challenge_mismatch", "vc_domain_mismatch"}
    # Asked for nothing, a credential's facts say nothing of either.
    plain = await post(node, PATH, {"verifiableCredential": vc}, 200)
    assert not {"challenge", "domain"} & set(plain["verdict"]["facts"]), plain


async def test_a_credential_signed_for_the_challenge_asked_for_verifies_saying_so(
        node: VcNode) -> None:
    keys = KeyPair.from_seed(b"\x61" * 32)
    credential = {"@context": [CREDENTIALS_V2], "type": ["VerifiableCredential"],
                  "issuer": did_key(keys.public_key),
                  "credentialSubject": {"id": "did:example:graduate", "name": "A. Graduate"}}
    signed = add_proof(credential, keys, "2024-01-01T00:00:00Z", challenge="c-1",
                       domain="hr.example.kz")
    answer = await post(node, PATH, {"verifiableCredential": signed, "options": {
        "challenge": "c-1", "domain": "hr.example.kz"}}, 200)
    assert answer["verified"] is True, answer
    assert {"signature", "challenge", "domain"} <= set(answer["checks"]), answer
    assert answer["verdict"]["facts"] == {"challenge": "checked", "domain": "checked"}, answer
    other = await post(node, PATH, {"verifiableCredential": signed, "options": {
        "challenge": "c-2", "domain": "hr.example.kz"}}, 400)
    assert failed(other) == [("challenge", "vc_challenge_mismatch")], other
    assert other["verdict"]["facts"] == {"challenge": "mismatch", "domain": "checked"}, other
