"""`--max-age`: a valid answer as of a block older than the verifier accepts is stale,
not valid, since it could hide a revocation made since; so is one that found no record of
the document, which could miss an issuance made since. For native credentials and W3C VCs
alike."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, TypeVar

from ledger.verification import Check, Verdict, when

if TYPE_CHECKING:  # the VC verifier brings PyLD and requests: 0.3 s on every `senim` call
    from ledger.vc.verify import VcVerdict
AnyVerdict = TypeVar("AnyVerdict", Verdict, "VcVerdict")


# The checks that fail when the state read lacks a record: a credential's batch, an
# anchored file. An old state lacks what was recorded after it, so that is no verdict.
ABSENT_FROM_STATE = ("on_chain", "anchored")


def absent_from_state(verdict: Verdict | VcVerdict) -> bool:
    """Whether `verdict` is UNKNOWN because the state read holds no record of the document
    (not because of its network, which no block changes)."""
    return verdict.status == "unknown" and any(
        check.name in ABSENT_FROM_STATE and not check.ok for check in verdict.checks)


def check_fresh(verdict: AnyVerdict, as_of_ms: int, max_age_s: float | None) -> AnyVerdict:
    """`verdict`, made stale if it was valid, or found no record of the document, as of
    `as_of_ms` and that is older than `max_age_s` (None: any age); the age and the bound
    kept in its facts, to be said. A valid answer that old may hide a revocation made
    since, an absence an issuance: a node behind the chain called a diploma issued since
    its head "never issued here"."""
    absent = absent_from_state(verdict)
    if not (verdict.valid or absent) or max_age_s is None:
        return verdict
    age_s = time.time() - as_of_ms / 1000
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
