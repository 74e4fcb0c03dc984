"""The engine in-process, input by input: sync, the one commit path, proposal checks, BFT time.

The test consortium has one validator (the ministry), so a block it signs is
certified; the employer runs a follower engine.
"""

from __future__ import annotations

import dataclasses
import os
import tracemalloc
from collections import deque

import pytest

from consensus import (
    BlockExecuted,
    CommitBlock,
    Digest,
    Event,
    ExecuteBlock,
    Height,
    View,
    decode_certificate,
)
from ledger.bft_time import MAX_STALE_MS, REFRESH_AFTER_MS
from ledger.blocks import Block
from ledger.chain import Chain, ProposalRules
from ledger.codec import encode
from ledger.errors import MalformedInput
from ledger.identity import KeyPair
from ledger.payloads import ACTION_ADD_VALIDATOR, AnchorPayload, MemberAction, ProposePayload
from node.block_serve import serve_blocks
from node.channels import CH_SYNC_REQUEST
from node.engine import Engine
from node.engine_types import CommitReport, EngineConfig, Refusals, Role
from node.mempool import Mempool, MempoolLimits
from node.sync import RESPONSE_TIMEOUT_MS
from node.validators import ValidatorSets
from storage.kv import MemoryStore
from tests.node.certificates import make_certificate, make_quorum_certificate
from tests.node.conftest import (
    CHAIN_ID,
    Consortium,
    bft_basis,
    commit,
    commit_times,
    make_tx,
    snapshot,
)


class Recorder:
    def __init__(self) -> None:
        self.frames: list[tuple[bytes, int, bytes]] = []
        self.reports: list[CommitReport] = []

    def send(self, peer_key: bytes, channel: int, payload: bytes) -> None:
        self.frames.append((peer_key, channel, payload))

    def committed(self, report: CommitReport) -> None:
        self.reports.append(report)

    def refused(self, refusals: Refusals) -> None:
        del refusals


class Clock:
    def __init__(self, now_ms: int) -> None:
        self.now_ms = now_ms

    def __call__(self) -> int:
        return self.now_ms


def engine_for(keys: KeyPair, net: Consortium, clock: Clock,
               store: MemoryStore | None = None) -> tuple[Engine, Recorder]:
    recorder = Recorder()
    chain = Chain(store or MemoryStore(), net.genesis)
    engine = Engine(keys, chain, Mempool(MempoolLimits(100, 1 << 20, 100)),
                    ValidatorSets.for_chain(chain), EngineConfig(1_000, 100), clock, recorder)
    return engine, recorder


def source_chain(net: Consortium, blocks: int) -> Chain:
    chain = Chain(MemoryStore(), net.genesis)
    for _ in range(blocks):
        commit(chain, [make_tx(net.university, AnchorPayload(os.urandom(32)))])
    return chain


def tampered_but_certified(net: Consortium, chain: Chain) -> tuple[bytes, bytes]:
    """The next block after `chain` with a lying state root, signed by the validator."""
    tx = make_tx(net.university, AnchorPayload(os.urandom(32)))
    last_commit, when = bft_basis(chain)
    execution = chain.build([tx], net.ministry.member_id, 0, when, last_commit=last_commit)
    header = dataclasses.replace(execution.header, state_root=os.urandom(32))
    block = Block(header, execution.block.transactions, last_commit)
    cert = make_certificate(net.ministry, chain.chain_id, header.height, 0, block.block_hash)
    return block.encode(), cert


def test_sync_takes_answers_only_from_the_peer_it_asked(net: Consortium) -> None:
    clock = Clock(net.genesis.genesis_time_ms)
    follower, out = engine_for(net.employer, net, clock)
    assert follower.role is Role.FOLLOWER
    source = source_chain(net, 3)
    asked, other = net.ministry.public_key, net.university.public_key
    follower.tick([other, asked])
    peer, channel, request = out.frames[-1]
    assert (peer, channel) == (asked, CH_SYNC_REQUEST)  # validators are asked first
    answer = serve_blocks(source, request)
    assert answer is not None
    follower.sync_answer(other, answer)
    assert follower.chain.height == 0
    follower.sync_answer(asked, answer)
    assert follower.chain.height == 3
    assert [r.source for r in out.reports] == ["sync"] * 3
    follower.sync_answer(asked, answer)  # a second copy is no longer an open question
    assert follower.chain.height == 3


