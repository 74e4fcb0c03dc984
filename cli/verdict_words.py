"""A verdict said in Kazakh or Russian, as the portal says it (node/static/portal-verdict.js
draws the same sentences from the same catalogue): one sentence first, then each check by
its name and what it found.

The ledger words its verdicts and checks in English, with heights and hashes; that
detail stays in `--json` and in the English output. Here each is said from the verdict's
status and facts, which are the same in every language.
"""

from __future__ import annotations

import json
import re
from typing import Any

from cli.commands import Judged, lay_out_verdict
from cli.language import Words
from cli.spoken import problem_of
from ledger.vc.status import LIST_UNUSABLE
from ledger.verification import Check

# Checks only the command line makes: when one fails, the verdict's sentence is its story.
CLI_CHECKS = ("offline_proof", "certified", "fresh", "anchored")
# What of a status the catalogue has no sentence for is repeated: enough to report it.
MAX_CODE_CHARS = 40


def _facts(verdict: Judged) -> dict[str, Any]:
    facts = getattr(verdict, "facts", {})
    return facts if isinstance(facts, dict) else {}


def _type_word(words: Words, kind: Any) -> str:
    return words.t(f"type.{kind}") if words.has(f"type.{kind}") else str(kind or "")


def _reason_words(words: Words, code: Any) -> str:
    return words.t(f"reason.{code}") if code and words.has(f"reason.{code}") else str(code or "")


def as_of(words: Words, facts: dict[str, Any]) -> str | None:
    """The block the answer holds as of, with its time, when the verdict names one."""
    if "as_of_height" not in facts:
        return None
    return words.t("asof.block_time", height=facts["as_of_height"],
                   when=words.datetime(facts.get("as_of_time")))


def _proposal(facts: dict[str, Any]) -> str:
    return f"{str(facts.get('revoked_by_proposal', ''))[:16]}…"


def retirement(words: Words, facts: dict[str, Any]) -> str:
    """A genuine credential of an issuer that left the consortium: when it left (as
    portal-membership.js says it), after the verdict; nothing for a member."""
    if "issuer_retired_height" not in facts:
        return ""
    key = ("retired.left" if facts.get("issuer_left_at") else "retired.leaves"
           if facts.get("issuer_leaves") else "retired.left_at_block")
    return " " + words.t(key, issuer=facts.get("issuer", ""),
                         leftDate=words.date(facts.get("issuer_left_at")),
                         height=facts["issuer_retired_height"])


def suspension(words: Words, facts: dict[str, Any]) -> str:
    """A genuine credential of an issuer whose accreditation was suspended after it was
    issued: since when and why (as portal-membership.js says it), after the verdict."""
    if "issuer_suspended_height" not in facts:
        return ""
    code = f"suspension.{facts.get('issuer_suspension_reason')}"
    reason = words.t(code if words.has(code) else "suspension.other")
    if facts.get("issuer_suspended_at"):
        return " " + words.t("suspended.since", issuer=facts.get("issuer", ""), reason=reason,
                             date=words.date(facts["issuer_suspended_at"]))
    return " " + words.t("suspended.since_block", issuer=facts.get("issuer", ""),
                         reason=reason, height=facts["issuer_suspended_height"])


def _list_out_of_date(words: Words, facts: dict[str, Any], prefix: str) -> str:
    """`prefix`.status_list_expired (or _not_yet_valid) with when, for a W3C VC whose
    status list was outside its validity period (ledger.vc.verify); "" for any other."""
    validity = facts.get("status_list_validity")
    moment = facts.get("status_list_valid_until" if validity == "expired"
                       else "status_list_valid_from")
    if validity not in ("expired", "not_yet_valid") or not moment:
        return ""
    return words.t(f"{prefix}.status_list_{validity}", when=words.datetime(moment))


def _list_unusable(words: Words, facts: dict[str, Any], prefix: str) -> str:
    """For a W3C VC whose status list could not be read for it (ledger.vc.status_checks):
    `prefix` "cli.status", that its revocation status is not confirmed; "cli.detail", what
    was wrong with the list. "" for any other verdict."""
    problem = facts.get("status_list_problem")
    if problem not in LIST_UNUSABLE:
        return ""
    if prefix == "cli.status":
        return words.t("cli.status.status_list_unusable")
    return words.t(f"cli.detail.status_list_{problem}",
                   purpose=str(facts.get("status_list_purpose", "")),
                   index=str(facts.get("status_list_index", "")))


