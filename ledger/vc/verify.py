"""Verifying W3C VC 2.0 credentials, in words (presentations: ledger.vc.presentation).

Any credential with an `eddsa-rdfc-2022` proof by a `did:key` issuer verifies
here, not only Senim's. A Senim VC (one with a `senim` section) also gets the
native chain checks: on chain, issuer accredited for the type at that height,
not revoked. Any other is valid on its signature (and its issuer's status list) alone,
with the warning not_on_chain: anyone can sign one with a did:key of their own.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ledger.errors import InvalidDocument
from ledger.identity import member_id_of
from ledger.vc.anchored import native_of_senim_vc
from ledger.vc.canon import CREDENTIALS_V2, Loader
from ledger.vc.didkey import public_key_of_did
from ledger.vc.issuer_keys import issuer_did_finding
from ledger.vc.proofs import ProofCheck, single_proof, verify_proof
from ledger.vc.proofs import instant as _instant
from ledger.vc.status_checks import StatusLookup, check_status, outside_validity

# The warnings, named from here as before they moved.
from ledger.vc.warning_codes import CHAIN_NOT_CHECKED as CHAIN_NOT_CHECKED
from ledger.vc.warning_codes import KEY_NOT_TIED as KEY_NOT_TIED
from ledger.vc.warning_codes import LIST_ONLY as LIST_ONLY
from ledger.vc.warning_codes import NOT_ON_CHAIN, warning_code
from ledger.vc.warning_codes import UNKNOWN_STATUS_TYPE as UNKNOWN_STATUS_TYPE
from ledger.verification import (
    ChainFacts,
    Check,
    checked_alone,
    refused_check,
    verify_credential,
    when,
)

# VC DM 2.0: each of these, when present, is an object (or list of them) with a type.
TYPED_PROPERTIES = ("credentialStatus", "credentialSchema", "evidence", "termsOfUse",
                    "refreshService", "renderMethod", "confidenceMethod")
URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


@dataclass
class VcVerdict:
    valid: bool
    status: str  # valid | malformed | tampered | expired | revoked | unknown | unaccredited
    reason: str
    checks: list[Check] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    issuer: str = ""
    facts: dict[str, Any] = field(default_factory=dict)
    credentials: list[VcVerdict] = field(default_factory=list)

    def fail(self, status: str, check: Check) -> VcVerdict:
        self.checks.append(check)
        self.valid, self.status, self.reason = False, status, check.detail
        return self

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "valid": self.valid, "status": self.status, "reason": self.reason,
            "issuer": self.issuer, "checks": [c.to_json(coded=True) for c in self.checks],
            "warnings": self.warnings,
            "warning_codes": [warning_code(w)[0] for w in self.warnings], "facts": self.facts}
        if self.credentials:
            body["credentials"] = [c.to_json() for c in self.credentials]
        return body


def proof_failed(verdict: VcVerdict, proof: ProofCheck) -> VcVerdict:
    """A proof that does not hold: a document with none, or none that can be read, is
    malformed; one that does not match is tampered; a coded problem is said as itself."""
    status = ("malformed" if "JSON-LD" in proof.detail or "no proof" in proof.detail
              else "tampered")
    return verdict.fail(status, refused_check("signature", proof.problem)
                        if proof.problem is not None else Check("signature", False, proof.detail))


def _credential_mismatch(name: str) -> InvalidDocument:
    """What is wrong with a credential's proof that does not carry the challenge (`name`
    "challenge"), or the domain, the verifier asked for: most often its issuer, who signs
    for no verifier in particular, was asked for none. Each code written where it is
    given, as every document problem's is (tests/cli/test_document_problems.py)."""
    if name == "challenge":
        return InvalidDocument("the credential's proof does not carry the challenge this "
                               "verifier asked for", "vc_challenge_mismatch")
    return InvalidDocument("the credential's proof does not carry the domain this verifier "
                           "asked for", "vc_domain_mismatch")


# Each mismatch's problem code for a credential, by the check that fails with it: what
# node/openapi.py declares (a presentation's are ledger.vc.presentation.MISMATCH_PROBLEMS).
CREDENTIAL_MISMATCH_PROBLEMS: dict[str, str] = {
    name: str(_credential_mismatch(name).code) for name in ("challenge", "domain")}


def signed_for(verdict: VcVerdict, document: dict[str, Any], challenge: str | None,
               domain: str | None, mismatch: Callable[[str], InvalidDocument],
               say_unasked: bool) -> bool:
    """Whether the (verified) proof carries the challenge and domain the verifier asked
    for. VC Data Integrity's Verify Proof fails a document, credential or presentation,
    whose proof does not carry one given, and names it (INVALID_CHALLENGE_ERROR,
    INVALID_DOMAIN_ERROR): so a mismatch is its own check, coded by `mismatch`, not a
    signature that does not hold (the signature is genuine, made for another request:
    a replay, or a wrong challenge typed). Both are checked even when the challenge
    fails, so that a verifier is told every reason at once; the verdict's reason names
    each that failed. The facts say, of each, checked or mismatch, and not_checked when
    `say_unasked` (a presentation's, which a reader shows either way)."""
    proof = single_proof(document)
    mismatched: list[Check] = []
    for name, expected in (("challenge", challenge), ("domain", domain)):
        if expected is None:
            if say_unasked:
                verdict.facts[name] = "not_checked"
            continue
        if proof.get(name) == expected:
            verdict.facts[name] = "checked"
            verdict.checks.append(Check(name, True, f"the proof carries the {name} asked for"))
            continue
        verdict.facts[name] = "mismatch"
        mismatched.append(refused_check(name, mismatch(name)))
        verdict.checks.append(mismatched[-1])
    if mismatched:
        verdict.valid, verdict.status = False, "tampered"
        verdict.reason = "; ".join(check.detail for check in mismatched)
    return not mismatched


