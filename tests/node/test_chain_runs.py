"""Catch-up in runs (`ledger.chain_run.ChainRun`): an answer's blocks committed in one batch,
ended where a validator set changes, and stored exactly as if applied one by one."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest

import ledger.chain_run
from consensus import Action, BlockSynced, Event
from ledger.blocks import Block
from ledger.chain import Chain
from ledger.chain_layout import BLOCK_PREFIX, HEAD_KEY
from ledger.chain_reads import TX_IDS_REMEMBERED_BLOCKS
from ledger.chain_run import ChainRun, Execution
from ledger.codec import decode, encode
from ledger.identity import KeyPair
from ledger.payloads import ACTION_ADD_VALIDATOR, ACTION_REMOVE_VALIDATOR, AnchorPayload
from node import state_serve
from node.block_serve import serve_blocks
from node.engine import Engine
from node.engine_types import CommitReport, EngineConfig
from node.mempool import Mempool, MempoolLimits
from node.state_serve import StateSnapshots
from node.state_wire import ASK_OFFER
from node.validators import ValidatorSets
from storage.errors import CorruptStateError
from storage.kv import MemoryStore
from tests.node.certificates import make_certificate
from tests.node.conftest import (
    Consortium,
    accredit,
    commit,
    make_tx,
    snapshot,
)
from tests.node.test_engine import Clock, Recorder, source_chain, tampered_but_certified
from tests.node.test_governance import Council, approve, make_council, member_action


class CountedStore(MemoryStore):
    """Records the head each write leaves."""

    def __init__(self) -> None:
        super().__init__()
        self.heads: list[int] = []

    def write(self, puts: dict[bytes, bytes | None], sync: bool = True) -> None:
        super().write(puts, sync)
        head = puts.get(HEAD_KEY)
        if head is not None:
            self.heads.append(decode(head)[0])


def follower_of(source: Chain, keys: KeyPair, kv: CountedStore | None = None
                ) -> tuple[Engine, Recorder, CountedStore]:
    kv = CountedStore() if kv is None else kv
    chain = Chain(kv, source.genesis)
    recorder = Recorder()
    engine = Engine(keys, chain, Mempool(MempoolLimits(100, 1 << 20, 100)),
                    ValidatorSets.for_chain(chain), EngineConfig(1_000, 100),
                    Clock(source.head_header.time_ms), recorder)
    return engine, recorder, kv


def sync_from(source: Chain, engine: Engine, out: Recorder, peer: bytes) -> None:
    engine.tick([peer])
    for _ in range(10):
        if engine.chain.height == source.height:
            return
        answer = serve_blocks(source, out.frames[-1][2])
        assert answer is not None
        engine.sync_answer(peer, answer)
    raise AssertionError(f"sync stopped at {engine.chain.height} of {source.height}")


def counted_executions(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The heights of the blocks `engine` executes from now on."""
    executed: list[int] = []
    validate = engine.chain.validate

    def counted(block: Block, *args: Any, **kwargs: Any) -> Execution:
        executed.append(block.header.height)
        return validate(block, *args, **kwargs)

    monkeypatch.setattr(engine.chain, "validate", counted)
    return executed


def test_an_answer_is_committed_in_one_write(net: Consortium) -> None:
    source = source_chain(net, 20)
    follower, out, kv = follower_of(source, net.employer)
    sync_from(source, follower, out, net.ministry.public_key)
    assert kv.heads[1:] == [20]  # after the genesis write
    assert [report.execution.header.height for report in out.reports] == list(range(1, 21))


def voted_source() -> tuple[Chain, Council]:
    """KazNU voted in as a validator from block 6, validator 3 voted out from block 12
    (proposals in blocks 1 and 8, their deciding votes in blocks 2 and 9)."""
    council = make_council()
    source = Chain(MemoryStore(), council.genesis)
    approve(source, council, member_action(ACTION_ADD_VALIDATOR, council.university), 6)
    while source.height < 7:
        commit(source, [])
    approve(source, council, member_action(ACTION_REMOVE_VALIDATOR, council.validators[3]), 12)
    while source.height < 14:
        commit(source, [])
    return source, council


