"""A validator run twice learns it from the next block's certificate (node/own_votes.py).

The test consortium has one validator (the ministry), so its own vote certifies a block;
its twin is a copy of its store, started with the same key and a clock 7 ms apart."""

from __future__ import annotations

import logging
import os

import pytest

from consensus import (
    Commit,
    CommitCertificate,
    CommitSignature,
    Digest,
    Height,
    SignedMessage,
    ValidatorId,
    View,
    encode_signed,
    sign_message,
)
from ledger.blocks import decode_block
from ledger.chain import Chain
from ledger.codec import encode
from ledger.payloads import AnchorPayload
from node.engine import Engine
from node.engine_types import EngineConfig
from node.mempool import Mempool, MempoolLimits
from node.own_votes import COMMIT_VOTE_BYTES_MAX, OwnVotes
from node.validators import ValidatorSets
from storage.kv import MemoryStore
from tests.node.conftest import Consortium, make_tx, snapshot
from tests.node.test_engine import Clock, Recorder, engine_for, submit

TWIN = "another node is running with this validator's key"


def twin_of(engine: Engine, net: Consortium, clock: Clock) -> Engine:
    copy = MemoryStore()
    copy.write(dict(snapshot(engine.chain.kv)))
    chain = Chain(copy, net.genesis)
    return Engine(engine.keys, chain, Mempool(MempoolLimits(100, 1 << 20, 100)),
                  ValidatorSets.for_chain(chain), EngineConfig(1_000, 100), clock, Recorder())


def twin_errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.levelno == logging.ERROR and TWIN in r.getMessage()]


def test_a_validator_run_twice_is_told_by_the_next_blocks_certificate(
        net: Consortium, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    start = net.genesis.genesis_time_ms + 10_000
    validator, _ = engine_for(net.ministry, net, Clock(start))
    submit(validator, net)  # block 1
    twin = twin_of(validator, net, Clock(start + 7))
    tx = make_tx(net.university, AnchorPayload(os.urandom(32)))
    for engine in (validator, twin):  # one block 2, a vote on it from each process
        engine.mempool.add(tx, len(tx.encode()))
        engine.work_available()
    assert validator.chain.head_hash == twin.chain.head_hash
    assert validator.chain.get_certificate(2) != twin.chain.get_certificate(2)
    submit(twin, net)  # block 3: its last commit is the twin's vote on block 2
    assert twin_errors(caplog) == []
    validator.block_announced(net.ministry.public_key, encode(  # a validator announces
        [twin.chain.get_block_bytes(3), twin.chain.get_certificate(3)]))
    assert validator.chain.height == 3  # a valid block all the same
    (said,) = twin_errors(caplog)
    assert "block 2" in said and f"stamped {start + 7}, ours {start}" in said


def test_a_block_fetched_with_a_vote_of_ours_signed_elsewhere_is_told_too(
        net: Consortium, caplog: pytest.LogCaptureFixture) -> None:
    """In a consortium both processes vote on one proposal; the one that falls behind
    fetches the block, whose certificate may carry its twin's vote."""
    caplog.set_level(logging.INFO)
    start = net.genesis.genesis_time_ms + 10_000
    validator, _ = engine_for(net.ministry, net, Clock(start))
    submit(validator, net)  # block 1
    twin = twin_of(validator, net, Clock(start + 7))
    submit(twin, net)  # block 2, the twin's vote on it
    block = twin.chain.get_block_bytes(2)
    assert block is not None
    digest = Digest(decode_block(block).block_hash)
    # this node's replica voted on the same block 2, at its own time, and fell behind
    validator.own_votes.sent(encode_signed(sign_message(
        net.genesis.chain_id.encode(), validator.me, Commit(View(0), Height(2), digest, start),
        net.ministry.sign_raw)))
    validator.block_announced(net.ministry.public_key,  # a validator announces
                              encode([block, twin.chain.get_certificate(2)]))
    assert validator.chain.height == 2
    (said,) = twin_errors(caplog)
    assert f"stamped {start + 7}, ours {start}" in said


def test_a_validator_alone_hears_nothing_of_a_twin(
        net: Consortium, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    clock = Clock(net.genesis.genesis_time_ms + 10_000)
    validator, out = engine_for(net.ministry, net, clock)
    for _ in range(5):  # each block's last commit is this node's own vote
        submit(validator, net)
        clock.now_ms += 100
    follower, _ = engine_for(net.employer, net, clock)
    for height in range(1, 6):
        follower.block_announced(net.ministry.public_key, encode(
            [validator.chain.get_block_bytes(height), validator.chain.get_certificate(height)]))
    assert follower.chain.height == 5 and len(out.reports) == 5
    assert twin_errors(caplog) == []


def _certificate(height: int, time_ms: int, me: ValidatorId) -> CommitCertificate:
    return CommitCertificate(Height(height), View(0), Digest(bytes(32)),
                             (CommitSignature(me, time_ms, b"s" * 64),))


def _vote(height: int, time_ms: int, me: ValidatorId) -> bytes:
    signed = SignedMessage(me, Commit(View(0), Height(height), Digest(bytes(32)), time_ms),
                           b"s" * 64)
    return encode_signed(signed)


def test_the_height_a_replica_restarted_in_is_not_compared() -> None:
    """A restarted replica signs its commit vote again with a new reading (the reading
    is not in its safety state), while its peers may hold the one from before."""
    me = ValidatorId(b"m" * 32)
    votes = OwnVotes(me, started_at_height=4)
    assert len(_vote(5, 1_000, me)) <= COMMIT_VOTE_BYTES_MAX
    votes.sent(_vote(5, 1_000, me))
    assert votes.signed_elsewhere(_certificate(5, 999, me)) is None
    votes.sent(_vote(6, 2_000, me))
    votes.sent(_vote(6, 2_500, ValidatorId(b"o" * 32)))  # another's vote, relayed: not ours
    assert votes.signed_elsewhere(_certificate(6, 2_000, me)) is None
    assert votes.signed_elsewhere(_certificate(6, 1_999, me)) is not None
    assert votes.signed_elsewhere(_certificate(6, 1_999, me)) is None  # said once