def test_a_certified_block_that_does_not_execute_is_refused_and_the_peer_passed_over(
        net: Consortium) -> None:
    clock = Clock(net.genesis.genesis_time_ms)
    follower, out = engine_for(net.employer, net, clock)
    liar, honest = net.ministry.public_key, net.university.public_key
    follower.tick([liar, honest])
    assert out.frames[-1][0] == liar
    data, cert = tampered_but_certified(net, follower.chain)
    follower.sync_answer(liar, encode([1, [[data, cert]]]))
    assert follower.chain.height == 0 and not out.reports
    clock.now_ms += 600  # the next poll asks someone else
    follower.tick([liar, honest])
    assert out.frames[-1][0] == honest


def test_a_silent_peer_is_passed_over_after_the_timeout(net: Consortium) -> None:
    clock = Clock(net.genesis.genesis_time_ms)
    follower, out = engine_for(net.employer, net, clock)
    silent, other = net.ministry.public_key, net.university.public_key
    follower.tick([silent, other])
    assert len(out.frames) == 1
    clock.now_ms += RESPONSE_TIMEOUT_MS - 1
    follower.tick([silent, other])
    assert len(out.frames) == 1  # still waiting for the answer
    clock.now_ms += 1
    follower.tick([silent, other])
    assert out.frames[-1][0] == other


def test_a_decided_block_that_does_not_execute_triggers_sync(net: Consortium) -> None:
    clock = Clock(net.genesis.genesis_time_ms)
    validator, out = engine_for(net.ministry, net, clock)
    assert validator.role is Role.VALIDATOR
    data, cert = tampered_but_certified(net, validator.chain)
    certificate = decode_certificate(cert)
    events: deque[Event] = deque()
    validator._perform([CommitBlock(Height(1), certificate.digest, data, certificate)], events)
    assert validator.chain.height == 0 and not out.reports
    assert validator.sync.target_height == 1


def test_a_validator_drops_what_a_committed_block_left_out_as_invalid(net: Consortium) -> None:
    """Two signings of one anchor (a client's retry) are both admitted against the
    committed state; the primary's block takes one and leaves the other out. A backup
    still holding the other must drop it, or its replica would think work waits and
    change views alone."""
    clock = Clock(net.genesis.genesis_time_ms)
    validator, out = engine_for(net.ministry, net, clock)
    document = os.urandom(32)
    first, retry = (make_tx(net.university, AnchorPayload(document)) for _ in range(2))
    for tx in (first, retry):
        validator.chain.check_pending(tx, clock.now_ms)
        validator.mempool.add(tx, len(tx.encode()))
    primary_chain = Chain(MemoryStore(), net.genesis)
    block = commit(primary_chain, [first])
    certificate = decode_certificate(primary_chain.get_certificate(1) or b"")
    validator._perform([CommitBlock(Height(1), certificate.digest, block.encode(),
                                    certificate)], deque())
    assert validator.chain.height == 1
    assert len(validator.mempool) == 0
    assert [(tx.tx_id, refusal.code) for tx, refusal in out.reports[-1].refused
            ] == [(retry.tx_id, "already_anchored")]


def test_block_time_comes_from_the_votes_not_from_the_proposers_clock(
        net: Consortium) -> None:
    clock = Clock(net.genesis.genesis_time_ms + 10_000)
    validator, out = engine_for(net.ministry, net, clock)
    vote_times = []
    for _ in range(3):
        submit(validator, net)
        vote_times.append(clock.now_ms)
        clock.now_ms += REFRESH_AFTER_MS // 2
    times = [report.execution.header.time_ms for report in out.reports]
    assert [report.source for report in out.reports] == ["consensus"] * 3
    # block 1: genesis + 1 ms; block h+1: what block h's commit vote said, not "now"
    assert times == [net.genesis.genesis_time_ms + 1, vote_times[0], vote_times[1]]
    stored = validator.chain.get_certificate(3)
    assert stored is not None and decode_certificate(stored).vote_times == (vote_times[2],)


def test_after_an_idle_spell_an_empty_block_refreshes_the_time_first(net: Consortium) -> None:
    clock = Clock(net.genesis.genesis_time_ms + 3_600_000)  # block 1 would say genesis + 1 ms
    validator, out = engine_for(net.ministry, net, clock)
    submit(validator, net)
    first = clock.now_ms
    clock.now_ms += 2 * REFRESH_AFTER_MS
    submit(validator, net)
    blocks = [(len(r.execution.accepted), r.execution.header.time_ms) for r in out.reports]
    genesis_ms = net.genesis.genesis_time_ms
    assert blocks == [(0, genesis_ms + 1), (1, first), (0, first + 1), (1, clock.now_ms)]


