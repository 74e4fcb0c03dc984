"""A verdict said in Kazakh or Russian, as the portal says it (node/static/portal-verdict.js
draws the same sentences from the same catalogue): its one sentence, said first; each
check after it, by its name and what it found, is cli.check_words.

The ledger words its verdicts in English, with heights and hashes; that detail stays in
`--json` and in the English output. Here each is said from the verdict's status and
facts, which are the same in every language.
"""

from __future__ import annotations

from typing import Any

from cli.commands import Judged
from cli.language import Words
from cli.named_issuer import ISSUER_NOT_RECORDER
from ledger.vc.status import LIST_UNUSABLE

# What of a status the catalogue has no sentence for is repeated: enough to report it.
MAX_CODE_CHARS = 40


def facts_of(verdict: Judged) -> dict[str, Any]:
    facts = getattr(verdict, "facts", {})
    return facts if isinstance(facts, dict) else {}


def _type_word(words: Words, kind: Any) -> str:
    return words.t(f"type.{kind}") if words.has(f"type.{kind}") else str(kind or "")


def reason_words(words: Words, code: Any) -> str:
    return words.t(f"reason.{code}") if code and words.has(f"reason.{code}") else str(code or "")


def as_of(words: Words, facts: dict[str, Any]) -> str | None:
    """The block the answer holds as of, with its time, when the verdict names one."""
    if "as_of_height" not in facts:
        return None
    return words.t("asof.block_time", height=facts["as_of_height"],
                   when=words.datetime(facts.get("as_of_time")))


def proposal_shown(facts: dict[str, Any]) -> str:
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


def list_out_of_date(words: Words, facts: dict[str, Any], prefix: str) -> str:
    """`prefix`.status_list_expired (or _not_yet_valid) with when, for a W3C VC whose
    status list was outside its validity period (ledger.vc.verify); "" for any other."""
    validity = facts.get("status_list_validity")
    moment = facts.get("status_list_valid_until" if validity == "expired"
                       else "status_list_valid_from")
    if validity not in ("expired", "not_yet_valid") or not moment:
        return ""
    return words.t(f"{prefix}.status_list_{validity}", when=words.datetime(moment))


def list_unusable(words: Words, facts: dict[str, Any], prefix: str) -> str:
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
    if unreadable is not None:  # the portal's words, unless they speak of the page
        key = f"cli.status.{unreadable}"
        return words.t(key if words.has(key) else f"status.{unreadable}")
    if proof_refusal is not None:
        key = f"cli.proof.{proof_refusal}"
        return words.t(key if words.has(key) else "cli.proof.proof_malformed")
    f = facts_of(verdict)
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
        if status == ISSUER_NOT_RECORDER:
            return words.t("cli.status.issuer_not_recorder", named=f.get("named_issuer", ""),
                           author=f.get("author", ""))
        if verdict.valid:
            return words.t("cli.status.anchored", author=f.get("author", ""),
                           when=words.datetime(f.get("recorded_at")))
        if status == "unknown":  # "no record": said only when the chain has none
            return words.t("cli.status.not_anchored")
        if status != "stale":  # a record this source's keys do not let be read
            return words.t("cli.status.anchor_unchecked")
    if status == ISSUER_NOT_RECORDER:  # a W3C VC's (cli.named_issuer.vc_issuer_checked)
        return words.t("cli.status.vc_issuer_not_recorder", named=f.get("named_issuer", ""),
                       issuer=f.get("issuer", ""))
    moment = as_of(words, f)
    params = {"type": _type_word(words, f.get("type")), "issuer": f.get("issuer", ""),
              "date": words.date(f.get("issued_at")),
              "revokedDate": words.date(f.get("revoked_at")),
              "revokedTime": words.time(f.get("revoked_at")),
              "reason": reason_words(words, f.get("revocation_reason")),
              "fromHeight": f.get("key_compromised_from", ""),
              "ministry": f.get("accredited_by", f.get("admitted_by", ""))}
    if status == "valid" and f.get("type"):
        said = (words.t("cli.status.valid_as_of", **params, asOf=moment) if moment
                else words.t("status.valid", **params))
        return said + retirement(words, f) + suspension(words, f)
    if status == "revoked" and f.get("revoked_by") == "consortium":
        return words.t("status.revoked_by_consortium", **params, proposal=proposal_shown(f))
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
    listed = list_out_of_date(words, f, "cli.status")
    if status == "unknown" and listed:  # no "never issued here": its list was out of date
        return listed
    if status == "unknown" and list_unusable(words, f, "cli.status"):  # no "malformed":
        return list_unusable(words, f, "cli.status")  # the list is, not the credential
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
