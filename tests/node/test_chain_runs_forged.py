"""Catch-up in runs from a peer that lies (`ledger.chain_run.ChainRun`): forged
certificates inside and at the end of a run, and made-up blocks, cost at most one
execution a block, commit nothing they do not certify, and pass the peer over."""

from __future__ import annotations

import dataclasses
import logging
import os

import pytest

from consensus import decode_certificate
from ledger.blocks import Block, transactions_root
from ledger.chain import Chain
from ledger.codec import decode, encode
from ledger.payloads import AnchorPayload
from node.block_serve import serve_blocks
from node.engine import Engine
from node.engine_types import EngineConfig
from node.mempool import Mempool, MempoolLimits
from node.validators import ValidatorSets
from tests.node.certificates import forged_certificate
from tests.node.conftest import Consortium, make_tx
from tests.node.test_chain_runs import (
    CountedStore,
    counted_executions,
    follower_of,
    voted_source,
)
from tests.node.test_engine import Clock, Recorder, source_chain


def test_a_forged_certificate_served_inside_a_run_is_not_stored(
        net: Consortium, caplog: pytest.LogCaptureFixture) -> None:
    """The certificate served with a block the next one follows in the run is neither
    checked nor kept: the block is stored with the last commit the next block carries,
    which the next block's header commits to."""
    source = source_chain(net, 8)
    block = source.get_block(4)
    assert block is not None
    forged = forged_certificate([net.ministry], net.university, source.chain_id, 4, 0,
                                block.block_hash)
    follower, out, _ = follower_of(source, net.employer)
    peer = net.ministry.public_key
    follower.tick([peer])
    answer = serve_blocks(source, out.frames[-1][2])
    assert answer is not None
    height, items = decode(answer)
    items[3][1] = forged
    follower.sync_answer(peer, encode([height, items]))
    assert follower.chain.height == 8
    after = follower.chain.get_block(5)
    assert after is not None
    assert follower.chain.get_certificate(4) == after.last_commit != forged
    assert follower.chain.state.root == source.state.root
    # Nothing it sent was used: nothing is held against the peer.
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def fork_with_forged_certificates(net: Consortium, good: int, forged: int) -> Chain:
    """A chain whose first `good` blocks the validator certified, then `forged` more
    whose certificates claim its vote but another key signed them: the chain a peer
    holding no validator's key could make up."""
    chain = source_chain(net, good)
    for _ in range(forged):
        # As its maker would take it: the vote times of the head's certificate, unchecked.
        last_commit, when = chain.next_block_basis(
            lambda data, _height, _hash: decode_certificate(data).vote_times)
        tx = make_tx(net.university, AnchorPayload(os.urandom(32)))
        execution = chain.build([tx], net.ministry.member_id, 0, when,
                                frozenset({tx.tx_id}), last_commit)
        header = execution.header
        chain.commit(execution, forged_certificate([net.ministry], net.university,
                                                   chain.chain_id, header.height, 0,
                                                   header.block_hash, header.time_ms + 1_000))
    return chain


def passed_over(engine: Engine, out: Recorder, liar: bytes, honest: bytes) -> bool:
    """Whether the next poll asks `honest` rather than `liar`, asked before."""
    clock = engine._clock_ms
    assert isinstance(clock, Clock)
    clock.now_ms += 600
    engine.tick([liar, honest])
    return out.frames[-1][0] == honest


def asked_of_a_liar(net: Consortium, source: Chain, monkeypatch: pytest.MonkeyPatch
                    ) -> tuple[Engine, Recorder, CountedStore, list[int],
                               tuple[int, list[list[bytes]]]]:
    """A follower of `source`, counting its executions, that asked the liar (the
    ministry; the honest peer is the university) for blocks, and the liar's answer as
    the source would give it, to be tampered with: its claimed height and items."""
    follower, out, kv = follower_of(source, net.employer)
    executed = counted_executions(follower, monkeypatch)
    follower.tick([net.ministry.public_key, net.university.public_key])
    assert out.frames[-1][0] == net.ministry.public_key
    height, items = decode(serve_blocks(source, out.frames[-1][2]) or b"")
    return follower, out, kv, executed, (height, items)


def test_a_run_of_blocks_under_forged_certificates_commits_none_of_them(
        net: Consortium, monkeypatch: pytest.MonkeyPatch) -> None:
    """Blocks 4-6 carry forged certificates, each the next block's last commit too.
    Block 6's, the answer's last, is checked ahead: refused before the block executes.
    The run of 1-5 then ends where none was foreseen, and block 5's certificate, checked
    as the run commits, is forged too: none of the run is committed, none executed
    twice, and the peer is passed over."""
    fork = fork_with_forged_certificates(net, good=3, forged=3)
    follower, out, kv, executed, answer = asked_of_a_liar(net, fork, monkeypatch)
    liar, honest = net.ministry.public_key, net.university.public_key
    follower.sync_answer(liar, encode(list(answer)))
    assert follower.chain.height == 0
    assert executed == [1, 2, 3, 4, 5]
    assert kv.heads[1:] == []
    assert passed_over(follower, out, liar, honest)


