"""A native credential's own checks, made when the verification pool is full.

A busy node answered every document "busy, try again", a forged diploma too, though
whether a document was altered needs no chain: its fields against its hash and its audit
path against the root it names (`ledger.verification.checked_alone`). So when the pool
refuses a document, the node makes those checks itself, on the event loop, and answers
a document that fails them with that verdict (tampered, malformed, newer_format); one
that passes them still needs the chain, and is answered busy as before, never valid
unchecked. A VC's signature and RDF work and every chain look-up stay behind the pool.

The checks hold the event loop, and the consensus frames it reads, so they have a budget
of wall time held (not CPU time: a check waiting on the interpreter behind the pool's
threads held the loop 4 to 63 ms for 4 to 8 ms of CPU), `ALONE_WALL_SHARE` of wall time
in all, a fifth of it for one address (its `p2p.address_keys.address_key`: an IPv6 /64
is one client). Of the whole, `ALONE_SMALL_SHARE` only documents of at most
`ALONE_SMALL_BODY_MAX` bytes may spend, and only once the rest is spent, one address a
twentieth of it (`ALONE_ADDRESS_SMALL_PART`; an officer's check a second needs a fifth
of that twentieth). A diploma as issued is 1.5 KB, and a transcript of 200 courses (the
most fields a credential has) named in 100 Cyrillic letters each (the longest name a
field may have) 54 KB, so every credential but one with long text values (a field may
hold 10,000 letters) is small.
Before parsing, a body with more than `ALONE_SEPARATORS_MAX` commas and opening
brackets, more than any credential's structure holds (one of 200 fields has 616), is
answered busy unchecked: the count runs at C speed, and the costliest body to parse
(16,384 empty arrays) is no longer parsed here. Commas inside text count too, so a
genuine credential with long prose values may be answered busy unchecked this way.

What a flood still does. One address spends its fifth and no more. Addresses together
sending large or costly bodies spend the part of the budget any document may take, and
then large documents are answered busy unchecked, but not the small slice: an HR
officer's altered diploma is still told tampered. Addresses sending small documents
spend the small slice only when there are about twenty of them: on a simulated clock,
addresses each sending 60 KB bodies (2 ms a check) as fast as they may leave an officer
all her checks up to thirteen addresses, half at seventeen, none at twenty
(tests/node/test_checked_while_busy.py). Then every document is answered busy unchecked,
as before this path existed; what stays bounded is the share of the loop they take from
consensus.

What one holds the loop, the least of several tries on a loaded 2-core machine
(tests/node/test_checked_while_busy.py measures it again; any one try may take longer):
a diploma as issued, about 0.2 ms; the 54 KB transcript above, about 2 ms; a diploma of
200 long fields as large as the route takes (VERIFY_BODY_MAX, 256 KiB), 3 to 9 ms,
parsing and its own checks about half each; the 16,384 empty arrays, refused on their
count, 0.1 ms (5 to 8 ms when they were parsed). The pool's own check of such a body
holds the interpreter as long; what the budget bounds is how often.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Literal

from ledger.verification import Verdict, checked_alone
from node.public_work import parse_json, separators
from p2p.address_keys import address_key

# Share of wall time the event loop may spend on documents the full pool refused, and
# the seconds it may spend at once after an idle spell: in all (any document, then the
# small slice), and for one address (a fifth of the whole).
ALONE_WALL_SHARE = 0.05
ALONE_SMALL_SHARE = 0.02
ALONE_BURST_S = 0.05
ALONE_ADDRESS_SHARE = 0.01
ALONE_ADDRESS_BURST_S = 0.01
# Of the small slice, what one address may spend: a twentieth, so that it takes twenty
# addresses to spend the slice, and an officer's 0.2 ms check a second still fits (1 ms).
ALONE_ADDRESS_SMALL_PART = 1 / 20
# A body this large or smaller may spend the small slice (see the module's doc).
ALONE_SMALL_BODY_MAX = 64 * 1024
# More commas and opening brackets than any credential's structure holds (200 fields:
# 616). Those inside text count too, so a genuine credential whose values are long
# prose may pass it: it is answered busy unchecked, as when the budget is spent, never
# given a wrong verdict.
ALONE_SEPARATORS_MAX = 1_024
# Addresses whose spending is remembered; beyond it the longest unseen is forgotten.
ALONE_ADDRESSES_MAX = 4_096

# What the busy path made of a document that did not fail its own checks: it passed
# them (the chain must judge it), or it was not checked (budget spent, or a body beyond
# any credential).
NotFailed = Literal["passed", "unchecked"]


class WallBucket:
    """Seconds, refilled at `share` of wall time up to `burst_s`."""

    __slots__ = ("at", "burst_s", "left_s", "share")

    def __init__(self, share: float, burst_s: float, now: float) -> None:
        self.share, self.burst_s = share, burst_s
        self.left_s, self.at = burst_s, now

    def refill(self, now: float) -> bool:
        self.left_s = min(self.burst_s, self.left_s + (now - self.at) * self.share)
        self.at = now
        return self.left_s > 0


class AddressBuckets:
    """One address's seconds: what it may spend in all, and of the small slice."""

    __slots__ = ("own", "small")

    def __init__(self, own: WallBucket, small: WallBucket) -> None:
        self.own, self.small = own, small


