"""What the node answers for the presentations an HR officer is handed, hostile ones
included: a status code and a verdict a reader can word without parsing English (who
signed it, whether the challenge and domain were checked, each credential's own verdict
and warning codes), never a 500. Each credential was verified only up to the first that
failed, a wrong challenge was a "signature" that did not match, and a presentation checked
with no challenge said nothing of a replay."""

from __future__ import annotations

import copy
from typing import Any

from ledger.identity import KeyPair
from ledger.vc.canon import CREDENTIALS_V2
from ledger.vc.didkey import did_key
from ledger.vc.presentation import (
    MAX_CREDENTIALS_PER_PRESENTATION,
    refuse_empty,
    verify_presentation,
)
from ledger.vc.proofs import add_proof
from tests.vc.conftest import NOW, VcNode, post
from tests.vc.test_vc_api import exported

HOLDER = KeyPair.from_seed(b"\x71" * 32)
STRANGER = KeyPair.from_seed(b"\x72" * 32)
PATH = "/presentations/verify"


def presentation(credentials: list[dict[str, Any]], signer: KeyPair = HOLDER,
                 challenge: str | None = "c-1", domain: str | None = None) -> dict[str, Any]:
    return add_proof({"@context": [CREDENTIALS_V2], "type": ["VerifiablePresentation"],
                      "holder": did_key(HOLDER.public_key),
                      "verifiableCredential": credentials}, signer, "2026-01-01T00:00:00Z",
                     purpose="authentication", challenge=challenge, domain=domain)


def failed_checks(answer: dict[str, Any]) -> list[str]:
    return [c["check"] for c in answer["verdict"]["checks"] if not c["ok"]]


async def test_a_valid_presentation_names_its_signer_and_each_credential(node: VcNode) -> None:
    vp = presentation([exported(node, 0), exported(node, 1)], domain="hr.example.kz")
    asked = await post(node, PATH, {"verifiablePresentation": vp,
                                    "options": {"challenge": "c-1", "domain": "hr.example.kz"}},
                       200)
    verdict = asked["verdict"]
    assert verdict["facts"] == {"credentials": 2, "signer": did_key(HOLDER.public_key),
                                "holder": did_key(HOLDER.public_key), "challenge": "checked",
                                "domain": "checked"}, verdict
    assert [c["status"] for c in verdict["credentials"]] == ["valid", "valid"]
    # the chain's checks ran for each: its facts, and no "chain not checked" warning
    assert all(c["facts"]["type"] == "diploma" and c["warning_codes"] == []
               for c in verdict["credentials"]), verdict["credentials"]
    assert verdict["warning_codes"] == ["holder_not_subject"]
    unasked = await post(node, PATH, {"verifiablePresentation": vp}, 200)
    assert unasked["verdict"]["facts"]["challenge"] == "not_checked"
    assert unasked["verdict"]["warning_codes"] == ["challenge_not_checked", "holder_not_subject"]
    assert "replay" in unasked["verdict"]["warnings"][0]


async def test_each_credential_gets_its_verdict_when_one_is_tampered(node: VcNode) -> None:
    altered = exported(node, 0)
    altered["credentialSubject"]["fields"]["full_name"] = "Someone Else"
    vp = presentation([altered, exported(node, 1)])
    answer = await post(node, PATH, {"verifiablePresentation": vp,
                                     "options": {"challenge": "c-1"}}, 400)
    assert answer["verified"] is False and answer["verdict"]["status"] == "tampered"
    assert [c["status"] for c in answer["verdict"]["credentials"]] == ["tampered", "valid"]
    assert failed_checks(answer) == ["credentials"]


async def test_hostile_presentations_are_400_with_a_named_check(node: VcNode) -> None:
    """Each failed check named, with what the page words it from; never a 500."""
    one = [exported(node, 2)]
    by_stranger = presentation(one, signer=STRANGER)
    too_many = presentation(one)
    too_many["verifiableCredential"] = one * (MAX_CREDENTIALS_PER_PRESENTATION + 1)
    altered = presentation(one)
    altered["verifiableCredential"] = [exported(node, 3)]
    for document, options, check, status in (
            (by_stranger, {"challenge": "c-1"}, "holder", "tampered"),
            (presentation(one), {"challenge": "c-2"}, "challenge", "tampered"),
            (presentation(one, domain="a.kz"), {"domain": "b.kz"}, "domain", "tampered"),
            (too_many, {}, "credentials", "malformed"),
            (altered, {}, "signature", "tampered")):
        answer = await post(node, PATH, {"verifiablePresentation": document,
                                         "options": options}, 400)
        assert (failed_checks(answer), answer["verdict"]["status"]) == ([check], status), answer
        assert answer["verdict"].get("credentials", []) == [], answer
    many = await post(node, PATH, {"verifiablePresentation": too_many}, 400)
    assert many["verdict"]["facts"] == {"credentials": MAX_CREDENTIALS_PER_PRESENTATION + 1,
                                        "credentials_max": MAX_CREDENTIALS_PER_PRESENTATION}
    # Signed genuinely for the challenge asked for, holding no credential: valid to the
    # VC-API, as the data model allows (a holder proving a key is theirs), its facts saying
    # it holds none; an employer's tools refuse it (refuse_empty), showing no diploma.
    empty = await post(node, PATH, {"verifiablePresentation": presentation([]),
                                    "options": {"challenge": "c-1"}}, 200)
    assert empty["verified"] is True and empty["verdict"]["facts"] == {
        "credentials": 0, "signer": did_key(HOLDER.public_key),
        "holder": did_key(HOLDER.public_key), "challenge": "checked",
        "domain": "not_checked"}, empty
    refused = refuse_empty(verify_presentation(presentation([]), NOW, "c-1", None))
    assert not refused.valid and [c.problem for c in refused.checks if not c.ok] == ["vp_empty"]
    mismatch = await post(node, PATH, {"verifiablePresentation": presentation(one),
                                       "options": {"challenge": "c-2"}}, 400)
    assert mismatch["verdict"]["facts"]["challenge"] == "mismatch"
    # Unreadable ones (as before): a 400 the portal says as a presentation it cannot check.
    bodies: list[dict[str, Any]] = [
        {"verifiablePresentation": "not an object"}, {"verifiablePresentation": []},
        {"verifiablePresentation": {"@context": [CREDENTIALS_V2]}}]
    for body in bodies:
        answer = await post(node, PATH, body, 400)
        assert answer["verdict"]["status"] == "malformed", answer
        assert failed_checks(answer) == ["format"]
    response = await node.client.post(PATH, data=b'{"verifiablePresentation": {"@cont',
                                      headers={"Content-Type": "application/json"})
    assert response.status == 400 and "error" in await response.json()