def _types(document: dict[str, Any]) -> list[Any]:
    value = document.get("type")
    return value if isinstance(value, list) else [value]


def vc_shape(document: Any, kind: str) -> str | None:
    """Why the document is not a VC 2.0 of `kind`, or None."""
    if not isinstance(document, dict):
        return "not a JSON object"
    context = document.get("@context")
    if not isinstance(context, list) or not context or context[0] != CREDENTIALS_V2:
        return f"@context must be a list starting with {CREDENTIALS_V2}"
    if kind not in _types(document):
        return f"type must include {kind}"
    if "id" in document and not _is_url(document["id"]):
        return "id must be a single URL"
    for name in TYPED_PROPERTIES:
        values = document.get(name, [])
        for value in values if isinstance(values, list) else [values]:
            if not isinstance(value, dict) or "type" not in value:
                return f"each {name} must be an object with a type"
            if "id" in value and not _is_url(value["id"]):
                return f"the id of a {name} must be a URL"
    if kind == "VerifiablePresentation":
        holder = document.get("holder")
        if holder is not None and not _is_url(holder.get("id") if isinstance(
                holder, dict) else holder):
            return "holder must be a URL or an object with a URL id"
        return None
    subject = document.get("credentialSubject")
    subjects: list[Any] = subject if isinstance(subject, list) else [subject]
    if not subject or not all(isinstance(s, dict) and s for s in subjects):
        return "credentialSubject must be one or more non-empty objects"
    if any("id" in s and not _is_url(s["id"]) for s in subjects):
        return "a credentialSubject id must be a URL"
    for name in ("validFrom", "validUntil"):
        if name in document and _instant(document[name]) is None:
            return f"{name} must be an XML Schema dateTimeStamp"
    return None


def _is_url(value: Any) -> bool:
    """An absolute URL or URN (a scheme, then no blank)."""
    return (isinstance(value, str) and bool(URL_SCHEME.match(value))
            and not any(c.isspace() for c in value))


def claimed_issuer(document: Any) -> str | None:
    """The issuer a VC names (its `issuer`, or that object's `id`), whatever its checks
    found: what a reader is told the document claims when no check confirmed it."""
    return _issuer_id(document) if isinstance(document, dict) else None


def _issuer_id(document: dict[str, Any]) -> str | None:
    issuer = document.get("issuer")
    if isinstance(issuer, dict):
        issuer = issuer.get("id")
    return issuer if isinstance(issuer, str) else None


def verify_vc(document: Any, now: datetime, facts: ChainFacts | None = None,
              chain_id: str | None = None, status_lookup: StatusLookup | None = None,
              loader: Loader | None = None, *, purpose: str = "assertionMethod",
              challenge: str | None = None, domain: str | None = None,
              lists_vouched: bool = False) -> VcVerdict:
    """`purpose`, `challenge` and `domain` are what the verifier expects of the proof
    (the VC-API's options.expectedProofPurpose, challenge, domain). `lists_vouched`: the
    lists `status_lookup` gives are the verifier's own (a node's, made from its chain,
    for the credential's own batch), counted whoever signed them. Otherwise a Senim VC
    checked against a chain (`facts`) reads no list, and any other VC's list counts only
    when the credential's issuer signed it: anyone may serve a list at the URL a
    credential names, and sign it, and such a list turned a genuine credential revoked."""
    verdict = VcVerdict(False, "malformed", "")
    problem = vc_shape(document, "VerifiableCredential")
    issuer = _issuer_id(document) if problem is None else None
    if problem is None and issuer is None:
        problem = "issuer must be a URL or an object with an id"
    if problem is not None or issuer is None:
        return verdict.fail("malformed", Check("format", False, f"not a VC 2.0: {problem}"))
    verdict.issuer = issuer
    verdict.checks.append(Check("format", True, "a W3C Verifiable Credential 2.0"))
    if not issuer.startswith("did:key:"):
        return verdict.fail("unknown", Check("issuer", False, f"issuer {issuer[:60]!r} is not "
                                             "a did:key; no other DID method resolves here"))
    proof = verify_proof(document, purpose=purpose, loader=loader, now=now)
    if not proof.ok:
        return proof_failed(verdict, proof)
    try:
        issuer_key = public_key_of_did(issuer)
    except InvalidDocument as exc:
        return verdict.fail("malformed", refused_check("issuer", exc))
    if proof.public_key != issuer_key:
        return verdict.fail("tampered", Check("signature", False, "the proof was made by a "
                                              "key that is not the issuer's"))
    verdict.checks.append(Check("signature", True, proof.detail))
    if not signed_for(verdict, document, challenge, domain, _credential_mismatch,
                      say_unasked=False):
        return verdict
    if not _check_validity(verdict, document, now):
        return verdict
    # A Senim VC checked against a chain: the chain holds its revocations, which its list
    # only mirrors, and a list from elsewhere is not read.
    chain_decides = "senim" in document and facts is not None and not lists_vouched
    if not chain_decides and not check_status(verdict, document, now, status_lookup, loader,
                                               None if lists_vouched else issuer_key):
        if verdict.status == "revoked" and "senim" in document and facts is not None:
            revocation_from_chain(verdict, document, facts, chain_id)
        return verdict
    if "senim" in document:
        return check_senim(verdict, document, facts, chain_id)
    verdict.valid, verdict.status = True, "valid"
    verdict.reason = f"valid credential signed by {issuer[:40]}…"
    verdict.warnings.append(NOT_ON_CHAIN)
    return verdict


