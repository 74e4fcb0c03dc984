"""The public API's shared limits, and how they are shared fairly between addresses.

Every limit that clients from many addresses share is named here. A per-address cap
alone stops one client; a crowd of addresses each under it could still fill the
total (17 addresses filled CONNECTIONS_MAX, 5 the VC slots) and refuse everyone
after them. So when a shared limit is full, one rule decides:

    a newcomer from an address holding n takes the place of one held by the address
    holding the most, m, when m > n + 1; otherwise the newcomer is refused.

An address holding few (an honest client, holding none) thus always gets in while
any address holds two or more, and no address loses more than it gains: the holdings
drift toward equal shares. A crowd now needs as many addresses as the limit has
places to refuse a newcomer, not CONNECTIONS_MAX / CONNECTIONS_PER_SOURCE_MAX. Rate-
exempt addresses (`api.rate_exempt`) are never made to give up a place and count as
holding none.

Here, as for the per-address rates, "an address" is its key (`p2p.address_keys.
address_key`, the one definition): an IPv6 client counts as its /64, an IPv4-mapped
one as its IPv4 address. Exemptions name exact addresses.

- Connections (`node.http_server.LimitedServer`): the place given up is an idle
  connection of that address (one waiting for a request head, as a slow-loris's
  does) if it has one, else its oldest.
- VC canonicalisation (`node.vc_common`): MAX_VC_IN_FLIGHT documents are checked at
  once, one per worker process; a request finding them taken waits (at most VC_WAIT_S, among at most
  VC_WAITING_MAX waiting) and a freed slot goes to the waiting address holding the
  fewest. When the waiting room is full, the rule above picks a waiter to refuse.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Mapping

CONNECTIONS_MAX = 1_024
# Connections open at once from one address, beyond which its new ones are closed.
CONNECTIONS_PER_SOURCE_MAX = 64
# Connections accepted beyond CONNECTIONS_MAX while the rule decides whose to close
# (the address is only known once a connection is made); beyond these, new
# connections are closed as they open, before anything is known of them.
CONNECTIONS_DECIDING_MAX = 64

VC_PROCESSES = 2  # worker processes canonicalising VC documents
# Added to the VC workers' niceness: their work is public, and on a machine whose cores
# are all busy the kernel then runs the node's own threads (consensus among them)
# first. Valid documents of 2,000 values each, 0.45 s of CPU apiece, sent from three
# addresses to two validators, took anchors' commits from 22 to 51 ms (median).
VC_WORKER_NICENESS = 10
# Documents handed to the VC pool at once: one per worker, so that what waits, waits
# here in fair order. With more, the pool's own first-come queue held the rest: a
# newcomer given a slot at once still waited behind six of a crowd's documents (7 s
# of 2,000-value documents, measured).
MAX_VC_IN_FLIGHT = VC_PROCESSES
# Verification requests from one address at once, its body read included.
MAX_VC_IN_FLIGHT_PER_SOURCE = 2
VC_WAITING_MAX = 64  # requests waiting for one of the MAX_VC_IN_FLIGHT slots
VC_WAIT_S = 10.0  # how long one waits before it is told busy (429)


def gives_way(holdings: Mapping[str, int], newcomer_holds: int) -> str | None:
    """The address that gives up one place to a newcomer holding `newcomer_holds`, or
    None when the newcomer is refused. Ties go to the address that came first."""
    heaviest, most = None, 0
    for address, held in holdings.items():
        if held > most:
            heaviest, most = address, held
    return heaviest if most > newcomer_holds + 1 else None


class SlotsBusy(Exception):
    """No slot within VC_WAIT_S, the waiting room full, or a waiter made to give way."""


class FairSlots:
    """`capacity` slots shared by addresses: a request waits for one (bounded in number
    and time), and a freed slot goes to the waiting address holding the fewest, among
    those to the one served longest ago (a newcomer first): a crowd's addresses each
    holding one do not pass a slot round among themselves while another address waits."""

    def __init__(self, capacity: int = MAX_VC_IN_FLIGHT, waiting_max: int = VC_WAITING_MAX,
                 wait_s: float = VC_WAIT_S) -> None:
        self.free = capacity
        self.waiting_max = waiting_max
        self.wait_s = wait_s
        self.held: dict[str, int] = {}
        # Per address, its waiters in arrival order; addresses in the order they began
        # waiting, which breaks ties between those holding the fewest.
        self._waiting: dict[str, deque[asyncio.Future[None]]] = {}
        self.waiting = 0
        # When each address holding or waiting was last given a slot (a count of grants).
        self._served: dict[str, int] = {}
        self._grants = 0

    async def acquire(self, source: str) -> None:
        """Wait for a slot for `source` (release it after); SlotsBusy when none comes."""
        if self.free > 0 and not self.waiting:
            self.free -= 1
            self._grant(source)
            return
        if self.waiting >= self.waiting_max:
            self._make_room(source)
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(source, deque()).append(waiter)
        self.waiting += 1
        try:
            async with asyncio.timeout(self.wait_s):
                await waiter
        except BaseException as exc:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                self.release(source)  # granted as the wait ended: hand it on
            else:
                self._drop(source, waiter)
            if isinstance(exc, TimeoutError):
                raise SlotsBusy(f"no slot within {self.wait_s:g} s") from None
            raise

    def _make_room(self, source: str) -> None:
        loads = {address: self.held.get(address, 0) + len(waiters)
                 for address, waiters in self._waiting.items()}
        own = self.held.get(source, 0) + len(self._waiting.get(source, ()))
        address = gives_way(loads, own)
        if address is None:
            raise SlotsBusy(f"{self.waiting} requests already wait")
        waiter = self._waiting[address][-1]  # its newest waiter
        self._drop(address, waiter)
        waiter.set_exception(SlotsBusy("made way for a client holding fewer"))

    def _drop(self, source: str, waiter: asyncio.Future[None]) -> None:
        waiters = self._waiting.get(source)
        if waiters is None or waiter not in waiters:
            return
        waiters.remove(waiter)
        self.waiting -= 1
        if not waiters:
            del self._waiting[source]
            if source not in self.held:
                self._served.pop(source, None)

    def _grant(self, source: str) -> None:
        self.held[source] = self.held.get(source, 0) + 1
        self._grants += 1
        self._served[source] = self._grants

    def release(self, source: str) -> None:
        left = self.held[source] - 1
        if left:
            self.held[source] = left
        else:
            del self.held[source]
            if source not in self._waiting:
                self._served.pop(source, None)
        while self._waiting:
            address = min(self._waiting, key=lambda a: (self.held.get(a, 0),
                                                        self._served.get(a, 0)))
            waiter = self._waiting[address][0]
            self._drop(address, waiter)
            if not waiter.done():  # else cancelled, its task not yet told
                self._grant(address)
                waiter.set_result(None)
                return
        self.free += 1
