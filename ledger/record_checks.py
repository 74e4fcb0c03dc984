"""What verification adds for structured records, once a credential itself is genuine.

- transcripts and attestats: the course lines and subject grades shown, and how
  many the holder hid;
- employment: "employed from ... to ..." from the end the employer recorded on
  chain, or "currently employed ... as of block H", or, for an employer that has left
  the consortium with no end recorded, that the chain cannot tell;
- recognition: the original transcript it names is checked on chain as well
  (its batch under its issuer, its issuer's accreditation, and whether it has
  since been revoked), from the reference alone: the original's hidden lines
  stay hidden, since the recognition names only course codes.

Every lookup is a chain fact; no value read here goes anywhere but the verdict.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from ledger.academic import (
    COURSE_PREFIX,
    ORIGINAL_FIELD,
    RECOGNISED_PREFIX,
    SUBJECT_PREFIX,
    OriginalRef,
    date_of_day,
    line_text,
    parse_course_line,
    parse_original,
    parse_recognised_line,
)
from ledger.credential_documents import ParsedDocument
from ledger.distrust import stolen_admission, stolen_key_at, trusted_grant
from ledger.errors import InvalidDocument, MalformedInput
from ledger.key_events import KeyHistory, KeyPeriod
from ledger.labels import label_of, labels_for
from ledger.payloads_credentials import REVOCATION_REASONS
from ledger.records import Accreditation, Batch, EmploymentEnd, Member, Revocation
from storage.batch_tree import verify_inclusion


class RecordFacts(Protocol):
    height: int | None

    def member(self, member: bytes) -> Member | None: ...
    def accreditation(self, member: bytes) -> Accreditation: ...
    def batch(self, issuer: bytes, root: bytes) -> Batch | None: ...
    def revocation(self, issuer: bytes, batch_root: bytes, target: bytes
                   ) -> Revocation | None: ...
    def employment_end(self, issuer: bytes, batch_root: bytes, target: bytes
                       ) -> EmploymentEnd | None: ...
    def key_history(self, member: bytes) -> KeyHistory | None: ...


@dataclass(frozen=True)
class Finding:
    """One more check for the verdict; `status` is the verdict's status when it fails."""

    name: str
    ok: bool
    detail: str
    status: str = "valid"


def _shown_and_hidden(doc: ParsedDocument, prefix: str) -> tuple[list[str], int]:
    names = sorted(n for n in doc.field_hashes if n.startswith(prefix))
    shown = [n for n in names if n in doc.revealed]
    return shown, len(names) - len(shown)


def label_findings(doc: ParsedDocument, facts_out: dict[str, Any]) -> None:
    """The standard labels of the fields shown, and which labels the document altered."""
    facts_out["labels"] = labels_for(doc.credential_type, sorted(doc.revealed))
    differ = sorted(name for name, label in doc.labels.items()
                    if label != label_of(doc.credential_type, name))
    if differ:
        facts_out["labels_not_standard"] = differ


def _subject_name(credential_type: str, code: str) -> str:
    label = label_of(credential_type, SUBJECT_PREFIX + code)
    return label["en"] if label else code


def line_findings(doc: ParsedDocument, facts_out: dict[str, Any]) -> list[Finding]:
    findings = []
    shown, hidden = _shown_and_hidden(doc, COURSE_PREFIX)
    if shown or hidden:
        lines = []
        for name in shown:
            try:
                lines.append({"field": name, **parse_course_line(doc.revealed[name],
                                                                 name).to_json()})
            except InvalidDocument:  # issued before lines were checked: shown as written
                lines.append({"field": name, "text": doc.revealed[name]})
        credits = sum((Decimal(line["credits"]) for line in lines if "credits" in line),
                      Decimal(0))
        facts_out["course_lines"] = lines
        findings.append(Finding("lines", True, f"{len(shown)} course line(s) shown "
                                f"({credits} ECTS credits), {hidden} hidden by the holder"))
    shown, hidden = _shown_and_hidden(doc, SUBJECT_PREFIX)
    if shown or hidden:
        subjects = {name[len(SUBJECT_PREFIX):]: doc.revealed[name] for name in shown}
        facts_out["subjects"] = subjects
        words = ", ".join(f"{_subject_name(doc.credential_type, code)} {grade}"
                          for code, grade in subjects.items())
        findings.append(Finding("subjects", True, f"{len(shown)} subject grade(s) shown"
                                f"{': ' + words if words else ''}; {hidden} hidden"))
    shown, hidden = _shown_and_hidden(doc, RECOGNISED_PREFIX)
    if shown or hidden:
        recognised = []
        for name in shown:
            try:
                recognised.append({"field": name, **parse_recognised_line(
                    doc.revealed[name], name).to_json()})
            except InvalidDocument:
                recognised.append({"field": name, "text": doc.revealed[name]})
        facts_out["recognised_lines"] = recognised
        pairs = ", ".join(f"{r['from_code']} as {r['as_code']} ({r['credits']} ECTS)"
                          for r in recognised if "from_code" in r)
        findings.append(Finding("lines", True, f"{len(shown)} recognised course(s) shown"
                                f"{': ' + pairs if pairs else ''}; {hidden} hidden"))
    return findings


