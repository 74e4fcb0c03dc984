"""Which inbound connections and handshakes may run: a pure policy, no IO and no clock.

A handshake costs us a socket and a key exchange before we know who is calling,
so unknown callers must not be able to crowd out the peers we depend on:

A source is an address's key (`p2p.address_keys`: an IPv6 address counts as its /64).

- Each source may hold `per_source_max` pending handshakes. A newcomer from
  a source at its limit evicts that source's oldest handshake instead of being
  refused: an honest handshake completes within a round trip or two, so a flood
  of silent sockets from the same address keeps evicting only its own stale ones.
- Sources that are not configured peers share `unknown_total_max` slots; when
  they are full, the oldest handshake of the busiest unknown source is evicted.
- Configured peers' sources (the keys of the hosts we dial) never count against,
  and are never evicted for, the unknown sources' shared slots.
- Each unknown source may have `per_s` handshakes a second (a burst of `burst`,
  `HandshakeRates`) go past the HELLO to the key exchange and signature: a handshake a
  stranger completes with a fresh key costs this node 0.65 ms of the event loop, which
  also carries the consensus frames (measured: 2,000 in 2 s from one process, 1.3 s of
  the node's CPU), and a HELLO then nothing most of that. One beyond is closed there.
  Silent and junk sockets cost no token: a flood of them keeps a peer at the same
  address out no more than before.
- Addresses cost a stranger nothing, so the sources that are not configured peers' hosts
  also share one rate of connections (`UnlistedConnections`), asked as each is accepted
  (`p2p.listener`), before anything is read: past it a connection is reset.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict
from collections.abc import Collection
from dataclasses import dataclass


@dataclass(frozen=True)
class Admitted:
    """A handshake allowed to run, and the handshakes it displaced (to abort now)."""

    ticket: int
    evicted: tuple[int, ...]


class PendingHandshakes:
    """Bounded bookkeeping of inbound handshakes in progress, keyed by ticket."""

    def __init__(
        self, *, per_source_max: int, unknown_total_max: int, reserved_sources: Collection[str]
    ) -> None:
        if per_source_max <= 0 or unknown_total_max <= 0:
            raise ValueError("pending-handshake limits must be positive")
        self._per_source_max = per_source_max
        self._unknown_total_max = unknown_total_max
        self._reserved = frozenset(reserved_sources)
        self._tickets = itertools.count()
        # Per source, tickets oldest first; a ticket's source for release.
        self._by_source: dict[str, OrderedDict[int, None]] = {}
        self._source_of: dict[int, str] = {}
        self._unknown_count = 0
        self._heard: set[int] = set()  # tickets whose HELLO arrived

    def __len__(self) -> int:
        return len(self._source_of)

    def is_reserved(self, source: str) -> bool:
        """Whether `source` is a configured peer's host."""
        return source in self._reserved

    def reserve(self, sources: Collection[str]) -> None:
        """Add configured peers' addresses (e.g. once their host names are resolved)."""
        self._reserved |= frozenset(sources)
        self._unknown_count = sum(
            len(tickets) for source, tickets in self._by_source.items()
            if source not in self._reserved
        )

    def admit(self, source: str) -> Admitted:
        """Register a handshake from `source`, evicting older ones where a limit is reached."""
        evicted: list[int] = []
        mine = self._by_source.get(source)
        if mine is not None and len(mine) >= self._per_source_max:
            evicted.append(next(iter(mine)))
            self.release(evicted[-1])
        if source not in self._reserved and self._unknown_count >= self._unknown_total_max:
            evicted.append(self._oldest_of_busiest_unknown())
            self.release(evicted[-1])
        ticket = next(self._tickets)
        self._by_source.setdefault(source, OrderedDict())[ticket] = None
        self._source_of[ticket] = source
        if source not in self._reserved:
            self._unknown_count += 1
        return Admitted(ticket, tuple(evicted))

    def heard(self, ticket: int) -> None:
        """The handshake's HELLO arrived: evicted after every silent one (a flood of
        silent sockets from fresh addresses evicted the oldest pending handshake, most
        often a listed follower's a network's round trips away, which never got in)."""
        if ticket in self._source_of:
            self._heard.add(ticket)

    def release(self, ticket: int) -> None:
        """Forget a handshake (finished, failed or evicted); releasing twice is harmless."""
        self._heard.discard(ticket)
        source = self._source_of.pop(ticket, None)
        if source is None:
            return
        tickets = self._by_source[source]
        del tickets[ticket]
        if not tickets:
            del self._by_source[source]
        if source not in self._reserved:
            self._unknown_count -= 1

    def _oldest_of_busiest_unknown(self) -> int:
        """The oldest silent handshake of the busiest source holding one; where none is
        silent, the oldest of the busiest."""
        unknown = [t for source, t in self._by_source.items() if source not in self._reserved]
        silent = [t for t in unknown if any(k not in self._heard for k in t)]
        busiest = max(
            silent or unknown,
            # Ties go to the source whose oldest handshake is oldest (tickets increase).
            key=lambda tickets: (len(tickets), -next(iter(tickets))),
        )
        return next((k for k in busiest if k not in self._heard), next(iter(busiest)))


