"""Per-client fairness for public work: a rate per source, and penalties for forgeries.

A source is the client's address key (`p2p.address_keys`: an IPv6 client counts
as its /64). Each has a token bucket per kind of work
(verification requests, bytes of documents, submitted transactions): `admit`
takes a cost known beforehand or refuses it with the wait until it fits; `charge`
takes the pieces of a body sent chunked as they arrive, into debt, its reading held
back until paid (`node.body_charges`); `drained` takes the bytes of a refused body the
node read and threw away (`node.http_server`), and `spent` says when a source has none
left. A source whose submissions
carry invalid signatures collects strikes, which fade with time: past
STRIKES_TO_SLOW each of its requests waits SLOW_DELAY_S first; past
STRIKES_TO_REFUSE it is refused for REFUSE_FOR_S. Honest sources never meet
either. The table of sources is an LRU of at most SOURCES_MAX entries, so a
crowd of addresses costs bounded memory (an evicted source starts afresh,
which is no better than being one of the crowd).
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from p2p.address_keys import address_key

SOURCES_MAX = 4_096
# The default of the config's `api.rate_exempt`: the node's own host (the
# operator's portal, tools and benchmarks). Its work is still bounded by the
# public pools; only the per-address rates do not apply. Behind a reverse proxy
# every client would look like this, so such an operator sets it to []. Other
# loopback addresses (127.0.0.2, ...) are ordinary clients, which is how a local
# attack lab stands for outsiders.
RATE_EXEMPT_ADDRESSES = frozenset({"127.0.0.1", "::1"})
# (tokens per second, burst) for each kind of work; a submission costs one
# token per transaction, so the transaction burst covers the largest submission.
RATES: dict[str, tuple[float, float]] = {
    "verify": (100.0, 200.0),
    # Bytes of documents verified: a portal user sends a few KiB now and then.
    "verify_bytes": (1024 * 1024.0, 2 * 1024 * 1024.0),
    "transactions": (20_000.0, 40_000.0),
}
# A request body charged as it arrives (ClientLimits.charge) is held back to keep its
# sender within a byte rate: at most this long for one piece (its sender's debt, which
# other bodies of its add to), and this long in all, so that the node's waiting never
# runs it into BODY_READ_TIMEOUT_S (30 s); past either, the sender is refused, 429.
ARRIVING_WAIT_MAX_S = 10.0
ARRIVING_HELD_MAX_S = 20.0
# The byte rate a refused body's drain is charged to: the one a read body is charged to,
# so that bodies the node refuses cost their sender as much as those it reads.
DRAINED_BYTES_KIND = "verify_bytes"
STRIKES_TO_SLOW = 50
STRIKES_TO_REFUSE = 500
STRIKES_FORGIVEN_PER_S = 5.0
SLOW_DELAY_S = 0.5
REFUSE_FOR_S = 60.0


@dataclass
class _Source:
    updated: float
    tokens: dict[str, float] = field(default_factory=dict)
    strikes: float = 0.0
    refused_until: float = 0.0


@dataclass(frozen=True)
class Decision:
    """`retry_after_s` set: refuse now. Otherwise wait `delay_s` (0 for most), then serve."""

    retry_after_s: float | None = None
    delay_s: float = 0.0
    reason: str = ""


class ClientLimits:
    def __init__(self, sources_max: int = SOURCES_MAX,
                 clock: Callable[[], float] = time.monotonic,
                 exempt: frozenset[str] = RATE_EXEMPT_ADDRESSES) -> None:
        self.sources_max = sources_max
        self.exempt = exempt
        self._clock = clock
        self._sources: OrderedDict[str, _Source] = OrderedDict()

    def __len__(self) -> int:
        return len(self._sources)

    def _source(self, address: str) -> _Source:
        now = self._clock()
        source = self._sources.get(address)
        if source is None:
            source = _Source(now)
            self._sources[address] = source
            while len(self._sources) > self.sources_max:
                self._sources.popitem(last=False)
        else:
            self._sources.move_to_end(address)
            elapsed = max(0.0, now - source.updated)
            source.strikes = max(0.0, source.strikes - elapsed * STRIKES_FORGIVEN_PER_S)
            for kind, tokens in source.tokens.items():
                rate, burst = RATES[kind]
                source.tokens[kind] = min(burst, tokens + elapsed * rate)
            source.updated = now
        return source

    def admit(self, address: str, kind: str, cost: float = 1.0) -> Decision:
        """Take `cost` tokens of `kind` from `address`, or say how long to wait."""
        if address in self.exempt:
            return Decision()
        source = self._source(address_key(address))
        now = source.updated
        if source.refused_until > now:
            return Decision(math.ceil(source.refused_until - now),
                            reason="too many invalid signatures from this address")
        rate, burst = RATES[kind]
        tokens = source.tokens.get(kind, burst)
        if tokens < cost:
            return Decision(max(1, math.ceil((cost - tokens) / rate)),
                            reason=f"more than {rate:.0f} {kind} per second from this address")
        source.tokens[kind] = tokens - cost
        delay = SLOW_DELAY_S if source.strikes >= STRIKES_TO_SLOW else 0.0
        return Decision(delay_s=delay)

    def never_fits(self, address: str, kind: str, cost: float) -> float | None:
        """The burst of `kind`, when `cost` is beyond it for `address` (an admit would be
        refused however long it waited); None when it may fit (or the address is exempt)."""
        burst = RATES[kind][1]
        return None if address in self.exempt or cost <= burst else burst

    def charge(self, address: str, kind: str, cost: float,
               wait_max_s: float = ARRIVING_WAIT_MAX_S) -> Decision:
        """Take `cost` tokens of `kind` for what has already arrived (a request body's
        piece), into debt if need be, and say how long to hold the sender back until the
        debt is paid (`delay_s`); or, when that would be longer than `wait_max_s`, take
        nothing and say when enough is paid back that a body no larger than the burst,
        charged piece by piece, is held back no longer than ARRIVING_WAIT_MAX_S in all
        (`retry_after_s`). A body's later pieces pass what is left of that wait."""
        if address in self.exempt:
            return Decision()
        source = self._source(address_key(address))
        rate, burst = RATES[kind]
        tokens = source.tokens.get(kind, burst)
        wait = max(0.0, (cost - tokens) / rate)
        if wait > wait_max_s:
            short = burst - rate * ARRIVING_WAIT_MAX_S - tokens
            return Decision(max(1, math.ceil(short / rate)),
                            reason=f"more than {rate:.0f} {kind} per second from this address")
        source.tokens[kind] = tokens - cost
        return Decision(delay_s=wait)

    def drained(self, address: str, size: int) -> bool:
        """Take `size` bytes of DRAINED_BYTES_KIND from `address` for a refused body's
        piece the node has read and thrown away, into debt if need be (they were read
        already) but never more than a burst; whether the address has any left, so that
        its drains read on."""
        if address in self.exempt:
            return True
        source = self._source(address_key(address))
        burst = RATES[DRAINED_BYTES_KIND][1]
        # The debt stops at one burst: a flood is held a burst's worth of seconds after it
        # ends, not for all it sent, so honest clients behind the same address (a NAT's)
        # are not kept out long after it. (A debt `charge` made deeper stays as it is.)
        owed = source.tokens.get(DRAINED_BYTES_KIND, burst)
        tokens = min(owed, max(-burst, owed - size))
        source.tokens[DRAINED_BYTES_KIND] = tokens
        return tokens > 0

    def spent(self, address: str) -> Decision | None:
        """The refusal for `address` when it has no bytes of DRAINED_BYTES_KIND left (its
        drains, or bodies read, took them), with the wait until it has some again; None
        while it has some (or is exempt). Takes nothing."""
        if address in self.exempt:
            return None
        source = self._source(address_key(address))
        rate, burst = RATES[DRAINED_BYTES_KIND]
        tokens = source.tokens.get(DRAINED_BYTES_KIND, burst)
        if tokens > 0:
            return None
        return Decision(max(1, math.ceil(-tokens / rate)), reason=(
            f"this address sent more than {rate:.0f} bytes a second of request bodies, "
            "refused ones included; this request is refused unread"))

    def penalise(self, address: str, invalid: int) -> None:
        """Count `invalid` forged or malformed signatures against `address`."""
        if invalid <= 0 or address in self.exempt:
            return
        source = self._source(address_key(address))
        source.strikes += invalid
        if source.strikes >= STRIKES_TO_REFUSE:
            source.refused_until = source.updated + REFUSE_FOR_S
            source.strikes = 0.0
