"""What the peer manager says of failed handshakes: few lines, however many fail.

Dials of one configured address failing in a row, and inbound handshakes of one kind
failing from one host, are said once, then once a while with the count since.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from p2p import connection as conn
from p2p.address_keys import address_key
from p2p.errors import HostUnresolved, P2PError
from p2p.policy import LineBudget

log = logging.getLogger("p2p.peers")  # the manager's lines, as they were

Address = conn.Address
# A configured peer that stays unreachable is redialled every few seconds (the backoff's
# cap); a line at each failure made ~700 an hour for each peer down, a weekend's outage
# of one partner's node tens of thousands. The first failure in a row is said, then one
# line this often with how many more.
DIAL_FAILURES_RETOLD_S = 600.0
# So are failed inbound handshakes, by source host and kind of failure: a node of another
# genesis dialling this one wrote a line here every few seconds too. Sources remembered:
INBOUND_FAILURES_KEPT_MAX = 1_024


@dataclass
class _Failing:
    """Failed handshakes since the last line said so: dials of one address in a row, or
    inbound ones of one kind from one host."""

    told_at: float
    unresolved: bool  # its host name does not resolve (else the dial failed otherwise)
    count: int = 0


class HandshakeFailures:
    """Failed handshakes not yet said, by configured address and by (host, kind)."""

    def __init__(self) -> None:
        self.dialled: dict[Address, _Failing] = {}  # a configured address each
        self.inbound: dict[tuple[str, str], _Failing] = {}  # (host, kind)
        # What strangers can make this node say, in all (p2p.policy.LineBudget)
        self._inbound_lines = LineBudget()

    def dial_succeeded(self, address: Address) -> None:
        self.dialled.pop(address, None)

    def dial_failed(self, address: Address, exc: P2PError, now: float) -> None:
        """Say that dialling `address` failed: the first time in a row (or the first
        after it failed otherwise), then once each DIAL_FAILURES_RETOLD_S."""
        unresolved = isinstance(exc, HostUnresolved)
        failing = self.dialled.get(address)
        if failing is not None and failing.unresolved == unresolved:
            failing.count += 1
            if now - failing.told_at < DIAL_FAILURES_RETOLD_S:
                return
            log.log(logging.WARNING if unresolved else logging.INFO,
                    "outbound handshake with %s failed %d more times in %.0f min, the "
                    "latest: %s", conn.shown(address), failing.count,
                    (now - failing.told_at) / 60, exc)
            failing.told_at, failing.count = now, 0
            return
        self.dialled[address] = _Failing(now, unresolved)
        if unresolved:  # a mistyped name in the peer list, most likely: the operator's to fix
            log.warning("peer address %s: %s; check the host name in this node's peers (it "
                        "keeps trying, and says so again every %.0f min while it fails)",
                        conn.shown(address), exc, DIAL_FAILURES_RETOLD_S / 60)
        else:
            log.info("outbound handshake with %s failed: %s (it keeps trying, and says so "
                     "again every %.0f min while it fails)", conn.shown(address), exc,
                     DIAL_FAILURES_RETOLD_S / 60)

    def inbound_failed(self, address: Address, exc: P2PError, now: float) -> None:
        """Say that an inbound handshake failed: the first of its kind from its host, then
        once each DIAL_FAILURES_RETOLD_S while they go on."""
        key = (address_key(address[0]), type(exc).__name__)
        failing = self.inbound.get(key)
        if failing is not None:
            failing.count += 1
            if now - failing.told_at < DIAL_FAILURES_RETOLD_S:
                return
            if failing.count > 1:
                if (held := self._inbound_lines.take(now)) is None:
                    return
                log.info("inbound handshake with %s failed, and %d more like it from that "
                         "host in %.0f min: %s%s", conn.shown(address), failing.count - 1,
                         (now - failing.told_at) / 60, exc, self._inbound_lines.told(held))
                failing.told_at, failing.count = now, 0
                return
        if len(self.inbound) >= INBOUND_FAILURES_KEPT_MAX:
            self.inbound = {
                kept: told for kept, told in self.inbound.items()
                if now - told.told_at < DIAL_FAILURES_RETOLD_S}
            if len(self.inbound) >= INBOUND_FAILURES_KEPT_MAX:
                self.inbound.clear()
        self.inbound[key] = _Failing(now, False)
        if (held := self._inbound_lines.take(now)) is None:
            return
        log.info("inbound handshake with %s failed: %s (more like it from that host are "
                 "said once every %.0f min)%s", conn.shown(address), exc,
                 DIAL_FAILURES_RETOLD_S / 60, self._inbound_lines.told(held))