# Sources whose handshake rate is remembered; the least recently seen is forgotten first
# (one forgotten starts again with a full burst, as a new address would).
HANDSHAKE_RATE_SOURCES_MAX = 4_096


class HandshakeRates:
    """A token bucket of inbound handshakes per source (the caller exempts configured
    peers' hosts); `now` is any monotonic reading in seconds."""

    def __init__(self, *, per_s: float, burst: float,
                 sources_max: int = HANDSHAKE_RATE_SOURCES_MAX) -> None:
        if per_s <= 0 or burst < 1 or sources_max <= 0:
            raise ValueError("handshake rates must be positive (a burst of at least 1)")
        self._per_s, self._burst, self._sources_max = per_s, burst, sources_max
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # tokens, at

    def allow(self, source: str, now: float) -> bool:
        """Take one of `source`'s tokens at `now`; False when it has none."""
        tokens, at = self._buckets.pop(source, (self._burst, now))
        tokens = min(self._burst, tokens + max(0.0, now - at) * self._per_s)
        if len(self._buckets) >= self._sources_max:
            self._buckets.popitem(last=False)
        allowed = tokens >= 1
        self._buckets[source] = (tokens - 1 if allowed else tokens, now)
        return allowed


# Sources where an allowed key completed an inbound handshake, remembered (the least
# recently proven forgotten first) so that a listed follower at an address no peer list
# names gets back past the shared budget at once when its connection drops in a flood.
PROVEN_SOURCES_MAX = 1_024
_ALL_UNLISTED = "all unlisted sources"  # the name of UnlistedConnections' one bucket


class UnlistedConnections:
    """Which accepted connections from sources that are not configured peers' hosts go
    on to a handshake: all from a source where an allowed key still listed completed
    one (`proven`), the others within one rate for all of them together (a
    `HandshakeRates` of one source, `_ALL_UNLISTED`).

    Asked as a connection is accepted, before anything is read: a flood from ever-new
    addresses costs the node the accept and a reset for each past the rate, and a
    stranger gets no more handshakes a second from a thousand addresses than from ten.
    A listed follower at a new address competes with the flood for the rate, getting in
    at about rate / (flood's rate) of its dials, and at once when the flood ends.
    """

    def __init__(self, *, per_s: float, burst: float,
                 proven_max: int = PROVEN_SOURCES_MAX) -> None:
        if proven_max <= 0:
            raise ValueError("proven_max must be positive")
        self._rate = HandshakeRates(per_s=per_s, burst=burst, sources_max=1)
        self._proven: OrderedDict[str, bytes] = OrderedDict()  # source: its key
        self._proven_max = proven_max
        self.refused = 0

    def admit(self, source: str, now: float, allowed: Collection[bytes]) -> bool:
        """Whether a connection just accepted from `source` (no configured peer's host)
        may go on; one refused is counted in `refused`."""
        key = self._proven.get(source)
        if key is not None and key in allowed:
            return True
        if self._rate.allow(_ALL_UNLISTED, now):
            return True
        self.refused += 1
        return False

    def proven(self, source: str, key: bytes) -> None:
        """An allowed `key` completed an inbound handshake from `source`."""
        self._proven.pop(source, None)
        if len(self._proven) >= self._proven_max:
            self._proven.popitem(last=False)
        self._proven[source] = key
