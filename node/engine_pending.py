"""What a commit leaves of the engine's pending work (`node.engine.Engine`): the block's
transactions leave the mempool, expired ones are refused, and the rest that the new
state refuses are found and dropped."""

from __future__ import annotations

from collections.abc import Callable

from ledger.blocks import Block
from ledger.chain import Chain
from ledger.chain_run import Execution
from ledger.errors import TxRejected
from ledger.payloads_consortium import KIND_SUBMIT_EVIDENCE
from ledger.transactions import Transaction
from node.engine_types import EngineConfig, Refusals, Role
from node.mempool import Mempool

RECHECK_MAX = 2_000  # a follower re-checks this many oldest pending txs after each block
# After each commit a validator re-checks this many pending evidence txs, and this
# many of its oldest pending txs when the block had room for more.
EVIDENCE_RECHECK_MAX = 64
LEFT_OUT_RECHECK_MAX = 16


class SettlesPendingWork:
    """The pending-work inputs of `node.engine.Engine`."""

    chain: Chain
    mempool: Mempool
    config: EngineConfig
    role: Role
    _clock_ms: Callable[[], int]

    def _settle_pending(self, execution: Execution) -> Refusals:
        """After the commit of `execution` (the last block of its run): what pending work
        can no longer commit, now dropped from the mempool. It costs the block, the
        expired and the few re-checked, not a walk through every pending transaction
        (a validator at saturation holds thousands)."""
        block = execution.block
        refused: Refusals = list(execution.rejected)
        self.mempool.remove([tx.tx_id for tx in block.transactions]
                            + [tx.tx_id for tx, _ in refused])
        refused += [(tx, TxRejected("expired", "expired while pending"))
                    for tx in self.mempool.take_expired(self.chain.height + 1)]
        if self.role is Role.FOLLOWER:  # followers never build blocks: re-check here
            refused += self._recheck_pending(self.mempool.take(RECHECK_MAX, 1 << 62))
        else:
            refused += self._recheck_pending(self._maybe_left_out(block))
        return refused

    def _maybe_left_out(self, block: Block) -> list[Transaction]:
        """Pending transactions the primary may have left out as invalid. A backup that
        keeps one (a client's retry of a committed tx, evidence another validator got
        on chain first) thinks work waits, and its replica changes views alone."""
        # Evidence is rare, and each validator submits its own copy: check every one, up
        # to a bound.
        suspects = {tx.tx_id: tx for tx in
                    self.mempool.oldest_of_kind(KIND_SUBMIT_EVIDENCE, EVIDENCE_RECHECK_MAX)}
        if len(block.transactions) < self.config.max_block_txs:
            # The block had room, so a primary holding our oldest would have taken them.
            suspects.update((tx.tx_id, tx) for tx in
                            self.mempool.take(LEFT_OUT_RECHECK_MAX, 1 << 62))
        return list(suspects.values())

    def _recheck_pending(self, txs: list[Transaction]) -> Refusals:
        """Drop pending `txs` the committed state now refuses."""
        refused: Refusals = []
        for tx in txs:
            try:
                self.chain.check_pending(tx, self._clock_ms())
            except TxRejected as exc:
                refused.append((tx, exc))
        self.mempool.remove([tx.tx_id for tx, _ in refused])
        return refused