def _status_check_failed(verdict: Judged) -> bool:
    """Whether a W3C VC's status check failed, its list unusable: "unknown" alone was said
    in kk and ru as a credential never issued on this network, of one no chain was asked
    about."""
    return any(check.name == "status" and not check.ok for check in verdict.checks)


def untrusted_sentence(facts: dict[str, Any], words: Words) -> str:
    """A node's answer that cannot be trusted, in one sentence, by what gave it away (an
    untrusted answer is the node's fault, whatever document it was asked about)."""
    if facts.get("untrusted_because") == "node_retired":
        return words.t("cli.status.untrusted_node_retired", node=facts.get("node", ""),
                       member=facts.get("node_member", ""),
                       height=facts.get("node_retired_height", ""))
    if facts.get("untrusted_because") == "proof_false":
        return words.t("cli.status.untrusted_proof_false", node=facts.get("node", ""))
    return words.t("cli.status.untrusted", node=facts.get("node", ""))


def verdict_sentence(verdict: Judged, words: Words, *, unreadable: str | None = None,
                     proof_refusal: str | None = None) -> str:
    """The verdict in one sentence. `unreadable`: the kind of file no check could start
    from (cli.verify_files); `proof_refusal`: the code of an offline proof's refusal."""
    if unreadable is not None:
        return words.t(f"status.{unreadable}")
    if proof_refusal is not None:
        key = f"cli.proof.{proof_refusal}"
        return words.t(key if words.has(key) else "cli.proof.proof_malformed")
    f = _facts(verdict)
    status = verdict.status
    issuer = str(getattr(verdict, "issuer", "") or "")
    if any(check.name == "anchored" for check in verdict.checks):  # a document, not a credential
        if status == "compromised_key":
            return words.t("cli.status.anchored_stolen_key", author=f.get("author", ""),
                           fromHeight=f.get("key_compromised_from", ""))
        if status == "admission_compromised":
            return words.t("status.admission_compromised", issuer=f.get("author", ""),
                           ministry=f.get("admitted_by", ""),
                           fromHeight=f.get("key_compromised_from", ""))
        if verdict.valid:
            return words.t("cli.status.anchored", author=f.get("author", ""),
                           when=words.datetime(f.get("recorded_at")))
        if status == "unknown":  # "no record": said only when the chain has none
            return words.t("cli.status.not_anchored")
        if status != "stale":  # a record this source's keys do not let be read
            return words.t("cli.status.anchor_unchecked")
    moment = as_of(words, f)
    params = {"type": _type_word(words, f.get("type")), "issuer": f.get("issuer", ""),
              "date": words.date(f.get("issued_at")),
              "revokedDate": words.date(f.get("revoked_at")),
              "revokedTime": words.time(f.get("revoked_at")),
              "reason": _reason_words(words, f.get("revocation_reason")),
              "fromHeight": f.get("key_compromised_from", ""),
              "ministry": f.get("accredited_by", f.get("admitted_by", ""))}
    if status == "valid" and f.get("type"):
        said = (words.t("cli.status.valid_as_of", **params, asOf=moment) if moment
                else words.t("status.valid", **params))
        return said + retirement(words, f) + suspension(words, f)
    if status == "revoked" and f.get("revoked_by") == "consortium":
        return words.t("status.revoked_by_consortium", **params, proposal=_proposal(f))
    if status in ("valid", "unconfirmed"):  # a VC no chain records: only its signature
        return words.t("status.valid_vc", issuer=issuer)
    if status == "unaccredited" and not f.get("type"):
        return words.t("status.unaccredited_plain")
    if status == "revoked" and not f.get("revoked_at"):
        return words.t("status.revoked_plain")
    if status == "not_yet_valid" and f.get("valid_from"):
        return words.t("status.not_yet_valid", date=words.date(f["valid_from"]))
    if status == "expired" and f.get("valid_until"):
        return words.t("status.expired_on", date=words.date(f["valid_until"]))
    listed = _list_out_of_date(words, f, "cli.status")
    if status == "unknown" and listed:  # no "never issued here": its list was out of date
        return listed
    if status == "unknown" and _list_unusable(words, f, "cli.status"):  # no "malformed":
        return _list_unusable(words, f, "cli.status")  # the list is, not the credential
    if status == "unknown" and _status_check_failed(verdict):  # its list's proof failed
        return words.t("cli.status.status_list_unverified")
    original = f.get("original")
    if status == "original_invalid" and isinstance(original, dict) \
            and original.get("status") in ("doubted", "admission_doubted"):
        # genuine, on a doubted original (or one whose issuer's admission is in doubt)
        return words.t(f"status.original_{original['status']}",
                       issuer=original.get("issuer", ""))
    if status == "stale":
        return words.t("cli.status.stale_absent" if f.get("stale_absent") else
                       "cli.status.stale", asOf=moment or "")
    if status == "tampered" and f.get("did_key") == "not_the_issuers":
        return words.t("cli.status.vc_signed_by_another", issuer=issuer)
    if status == "untrusted":
        return untrusted_sentence(f, words)
    if words.has(f"cli.status.{status}"):  # said differently here than on a node's page
        return words.t(f"cli.status.{status}")
    if words.has(f"status.{status}"):
        return words.t(f"status.{status}", **params)
    # No sentence for it: said with its code and the ledger's own words, never guessed.
    return f"{status[:MAX_CODE_CHARS].upper()}: {verdict.reason}"