def _check_validity(verdict: VcVerdict, document: dict[str, Any], now: datetime) -> bool:
    outside = outside_validity(document, now)
    if outside is not None:
        # Which bound, and when, as the other facts give moments: a credential not valid
        # yet is no expired one, though both are "expired" to the VC-API.
        bound_name, bound, problem = outside
        early = bound_name == "validFrom"
        verdict.facts["validity"] = "not_yet_valid" if early else "expired"
        verdict.facts["valid_from" if early else "valid_until"] = when(
            int(bound.timestamp() * 1000))
        verdict.fail("expired", Check("validity", False, problem))
        return False
    verdict.checks.append(Check("validity", True, "within its validity period"))
    return True


def revocation_from_chain(verdict: VcVerdict, document: dict[str, Any], facts: ChainFacts,
                           chain_id: str | None) -> None:
    """When and why a Senim VC its status list calls revoked was revoked, from the chain.

    A Senim batch's list is made from the chain's revocations alone (ledger.vc.status), so
    the chain holds the date and the reason an HR officer asks for, which a bit cannot
    carry; and whether a replacement superseded it. A list that the chain does not bear
    out still refuses the credential (a list says no more than revoked), with a warning."""
    native = check_senim(VcVerdict(True, "valid", "", issuer=verdict.issuer), document, facts,
                         chain_id)
    if native.status in ("revoked", "superseded") or not native.valid:
        # revoked on chain, or no credential of the batch it names (a senim section
        # copied from a real credential's, so that its list's bit was read for it)
        verdict.facts.update(native.facts)
        verdict.status, verdict.reason = native.status, native.reason
        verdict.checks += [check for check in native.checks if not check.ok]
    else:
        verdict.warnings.append(LIST_ONLY)


def check_senim(verdict: VcVerdict, document: dict[str, Any], facts: ChainFacts | None,
                 chain_id: str | None) -> VcVerdict:
    """The native chain checks of a Senim VC whose signature already verified."""
    if facts is not None:
        verdict.warnings = [w for w in verdict.warnings if w not in (CHAIN_NOT_CHECKED,
                                                                     KEY_NOT_TIED)]
    try:
        native = native_of_senim_vc(document)
        key = public_key_of_did(verdict.issuer)
        member_id = bytes.fromhex(str(native["issuer"]["member_id"]))
    except (InvalidDocument, ValueError) as exc:
        return verdict.fail("tampered", refused_check("senim", exc))
    if facts is None or chain_id is None:
        # What the credential it stands for shows without a chain (its fields against its
        # hash, its audit path), so that an altered one is tampered with no node asked.
        alone, passed = checked_alone(native, "")
        if passed is None:
            verdict.checks += alone.checks
            verdict.valid, verdict.status, verdict.reason = False, alone.status, alone.reason
            return verdict
        # A member's id comes from its first key; a later key is the member's only if
        # the chain's key history says so, and no chain was asked.
        if member_id_of(key) != member_id:
            verdict.warnings.append(KEY_NOT_TIED)
        verdict.warnings.append(CHAIN_NOT_CHECKED)
        verdict.valid, verdict.status = True, "valid"
        verdict.reason = "valid signature; chain not checked"
        return verdict
    native_verdict = verify_credential(native, facts, chain_id)
    verdict.checks += native_verdict.checks
    verdict.facts.update(native_verdict.facts)
    verdict.valid, verdict.status = native_verdict.valid, native_verdict.status
    verdict.reason = native_verdict.reason
    if not native_verdict.valid:
        return verdict
    finding = issuer_did_finding(key, member_id, bytes.fromhex(str(native["batch"]["root"])),
                                 facts, str(native_verdict.facts.get("issuer", "")))
    if not finding.ok:
        if finding.status == "tampered":  # the contents are the record's: the signer is not
            verdict.facts["did_key"] = "not_the_issuers"
        return verdict.fail(finding.status, Check(finding.name, False, finding.detail))
    verdict.checks.append(Check(finding.name, True, finding.detail))
    return verdict
