"""A native credential's own checks, made when the verification pool is full.

A busy node answered every document "busy, try again", a forged diploma too, though
whether a document was altered needs no chain: its fields against its hash and its audit
path against the root it names (`ledger.verification.checked_alone`). So when the pool
refuses a document, the node makes those checks itself, on the event loop, and answers
a document that fails them with that verdict (tampered, malformed, newer_format); one
that passes them still needs the chain, and is answered busy as before, never valid
unchecked. A VC's signature and RDF work and every chain look-up stay behind the pool.

The checks hold the interpreter, as the pool's do, so they have a CPU budget of their
own (`ALONE_CPU_SHARE` of wall time, the event loop's thread time measured): beyond it
a document is answered busy unchecked, and a flood of them takes no more of the
interpreter from the ledger thread than that share. What one costs, measured on a loaded
2-core machine (tests/node/test_checked_while_busy.py measures it again): a diploma of
200 long fields as large as the route takes (VERIFY_BODY_MAX, 256 KiB), 2.9 to 5.3 ms,
parsing and its own checks about half each; the costliest body to parse, 16,384 empty
arrays within `node.public_work.parse_json`'s separator bound (refused as over its
values), 5.5 ms. The pool's own check of such a body holds the interpreter as long;
what the budget bounds is how often.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from ledger.verification import Verdict, checked_alone
from node.public_work import parse_json

# Share of wall time the event loop may spend on documents the full pool refused, and
# the CPU seconds it may spend at once after an idle spell.
ALONE_CPU_SHARE = 0.05
ALONE_BURST_S = 0.05


class AloneBudget:
    """CPU seconds for checks made while the pool is busy, refilled at `share` of wall time."""

    def __init__(self, share: float = ALONE_CPU_SHARE, burst_s: float = ALONE_BURST_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._share = share
        self._burst_s = burst_s
        self._clock = clock
        self._left_s = burst_s
        self._at = clock()

    def available(self) -> bool:
        now = self._clock()
        self._left_s = min(self._burst_s, self._left_s + (now - self._at) * self._share)
        self._at = now
        return self._left_s > 0

    def spend(self, seconds: float) -> None:
        self._left_s -= seconds


def failed_alone(budget: AloneBudget, body: bytes, source: str) -> Verdict | None:
    """The verdict on a document that fails the checks it needs no chain for; None when
    it passes them (the chain must judge it) or the budget is spent (not checked).
    Raises MalformedInput for a body that is not a JSON document within its cost, as the
    pool would."""
    if not budget.available():
        return None
    started = time.thread_time()
    try:
        verdict, doc = checked_alone(parse_json(body), source)
    finally:
        budget.spend(time.thread_time() - started)
    return verdict if doc is None else None
