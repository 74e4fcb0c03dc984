"""A long-poll on a pending transaction is answered when its block is reported committed,
not when its wait runs out (`NodeCore.after_commit` skips the walk through a block's
transactions only while nobody waits on any)."""

from __future__ import annotations

import asyncio
import os
import time

from ledger.payloads import AnchorPayload
from node.engine_types import CommitReport
from node.service import NodeCore
from tests.node.conftest import Consortium, commit_execution, make_tx

WAIT_S = 60.0  # what the long-poll asks for
ANSWERED_WITHIN_S = 5.0  # far less: the commit answers it, not the wait's end


async def test_a_waiter_hears_its_transactions_commit_at_once(
        core: NodeCore, net: Consortium) -> None:
    waited, other = (make_tx(net.ministry, AnchorPayload(os.urandom(32))) for _ in range(2))
    results = await core.submit([other.encode(), waited.encode()])
    assert [refusal for _, refusal in results] == [None, None]
    waiting = asyncio.ensure_future(core.wait_for(waited.tx_id, WAIT_S))
    deadline = time.monotonic() + ANSWERED_WITHIN_S
    while not core._waiters:  # until the wait is registered, not answered at once
        assert time.monotonic() < deadline and not waiting.done()
        await asyncio.sleep(0.01)
    execution = commit_execution(core.chain, [other, waited])
    core.mempool.remove([other.tx_id, waited.tx_id])
    core.after_commit(CommitReport(execution, [], "consensus"))
    status = await asyncio.wait_for(waiting, ANSWERED_WITHIN_S)
    assert (status.status, status.height, status.index) == ("committed", core.chain.height, 1)
    assert not core._waiters