def _end_doubted(end: EmploymentEnd, start: str | None, as_what: str, facts: RecordFacts,
                 facts_out: dict[str, Any]) -> Finding | None:
    """The finding on an end recorded with a key distrusted at its height (the thief's, or
    the employer's own before it reported the theft from earlier), or None: neither ended
    nor current can be said, and its start proves nothing against the document's."""
    try:
        stolen = stolen_key_at(facts, end.ended_by, end.height)
    except MalformedInput as exc:
        return Finding("employment", False, f"the employer's keys cannot be read from this "
                       f"source ({exc})", "malformed")
    if stolen is None:
        return None
    facts_out["employment"] = {"start_date": start, "end_date": date_of_day(end.end_day),
                               "current": False, "end_recorded_at_height": end.height,
                               "end_doubted": True,
                               "key_compromised_from": stolen.compromised_from}
    return Finding("employment", True, f"employed{as_what} from "
                   f"{start or 'a date the holder hid'}; an end on "
                   f"{date_of_day(end.end_day)} was recorded at height {end.height} with a "
                   f"key declared stolen from height {stolen.compromised_from}: ask the "
                   "employer whether this employment continues")


def employment_finding(doc: ParsedDocument, batch: Batch, facts: RecordFacts,
                       facts_out: dict[str, Any]) -> Finding:
    try:
        end = facts.employment_end(batch.issuer, doc.batch_root, doc.target_hash)
    except InvalidDocument as exc:  # an offline proof made before employment ends existed
        return Finding("employment", False, f"whether the employment ended cannot be told "
                       f"from this source ({exc}): make a new proof with `senim prove`",
                       "malformed")
    as_what = " ".join(filter(None, (
        f"as {doc.revealed['position']}" if "position" in doc.revealed else "",
        f"at {doc.revealed['organisation']}" if "organisation" in doc.revealed else "")))
    as_what = f" {as_what}" if as_what else ""
    start = doc.revealed.get("start_date")
    doubted = None if end is None else _end_doubted(end, start, as_what, facts, facts_out)
    if doubted is not None and "end_date" not in doc.field_hashes:
        return doubted
    # A document issued with its own end says it as issued; a doubted end adds nothing.
    if end is not None and doubted is None:
        chain_start = date_of_day(end.start_day)
        # The end's record states the start too; a start the holder hid stays hidden.
        hid_start = start is None and "start_date" in doc.field_hashes
        shown_start = start or (None if hid_start else chain_start)
        facts_out["employment"] = {"start_date": shown_start,
                                   "end_date": date_of_day(end.end_day), "current": False,
                                   "end_recorded_at_height": end.height}
        if start is not None and start != chain_start:
            return Finding("employment", False, f"the document starts the employment on "
                           f"{start}, the end its employer recorded on chain on {chain_start}",
                           "inconsistent")
        return Finding("employment", True, f"employed{as_what} from "
                       f"{shown_start or 'a date the holder hid'} to "
                       f"{date_of_day(end.end_day)} (end recorded at height {end.height})")
    since = f" from {start}" if start else ""
    if "end_date" in doc.revealed:
        facts_out["employment"] = {"start_date": start, "end_date": doc.revealed["end_date"],
                                   "current": False}
        return Finding("employment", True, f"employed{as_what}{since} to "
                       f"{doc.revealed['end_date']} (as issued)")
    if "end_date" in doc.field_hashes:
        # Issued ended, its end hidden by the holder: the hash shows there is one, so the
        # employment is not said to go on (nor left unknown, as a retired employer's is).
        facts_out["employment"] = {"start_date": start, "end_date": None, "current": False,
                                   "end_date_hidden": True}
        return Finding("employment", True, f"employed{as_what}{since} to a date the holder "
                       "hid (the document states when it ended)")
    left = facts_out.get("issuer_retired_height")
    if isinstance(left, int) and not facts_out.get("issuer_leaves"):
        # A retired employer signs nothing from its retirement, an end included, so
        # "currently employed" would be said of a company that may be long closed.
        left_at = facts_out.get("issuer_left_at")
        facts_out["employment"] = {"start_date": start, "end_date": None, "current": False,
                                   "employer_left_height": left,
                                   **({"employer_left_at": left_at} if left_at else {})}
        return Finding("employment", True, f"employed{as_what}{since}; the employer left the "
                       f"consortium at height {left} with no end recorded, and can record "
                       "none since: whether it continues is not known from the chain")
    facts_out["employment"] = {"start_date": start, "end_date": None, "current": True,
                               "as_of_height": facts.height}
    as_of = f"as of block {facts.height}" if facts.height is not None else "no end recorded"
    return Finding("employment", True, f"currently employed{as_what}{since}, {as_of}")