def test_a_fresh_proposal_with_an_idle_chains_old_time_is_refused(net: Consortium) -> None:
    chain = Chain(MemoryStore(), net.genesis)
    commit(chain, [])
    last_commit, when = bft_basis(chain)
    now = when + MAX_STALE_MS + 1
    tx = make_tx(net.university, AnchorPayload(os.urandom(32)))
    stale = chain.build([tx], net.ministry.member_id, 0, when, last_commit=last_commit).block
    before = snapshot(chain.kv)
    with pytest.raises(MalformedInput, match="stale"):
        chain.validate(stale, proposal=ProposalRules(net.ministry.member_id, 0, now),
                       commit_times=commit_times(chain))
    assert snapshot(chain.kv) == before
    # the same block re-proposed after a view change is not refused for its age, nor is
    # an empty block (nothing is judged by its time)
    chain.validate(stale, proposal=ProposalRules(net.ministry.member_id, 1, now, forced=True),
                   commit_times=commit_times(chain))
    # not so one proposed afresh in a later view under its old view's number: a primary
    # named the older view's primary as proposer, and its idle chain's old time passed
    with pytest.raises(MalformedInput, match="names view 0, not the view 1"):
        chain.validate(stale, proposal=ProposalRules(net.ministry.member_id, 1, now),
                       commit_times=commit_times(chain))
    empty = chain.build([], net.ministry.member_id, 0, when, last_commit=last_commit).block
    chain.validate(empty, proposal=ProposalRules(net.ministry.member_id, 0, now),
                   commit_times=commit_times(chain))


def submit(engine: Engine, net: Consortium) -> None:
    tx = make_tx(net.university, AnchorPayload(os.urandom(32)))
    engine.mempool.add(tx, len(tx.encode()))
    engine.work_available()


def _proposal_at(validator: Engine, net: Consortium, offset_ms: int) -> Block:
    """The next block as the primary would build it, its time moved by `offset_ms`."""
    last_commit, when = bft_basis(validator.chain)
    tx = make_tx(net.university, AnchorPayload(os.urandom(32)))
    return validator.chain.build([tx], net.ministry.member_id, 0, when + offset_ms,
                                 last_commit=last_commit).block


@pytest.mark.parametrize("offset_ms", [-1, 1, 3_600_000])
def test_a_proposal_at_another_time_than_its_votes_give_is_refused(
        net: Consortium, offset_ms: int) -> None:
    clock = Clock(net.genesis.genesis_time_ms + 10_000)
    validator, _ = engine_for(net.ministry, net, clock)
    commit(validator.chain, [make_tx(net.university, AnchorPayload(os.urandom(32)))])
    commit(validator.chain, [make_tx(net.university, AnchorPayload(os.urandom(32)))])
    before = snapshot(validator.chain.kv)
    block = _proposal_at(validator, net, offset_ms)
    events: deque[Event] = deque()
    validator._perform([ExecuteBlock(Height(3), View(0), Digest(block.block_hash),
                                     block.encode())], events)
    assert list(events) == [BlockExecuted(Height(3), View(0), Digest(block.block_hash), False)]
    assert snapshot(validator.chain.kv) == before and validator.chain.height == 2
    honest = _proposal_at(validator, net, 0)
    validator._perform([ExecuteBlock(Height(3), View(0), Digest(honest.block_hash),
                                     honest.encode())], events)
    assert events[-1] == BlockExecuted(Height(3), View(0), Digest(honest.block_hash), True)


@pytest.mark.parametrize("change,match", [
    ({"time_ms": -1}, "not the time its last commit gives"),
    ({"time_ms": 31_000}, "not the time its last commit gives"),
    ({"proposer": "university"}, "primary of its view"),
    ({"view": 1}, "primary of its view"),
])
def test_proposal_rules_live_in_the_one_validity_check(net: Consortium, change: dict[str, object],
                                                       match: str) -> None:
    chain = Chain(MemoryStore(), net.genesis)
    commit(chain, [])
    tx = make_tx(net.university, AnchorPayload(os.urandom(32)))
    proposer = net.university if change.get("proposer") else net.ministry
    offset = change.get("time_ms", 0)
    assert isinstance(offset, int)
    view = int(str(change.get("view", 0)))
    last_commit, when = bft_basis(chain)
    block = chain.build([tx], proposer.member_id, view, when + offset,
                        last_commit=last_commit).block
    rules = ProposalRules(net.ministry.member_id, 0, when)
    before = snapshot(chain.kv)
    with pytest.raises(MalformedInput, match=match):
        chain.validate(block, proposal=rules, commit_times=commit_times(chain))
    assert chain.height == 1 and snapshot(chain.kv) == before