def refusals(answer: dict[str, Any]) -> list[tuple[str, str | None]]:
    """Each failed check of a presentation's verdict with the problem code it carries."""
    return [(c["check"], c.get("problem")) for c in answer["verdict"]["checks"] if not c["ok"]]


async def test_a_wrong_challenge_and_a_wrong_domain_are_each_named_by_their_code(
        node: VcNode) -> None:
    """The failed check carries its problem's code, which a reader words in its own
    language; and the domain is checked when the challenge fails (it was left unchecked,
    and unsaid, behind it), so that every reason is told at once. The VC-API's error and
    the verdict's status stay as older clients read them."""
    signed = presentation([exported(node, 2)], domain="hr.example.kz")
    cases: list[tuple[dict[str, str], dict[str, str], list[tuple[str, str | None]]]] = [
        ({"challenge": "c-2"}, {"challenge": "mismatch", "domain": "not_checked"},
         [("challenge", "vp_challenge_mismatch")]),
        ({"challenge": "c-1", "domain": "b.kz"}, {"challenge": "checked", "domain": "mismatch"},
         [("domain", "vp_domain_mismatch")]),
        ({"challenge": "c-2", "domain": "b.kz"}, {"challenge": "mismatch", "domain": "mismatch"},
         [("challenge", "vp_challenge_mismatch"), ("domain", "vp_domain_mismatch")]),
        ({"challenge": "c-2", "domain": "hr.example.kz"},
         {"challenge": "mismatch", "domain": "checked"}, [("challenge", "vp_challenge_mismatch")])]
    for options, facts, refused in cases:
        answer = await post(node, PATH, {"verifiablePresentation": signed,
                                         "options": options}, 400)
        verdict = answer["verdict"]
        assert {name: verdict["facts"][name] for name in facts} == facts, answer
        assert refusals(answer) == refused, answer
        assert [c["check"] for c in verdict["checks"]] == [
            "format", "signature", *[name for name in ("challenge", "domain")
                                     if facts[name] != "not_checked"]], answer
        assert verdict["status"] == "tampered" and verdict.get("credentials", []) == []
        assert [(e["code"], e["detail"]) for e in answer["errors"]] == [
            ("tampered", verdict["reason"])], answer
        for name, _problem in refused:  # the reason, in English, names each
            assert f"proof's {name} does not match" in verdict["reason"], answer
    # A credential's own failed check carries its code too, inside the presentation
    # (one unsigned: vc_no_proof); the presentation's check naming it has none of its own.
    unsigned = exported(node, 1)
    del unsigned["proof"]
    held = await post(node, PATH, {"verifiablePresentation": presentation(
        [unsigned, exported(node, 2)]), "options": {"challenge": "c-1"}}, 400)
    assert refusals(held) == [("credentials", None)], held
    inner = held["verdict"]["credentials"]
    assert [(c["status"], [(check["check"], check.get("problem")) for check in c["checks"]
                           if not check["ok"]]) for c in inner] == [
        ("malformed", [("signature", "vc_no_proof")]), ("valid", [])], inner


def test_the_count_is_refused_before_any_credential_is_canonicalised() -> None:
    """Copies of one credential are more blank nodes alike than canonicalisation takes:
    a presentation of them is refused for its count, not for its canonical form."""
    vp = presentation([{"@context": [CREDENTIALS_V2]}])
    vp["verifiableCredential"] = [copy.deepcopy(vp["verifiableCredential"][0])
                                  for _ in range(MAX_CREDENTIALS_PER_PRESENTATION + 1)]
    verdict = verify_presentation(vp, NOW, None, None)
    assert [c.problem for c in verdict.checks if not c.ok] == ["vp_too_many"], verdict.to_json()