def test_a_bad_certificate_where_a_bad_block_ends_a_run_costs_one_execution(
        net: Consortium, monkeypatch: pytest.MonkeyPatch) -> None:
    """A peer ends a run where none was foreseen (block 5 does not follow: it is block 4
    again) and forges the certificate of the block before: blocks 1-4 are executed once
    and none is committed (a run is committed whole or not at all), and the peer is
    passed over; an honest peer then brings them."""
    source = source_chain(net, 8)
    follower, out, kv, executed, (height, items) = asked_of_a_liar(net, source, monkeypatch)
    liar, honest = net.ministry.public_key, net.university.public_key
    block = source.get_block(4)
    assert block is not None
    items[3][1] = forged_certificate([net.ministry], net.university, source.chain_id, 4, 0,
                                     block.block_hash)
    items[4] = items[3]
    follower.sync_answer(liar, encode([height, items]))
    assert follower.chain.height == 0
    assert executed == [1, 2, 3, 4]
    assert passed_over(follower, out, liar, honest)
    follower.sync_answer(honest, serve_blocks(source, out.frames[-1][2]) or b"")
    assert follower.chain.height == 8
    assert kv.heads[1:] == [8]


def test_a_bad_certificate_where_a_run_is_foreseen_to_end_is_refused_before_it_executes(
        net: Consortium, monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs end at every snapshot height (here every 4th): the certificate served with
    block 8 is checked ahead, so a forged one is refused before block 8 executes, and
    the run of 5-7 before it is committed."""
    source = source_chain(net, 12)
    kv = CountedStore()
    chain = Chain(kv, source.genesis)
    out = Recorder()
    follower = Engine(net.employer, chain, Mempool(MempoolLimits(100, 1 << 20, 100)),
                      ValidatorSets.for_chain(chain),
                      EngineConfig(1_000, 100, snapshot_interval_blocks=4),
                      Clock(source.head_header.time_ms), out)
    executed = counted_executions(follower, monkeypatch)
    peer = net.ministry.public_key
    follower.tick([peer])
    height, items = decode(serve_blocks(source, out.frames[-1][2]) or b"")
    block = source.get_block(8)
    assert block is not None
    items[7][1] = forged_certificate([net.ministry], net.university, source.chain_id, 8, 0,
                                     block.block_hash)
    follower.sync_answer(peer, encode([height, items]))
    assert follower.chain.height == 7
    assert kv.heads[1:] == [4, 7]
    assert executed == [1, 2, 3, 4, 5, 6, 7]  # block 8's certificate is refused first


def test_a_run_that_ends_unforeseen_inside_an_answer_checks_its_last_certificate_there(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Block 4 ends a run in the middle of the answer (block 5, after which a set takes
    effect, is a run of its own), which the committed state did not foresee: the vote
    that schedules the set is in block 2 of the same answer. So block 4's certificate,
    not checked ahead, is checked when the run commits: forged, none of the run (3-4) is
    committed, and the answer stops there."""
    source, council = voted_source()
    block = source.get_block(4)
    assert block is not None
    forged = forged_certificate(list(council.validators), council.university,
                                source.chain_id, 4, 0, block.block_hash)
    follower, out, kv = follower_of(source, council.ministry2)
    executed = counted_executions(follower, monkeypatch)
    peer = council.ministry.public_key
    follower.tick([peer])
    height, items = decode(serve_blocks(source, out.frames[-1][2]) or b"")
    items[3][1] = forged
    follower.sync_answer(peer, encode([height, items]))
    assert follower.chain.height == 2
    assert kv.heads[1:] == [2]
    assert executed == [1, 2, 3, 4]


def test_a_bad_block_that_changes_the_runs_state_costs_one_execution(
        net: Consortium, monkeypatch: pytest.MonkeyPatch) -> None:
    """Block 5 made up by the peer (block 5 with its transaction twice, its header made
    to match) executes its first transaction before it is refused, so the run's state is
    no longer block 4's. Its certificate does not certify it: a forgery, not a block this
    node differs on, so blocks 1-4 are not applied again one by one; none is committed,
    and the peer is passed over."""
    source = source_chain(net, 8)
    follower, out, kv, executed, (height, items) = asked_of_a_liar(net, source, monkeypatch)
    liar, honest = net.ministry.public_key, net.university.public_key
    block = source.get_block(5)
    assert block is not None
    twice = (block.transactions[0], block.transactions[0])
    header = dataclasses.replace(block.header, txs_root=transactions_root(list(twice)))
    items[4][0] = Block(header, twice, block.last_commit).encode()
    follower.sync_answer(liar, encode([height, items]))
    assert follower.chain.height == 0
    assert executed == [1, 2, 3, 4, 5]
    assert kv.heads[1:] == []
    assert passed_over(follower, out, liar, honest)
