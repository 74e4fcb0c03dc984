"""Block production by a lone validator without P2P or consensus, for in-process tests.

It batches whatever the mempool holds into a block every `block_interval_ms`
and commits it with a certificate of its own signature (quorum of one). The
consortium's PBFT driver takes its place when there is more than one validator;
both end in the same `Chain.commit(execution, certificate)`.
"""

from __future__ import annotations

import asyncio
import time

from ledger.blocks import MAX_BLOCK_BYTES
from ledger.chain import Execution
from ledger.transactions import Transaction
from node.service import NodeCore
from tests.node.certificates import make_certificate


class SoloProducer:
    def __init__(self, core: NodeCore, block_interval_ms: int, max_block_txs: int) -> None:
        self.core = core
        self.block_interval_s = block_interval_ms / 1000
        self.max_block_txs = max_block_txs

    async def run(self) -> None:
        core = self.core
        while True:
            await core.work_available.wait()
            if len(core.mempool) < self.max_block_txs:
                await asyncio.sleep(self.block_interval_s)
            txs = core.mempool.take(self.max_block_txs, MAX_BLOCK_BYTES - 64 * 1024)
            if not txs:
                core.work_available.clear()
                continue
            started = time.monotonic()
            execution = await core.in_worker(self._build_and_commit, txs)
            if execution.accepted:
                core.after_commit(execution, started)
            else:
                core.refuse_pending(execution.rejected)
            core.drop_expired()
            if not len(core.mempool):
                core.work_available.clear()

    def _build_and_commit(self, txs: list[Transaction]) -> Execution:
        core = self.core
        verified = {tx.tx_id for tx in txs}
        execution = core.chain.build(txs, core.keys.member_id, 0, int(time.time() * 1000),
                                     verified)
        if execution.accepted:
            header = execution.header
            certificate = make_certificate(core.keys, core.chain_id, header.height, 0,
                                           header.block_hash)
            core.chain.commit(execution, certificate)
        return execution