def _counts(document: Any, pattern: str) -> tuple[str, str]:
    """How many of the document's fields named by `pattern` are shown, and hidden."""
    fields = document.get("fields") if isinstance(document, dict) else None
    if not isinstance(fields, dict):
        return "0", "0"
    names = [n for n in fields if re.search(pattern, n)]
    shown = len([n for n in names
                 if isinstance(fields[n], dict) and isinstance(fields[n].get("value"), str)])
    return str(shown), str(len(names) - shown)


def _recognised_credits(document: Any) -> str:
    """The ECTS credits of the recognised courses the holder shows (lines of JSON)."""
    fields = document.get("fields") if isinstance(document, dict) else None
    total = 0.0
    for name, entry in (fields.items() if isinstance(fields, dict) else []):
        value = entry.get("value") if isinstance(entry, dict) else None
        if re.fullmatch(r"recognised\.\d+", name) and isinstance(value, str):
            try:
                line = json.loads(value)
                total += float(line.get("credits") or 0) if isinstance(line, dict) else 0
            except (ValueError, TypeError):
                continue
    return f"{total:g}"


def _shown_field(document: Any, name: str) -> str:
    fields = document.get("fields") if isinstance(document, dict) else None
    entry = fields.get(name) if isinstance(fields, dict) else None
    value = entry.get("value") if isinstance(entry, dict) else None
    return value if isinstance(value, str) else ""


def _role(words: Words, document: Any) -> str:
    """" as <position> at <organisation>", as far as the holder shows them (the portal's)."""
    position = _shown_field(document, "position")
    organisation = _shown_field(document, "organisation")
    if position and organisation:
        return words.t("employment.role", position=position, organisation=organisation)
    if position:
        return words.t("employment.role_position", position=position)
    return words.t("employment.role_organisation", organisation=organisation) \
        if organisation else ""


def employment_standing(verdict: Judged, words: Words, document: Any) -> str:
    """A genuine employment record's standing, said after its verdict as the portal says
    it (whether the person still works there is what the reader came for)."""
    check = next((c for c in verdict.checks if c.name == "employment"), None)
    if verdict.status != "valid" or check is None or not check.ok:
        return ""
    return " " + _employment(check, words, _facts(verdict), document)