def original_finding(doc: ParsedDocument, facts: RecordFacts,
                     facts_out: dict[str, Any]) -> Finding:
    """Check the transcript a recognition names, on chain, from its reference alone."""
    if ORIGINAL_FIELD not in doc.revealed:
        return Finding("original", False, "the reference to the original transcript is "
                       "hidden: show it to have the original checked", "original_unchecked")
    try:
        ref = parse_original(doc.revealed[ORIGINAL_FIELD])
    except InvalidDocument as exc:
        return Finding("original", False, str(exc), "malformed")
    summary: dict[str, Any] = {"issuer_id": ref.issuer.hex(), "batch_root": ref.batch_root.hex(),
                               "target_hash": ref.target_hash.hex()}
    facts_out["original"] = summary
    if not verify_inclusion(ref.target_hash, ref.index, ref.size, list(ref.path),
                            ref.batch_root):
        summary["status"] = "tampered"
        return Finding("original", False, "the original transcript is not in the batch the "
                       "reference names (audit path fails)", "original_invalid")
    try:
        return _original_on_chain(ref.issuer, ref.batch_root, ref.target_hash, ref.size,
                                  facts, summary)
    except InvalidDocument as exc:  # an offline proof made for the recognition alone
        summary["status"] = "unchecked"
        return Finding("original", False, f"the original could not be checked from this "
                       f"source: {exc}", "original_unchecked")


def _original_on_chain(issuer_id: bytes, root: bytes, target: bytes, size: int,
                       facts: RecordFacts, summary: dict[str, Any]) -> Finding:
    batch = facts.batch(issuer_id, root)
    if batch is None or batch.credential_type != "transcript" or batch.count != size:
        summary["status"] = "unknown"
        return Finding("original", False, f"the original transcript is not on chain: issuer "
                       f"{issuer_id.hex()} has no transcript batch with this root",
                       "original_invalid")
    member = facts.member(issuer_id)
    name = member.name if member else issuer_id.hex()
    summary.update({"issuer": name, "height": batch.height})
    # The original's own chain checks, as its verdict makes them (ledger.verification): a
    # recognition laundered a transcript signed, accredited or revoked with a stolen key.
    try:
        signer = issuer_key_finding(batch, facts, name, {})
        grant, doubted_grant = trusted_grant(facts, batch)
        by_thief = None if member is None else stolen_admission(facts, member)
    except MalformedInput as exc:
        summary["status"] = "unchecked"
        return Finding("original", False, f"the original's keys cannot be read from this "
                       f"source ({exc})", "original_unchecked")
    if not signer.ok and signer.status != "compromised_key":  # unreadable here, or no member
        summary["status"] = "unchecked" if signer.status == "malformed" else "unknown"
        return Finding("original", False, f"the original transcript's signing key cannot be "
                       f"told: {signer.detail}", "original_unchecked"
                       if signer.status == "malformed" else "original_invalid")
    if by_thief:  # the issuer itself is in question, not a key it held: not its to settle
        summary["status"] = "admission_doubted"
        return Finding("original", False, f"the original transcript was issued by {name}, "
                       "admitted to the consortium with a ministry's key declared stolen: "
                       "the thief may have admitted it", "original_invalid")
    if not signer.ok or (grant is None and doubted_grant is not None):
        summary["status"] = "doubted"
        why = (signer.detail if not signer.ok
               else "it was accredited only with a key declared stolen")
        return Finding("original", False, f"the original transcript issued by {name} cannot "
                       f"be relied on: {why}", "original_invalid")
    if grant is None:
        accreditation = facts.accreditation(issuer_id)
        _code, why = accreditation.why_not("transcript", batch.height, batch.time_ms)
        summary["status"] = "unaccredited"
        return Finding("original", False, f"the original transcript's issuer {name} was not "
                       f"accredited for transcripts when it issued it: {why}",
                       "original_invalid")
    revocation = facts.revocation(issuer_id, root, target)
    if revocation is not None and (revocation.revoked_by == issuer_id
                                   or revocation.by_consortium):
        if not revocation.by_consortium and stolen_key_at(facts, issuer_id,
                                                          revocation.height) is not None:
            summary["status"] = "doubted"
            return Finding("original", False, f"the original transcript issued by {name} "
                           f"was revoked at height {revocation.height} with a key reported "
                           "stolen: ask its issuer whether it stands", "original_invalid")
        words = REVOCATION_REASONS.get(revocation.reason, revocation.reason)
        summary.update({"status": "revoked", "revoked_at_height": revocation.height,
                        "revocation_reason": revocation.reason})
        return Finding("original", False, f"the original transcript (issued by {name} at "
                       f"height {batch.height}) has since been revoked at height "
                       f"{revocation.height}: {words}", "original_revoked")
    summary["status"] = "valid"
    return Finding("original", True, f"the original transcript is genuine: issued by {name} "
                   f"at height {batch.height}, not revoked")


