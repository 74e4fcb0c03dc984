"""Verifying a W3C VC 2.0 presentation: its holder's signature, the verifier's challenge
and domain, then each credential it holds as `ledger.vc.verify.verify_vc` does.

The verdict's facts say what a reader needs to word it without parsing English: who
signed it (`signer`, `holder`), whether the challenge and the domain were checked
(`challenge`, `domain`: checked, not_checked or mismatch, each whatever the other gave),
how many credentials it holds (`credentials`, and `credentials_max` when over it). One
holding no credential is valid here, as the data model allows (a holder proving a key is
theirs, as in a VC-API exchange's authentication), with `credentials` 0: it shows no
diploma, so the employer's tools, `senim verify` and the portal, refuse it
(`refuse_empty`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from functools import partial
from typing import Any

from ledger.errors import InvalidDocument
from ledger.vc.canon import Loader
from ledger.vc.didkey import public_key_of_did
from ledger.vc.proofs import verify_proof
from ledger.vc.status_checks import StatusLookup
from ledger.vc.verify import VcVerdict, proof_failed, signed_for, vc_shape, verify_vc
from ledger.vc.warning_codes import CHALLENGE_NOT_CHECKED, HOLDER_NOT_SUBJECT
from ledger.verification import ChainFacts, Check, refused_check

# Each credential costs a canonicalisation (and, on a node, chain and list lookups): a
# presentation over this is refused before its signature is checked, which would
# canonicalise them all.
MAX_CREDENTIALS_PER_PRESENTATION = 20


# How one held credential's verification is run: given it, to run, its verdict. A caller
# asking a node passes one that turns that node's answer which cannot be trusted into this
# credential's verdict, status UNTRUSTED, so that every other credential is still verified
# and shown: raised out of the whole presentation, a lie about a genuine credential would
# hide another altered after signing, which fails its own signature without any node.
HeldCheck = Callable[[Callable[[], VcVerdict]], VcVerdict]
# A held credential's status when all its verdict says is that the node's answer about it
# cannot be trusted: nothing of the credential itself.
UNTRUSTED = "untrusted"


def _verified_as_is(check: Callable[[], VcVerdict]) -> VcVerdict:
    return check()


def _subject_id(credential: Any) -> Any:
    """The id a credential names its one subject by, or None."""
    subject = credential.get("credentialSubject") if isinstance(credential, dict) else None
    return subject.get("id") if isinstance(subject, dict) else None


def _mismatch(name: str) -> InvalidDocument:
    """What is wrong with a proof that does not carry the challenge (`name` "challenge"),
    or the domain, the verifier asked for; each code written where it is given, as every
    document problem's is (tests/cli/test_document_problems.py reads them there)."""
    if name == "challenge":
        return InvalidDocument("the proof's challenge does not match the one this verifier "
                               "asked for", "vp_challenge_mismatch")
    return InvalidDocument("the proof's domain does not match the one this verifier asked "
                           "for", "vp_domain_mismatch")


# Each mismatch's problem code, by the check that fails with it: what node/openapi.py
# declares and cli/vp.py words (portal-presentation.js keeps its own copy).
MISMATCH_PROBLEMS: dict[str, str] = {name: str(_mismatch(name).code)
                                     for name in ("challenge", "domain")}


def held_credentials(document: Any) -> list[Any]:
    """The credentials a presentation holds: its `verifiableCredential`, one given bare
    taken as a list of one (none: an empty list)."""
    held = document.get("verifiableCredential", []) if isinstance(document, dict) else []
    return held if isinstance(held, list) else [held]


