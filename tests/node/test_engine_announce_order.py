"""A validator hands a committed block's announcement to the loop with the block's report,
not after it. The report's callback re-reads who may connect, and drops a follower whose
member's key the block rotated away: the announcement, handed over later, found it gone,
so that node never learnt of the block (a rotation sent through it read "pending" for
good, and it stayed a block behind)."""

from __future__ import annotations

from ledger.chain import Chain
from node.channels import CH_BLOCK
from node.engine import Engine
from node.engine_thread import _Outbox
from node.engine_types import CommitReport, EngineConfig
from node.mempool import Mempool, MempoolLimits
from node.validators import ValidatorSets
from storage.kv import MemoryStore
from tests.node.conftest import Consortium
from tests.node.test_engine import Clock, submit


def test_a_blocks_announcement_is_handed_over_with_its_report(net: Consortium) -> None:
    handed: list[tuple[list[tuple[bytes, int, bytes]], list[int]]] = []
    outbox = _Outbox(on_durable=lambda: None)

    def flush() -> None:  # as EngineThread._flush: what was said so far goes to the loop
        heights = [r.execution.header.height for r in outbox.reports
                   if isinstance(r, CommitReport)]
        handed.append((outbox.frames, heights))
        outbox.frames, outbox.reports = [], []

    outbox.on_durable = flush
    chain = Chain(MemoryStore(), net.genesis)
    clock = Clock(net.genesis.genesis_time_ms)
    validator = Engine(net.ministry, chain, Mempool(MempoolLimits(100, 1 << 20, 100)),
                       ValidatorSets.for_chain(chain), EngineConfig(1_000, 100), clock,
                       outbox)
    follower = net.employer.public_key  # connected, no validator
    validator.tick([follower])
    submit(validator, net)
    assert validator.chain.height == 1
    with_report = [frames for frames, heights in handed if 1 in heights]
    assert len(with_report) == 1
    assert [(key, channel) for key, channel, _ in with_report[0]
            if channel == CH_BLOCK] == [(follower, CH_BLOCK)]
