"""Verifying a credential step by step, in words a registrar understands.

The same steps run in the node (POST /v1/verify) and in `senim verify`, which
asks a node for chain facts with Merkle proofs and checks those proofs against
the state root of the block the node names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from ledger.credential_documents import ParsedDocument, parse_document
from ledger.credentials import target_hash
from ledger.distrust import stolen_admission, stolen_key_at, trusted_grant
from ledger.errors import InvalidDocument, MalformedInput, NewerFormat
from ledger.key_events import KeyHistory
from ledger.payloads_credentials import REVOCATION_REASONS
from ledger.record_checks import issuer_key_finding, record_findings
from ledger.records import (
    Accreditation,
    Anchor,
    Batch,
    EmploymentEnd,
    Grant,
    Member,
    Revocation,
)
from storage.batch_tree import verify_inclusion


class ChainFacts(Protocol):
    """Where chain facts come from: the local ledger, or a node over HTTP."""

    height: int | None

    def describe(self) -> str: ...
    def member(self, member: bytes) -> Member | None: ...
    def accreditation(self, member: bytes) -> Accreditation: ...
    def batch(self, issuer: bytes, root: bytes) -> Batch | None: ...
    def revocation(self, issuer: bytes, batch_root: bytes, target: bytes
                   ) -> Revocation | None: ...
    def anchor(self, document_hash: bytes) -> Anchor | None: ...
    def employment_end(self, issuer: bytes, batch_root: bytes, target: bytes
                       ) -> EmploymentEnd | None: ...
    def key_history(self, member: bytes) -> KeyHistory | None: ...
    # The time of the committed block `height`, where the source can vouch for it (None
    # where it cannot: an offline proof holds one header, its own).
    def block_time(self, height: int) -> int | None: ...


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    # What is wrong as a document's problem codes it (InvalidDocument's code and params),
    # so a reader in another language is told it too.
    problem: str | None = None
    params: dict[str, str | int] = field(default_factory=dict, compare=False)

    def to_json(self, coded: bool = False) -> dict[str, Any]:
        """`coded`: with a failed check's stable problem code, where it has one, and the
        params it names, as a W3C verdict's checks are written (ledger.vc.verify: a VC's
        own, a presentation's and those of each credential it holds), which a VC-API
        client or the portal words in its own language rather than parsing the English
        detail. A native verdict's checks (/v1/verify) give the detail alone."""
        body: dict[str, Any] = {"check": self.name, "ok": self.ok, "detail": self.detail}
        if coded and self.problem is not None:
            body["problem"] = self.problem
            if self.params:
                body["params"] = dict(self.params)
        return body


def refused_check(name: str, exc: Exception) -> Check:
    """A failed check whose detail is `exc`'s message, with its code when it has one."""
    if isinstance(exc, InvalidDocument):
        return Check(name, False, str(exc), exc.code, dict(exc.params))
    return Check(name, False, str(exc))


@dataclass
class Verdict:
    valid: bool
    # valid | tampered | unknown | unaccredited | revoked | superseded | malformed |
    # compromised_key (signed with a key reported stolen from before its height) |
    # accreditation_compromised (accredited only by a grant made with a stolen key) |
    # revocation_doubted (revoked with a key distrusted at the revocation's height) |
    # admission_compromised (its issuer or author admitted with a ministry's stolen key) |
    # newer_format (a format version this code does not read yet); for a
    # recognition also original_invalid | original_revoked | original_unchecked; for an
    # employment record, inconsistent (its start differs from the end recorded on chain)
    status: str
    reason: str
    source: str
    checks: list[Check] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"valid": self.valid, "status": self.status, "reason": self.reason,
                "source": self.source, "checks": [c.to_json() for c in self.checks],
                "facts": self.facts}

    def fail(self, status: str, check: Check) -> Verdict:
        """This verdict failed, with `status`, by `check` (its reason the check's)."""
        self.checks.append(check)
        self.valid, self.status, self.reason = False, status, check.detail
        return self