def test_runs_end_where_a_set_changes_and_store_what_block_by_block_stores(
        monkeypatch: pytest.MonkeyPatch) -> None:
    source, council = voted_source()
    peer = council.ministry.public_key
    in_runs, out, kv = follower_of(source, council.ministry2)
    sync_from(source, in_runs, out, peer)
    # A set takes effect at 6 and at 12; blocks 2 and 9 hold the votes that schedule
    # them (each writes the set index): a run ends after each of those four blocks, and
    # blocks 5 and 11, after which a set takes effect, are runs of their own.
    assert kv.heads[1:] == [2, 4, 5, 9, 10, 11, 14]
    monkeypatch.setattr(ledger.chain_run, "CHAIN_RUN_BLOCKS_MAX", 1)
    one_by_one, out_singly, kv_singly = follower_of(source, council.ministry2)
    sync_from(source, one_by_one, out_singly, peer)
    assert kv_singly.heads[1:] == list(range(1, 15))
    # The set-change proofs kept for light clients included.
    assert snapshot(kv) == snapshot(kv_singly)


def test_a_bad_block_after_good_ones_in_a_run_commits_the_good_ones_alone(
        net: Consortium) -> None:
    source = source_chain(net, 5)
    data, cert = tampered_but_certified(net, source)  # block 6: a lying state root
    follower, out, kv = follower_of(source, net.employer)
    liar, honest = net.ministry.public_key, net.university.public_key
    follower.tick([liar, honest])
    assert out.frames[-1][0] == liar
    answer = serve_blocks(source, out.frames[-1][2])
    assert answer is not None
    height, items = decode(answer)
    follower.sync_answer(liar, encode([height + 1, [*items, [data, cert]]]))
    assert follower.chain.height == 5
    assert kv.heads[1:] == [1, 2, 3, 4, 5]  # applied again one by one, to find the bad one
    clock = follower._clock_ms
    assert isinstance(clock, Clock)
    clock.now_ms += 600  # the next poll asks someone else
    follower.tick([liar, honest])
    assert out.frames[-1][0] == honest


def test_a_bad_last_certificate_costs_the_good_blocks_before_it_no_second_execution(
        net: Consortium, monkeypatch: pytest.MonkeyPatch) -> None:
    """A peer's answer of good blocks whose last certificate is bad (the one that
    vouches for the run): the blocks before it are executed once and committed as a run
    of their own, the last is dropped and the peer passed over, and the store is byte for
    byte what block by block sync makes of that answer. (Executing them again cost up to
    63 blocks' execution per such answer.)"""
    bad_at = 64
    source = source_chain(net, 64)
    liar, honest = net.ministry.public_key, net.university.public_key
    block = source.get_block(bad_at)
    assert block is not None
    # Signed by a member that validates nothing: no certificate of this chain.
    forged = make_certificate(net.university, source.chain_id, bad_at, 0, block.block_hash)

    def synced() -> tuple[Engine, Recorder, CountedStore, list[int]]:
        follower, out, kv = follower_of(source, net.employer)
        executed = counted_executions(follower, monkeypatch)
        follower.tick([liar, honest])
        assert out.frames[-1][0] == liar
        answer = serve_blocks(source, out.frames[-1][2])
        assert answer is not None
        height, items = decode(answer)
        items[bad_at - 1][1] = forged
        follower.sync_answer(liar, encode([height, items]))
        return follower, out, kv, executed

    in_runs, out, kv, executed = synced()
    assert in_runs.chain.height == bad_at - 1
    assert executed == list(range(1, bad_at))
    assert kv.heads[1:] == [bad_at - 1]
    monkeypatch.setattr(ledger.chain_run, "CHAIN_RUN_BLOCKS_MAX", 1)
    _, _, kv_singly, _ = synced()
    assert kv_singly.heads[1:] == list(range(1, bad_at))
    assert snapshot(kv) == snapshot(kv_singly)
    clock = in_runs._clock_ms
    assert isinstance(clock, Clock)
    clock.now_ms += 600  # the next poll asks someone else, who has the rest
    in_runs.tick([liar, honest])
    assert out.frames[-1][0] == honest
    answer = serve_blocks(source, out.frames[-1][2])
    assert answer is not None
    in_runs.sync_answer(honest, answer)
    assert in_runs.chain.height == 64


