"""A peer's bad input in the log at most once a while for each kind, with a count.

Each bad frame was a line of its own: 9,593 in 20 s from one member sending malformed
state-sync questions, 70 a second of equivocation evidence from one validator. The
network and the engine thread each keep one (the engine's own, so that neither takes
the other's lock).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

PEER_FAULT_LOG_EVERY_S = 10.0  # a peer's malformed messages: one log line per kind this often
# (peer, kind) pairs remembered: peers are members and kinds a handful; past this many the
# memory is cleared, at the cost of a line more per pair.
FAULTS_REMEMBERED_MAX = 4_096


class FaultLog:
    """`log(peer_key, message, *args)`: a WARNING of `message` (its first argument the
    peer's name) at most once per PEER_FAULT_LOG_EVERY_S per peer and message, saying how
    many like it were not logged since."""

    def __init__(self, logger: logging.Logger, name_of: Callable[[bytes], str],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._logger = logger
        self._name_of = name_of
        self._clock = clock
        self._logged: dict[tuple[bytes, str], tuple[float, int]] = {}

    def __call__(self, peer_key: bytes, message: str, *args: object) -> None:
        now = self._clock()
        last, quiet = self._logged.get((peer_key, message), (-PEER_FAULT_LOG_EVERY_S, 0))
        if now - last < PEER_FAULT_LOG_EVERY_S:
            self._logged[(peer_key, message)] = (last, quiet + 1)
            return
        if len(self._logged) >= FAULTS_REMEMBERED_MAX:
            self._logged.clear()
        self._logged[(peer_key, message)] = (now, 0)
        more = f" ({quiet} more like it not logged)" if quiet else ""
        self._logger.warning(message + more, self._name_of(peer_key), *args)
