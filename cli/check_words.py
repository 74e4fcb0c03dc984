"""Each check of a verdict said in Kazakh or Russian, "name: what it found", as the portal
lists it (node/static/portal-verdict.js draws the same words from the same catalogue),
and the verdict laid out with them after its one sentence (cli.verdict_words).

The ledger words its checks in English, with heights and hashes; that detail stays in
`--json` and in the English output. Here each is said from its name, whether it held, and
the verdict's facts, which are the same in every language.
"""

from __future__ import annotations

import json
import re
from typing import Any

from cli.commands import Judged, lay_out_verdict
from cli.language import Words
from cli.named_issuer import ISSUER_CHECK
from cli.spoken import problem_of
from cli.verdict_words import (
    facts_of,
    list_out_of_date,
    list_unusable,
    proposal_shown,
    reason_words,
)
from ledger.verification import Check

# Checks only the command line makes: when one fails, the verdict's sentence is its story.
CLI_CHECKS = ("offline_proof", "certified", "fresh", "anchored")


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
    return " " + _employment(check, words, facts_of(verdict), document)


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
              "reason": reason_words(words, o.get("revocation_reason"))}
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
    f = facts_of(verdict)
    kind = f.get("type") or (document.get("type") if isinstance(document, dict) else None)
    recognition = check.name == "lines" and kind == "recognition"
    named = next((key for key in (f"check.{check.name}", f"cli.check.{check.name}")
                  if words.has(key)), "check.other")  # the portal's, or the command line's
    name = words.t("check.recognised") if recognition else words.t(named)
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
        detail = words.t("detail.not_revoked.fail_consortium", proposal=proposal_shown(f),
                         revokedDate=words.date(f.get("revoked_at")),
                         reason=reason_words(words, f.get("revocation_reason")))
    elif check.name == "anchored" and not check.ok and "key_compromised_from" in f:
        detail = words.t("cli.anchored.stolen_key", author=f.get("author", ""),
                         height=f.get("height", ""), fromHeight=f["key_compromised_from"])
    elif check.name == ISSUER_CHECK and not check.ok and "author" not in f:  # a W3C VC's
        detail = words.t("cli.detail.vc_issuer_not_recorder", named=f.get("named_issuer", ""),
                         issuer=f.get("issuer", ""))
    elif check.name == ISSUER_CHECK and not check.ok:
        detail = words.t("cli.detail.issuer_not_recorder", named=f.get("named_issuer", ""),
                         author=f.get("author", ""))
    elif check.name == "node_retired":
        detail = words.t("cli.detail.node_retired", member=f.get("node_member", ""),
                         height=f.get("node_retired_height", ""))
    elif check.name == "fresh" and not check.ok and "answer_age_s" in f:
        detail = words.t("cli.fresh.fail", age=f["answer_age_s"], maxAge=f["max_age_s"])
    elif check.name == "original":
        detail = _original(check, words, f)
    elif check.name == "status" and not check.ok and list_out_of_date(words, f, "cli.detail"):
        detail = list_out_of_date(words, f, "cli.detail")
    elif check.name == "status" and not check.ok and list_unusable(words, f, "cli.detail"):
        detail = list_unusable(words, f, "cli.detail")
    elif check.name == "status" and not check.ok and verdict.status == "unknown":
        detail = words.t("cli.detail.status_list_unverified")
    elif check.name == "status" and not check.ok and verdict.status == "revoked":
        detail = words.t("detail.status.fail_revoked")  # a W3C VC's status list
    elif check.name == "on_chain" and verdict.status == "chain_unchecked":  # cli.vp
        detail = words.t("cli.detail.chain_unchecked")
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
            reason=reason_words(words, f.get("revocation_reason")),
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
