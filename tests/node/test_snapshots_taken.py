"""A node's state-sync snapshots are taken on the engine thread as each block is reported:
the event loop hears of a commit later, when the store may stand at a later block."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Iterator

from ledger.chain import Chain
from ledger.codec import decode, encode
from ledger.payloads import AnchorPayload
from node.block_serve import serve_blocks
from node.channels import CH_SYNC_REQUEST
from node.engine import Engine
from node.engine_thread import TICK_S, EngineThread
from node.engine_types import CommitReport, EngineConfig
from node.mempool import Mempool, MempoolLimits
from node.state_serve import SNAPSHOTS_HELD, StateSnapshots
from node.state_wire import ASK_OFFER
from node.validators import ValidatorSets
from storage.kv import KeyValueSnapshot, MemoryStore
from tests.node.conftest import Consortium, commit, make_tx
from tests.node.test_engine import Clock, source_chain

DEADLINE_S = 10.0
INTERVAL = 10


async def test_a_snapshot_height_is_held_though_the_loop_hears_of_it_late(
        net: Consortium) -> None:
    source = source_chain(net, 2 * INTERVAL + 5)
    kv = MemoryStore()
    chain = Chain(kv, net.genesis)
    validator_sets = ValidatorSets.for_chain(chain)
    snapshots = StateSnapshots(kv, validator_sets.certifies, INTERVAL)
    frames: list[tuple[bytes, int, bytes]] = []

    def snapshot_if_due(report: CommitReport) -> None:  # as the daemon wires it
        snapshots.block_committed(report.execution.header.height)

    thread = EngineThread(asyncio.get_running_loop(),
                          lambda key, channel, payload: frames.append((key, channel, payload)),
                          lambda report: None, lambda refusals: None, snapshot_if_due)
    engine = Engine(net.employer, chain, Mempool(MempoolLimits(100, 1 << 20, 100)),
                    validator_sets, EngineConfig(1_000, 100, snapshot_interval_blocks=INTERVAL),
                    Clock(source.head_header.time_ms), thread.outbox)
    peer = net.ministry.public_key
    thread.set_connected((peer,))
    thread.start(engine)
    try:
        deadline = asyncio.get_running_loop().time() + DEADLINE_S
        while not any(channel == CH_SYNC_REQUEST for _, channel, _ in frames):
            assert asyncio.get_running_loop().time() < deadline, "no sync question asked"
            await asyncio.sleep(TICK_S)
        question = next(payload for _, channel, payload in frames if channel == CH_SYNC_REQUEST)
        answer = serve_blocks(source, question)
        assert answer is not None
        applied = threading.Event()

        def apply(peer_key: bytes, payload: bytes) -> None:
            engine.sync_answer(peer_key, payload)
            applied.set()

        thread.offer(apply, peer, answer)
        # The loop waits without yielding: it hears of no commit until the whole answer
        # (runs ending at 10, 20 and 25) is applied.
        assert applied.wait(DEADLINE_S)
        assert chain.height == source.height
        offer = snapshots.answer(encode([ASK_OFFER]))
        assert offer is not None and decode(offer)[1] == 2 * INTERVAL
    finally:
        await asyncio.get_running_loop().run_in_executor(None, thread.shutdown, True)
        snapshots.close()
    assert thread.failure is None, thread.failure


def test_a_snapshot_due_while_an_answer_is_read_is_taken_at_once_and_held_later(
        net: Consortium) -> None:
    """The engine thread never waits for an answer being read (an offer's proofs may take
    a while to check), and the snapshot it takes is of the height that was due."""
    source = source_chain(net, INTERVAL)
    snapshots = StateSnapshots(source.kv, ValidatorSets.for_chain(source).certifies, INTERVAL)
    with snapshots._lock:  # as while an answer is being read
        committing = threading.Thread(target=snapshots.block_committed, args=(INTERVAL,))
        committing.start()
        committing.join(DEADLINE_S)
        assert not committing.is_alive(), "the committing thread waited for the answer"
    for _ in range(3):  # the store moves on before anyone asks
        commit(source, [make_tx(net.university, AnchorPayload(os.urandom(32)))])
    offer = snapshots.answer(encode([ASK_OFFER]))
    assert offer is not None and decode(offer)[1] == INTERVAL
    snapshots.close()


class CountedSnapshots(MemoryStore):
    """Counts the store snapshots taken and not yet released."""

    def __init__(self) -> None:
        super().__init__()
        self.unreleased = 0

    def snapshot(self) -> KeyValueSnapshot:
        taken = super().snapshot()
        self.unreleased += 1
        store = self

        class Counted:
            def get(self, key: bytes) -> bytes | None:
                return taken.get(key)

            def iterate_prefix(self, prefix: bytes, after: bytes | None = None
                       ) -> Iterator[tuple[bytes, bytes]]:
                return taken.iterate_prefix(prefix, after)

            def release(self) -> None:
                store.unreleased -= 1
                taken.release()

        return Counted()


def test_snapshots_due_during_one_long_answer_are_bounded_and_all_released(
        net: Consortium) -> None:
    """A node catching up may pass many snapshot heights while one answer is read (a page
    of set-change proofs is checked, signatures and all): of those taken meanwhile only
    the newest SNAPSHOTS_HELD can be held, so no more are kept waiting for the next
    answer, and every one is released by then or at close."""
    kv = CountedSnapshots()
    chain = Chain(kv, net.genesis)
    interval = 2
    snapshots = StateSnapshots(kv, ValidatorSets.for_chain(chain).certifies, interval)
    due = 10
    with snapshots._lock:  # as while an answer is being read
        for _ in range(due):
            for _ in range(interval):
                commit(chain, [make_tx(net.university, AnchorPayload(os.urandom(32)))])
            snapshots.block_committed(chain.height)  # as the engine thread does
        assert kv.unreleased <= SNAPSHOTS_HELD
    offer = snapshots.answer(encode([ASK_OFFER]))
    assert offer is not None and decode(offer)[1] == due * interval
    assert kv.unreleased == SNAPSHOTS_HELD
    snapshots.close()
    assert kv.unreleased == 0
