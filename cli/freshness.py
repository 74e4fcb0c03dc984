"""`--max-age`: a valid answer as of a block older than the verifier accepts is stale,
not valid, since it could hide a revocation made since. For native credentials and
W3C VCs alike."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, TypeVar

from ledger.verification import Check, Verdict, when

if TYPE_CHECKING:  # the VC verifier brings PyLD and requests: 0.3 s on every `senim` call
    from ledger.vc.verify import VcVerdict
AnyVerdict = TypeVar("AnyVerdict", Verdict, "VcVerdict")


def check_fresh(verdict: AnyVerdict, as_of_ms: int, max_age_s: float | None) -> AnyVerdict:
    """`verdict`, made stale if it was valid as of `as_of_ms` and that is older than
    `max_age_s` (None: any age); the age and the bound kept in its facts, to be said."""
    if not verdict.valid or max_age_s is None:
        return verdict
    age_s = time.time() - as_of_ms / 1000
    if age_s <= max_age_s:
        return verdict
    height = verdict.facts.get("as_of_height")
    check = Check("fresh", False, f"the answer holds as of block {height} ({when(as_of_ms)}), "
                  f"{age_s:.0f} s ago: older than --max-age {max_age_s:.0f} s")
    verdict.checks.append(check)
    verdict.facts.update({"answer_age_s": round(age_s), "max_age_s": round(max_age_s)})
    verdict.valid, verdict.status, verdict.reason = False, "stale", check.detail
    return verdict
