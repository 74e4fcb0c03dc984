"""How a validator executes a proposal: the transactions it already holds are taken
from its mempool as they are, the others have their signatures checked in one batch
(in the daemon's signature workers) before the ledger rules run."""

from __future__ import annotations

import dataclasses
import os
from collections import deque
from collections.abc import Sequence

from consensus import BlockExecuted, Digest, Event, ExecuteBlock, Height, View
from ledger.blocks import Block, transactions_root
from ledger.chain import Chain
from ledger.payloads import AnchorPayload
from ledger.transactions import Transaction
from node.engine import Engine
from node.engine_types import EngineConfig
from node.mempool import Mempool, MempoolLimits
from node.signature_workers import InTurn
from node.validators import SignatureCheck, ValidatorSets
from storage.kv import MemoryStore
from tests.node.conftest import Consortium, bft_basis, commit, make_tx
from tests.node.test_engine import Clock, Recorder


class CountedChecks(InTurn):
    """The engine's batch signature check, counting the batches and their sizes."""

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[int] = []

    def __call__(self, checks: Sequence[SignatureCheck], failures_max: int = 0) -> list[bool]:
        self.batches.append(len(checks))
        return super().__call__(checks, failures_max)


def validator(net: Consortium, checks: CountedChecks) -> Engine:
    chain = Chain(MemoryStore(), net.genesis)
    engine = Engine(net.ministry, chain, Mempool(MempoolLimits(100, 1 << 20, 100)),
                    ValidatorSets.for_chain(chain), EngineConfig(1_000, 100),
                    Clock(net.genesis.genesis_time_ms + 10_000), Recorder(),
                    check_signatures=checks)
    commit(chain, [])
    return engine


def proposal(engine: Engine, net: Consortium, txs: list[Transaction]) -> Block:
    last_commit, when = bft_basis(engine.chain)
    return engine.chain.build(txs, net.ministry.member_id, 0, when,
                              last_commit=last_commit).block


def execute(engine: Engine, block: Block) -> bool:
    events: deque[Event] = deque()
    engine._perform([ExecuteBlock(Height(block.header.height), View(0),
                                  Digest(block.block_hash), block.encode())], events)
    executed = events[-1]
    assert isinstance(executed, BlockExecuted)
    return executed.valid


def anchors(net: Consortium, count: int) -> list[Transaction]:
    return [make_tx(net.university, AnchorPayload(os.urandom(32))) for _ in range(count)]


def test_held_transactions_are_reused_and_the_others_checked_in_one_batch(
        net: Consortium) -> None:
    checks = CountedChecks()
    engine = validator(net, checks)
    held, others = anchors(net, 2), anchors(net, 3)
    for tx in held:
        engine.mempool.add(tx, len(tx.encode()))
    block = proposal(engine, net, [held[0], *others, held[1]])

    assert execute(engine, block)
    assert checks.batches == [3]  # the three it never admitted, together, nothing else
    executed = engine._executions[block.block_hash].block.transactions
    assert executed[0] is held[0] and executed[-1] is held[1]  # not decoded again
    assert [tx.tx_id for tx in executed] == [tx.tx_id for tx in block.transactions]


def test_a_held_id_with_other_signature_bytes_is_decoded_checked_and_refused(
        net: Consortium) -> None:
    checks = CountedChecks()
    engine = validator(net, checks)
    tx = anchors(net, 1)[0]
    engine.mempool.add(tx, len(tx.encode()))
    forged = dataclasses.replace(tx, signature=bytes(64))  # same id: it does not cover it
    assert forged.tx_id == tx.tx_id
    assert engine.mempool.held_encodings([forged.encode(), tx.encode()]) == [None, tx]

    honest = proposal(engine, net, [tx])
    header = dataclasses.replace(honest.header, txs_root=transactions_root([forged]))
    block = Block(header, (forged,), honest.last_commit)
    assert not execute(engine, block)
    assert checks.batches == [1]  # checked ahead, found bad, so the ledger checked it too
    assert engine.chain.height == 1 and len(engine.mempool) == 1
