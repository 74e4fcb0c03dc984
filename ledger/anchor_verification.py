"""Verifying an anchored document: whether a member recorded its SHA-256 on chain, when,
and whether the key that recorded it, or the member's admission, was a stolen key's.

A document of any kind (a contract, a scan) rather than a credential: no issuer's batch,
accreditation or revocation, only the anchor and the member who made it
(`ledger.verification` verifies credentials, with the same verdicts and facts).
"""

from __future__ import annotations

import hashlib

from ledger.distrust import stolen_key_at
from ledger.errors import MalformedInput
from ledger.verification import ChainFacts, Check, Verdict, admitted_by_stolen_key, when


def document_hash(data: bytes) -> bytes:
    """Anchored documents are identified by plain SHA-256, so `sha256sum` agrees."""
    return hashlib.sha256(data).digest()


def verify_anchor(data: bytes, facts: ChainFacts) -> Verdict:
    return verify_anchored_digest(document_hash(data), facts)


def verify_anchored_digest(digest: bytes, facts: ChainFacts) -> Verdict:
    """`verify_anchor` of a document known by its `document_hash` (a file hashed as it
    was read, whatever its size)."""
    verdict = Verdict(False, "unknown", "", facts.describe())
    anchor = facts.anchor(digest)
    if anchor is None:
        return verdict.fail("unknown", Check("anchored", False,
                            f"no record of this document (sha256 {digest.hex()}) on chain"))
    author = facts.member(anchor.member)
    name = author.name if author else anchor.member.hex()
    # the member's id beside its name: a file may name its issuer by either, and a verifier
    # compares that with who recorded it
    verdict.facts.update({"author": name, "author_id": anchor.member.hex(),
                          "height": anchor.height,
                          "recorded_at": when(anchor.time_ms), "sha256": digest.hex()})
    try:
        stolen = stolen_key_at(facts, anchor.member, anchor.height)
    except MalformedInput as exc:
        return verdict.fail("malformed", Check("anchored", False, f"{name}'s keys cannot "
                            f"be read from this source ({exc})"))
    if stolen is not None:
        verdict.facts["key_compromised_from"] = stolen.compromised_from
        return verdict.fail("compromised_key", Check(
            "anchored", False, f"recorded by {name} at height {anchor.height}, with a key of "
            f"{name} reported stolen from height {stolen.compromised_from}: the record may "
            "have been made by the thief"))
    verdict.checks.append(Check("anchored", True, f"recorded by {name} at height "
                                f"{anchor.height} ({when(anchor.time_ms)})"))
    by_thief = admitted_by_stolen_key(verdict, author, facts, name)
    if by_thief is not None:
        return by_thief
    verdict.valid, verdict.status = True, "valid"
    # whatever the file says (an issuer, a grade), only its bytes and their recorder are on
    # chain: any member may anchor any file
    verdict.reason = (f"document existed by {when(anchor.time_ms)}, recorded by {name}: the "
                      f"chain vouches only that {name} recorded this very file then, not for "
                      "anything it says")
    return verdict
