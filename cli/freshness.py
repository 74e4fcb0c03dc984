"""`--max-age`: a valid answer as of a block older than the verifier accepts is stale,
not valid, since it could hide a revocation made since; so is one that found no record of
the document, which could miss an issuance made since. For native credentials and W3C VCs
alike."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, TypeVar

from cli.spoken import Moment, Sentence
from ledger.verification import Check, Verdict, when

if TYPE_CHECKING:  # the VC verifier brings PyLD and requests: 0.3 s on every `senim` call
    from ledger.vc.verify import VcVerdict
AnyVerdict = TypeVar("AnyVerdict", Verdict, "VcVerdict")


# The checks that fail when the state read lacks a record: a credential's batch, an
# anchored file. An old state lacks what was recorded after it, so that is no verdict.
ABSENT_FROM_STATE = ("on_chain", "anchored")
# With no --max-age, an answer as of a block older than this is still the verdict, but it
# is said how old it is (and its age kept in its facts, `old_answer`). No default bound:
# a consortium chain makes a block only when there is work, so a quiet network's newest
# block may be days old and a bound would call a genuine diploma stale on it; but an HR
# officer reading VALID should know it holds as of last week, and that a node behind may
# be why (ask another too, --node again, or bound the age with --max-age).
OLD_ANSWER_NOTED_S = 24 * 3600


def absent_from_state(verdict: Verdict | VcVerdict) -> bool:
    """Whether `verdict` is UNKNOWN because the state read holds no record of the document
    (not because of its network, which no block changes)."""
    return verdict.status == "unknown" and any(
        check.name in ABSENT_FROM_STATE and not check.ok for check in verdict.checks)


def check_fresh(verdict: AnyVerdict, as_of_ms: int, max_age_s: float | None) -> AnyVerdict:
    """`verdict`, made stale if it was valid, or found no record of the document, as of
    `as_of_ms` and that is older than `max_age_s` (None: any age, the age kept in its facts
    when it is over OLD_ANSWER_NOTED_S, to be said); the age and the bound kept in its
    facts, to be said. A valid answer that old may hide a revocation made
    since, an absence an issuance: a node behind the chain called a diploma issued since
    its head "never issued here"."""
    absent = absent_from_state(verdict)
    if not (verdict.valid or absent):
        return verdict
    age_s = time.time() - as_of_ms / 1000
    if max_age_s is None:
        if age_s > OLD_ANSWER_NOTED_S:
            verdict.facts.update({"answer_age_s": round(age_s), "old_answer": True})
        return verdict
    if age_s <= max_age_s:
        return verdict
    height = verdict.facts.get("as_of_height")
    check = Check("fresh", False, f"the answer holds as of block {height} ({when(as_of_ms)}), "
                  f"{age_s:.0f} s ago: older than --max-age {max_age_s:.0f} s" + (
                      "; a record made since would not show in it" if absent else ""))
    verdict.checks.append(check)
    verdict.facts.update({"answer_age_s": round(age_s), "max_age_s": round(max_age_s)})
    if absent:
        verdict.facts["stale_absent"] = True
    verdict.valid, verdict.status, verdict.reason = False, "stale", check.detail
    return verdict


def old_answer_note(facts: dict[str, object]) -> Sentence | None:
    """What `check_fresh` found old with no --max-age, said after the verdict's source."""
    age_s = facts.get("answer_age_s")
    if not facts.get("old_answer") or not isinstance(age_s, int):
        return None
    return Sentence("cli.fresh.old_answer", None, days=age_s // (24 * 3600),
                    asOf=Moment(str(facts.get("as_of_time"))))
