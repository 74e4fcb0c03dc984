"""A backup forwards the work it holds before it suspects the primary.

A backup's replica changes views when it holds pending transactions and sees no
proposal or commit for a view timeout. If the primary never received those
transactions (their gossip was dropped on a full queue, or lost with a
connection), the primary is not at fault: the backup would change views alone,
no quorum would follow it, and it would stay out of consensus until one did.
PBFT's answer is that a replica first forwards the request to the primary. Here a
backup that has seen no progress for half a view timeout sends its oldest pending
transactions to the validators, once per stall; those that have them drop them
at the cost of a hash each, and a primary that lacked them proposes them. If the
primary is at fault after all, the other backups now hold the work too, and join
the view change.
"""

from __future__ import annotations

from collections.abc import Callable

from consensus import Replica, ValidatorId
from ledger.codec import encode
from node.channels import CH_TXS, GOSSIP_BATCH_BYTES
from node.engine_types import EngineConfig, Outbox
from node.mempool import Mempool

FORWARD_TXS_MAX = 256  # pending transactions a stalled backup forwards, oldest first


class ForwardsStalledWork:
    replica: Replica | None
    me: ValidatorId
    mempool: Mempool
    config: EngineConfig
    outbox: Outbox
    _clock_ms: Callable[[], int]
    _connected: list[bytes]
    _validator_keys: dict[bytes, ValidatorId]
    _stalled_since_ms: int | None = None
    _stalled_in_view: int | None = None
    _forwarded: bool = False

    def _progress_seen(self) -> None:
        """A proposal was executed or a block committed: the primary is at work."""
        self._stalled_since_ms = None
        self._forwarded = False

    def _forward_stalled_work(self) -> None:
        """Each tick: forward the oldest pending work once per stall (module doc); a new
        view, with its new primary, starts a new stall."""
        if self.replica is None or self.replica.primary == self.me or not len(self.mempool):
            self._progress_seen()
            return
        now = self._clock_ms()
        if self._stalled_since_ms is None or self._stalled_in_view != self.replica.view:
            self._progress_seen()
            self._stalled_since_ms, self._stalled_in_view = now, self.replica.view
            return
        if self._forwarded or now - self._stalled_since_ms < self.config.view_timeout_ms // 2:
            return
        self._forwarded = True
        txs = self.mempool.take(FORWARD_TXS_MAX, GOSSIP_BATCH_BYTES)
        if not txs:
            return
        payload = encode([tx.encoded for tx in txs])
        for key in self._connected:
            if key in self._validator_keys:
                self.outbox.send(key, CH_TXS, payload)