def test_a_transaction_in_two_blocks_of_one_run_is_refused_as_a_replay(
        net: Consortium, monkeypatch: pytest.MonkeyPatch) -> None:
    source = Chain(MemoryStore(), net.genesis)
    # An accreditation said again is no refusal of the state's: only the replay index
    # tells the second copy of one transaction from a new one.
    twice = accredit(net, net.university2, ["diploma"])
    commit(source, [make_tx(net.university, AnchorPayload(os.urandom(32)))])
    commit(source, [twice])
    # A quorum that certifies a replay: its builder forgets what the chain committed.
    monkeypatch.setattr(source, "is_committed", lambda tx_id: False)
    commit(source, [twice])
    monkeypatch.undo()
    follower, out, kv = follower_of(source, net.employer)
    with pytest.raises(AssertionError, match="sync stopped at 2 of 3"):
        sync_from(source, follower, out, net.ministry.public_key)
    # The replay is refused before it writes anything: blocks 1 and 2 stay one run.
    assert kv.heads[1:] == [2]


def test_a_validator_enters_the_height_after_a_run_knowing_its_set(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A replica must know a height's set before it enters it (consensus.ValidatorsKnown),
    and the engine checks its messages by the sets of its height and the next: told of
    a run's last block alone, it would enter the height after it with the set of the
    run's first block, and count that height's votes and primary by it."""
    source, council = voted_source()
    validator, out, kv = follower_of(source, council.validators[1])
    replica = validator.replica
    assert replica is not None
    wrong: list[int] = []  # heights entered with another set than theirs
    step = replica.step

    def step_and_look(event: Event) -> list[Action]:
        actions = step(event)
        if isinstance(event, BlockSynced):
            height, view = replica.height, replica.view
            ids = validator.validator_sets.at(height).ids
            if (replica.primary != ids[(view + height) % len(ids)]
                    or validator.validators.ids != ids):
                wrong.append(height)
        return actions

    monkeypatch.setattr(replica, "step", step_and_look)
    sync_from(source, validator, out, council.ministry.public_key)
    assert wrong == []
    assert kv.heads[1:] == [2, 4, 5, 9, 10, 11, 14]


def test_when_only_the_run_fails_the_rest_of_the_answer_is_still_applied(
        net: Consortium, monkeypatch: pytest.MonkeyPatch) -> None:
    """A run refused where the same blocks applied alone pass (no such case is known:
    the fallback is there for the unknown one) goes on with the answer after them."""
    source = source_chain(net, 6)
    follower, out, kv = follower_of(source, net.employer)
    join_run = follower._join_run
    refused: list[int] = []

    def refuse_block_3_once(run: ChainRun, joined: list[Any], block: Block, cert: bytes,
                            verified: frozenset[bytes], checked_ahead: bool) -> bool:
        if block.header.height == 3 and not refused:
            refused.append(3)
            return False
        return join_run(run, joined, block, cert, verified, checked_ahead)

    monkeypatch.setattr(follower, "_join_run", refuse_block_3_once)
    peer = net.ministry.public_key
    follower.tick([peer])
    answer = serve_blocks(source, out.frames[-1][2])
    assert answer is not None
    follower.sync_answer(peer, answer)
    assert refused == [3]
    assert follower.chain.height == 6
    # 1-2 joined a run that 3 failed (before executing): committed as they are; 3 passes
    # alone; then 4-6
    assert kv.heads[1:] == [2, 3, 6]


class Snapshotting(Recorder):
    """Takes state-sync snapshots as the daemon does, as each commit is reported."""

    def __init__(self, snapshots: StateSnapshots) -> None:
        super().__init__()
        self.snapshots = snapshots

    def committed(self, report: CommitReport) -> None:
        super().committed(report)
        self.snapshots.block_committed(report.execution.header.height)


def test_a_follower_holds_the_snapshots_every_node_takes(
        net: Consortium, monkeypatch: pytest.MonkeyPatch) -> None:
    """Joining nodes ask for the state of the heights every node snapshots; a run that
    spanned one would leave the store at that height never, so none would be taken."""
    interval = state_serve.SNAPSHOT_INTERVAL_BLOCKS
    source = source_chain(net, interval + 30)  # answers 1-64, 65-128 (100 inside), 129-130
    follower, _, kv = follower_of(source, net.employer)
    snapshots = StateSnapshots(kv, follower.validator_sets.certifies)
    follower.outbox = out = Snapshotting(snapshots)
    sync_from(source, follower, out, net.ministry.public_key)
    assert interval in kv.heads
    offer = snapshots.answer(encode([ASK_OFFER]))
    assert offer is not None and decode(offer)[1] == interval
    monkeypatch.setattr(ledger.chain_run, "CHAIN_RUN_BLOCKS_MAX", 1)
    one_by_one, out_singly, kv_singly = follower_of(source, net.employer)
    sync_from(source, one_by_one, out_singly, net.ministry.public_key)
    assert snapshot(kv) == snapshot(kv_singly)


class ReadDuringWrite(CountedStore):
    """Calls `read` as soon as a write is in the store, before the chain that made it moves
    its head: as the event loop may while the engine thread commits."""

    def __init__(self) -> None:
        super().__init__()
        self.read: Callable[[], object] = lambda: None
        self.seen: list[object] = []

    def write(self, puts: dict[bytes, bytes | None], sync: bool = True) -> None:
        super().write(puts, sync)
        try:
            self.seen.append(self.read())
        except CorruptStateError as exc:
            self.seen.append(exc)


@pytest.mark.parametrize("certificates_checked", [False, True])
def test_a_transaction_looked_up_while_its_run_is_written_is_found(
        net: Consortium, certificates_checked: bool) -> None:
    """A reader may see a run's writes before the chain's head moves to its last block:
    the transactions of the blocks below that are no sign of damage. (Each such block is
    checked by its certificate, as the daemon's chain does, or by the link above it.)"""
    source = source_chain(net, 6)
    block = source.get_block(3)
    assert block is not None
    tx_id = block.transactions[0].tx_id
    kv = ReadDuringWrite()
    follower, out, _ = follower_of(source, net.employer, kv)
    if certificates_checked:
        follower.chain.check_certificates(follower.validator_sets.certifies)
    kv.read = lambda: follower.chain.tx_location(tx_id)
    sync_from(source, follower, out, net.ministry.public_key)
    assert kv.heads[1:] == [6]  # one run
    assert kv.seen[1:] == [(3, 0)]


class BlockReads(CountedStore):
    """Counts the reads of stored blocks."""

    def __init__(self) -> None:
        super().__init__()
        self.block_reads = 0

    def get(self, key: bytes) -> bytes | None:
        self.block_reads += key.startswith(BLOCK_PREFIX)
        return super().get(key)


def test_the_newest_blocks_transactions_are_found_without_reading_their_blocks(
        net: Consortium) -> None:
    """Clients poll for the transactions of the newest blocks: a run that commits more
    blocks than are remembered leaves the newest of them remembered."""
    source = source_chain(net, 5)
    kv = BlockReads()
    follower, out, _ = follower_of(source, net.employer, kv)
    peer = net.ministry.public_key
    sync_from(source, follower, out, peer)
    for _ in range(ledger.chain_run.CHAIN_RUN_BLOCKS_MAX):
        commit(source, [make_tx(net.university, AnchorPayload(os.urandom(32)))])
    clock = follower._clock_ms
    assert isinstance(clock, Clock)
    clock.now_ms += 600  # the next poll
    sync_from(source, follower, out, peer)
    assert kv.heads[1:] == [5, source.height]  # the 64 blocks after 5 in one run
    newest = range(source.height - TX_IDS_REMEMBERED_BLOCKS + 1, source.height + 1)
    ids = []
    for height in newest:
        block = source.get_block(height)
        assert block is not None
        ids.append(block.transactions[0].tx_id)
    kv.block_reads = 0
    assert [follower.chain.tx_location(tx_id) for tx_id in ids] == [(h, 0) for h in newest]
    assert kv.block_reads == 0