class AloneBudget:
    """Wall seconds for checks made while the pool is busy: a part any document may
    spend, a slice only small ones may, once that part is spent; and for each address
    its own, and its own part of the slice, so that addresses flooding the node spend
    their shares, not the checks of an HR officer elsewhere. `take` says which bucket a
    check may spend, `spend` charges it."""

    def __init__(self, share: float = ALONE_WALL_SHARE, burst_s: float = ALONE_BURST_S,
                 small_share: float = ALONE_SMALL_SHARE,
                 address_share: float = ALONE_ADDRESS_SHARE,
                 address_burst_s: float = ALONE_ADDRESS_BURST_S,
                 address_small_part: float = ALONE_ADDRESS_SMALL_PART,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        now = clock()
        small_burst_s = burst_s * small_share / share if share > 0 else 0.0
        self._any = WallBucket(share - small_share, burst_s - small_burst_s, now)
        self._small = WallBucket(small_share, small_burst_s, now)
        self._address_share, self._address_burst_s = address_share, address_burst_s
        self._address_small_share = small_share * address_small_part
        self._address_small_burst_s = small_burst_s * address_small_part
        self._addresses: OrderedDict[str, AddressBuckets] = OrderedDict()

    def _of_address(self, address: str, now: float) -> AddressBuckets:
        key = address_key(address)
        buckets = self._addresses.get(key)
        if buckets is None:
            buckets = self._addresses[key] = AddressBuckets(
                WallBucket(self._address_share, self._address_burst_s, now),
                WallBucket(self._address_small_share, self._address_small_burst_s, now))
            while len(self._addresses) > ALONE_ADDRESSES_MAX:
                self._addresses.popitem(last=False)
        else:
            self._addresses.move_to_end(key)
        return buckets

    def take(self, address: str, body_size: int) -> WallBucket | None:
        """The whole's bucket a check of a `body_size`-byte body from `address` may
        spend, or None when it may not be made."""
        now = self._clock()
        buckets = self._of_address(address, now)
        own, own_small = buckets.own.refill(now), buckets.small.refill(now)
        any_left, small_left = self._any.refill(now), self._small.refill(now)
        if not own:
            return None
        if any_left:
            return self._any
        small = small_left and own_small and body_size <= ALONE_SMALL_BODY_MAX
        return self._small if small else None

    def spend(self, address: str, bucket: WallBucket, seconds: float) -> None:
        bucket.left_s -= seconds
        buckets = self._addresses.get(address_key(address))
        if buckets is not None:
            buckets.own.left_s -= seconds
            if bucket is self._small:
                buckets.small.left_s -= seconds


def verdict_while_busy(budget: AloneBudget, client_address: str, body: bytes,
                       verdict_source: str) -> Verdict | NotFailed:
    """The verdict on a document the client at `client_address` sent, when it fails the
    checks it needs no chain for; else whether it passed them or was not checked.
    `verdict_source`: what the verdict names as its source. Raises MalformedInput for a
    body that is not a JSON document within its cost, as the pool would."""
    bucket = budget.take(client_address, len(body))
    if bucket is None:
        return "unchecked"
    started = time.perf_counter()
    try:
        if separators(body) > ALONE_SEPARATORS_MAX:
            return "unchecked"
        verdict, doc = checked_alone(parse_json(body), verdict_source)
    finally:
        budget.spend(client_address, bucket, time.perf_counter() - started)
    return verdict if doc is None else "passed"