def _employment(check: Check, words: Words, facts: dict[str, Any], document: Any = None
                ) -> str:
    e = facts.get("employment")
    if not check.ok or not isinstance(e, dict):
        return words.t("detail.employment.fail")
    start = words.date(e["start_date"]) if e.get("start_date") else words.t(
        "employment.start_hidden")
    params = {"role": _role(words, document), "start": start,
              "end": words.date(e.get("end_date"))}
    if e.get("current"):
        text = words.t("detail.employment.current", **params,
                       asOf=words.t("asof.block", height=e.get("as_of_height", "")))
    elif e.get("end_doubted"):
        text = words.t("detail.employment.end_doubted", **params,
                       height=e["end_recorded_at_height"], fromHeight=e["key_compromised_from"])
    elif e.get("end_date_hidden"):
        text = words.t("detail.employment.ended_hidden", **params)
    elif "employer_left_height" in e:
        left = e["employer_left_height"]
        text = (words.t("detail.employment.employer_left_on", **params, height=left,
                        leftDate=words.date(e["employer_left_at"]))
                if e.get("employer_left_at") else
                words.t("detail.employment.employer_left", **params, height=left))
    elif "end_recorded_at_height" in e:
        text = words.t("detail.employment.ended", **params,
                       height=e["end_recorded_at_height"])
    else:
        text = words.t("detail.employment.ended_as_issued", **params)
    return text[:1].upper() + text[1:]  # a role said first, or none: still a capital


def _original(check: Check, words: Words, facts: dict[str, Any]) -> str:
    found = facts.get("original")
    o: dict[str, Any] = found if isinstance(found, dict) else {}
    params = {"issuer": o.get("issuer", ""), "height": o.get("height", ""),
              "reason": _reason_words(words, o.get("revocation_reason"))}
    if check.ok:
        return words.t("detail.original.ok", **params)
    kind = {"revoked": "revoked", "unknown": "unknown", "tampered": "unknown",
            "unaccredited": "unaccredited", "doubted": "doubted",
            "admission_doubted": "admission_doubted"}.get(str(o.get("status")), "fail")
    return words.t(f"detail.original.{kind}", **params)


def _has_what_it_counts(check: Check, document: Any) -> bool:
    """A W3C VC carries its fields and batch elsewhere than a Senim credential file: the
    counts the catalogue's sentences give would be empty there."""
    if not isinstance(document, dict):
        return check.name not in ("fields", "batch")
    if check.name == "fields":
        return isinstance(document.get("fields"), dict)
    if check.name == "batch":
        batch = document.get("batch")
        return isinstance(batch, dict) and isinstance(batch.get("index"), int)
    return True


