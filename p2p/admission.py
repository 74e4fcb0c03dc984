"""Which inbound handshakes may run: a pure policy, no IO and no clock.

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

    def __len__(self) -> int:
        return len(self._source_of)

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

    def release(self, ticket: int) -> None:
        """Forget a handshake (finished, failed or evicted); releasing twice is harmless."""
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
        unknown = (t for source, t in self._by_source.items() if source not in self._reserved)
        busiest = max(
            unknown,
            # Ties go to the source whose oldest handshake is oldest (tickets increase).
            key=lambda tickets: (len(tickets), -next(iter(tickets))),
        )
        return next(iter(busiest))
