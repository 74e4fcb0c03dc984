"""When the engine lets ticks wait (`Engine.ticks_can_wait`, node.engine_quiet): only
while nothing is timed. Its thread's use of it is in tests/node/test_engine_thread.py."""

from __future__ import annotations

from ledger.payloads import AnchorPayload
from node.block_serve import serve_blocks
from node.channels import CH_SYNC_REQUEST
from node.engine_quiet import QUIET_TICKS_MAX, TICK_MS
from tests.node.conftest import Consortium, commit, make_tx
from tests.node.test_engine import Clock, engine_for

PEER = b"\x07" * 32


def test_ticks_wait_only_while_nothing_is_timed(net: Consortium) -> None:
    clock = Clock(net.genesis.genesis_time_ms + 10_000)
    engine, said = engine_for(net.ministry, net, clock)
    commit(engine.chain, [])
    assert engine.ticks_can_wait() == 1  # a poll for blocks is due
    engine.tick([PEER])
    asked = [payload for _, channel, payload in said.frames if channel == CH_SYNC_REQUEST]
    assert len(asked) == 1
    assert engine.ticks_can_wait() == 1  # the poll's question is open
    answer = serve_blocks(engine.chain, asked[0])  # a peer at the same head: no blocks
    assert answer is not None
    engine.sync_answer(PEER, answer)
    assert engine.ticks_can_wait() == QUIET_TICKS_MAX
    # never past the next poll
    clock.now_ms += engine.config.validator_poll_ms - 5 * TICK_MS
    assert engine.ticks_can_wait() == 5
    clock.now_ms -= engine.config.validator_poll_ms - 5 * TICK_MS
    # a block someone said exists: sync is timed again
    engine.sync.want(engine.chain.height + 3, PEER)
    assert engine.ticks_can_wait() == 1


def test_pending_work_keeps_the_ticks(net: Consortium) -> None:
    """Work held is forwarded if the primary stalls, and arms the replica's timer."""
    clock = Clock(net.genesis.genesis_time_ms + 10_000)
    engine, said = engine_for(net.ministry, net, clock)
    commit(engine.chain, [])
    engine.tick([PEER])
    request = next(p for _, channel, p in said.frames if channel == CH_SYNC_REQUEST)
    answer = serve_blocks(engine.chain, request)
    assert answer is not None
    engine.sync_answer(PEER, answer)
    assert engine.ticks_can_wait() == QUIET_TICKS_MAX
    tx = make_tx(net.university, AnchorPayload(b"\x01" * 32))
    engine.mempool.add(tx, len(tx.encode()))
    assert engine.ticks_can_wait() == 1


def test_given_ticks_all_reach_the_replica(net: Consortium) -> None:
    clock = Clock(net.genesis.genesis_time_ms + 10_000)
    engine, _ = engine_for(net.ministry, net, clock)
    assert engine.replica is not None
    before = engine.replica._now
    engine.tick([], ticks=7)
    assert engine.replica._now == before + 7
