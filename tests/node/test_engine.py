"""The engine in-process, input by input: sync, the one commit path, proposal checks.

The test consortium has one validator (the ministry), so a block it signs is
certified; the employer runs a follower engine.
"""

from __future__ import annotations

import dataclasses
import os
from collections import deque

import pytest

from consensus import (
    BlockExecuted,
    CommitBlock,
    Digest,
    Event,
    ExecuteBlock,
    Height,
    ValidatorId,
    View,
    commit_signing_bytes,
    decode_certificate,
    encode_certificate,
)
from consensus.certificate import make_certificate as make_consensus_certificate
from ledger.blocks import Block
from ledger.chain import MAX_CLOCK_BEHIND_MS, Chain, ProposalRules
from ledger.codec import encode
from ledger.errors import MalformedInput
from ledger.identity import KeyPair
from ledger.payloads import ACTION_ADD_VALIDATOR, AnchorPayload, MemberAction, ProposePayload
from node.channels import CH_SYNC_REQUEST
from node.engine import CommitReport, Engine, EngineConfig, Refusals, Role
from node.mempool import Mempool, MempoolLimits
from node.sync import RESPONSE_TIMEOUT_MS, serve_blocks
from node.validators import ValidatorSets
from storage.kv import MemoryStore
from tests.node.certificates import make_certificate
from tests.node.conftest import CHAIN_ID, Consortium, commit, make_tx, next_time


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


def engine_for(keys: KeyPair, net: Consortium, clock: Clock) -> tuple[Engine, Recorder]:
    recorder = Recorder()
    chain = Chain(MemoryStore(), net.genesis)
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
    execution = chain.build([tx], net.ministry.member_id, 0, next_time(chain))
    header = dataclasses.replace(execution.header, state_root=os.urandom(32))
    block = Block(header, execution.block.transactions)
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


def test_a_back_dated_proposal_is_refused(net: Consortium) -> None:
    clock = Clock(net.genesis.genesis_time_ms + 10 * MAX_CLOCK_BEHIND_MS)
    validator, _ = engine_for(net.ministry, net, clock)
    tx = make_tx(net.university, AnchorPayload(os.urandom(32)))
    old = clock.now_ms - MAX_CLOCK_BEHIND_MS - 1
    block = validator.chain.build([tx], net.ministry.member_id, 0, old).block
    events: deque[Event] = deque()
    validator._perform([ExecuteBlock(Height(1), View(0), Digest(block.block_hash),
                                     block.encode())], events)
    assert list(events) == [BlockExecuted(Height(1), View(0), Digest(block.block_hash), False)]
    fresh = validator.chain.build([tx], net.ministry.member_id, 0, clock.now_ms).block
    validator._perform([ExecuteBlock(Height(1), View(0), Digest(fresh.block_hash),
                                     fresh.encode())], events)
    assert events[-1] == BlockExecuted(Height(1), View(0), Digest(fresh.block_hash), True)


@pytest.mark.parametrize("change,match", [
    ({"time_ms": -MAX_CLOCK_BEHIND_MS - 1}, "too far in the past"),
    ({"time_ms": 31_000}, "too far in the future"),
    ({"proposer": "university"}, "primary of its view"),
    ({"view": 1}, "primary of its view"),
])
def test_proposal_rules_live_in_the_one_validity_check(net: Consortium, change: dict[str, object],
                                                       match: str) -> None:
    chain = Chain(MemoryStore(), net.genesis)
    now = net.genesis.genesis_time_ms + 10 * MAX_CLOCK_BEHIND_MS
    tx = make_tx(net.university, AnchorPayload(os.urandom(32)))
    proposer = net.university if change.get("proposer") else net.ministry
    offset = change.get("time_ms", 0)
    assert isinstance(offset, int)
    view = int(str(change.get("view", 0)))
    block = chain.build([tx], proposer.member_id, view, now + offset).block
    rules = ProposalRules(net.ministry.member_id, 0, now)
    with pytest.raises(MalformedInput, match=match):
        chain.validate(block, proposal=rules)
    assert chain.height == 0


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
    message = commit_signing_bytes(chain_id.encode(), Height(height), View(0),
                                   Digest(block_hash))
    return encode_certificate(make_consensus_certificate(
        Height(height), View(0), Digest(block_hash),
        {ValidatorId(k.member_id): k.sign_raw(message) for k in signers}))


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
    execution = source.build([tx], net.ministry.member_id, 0, next_time(source))
    block_hash = execution.header.block_hash
    assert execution.header.validator_set_hash != net.genesis.validator_set_hash
    alone = _certificate_of([net.ministry], CHAIN_ID, 4, block_hash)
    employer.block_announced(net.ministry.public_key,
                             encode([execution.block.encode(), alone]))
    assert employer.chain.height == 3  # the genesis set's certificate no longer suffices
    both = _certificate_of([net.ministry, net.employer], CHAIN_ID, 4, block_hash)
    employer.block_announced(net.ministry.public_key, encode([execution.block.encode(), both]))
    assert employer.chain.height == 4