def check_words(check: Check, verdict: Judged, words: Words, document: Any) -> str:
    """"Name: what it found", for one check, as the portal lists it."""
    f = _facts(verdict)
    kind = f.get("type") or (document.get("type") if isinstance(document, dict) else None)
    recognition = check.name == "lines" and kind == "recognition"
    name = (words.t("check.recognised") if recognition else words.t(f"check.{check.name}")
            if words.has(f"check.{check.name}") else words.t("check.other"))
    shown, hidden = _counts(document, r".")
    lines_shown, lines_hidden = _counts(document, r"^(course|recognised)\.\d+$")
    batch = document.get("batch") if isinstance(document, dict) else None
    batch = batch if isinstance(batch, dict) else {}
    key = f"detail.{check.name}.{'ok' if check.ok else 'fail'}"
    if not check.ok and check.problem is not None:  # a document's problem, by its code
        detail = problem_of(check.detail, check.problem, check.params).said(words)
        detail = detail[:1].upper() + detail[1:]
    elif check.name == "certified" and f.get("untrusted_because") == "proof_false":
        node = f.get("node", "")
        detail = words.t("cli.node.proof_false", node=node)
        if not (node and detail.startswith(node)):  # a URL said first keeps its case
            detail = detail[:1].upper() + detail[1:]
    elif check.name == "member" and not check.ok and f.get("did_key") == "not_the_issuers":
        detail = words.t("cli.detail.vc_signed_by_another", issuer=f.get("issuer", ""))
    elif check.name == "employment":
        detail = _employment(check, words, f, document)
    elif check.name == "accredited" and not check.ok and "accredited_by" in f:
        detail = words.t("detail.accredited.fail_stolen_key", ministry=f["accredited_by"],
                         fromHeight=f.get("key_compromised_from", ""))
    elif check.name == "admitted" and not check.ok and "admitted_by" in f:
        detail = words.t("detail.admitted.fail_stolen_key", ministry=f["admitted_by"],
                         height=f.get("admitted_at_height", ""),
                         fromHeight=f.get("key_compromised_from", ""))
    elif check.name == "not_revoked" and verdict.status == "revocation_doubted":
        detail = words.t("detail.not_revoked.fail_doubted",
                         revokedDate=words.date(f.get("revoked_at")),
                         fromHeight=f.get("key_compromised_from", ""))
    elif check.name == "membership":
        detail = words.t(f"detail.membership.{'ok' if check.ok else 'fail'}",
                         issuer=f.get("issuer", ""), height=f.get("issuer_retired_height", ""))
    elif check.name == "not_revoked" and not check.ok and f.get("revocation_reason") == \
            "superseded":  # said as replaced, as the verdict says it, not as revoked
        detail = words.t("detail.not_revoked.fail_superseded",
                         revokedDate=words.date(f.get("revoked_at")))
    elif check.name == "not_revoked" and not check.ok and f.get("revoked_by") == "consortium":
        detail = words.t("detail.not_revoked.fail_consortium", proposal=_proposal(f),
                         revokedDate=words.date(f.get("revoked_at")),
                         reason=_reason_words(words, f.get("revocation_reason")))
    elif check.name == "anchored" and not check.ok and "key_compromised_from" in f:
        detail = words.t("cli.anchored.stolen_key", author=f.get("author", ""),
                         height=f.get("height", ""), fromHeight=f["key_compromised_from"])
    elif check.name == "node_retired":
        detail = words.t("cli.detail.node_retired", member=f.get("node_member", ""),
                         height=f.get("node_retired_height", ""))
    elif check.name == "fresh" and not check.ok and "answer_age_s" in f:
        detail = words.t("cli.fresh.fail", age=f["answer_age_s"], maxAge=f["max_age_s"])
    elif check.name == "original":
        detail = _original(check, words, f)
    elif check.name == "status" and not check.ok and _list_out_of_date(words, f, "cli.detail"):
        detail = _list_out_of_date(words, f, "cli.detail")
    elif check.name == "status" and not check.ok and _list_unusable(words, f, "cli.detail"):
        detail = _list_unusable(words, f, "cli.detail")
    elif check.name == "status" and not check.ok and verdict.status == "unknown":
        detail = words.t("cli.detail.status_list_unverified")
    elif check.name == "status" and not check.ok and verdict.status == "revoked":
        detail = words.t("detail.status.fail_revoked")  # a W3C VC's status list
    elif check.name == "senim" and not check.ok:
        detail = words.t("detail.senim.fail")  # a W3C VC no chain records
    elif recognition and check.ok:
        detail = words.t("detail.recognised.ok", linesShown=lines_shown,
                         linesHidden=lines_hidden, credits=_recognised_credits(document))
    elif check.name not in CLI_CHECKS and words.has(key) and _has_what_it_counts(check,
                                                                              document):
        subjects_shown, subjects_hidden = _counts(document, r"^subject\.")
        index = batch.get("index")
        detail = words.t(
            key, shown=shown, hidden=hidden, linesShown=lines_shown, linesHidden=lines_hidden,
            subjectsShown=subjects_shown, subjectsHidden=subjects_hidden,
            index=index + 1 if isinstance(index, int) else "", size=batch.get("size", ""),
            height=f.get("height", ""), when=words.datetime(f.get("issued_at")),
            issuer=f.get("issuer", ""), revokedDate=words.date(f.get("revoked_at")),
            reason=_reason_words(words, f.get("revocation_reason")),
            theirs=document.get("chain_id", "") if isinstance(document, dict) else "")
    else:
        detail = words.t("detail.other.ok" if check.ok else "detail.other.fail")
    return f"{name}: {detail}"


def print_verdict_words(verdict: Judged, words: Words, sentence: str, file_line: str,
                        document: Any, after: list[str]) -> None:
    """As cli.commands.print_verdict lays a verdict out, in `words`' language."""
    lay_out_verdict(verdict.valid, sentence, f"{words.t('cli.file')}: {file_line}",
                    [(check.ok, check_words(check, verdict, words, document))
                     for check in verdict.checks], after)
