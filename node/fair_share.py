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

- Connections (`node.http_limits.LimitedServer`): the place given up is an idle
  connection of that address (one waiting for a request head, as a slow-loris's
  does) if it has one, else its oldest.
- VC canonicalisation (`node.vc_common`): MAX_VC_IN_FLIGHT documents are checked at
  once; a request finding them taken waits (at most VC_WAIT_S, among at most
  VC_WAITING_MAX waiting) and a freed slot goes to the waiting address holding the
  fewest. When the waiting room is full, the rule above picks a waiter to refuse.
"""

from __future__ import annotations

from collections.abc import Mapping

CONNECTIONS_MAX = 1_024
# Connections open at once from one address, beyond which its new ones are closed.
CONNECTIONS_PER_SOURCE_MAX = 64
# Connections accepted beyond CONNECTIONS_MAX while the rule decides whose to close
# (the address is only known once a connection is made); beyond these, new
# connections are closed as they open, before anything is known of them.
CONNECTIONS_DECIDING_MAX = 64

MAX_VC_IN_FLIGHT = 8  # documents canonicalised at once (in the VC pool or queued to it)
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