def verify_presentation(document: Any, now: datetime, challenge: str | None,
                        domain: str | None, facts: ChainFacts | None = None,
                        chain_id: str | None = None, status_lookup: StatusLookup | None = None,
                        loader: Loader | None = None, lists_vouched: bool = False,
                        held_check: HeldCheck = _verified_as_is) -> VcVerdict:
    """Every credential is verified (each run by `held_check`), not only those before the
    first that fails: a reader is shown each one's own verdict. The presentation's is the
    first failure's status, a credential's own failure before any UNTRUSTED answer."""
    verdict = VcVerdict(False, "malformed", "")
    problem = vc_shape(document, "VerifiablePresentation")
    if problem is not None:
        return verdict.fail("malformed", Check("format", False,
                                               f"not a VC 2.0 presentation: {problem}"))
    verdict.checks.append(Check("format", True, "a W3C Verifiable Presentation 2.0"))
    credentials = held_credentials(document)
    verdict.facts["credentials"] = len(credentials)
    if len(credentials) > MAX_CREDENTIALS_PER_PRESENTATION:
        verdict.facts["credentials_max"] = MAX_CREDENTIALS_PER_PRESENTATION
        return verdict.fail("malformed", Check(
            "credentials", False, f"{len(credentials)} credentials, more than "
            f"{MAX_CREDENTIALS_PER_PRESENTATION}", "vp_too_many",
            {"count": len(credentials), "max": MAX_CREDENTIALS_PER_PRESENTATION}))
    proof = verify_proof(document, purpose="authentication", loader=loader, now=now)
    if not proof.ok:  # an unsigned one was said "tampered"
        return proof_failed(verdict, proof)
    verdict.facts["signer"] = proof.verification_method.split("#")[0]
    holder = document.get("holder")
    holder_id = holder.get("id") if isinstance(holder, dict) else holder
    verdict.facts["holder"] = holder_id if isinstance(holder_id, str) else ""
    if holder_id is not None:
        try:
            if public_key_of_did(holder_id) != proof.public_key:
                raise InvalidDocument("the presentation was signed by a key not the holder's",
                                      "vp_not_holder")
        except InvalidDocument as exc:
            return verdict.fail("tampered", refused_check("holder", exc))
    verdict.checks.append(Check("signature", True, proof.detail))
    if not signed_for(verdict, document, challenge, domain, _mismatch, say_unasked=True):
        return verdict
    if challenge is None:
        verdict.warnings.append(CHALLENGE_NOT_CHECKED)
    verdict.credentials = [held_check(partial(verify_vc, credential, now, facts, chain_id,
                                              status_lookup, loader, lists_vouched=lists_vouched))
                           for credential in credentials]
    failed = sorted((inner for inner in verdict.credentials if not inner.valid),
                    key=lambda inner: inner.status == UNTRUSTED)
    if failed:
        return verdict.fail(failed[0].status, credentials_failing(failed, len(credentials)))
    verdict.checks.append(Check("credentials", True, f"{len(credentials)} credential(s) valid"))
    subjects = {_subject_id(c) for c in credentials}
    if holder_id is None or subjects != {holder_id}:
        # a Senim VC names no subject: anyone holding the file can sign a presentation of it
        verdict.warnings.append(HOLDER_NOT_SUBJECT)
    verdict.valid, verdict.status = True, "valid"
    verdict.reason = f"valid presentation with {len(credentials)} credential(s)"
    return verdict


def credentials_failing(failed: Sequence[VcVerdict], count: int) -> Check:
    """A presentation's `credentials` check when `failed` (the one to name first) of the
    `count` credentials it holds fail."""
    return Check("credentials", False, f"{len(failed)} of {count} credential(s) fail; "
                 f"the first: {failed[0].reason}")


def refuse_empty(verdict: VcVerdict) -> VcVerdict:
    """An employer's reading of a presentation: one holding no credential is not valid
    (its failed check `credentials`, problem `vp_empty`). Signed over nothing, it shows
    no diploma, and passing it told an employer an applicant had shown what was asked."""
    if verdict.valid and not verdict.credentials:
        verdict.fail("malformed", Check("credentials", False,
                                        "the presentation holds no credential", "vp_empty"))
    return verdict
