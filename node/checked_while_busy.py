"""A native credential's own checks, made when the verification pool is full.

A busy node answered every document "busy, try again", a forged diploma too, though
whether a document was altered needs no chain: its fields against its hash and its audit
path against the root it names (`ledger.verification.checked_alone`). So when the pool
refuses a document, the node makes those checks itself, on the event loop, and answers
a document that fails them with that verdict (tampered, malformed, newer_format); one
that passes them still needs the chain, and is answered busy as before, never valid
unchecked. A VC's signature and RDF work and every chain look-up stay behind the pool.

The checks hold the interpreter, as the pool's do, so they have a CPU budget of their
own (`ALONE_CPU_SHARE` of wall time, the event loop's thread time measured, and a fifth
of that for one address): beyond it a document is answered busy unchecked, and a flood
of them takes no more of the interpreter from the ledger thread than that share. What
one costs, measured on a loaded 2-core machine (tests/node/test_checked_while_busy.py
measures it again): a diploma of 200 long fields as large as the route takes
(VERIFY_BODY_MAX, 256 KiB), 2.9 to 5.3 ms, parsing and its own checks about half each;
the costliest body to parse, 16,384 empty arrays within `node.public_work.parse_json`'s
separator bound (refused as over its values), 5.5 to 8 ms; a diploma as issued (1.4 KB),
about 0.2 ms. The pool's own check of such a body holds the interpreter as long;
what the budget bounds is how often.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from ledger.verification import Verdict, checked_alone
from node.public_work import parse_json

# Share of wall time the event loop may spend on documents the full pool refused, and
# the CPU seconds it may spend at once after an idle spell: in all, and for one address.
ALONE_CPU_SHARE = 0.05
ALONE_BURST_S = 0.05
ALONE_SOURCE_SHARE = 0.01
ALONE_SOURCE_BURST_S = 0.01
# Addresses whose spending is remembered; beyond it the longest unseen is forgotten.
ALONE_SOURCES_MAX = 4_096


class _Bucket:
    """CPU seconds, refilled at `share` of wall time up to `burst_s`."""

    def __init__(self, share: float, burst_s: float, now: float) -> None:
        self.share, self.burst_s = share, burst_s
        self.left_s, self.at = burst_s, now

    def refill(self, now: float) -> bool:
        self.left_s = min(self.burst_s, self.left_s + (now - self.at) * self.share)
        self.at = now
        return self.left_s > 0


class AloneBudget:
    """CPU seconds for checks made while the pool is busy: in all, and for each address,
    so that one address flooding the node with documents spends its own share, not the
    checks of an HR officer elsewhere (a flood from many addresses can still spend the
    whole; those are then answered busy, as before)."""

    def __init__(self, share: float = ALONE_CPU_SHARE, burst_s: float = ALONE_BURST_S,
                 source_share: float = ALONE_SOURCE_SHARE,
                 source_burst_s: float = ALONE_SOURCE_BURST_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._all = _Bucket(share, burst_s, clock())
        self._source_share, self._source_burst_s = source_share, source_burst_s
        self._sources: dict[str, _Bucket] = {}

    def available(self, source: str) -> bool:
        now = self._clock()
        bucket = self._sources.pop(source, None)  # put back last: the most recently seen
        if bucket is None:
            bucket = _Bucket(self._source_share, self._source_burst_s, now)
            if len(self._sources) >= ALONE_SOURCES_MAX:
                del self._sources[next(iter(self._sources))]
        self._sources[source] = bucket
        return self._all.refill(now) & bucket.refill(now)

    def spend(self, source: str, seconds: float) -> None:
        self._all.left_s -= seconds
        if source in self._sources:
            self._sources[source].left_s -= seconds


def failed_alone(budget: AloneBudget, client: str, body: bytes, source: str
                 ) -> Verdict | None:
    """The verdict on a document `client` (its address) sent that fails the checks it
    needs no chain for; None when it passes them (the chain must judge it) or the budget
    is spent (not checked). `source`: the verdict's. Raises MalformedInput for a body
    that is not a JSON document within its cost, as the pool would."""
    if not budget.available(client):
        return None
    started = time.thread_time()
    try:
        verdict, doc = checked_alone(parse_json(body), source)
    finally:
        budget.spend(client, time.thread_time() - started)
    return verdict if doc is None else None