def _signer_period(batch: Batch, member: Member, facts: RecordFacts) -> KeyPeriod | None:
    if member.key_rotated_height is None:  # never rotated: its one key signed everything
        return KeyPeriod(member.public_key, member.added_height, None)
    history = facts.key_history(batch.issuer)
    if history is None:
        raise MalformedInput("the issuer rotated its key but no key history is on chain")
    return history.signer_of(batch.signer_key)


def issuer_key_finding(batch: Batch, facts: RecordFacts, issuer_name: str,
                       facts_out: dict[str, Any]) -> Finding:
    """Was the key that signed the batch trusted at the batch's height? A key reported
    stolen from height H taints what it signed at or after H, nothing before."""
    member = facts.member(batch.issuer)
    if member is None:
        return Finding("issuer_key", False, f"the issuer {batch.issuer.hex()} is not a "
                       "member on chain", "unknown")
    try:
        period = _signer_period(batch, member, facts)
    except (InvalidDocument, MalformedInput) as exc:
        return Finding("issuer_key", False, f"which key signed the batch cannot be told from "
                       f"this source ({exc}): make a new proof with `senim prove`", "malformed")
    if period is None:
        return Finding("issuer_key", False, f"the batch names a key {issuer_name} never held",
                       "compromised_key")
    facts_out["signer_key"] = period.public_key.hex()
    if period.compromised_from is not None:
        facts_out["key_compromised_from"] = period.compromised_from
    if not period.trusted_at(batch.height):
        return Finding("issuer_key", False, f"issued at height {batch.height} with a key of "
                       f"{issuer_name} reported stolen from height {period.compromised_from}: "
                       "it may have been issued by the thief", "compromised_key")
    until = "" if period.until_height is None else f" to {period.until_height}"
    detail = f"signed with {issuer_name}'s key in use from height {period.from_height}{until}"
    if period.compromised_from is not None:
        detail += (f"; that key was reported stolen only from height "
                   f"{period.compromised_from}, after this issuance")
    return Finding("issuer_key", True, detail)


def original_ref_of(original: ParsedDocument) -> OriginalRef:
    """The reference a recognition makes to `original` (a transcript, any lines hidden)."""
    if original.credential_type != "transcript":
        raise InvalidDocument(f"a recognition refers to a transcript, not a "
                              f"{original.credential_type}", "not_transcript",
                              type=original.credential_type)
    return OriginalRef(original.issuer, original.credential_type, original.batch_root,
                       original.target_hash, original.batch_index, original.batch_size,
                       tuple(original.batch_path))


def recognition_record(original: ParsedDocument, recognised: list[dict[str, str]],
                       fields: dict[str, str]) -> dict[str, str]:
    """A recognition's fields: the receiver's own `fields`, the reference to the original,
    and one `recognised.NN` line per entry (from_code, as_code, credits, ...). A line
    whose from_field names a course line the holder showed must match its code."""
    record = dict(fields)
    record[ORIGINAL_FIELD] = original_ref_of(original).to_text()
    for number, entry in enumerate(recognised, start=1):
        from_field = entry.get("from_field")
        if from_field is not None and from_field in original.revealed:
            shown = parse_course_line(original.revealed[from_field], from_field)
            if shown.code != entry.get("from_code"):
                raise InvalidDocument(f"recognised line {number}: {from_field} of the "
                                      f"original is {shown.code}, not {entry.get('from_code')}",
                                      "line_mismatch", number=number, field=from_field,
                                      shown=shown.code, given=str(entry.get("from_code")))
        record[f"{RECOGNISED_PREFIX}{number:02d}"] = line_text(entry)
    return record


def record_findings(doc: ParsedDocument, batch: Batch, facts: RecordFacts,
                    facts_out: dict[str, Any]) -> list[Finding]:
    """Findings for a genuine, unrevoked credential's structured content."""
    label_findings(doc, facts_out)
    findings = line_findings(doc, facts_out)
    if batch.credential_type == "employment":
        findings.append(employment_finding(doc, batch, facts, facts_out))
    if batch.credential_type == "recognition":
        findings.append(original_finding(doc, facts, facts_out))
    return findings