def test_status_names_the_validators_it_cannot_reach(net: Consortium) -> None:
    clock = Clock(net.genesis.genesis_time_ms)
    follower, _ = engine_for(net.employer, net, clock)
    follower.tick([net.university.public_key])
    status = follower.status()
    assert status["reachable"] == [] and len(status["unreachable"]) == 1  # type: ignore[arg-type]
    assert status["quorum"] == 1
    follower.tick([net.ministry.public_key])
    assert len(follower.status()["reachable"]) == 1  # type: ignore[arg-type]


def _certificate_of(signers: list[KeyPair], chain_id: str, height: int, block_hash: bytes
                    ) -> bytes:
    return make_quorum_certificate(signers, chain_id, height, 0, block_hash)


def test_a_follower_voted_in_starts_validating_at_the_switch_height(net: Consortium) -> None:
    """Governance adds the employer from height 4: blocks from 4 need both signatures,
    and the employer's engine turns validator when it commits block 3."""
    source = Chain(MemoryStore(), net.genesis)
    action = MemberAction(ACTION_ADD_VALIDATOR, net.employer.member_id)
    commit(source, [make_tx(net.ministry, ProposePayload(action, 4, 2))])  # 1 of 1 ministry
    commit(source, [])
    commit(source, [])
    clock = Clock(net.genesis.genesis_time_ms)
    employer, _ = engine_for(net.employer, net, clock)
    for height in (1, 2, 3):
        assert employer.role is Role.FOLLOWER and employer.replica is None
        block = source.get_block(height)
        assert block is not None
        employer.block_announced(net.ministry.public_key,
                                 encode([block.encode(), source.get_certificate(height)]))
    assert employer.chain.height == 3
    assert employer.role is Role.VALIDATOR and employer.replica is not None
    assert employer.status()["validators"] == 2 and employer.status()["quorum"] == 2

    tx = make_tx(net.university, AnchorPayload(os.urandom(32)))
    last_commit, when = bft_basis(source)
    execution = source.build([tx], net.ministry.member_id, 0, when, last_commit=last_commit)
    block_hash = execution.header.block_hash
    assert execution.header.validator_set_hash != net.genesis.validator_set_hash
    alone = _certificate_of([net.ministry], CHAIN_ID, 4, block_hash)
    employer.block_announced(net.ministry.public_key,
                             encode([execution.block.encode(), alone]))
    assert employer.chain.height == 3  # the genesis set's certificate no longer suffices
    both = _certificate_of([net.ministry, net.employer], CHAIN_ID, 4, block_hash)
    employer.block_announced(net.ministry.public_key, encode([execution.block.encode(), both]))
    assert employer.chain.height == 4


def test_a_block_announced_by_a_non_validator_is_dropped_unread(net: Consortium) -> None:
    """Only validators announce blocks. A member's announcements are not decoded: a
    2 MiB frame of empty arrays held the engine thread (and consensus) a second each."""
    source = Chain(MemoryStore(), net.genesis)
    commit(source, [])
    follower, _ = engine_for(net.employer, net, Clock(net.genesis.genesis_time_ms))
    block = source.get_block(1)
    assert block is not None
    announced = encode([block.encode(), source.get_certificate(1)])
    follower.block_announced(net.university.public_key, announced)
    assert follower.chain.height == 0
    count = 2 * 1024 * 1024
    frame = b"\xdd" + count.to_bytes(4, "big") + b"\x90" * count
    tracemalloc.start()
    try:
        follower.block_announced(net.university.public_key, frame)
        assert tracemalloc.get_traced_memory()[1] < 1 << 20
    finally:
        tracemalloc.stop()
    follower.block_announced(net.ministry.public_key, announced)
    assert follower.chain.height == 1


def test_a_node_at_its_head_is_not_called_behind_for_polling(net: Consortium) -> None:
    """A follower polls for the block after its head; until someone says that block
    exists, status (and senim_sync_behind_blocks) must not say it is a block behind:
    `senim status` printed 'catching up: 1 block(s) behind' on a node at its head."""
    clock = Clock(net.genesis.genesis_time_ms)
    follower, out = engine_for(net.employer, net, clock)
    follower.tick([])  # nobody connected: the poll can ask no one
    assert follower.status()["behind"] == 0
    follower.tick([net.ministry.public_key])
    clock.now_ms += 1_000
    follower.tick([net.ministry.public_key])
    assert out.frames  # it asked what follows its head
    assert follower.status()["behind"] == 0
    follower.sync_answer(net.ministry.public_key, encode([3, []]))  # a claim, no blocks
    assert follower.status()["behind"] == 0