def when(time_ms: int) -> str:
    return datetime.fromtimestamp(time_ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def verify_credential(document: Any, facts: ChainFacts, chain_id: str) -> Verdict:
    verdict, doc = checked_alone(document, facts.describe())
    if doc is None:
        return verdict
    if doc.chain_id != chain_id:
        return verdict.fail("unknown", Check("network", False,
                            f"issued on network {doc.chain_id!r}, this is {chain_id!r}"))
    return _check_chain(verdict, doc, facts)


def checked_alone(document: Any, source: str) -> tuple[Verdict, ParsedDocument | None]:
    """The checks a credential needs no chain for: it reads as one, its fields match its
    hash, and its audit path leads to the batch root it names. The verdict so far, and the
    document when it passed them (else None, the verdict failed). They come before the
    network is compared and before any chain fact is asked: a document altered after
    issue is TAMPERED whatever a source says or fails to say of the chain (the check of
    the network came first, and one altered in a copy from another network was called
    unknown here; `senim verify` asked the node first, and one altered with the node down
    was called unreachable)."""
    verdict = Verdict(False, "malformed", "", source)
    try:
        doc = parse_document(document)
    except NewerFormat as exc:
        verdict.facts["format"] = document["format"]
        return verdict.fail("newer_format", refused_check("document", exc)), None
    except InvalidDocument as exc:
        return verdict.fail("malformed", refused_check("document", exc)), None
    computed = target_hash(doc.chain_id, doc.issuer, doc.credential_type, doc.field_hashes,
                           doc.document_format)
    if computed != doc.target_hash:
        return verdict.fail("tampered", Check("fields", False,
                            "the fields do not match the credential's hash: the document was "
                            "altered")), None
    hidden = len(doc.field_hashes) - len(doc.revealed)
    verdict.checks.append(Check("fields", True, f"{len(doc.revealed)} field(s) shown, "
                                f"{hidden} hidden; all match the credential's hash"))
    if not verify_inclusion(doc.target_hash, doc.batch_index, doc.batch_size, doc.batch_path,
                            doc.batch_root):
        return verdict.fail("tampered", Check("batch", False,
                            "the credential is not in the batch it names (audit path fails)")
                            ), None
    verdict.checks.append(Check("batch", True, f"credential #{doc.batch_index + 1} of "
                                f"{doc.batch_size} in batch {doc.batch_root.hex()[:16]}…"))
    return verdict, doc


def _check_chain(verdict: Verdict, doc: ParsedDocument, facts: ChainFacts) -> Verdict:
    # Batches are keyed by issuer: only the issuer the document names can have put
    # this root on chain for it, whoever else submitted the same root.
    batch = facts.batch(doc.issuer, doc.batch_root)
    if batch is None:
        return verdict.fail("unknown", Check("on_chain", False,
                            f"the issuer {doc.issuer.hex()} has no batch with this root on chain: "
                            "the credential was never issued here"))
    issuer = facts.member(batch.issuer)
    issuer_name = issuer.name if issuer else batch.issuer.hex()
    if batch.credential_type != doc.credential_type:
        return verdict.fail("tampered", Check("on_chain", False,
                            f"the batch on chain was issued by {issuer_name} as "
                            f"{batch.credential_type}, not as {doc.credential_type} as the "
                            "document claims"))
    if batch.count != doc.batch_size:
        return verdict.fail("tampered", Check("on_chain", False,
                            f"the batch on chain holds {batch.count} credential(s), not "
                            f"{doc.batch_size} as the document claims: the document was altered"))
    verdict.facts.update({"issuer": issuer_name, "issuer_id": batch.issuer.hex(),
                          "height": batch.height, "issued_at": when(batch.time_ms),
                          "type": batch.credential_type})
    verdict.checks.append(Check("on_chain", True, f"issued by {issuer_name} as "
                                f"{batch.credential_type} at height {batch.height} "
                                f"({when(batch.time_ms)})"))
    signer = issuer_key_finding(batch, facts, issuer_name, verdict.facts)
    if not signer.ok:
        return verdict.fail(signer.status, Check(signer.name, False, signer.detail))
    verdict.checks.append(Check(signer.name, True, signer.detail))
    by_thief = admitted_by_stolen_key(verdict, issuer, facts, issuer_name)
    if by_thief is not None:
        return by_thief
    try:
        grant, doubted = trusted_grant(facts, batch)
    except MalformedInput as exc:
        return verdict.fail("malformed", Check("accredited", False, f"the granting "
                            f"ministry's keys cannot be read from this source ({exc})"))
    if grant is None and doubted is not None:
        return _accredited_by_stolen_key(verdict, batch, doubted, facts, issuer_name)
    if grant is None:
        _code, why = facts.accreditation(batch.issuer).why_not(
            batch.credential_type, batch.height, batch.time_ms)
        return verdict.fail("unaccredited", Check("accredited", False,
                            f"{issuer_name} was not accredited to issue {batch.credential_type} "
                            f"at height {batch.height}: {why}"))
    ministry = facts.member(grant.granted_by)
    suspended = ""
    if grant.suspended_height is not None:  # since this was issued: it stays valid
        verdict.facts.update({"issuer_suspended_height": grant.suspended_height,
                              "issuer_suspension_reason": grant.suspend_reason})
        if grant.suspended_time_ms is not None:
            verdict.facts["issuer_suspended_at"] = when(grant.suspended_time_ms)
        suspended = (f"; suspended from height {grant.suspended_height} "
                     f"({grant.suspend_reason}), after this was issued")
    verdict.checks.append(Check("accredited", True, f"{issuer_name} was accredited for "
                                f"{batch.credential_type} by "
                                f"{ministry.name if ministry else grant.granted_by.hex()} "
                                f"(since height {grant.granted_height}){suspended}"))
    if issuer is not None and issuer.retired_height is not None:
        membership = _membership(verdict, batch, issuer, facts)
        if not membership.ok:
            return verdict.fail("unaccredited", membership)
        verdict.checks.append(membership)
    revocation = facts.revocation(batch.issuer, doc.batch_root, doc.target_hash)
    # Under the issuer's key: its own, or the consortium's once it was retired.
    if revocation is not None and (revocation.revoked_by == batch.issuer
                                   or revocation.by_consortium):
        try:
            stolen = (None if revocation.by_consortium  # governance's votes, not a key
                      else stolen_key_at(facts, batch.issuer, revocation.height))
        except MalformedInput as exc:
            return verdict.fail("malformed", Check("not_revoked", False, f"the issuer's "
                                f"keys cannot be read from this source ({exc})"))
        if stolen is None:
            return _revoked(verdict, revocation, facts)
        return _revocation_doubted(verdict, revocation, stolen.compromised_from, issuer_name)
    verdict.checks.append(Check("not_revoked", True, "no revocation on chain"))
    verdict.facts["format"] = doc.document_format
    for finding in record_findings(doc, batch, facts, verdict.facts):
        if not finding.ok:
            return verdict.fail(finding.status, Check(finding.name, False, finding.detail))
        verdict.checks.append(Check(finding.name, True, finding.detail))
    verdict.valid, verdict.status = True, "valid"
    verdict.reason = (f"genuine {batch.credential_type} issued by {issuer_name} at height "
                      f"{batch.height}")
    extra = [c.detail for c in verdict.checks
             if c.name in ("employment", "original", "membership")]
    if "issuer_suspended_height" in verdict.facts:
        extra.append(f"{issuer_name}'s accreditation is suspended from height "
                     f"{verdict.facts['issuer_suspended_height']}, after this was issued")
    if extra:
        verdict.reason += "; " + "; ".join(extra)
    return verdict


def _accredited_by_stolen_key(verdict: Verdict, batch: Batch, doubted: tuple[Grant, int],
                              facts: ChainFacts, issuer_name: str) -> Verdict:
    grant, compromised_from = doubted
    ministry = facts.member(grant.granted_by)
    ministry_name = ministry.name if ministry else grant.granted_by.hex()
    verdict.facts.update({"accredited_by": ministry_name,
                          "accredited_at_height": grant.granted_height,
                          "key_compromised_from": compromised_from})
    return verdict.fail("accreditation_compromised", Check(
        "accredited", False, f"{issuer_name} was accredited for {batch.credential_type} "
        f"only by {ministry_name} at height {grant.granted_height}, with a key of "
        f"{ministry_name} reported stolen from height {compromised_from}: the "
        "accreditation may have been made by the thief"))


def admitted_by_stolen_key(verdict: Verdict, member: Member | None, facts: ChainFacts,
                           name: str) -> Verdict | None:
    """The verdict on what a member records when a ministry admitted it by its own
    `add_member` with a key distrusted at that height (the thief may have admitted it, and
    its own key was never stolen), or None."""
    try:
        admitted = None if member is None else stolen_admission(facts, member)
    except MalformedInput as exc:
        return verdict.fail("malformed", Check("admitted", False, f"the keys of the "
                            f"ministry that admitted {name} cannot be read from this source "
                            f"({exc})"))
    if member is None or admitted is None:
        return None
    ministry_id, stolen = admitted
    ministry = facts.member(ministry_id)
    ministry_name = ministry.name if ministry else ministry_id.hex()
    verdict.facts.update({"admitted_by": ministry_name,
                          "admitted_at_height": member.added_height,
                          "key_compromised_from": stolen.compromised_from})
    return verdict.fail("admission_compromised", Check(
        "admitted", False, f"{name} was admitted to the consortium by {ministry_name} at "
        f"height {member.added_height}, with a key of {ministry_name} reported stolen from "
        f"height {stolen.compromised_from}: the thief may have admitted it"))


def _revocation_doubted(verdict: Verdict, revocation: Revocation,
                        compromised_from: int | None, issuer_name: str) -> Verdict:
    """An issuer's revocation recorded when a key it held was distrusted: the thief's,
    perhaps, or the issuer's own made before it reported the theft from an earlier height.
    Neither revoked nor valid can be said: the issuer is to be asked. Nothing is written
    over it (only governance, from rules version 8, revokes over it once the issuer is
    retired); a replacement undoing a thief's report brings an honest one back."""
    _revocation_facts(verdict, revocation)
    verdict.facts["key_compromised_from"] = compromised_from
    return verdict.fail("revocation_doubted", Check(
        "not_revoked", False, f"revoked at height {revocation.height} "
        f"({when(revocation.time_ms)}) with a key of {issuer_name} reported stolen from "
        f"height {compromised_from}: the revocation may have been made by the thief; ask "
        f"{issuer_name} whether this credential stands"))


def _membership(verdict: Verdict, batch: Batch, issuer: Member, facts: ChainFacts) -> Check:
    """What a retired issuer's credential is: issued while it was a member (the ledger
    refuses anything it signs from its retirement height), and since when it is gone."""
    retired = issuer.retired_height
    assert retired is not None
    verdict.facts["issuer_retired_height"] = retired
    if batch.height >= retired:  # the ledger refuses it: a state that holds it is wrong
        return Check("membership", False, f"issued at height {batch.height}, but "
                     f"{issuer.name} was retired from the consortium at height {retired} "
                     "and could sign nothing from then on")
    if facts.height is not None and retired > facts.height:
        verdict.facts["issuer_leaves"] = True
        return Check("membership", True, f"{issuer.name} leaves the consortium at height "
                     f"{retired}; it issued this while a member")
    left_ms = facts.block_time(retired)
    if left_ms is None:
        return Check("membership", True, f"issued while {issuer.name} was a member and "
                     f"accredited; {issuer.name} left the consortium at height {retired}")
    verdict.facts["issuer_left_at"] = when(left_ms)
    return Check("membership", True, f"issued while {issuer.name} was a member and "
                 f"accredited; {issuer.name} left the consortium on {day_of(left_ms)} "
                 f"(height {retired})")


def day_of(time_ms: int) -> str:
    return datetime.fromtimestamp(time_ms / 1000, tz=UTC).strftime("%Y-%m-%d")


def _revocation_facts(verdict: Verdict, revocation: Revocation) -> str:
    """The revocation's facts into the verdict; its reason in words."""
    words = REVOCATION_REASONS.get(revocation.reason, revocation.reason)
    verdict.facts.update({"revoked_at": when(revocation.time_ms),
                          "revoked_at_height": revocation.height,
                          "revocation_reason": revocation.reason,
                          "revocation_reason_text": words})
    if revocation.note_hash is not None:
        verdict.facts["revocation_note_hash"] = revocation.note_hash.hex()
    return words


def _revoked(verdict: Verdict, revocation: Revocation, facts: ChainFacts) -> Verdict:
    words = _revocation_facts(verdict, revocation)
    since = f"at height {revocation.height} ({when(revocation.time_ms)})"
    if revocation.proposal_id is not None:
        proposer = facts.member(revocation.revoked_by)
        verdict.facts.update({"revoked_by": "consortium",
                              "revoked_by_proposal": revocation.proposal_id.hex(),
                              "revoked_by_proposer": proposer.name if proposer
                              else revocation.revoked_by.hex()})
        return verdict.fail("revoked", Check("not_revoked", False,
                            f"revoked by the consortium, by governance proposal "
                            f"{revocation.proposal_id.hex()} (proposed by "
                            f"{verdict.facts['revoked_by_proposer']}), {since}: {words}"))
    verdict.facts["revoked_by"] = "issuer"
    if revocation.replaced_by is not None:
        root, target = revocation.replaced_by
        verdict.facts["superseded_by"] = {"batch_root": root.hex(), "target_hash": target.hex()}
        return verdict.fail("superseded", Check("not_revoked", False,
                            f"superseded {since} by the corrected credential {target.hex()[:16]}… "
                            f"of batch {root.hex()[:16]}…: ask its holder for the new one"))
    return verdict.fail("revoked", Check("not_revoked", False,
                        f"revoked {since}: {words}"))
