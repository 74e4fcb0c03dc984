"""Catch-up by block sync in-process: each signature checked once, a bad block in an
answer commits what came before it and nothing after.

The test consortium has one validator (the ministry), so each certificate holds one
signature; the employer runs a follower engine (see tests/node/test_engine.py).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from typing import Any

import nacl.bindings
import pytest

import ledger.chain_run
import node.signature_checks
import node.signature_workers
import node.sync
import node.validators
from ledger.blocks import Block
from ledger.chain import Chain
from ledger.chain_run import Execution
from ledger.codec import decode, encode
from ledger.payloads import AnchorPayload
from ledger.transactions import Transaction
from node.block_serve import serve_blocks
from node.channels import CH_SYNC_REQUEST
from node.engine import Engine
from node.signature_workers import InTurn, PendingChecks, SignatureWorkers
from node.validators import SignatureCheck
from storage.kv import MemoryStore
from tests.node.certificates import make_certificate, make_quorum_certificate
from tests.node.conftest import Consortium, block_basis, commit, make_tx
from tests.node.test_engine import Clock, engine_for

TXS_PER_BLOCK = 3


def source_with_txs(net: Consortium, blocks: int) -> Chain:
    chain = Chain(MemoryStore(), net.genesis)
    for _ in range(blocks):
        commit(chain, [make_tx(net.university, AnchorPayload(os.urandom(32)))
                       for _ in range(TXS_PER_BLOCK)])
    return chain


def test_each_signature_of_a_synced_chain_is_checked_once(
        net: Consortium, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = 20
    source = source_with_txs(net, blocks)
    # Answers of 4 blocks and room for 6 checked certificates: what an answer's check
    # ahead remembers must outlive the certificates remembered before it.
    monkeypatch.setattr(node.sync, "MAX_BLOCKS_PER_RESPONSE", 4)
    monkeypatch.setattr(node.validators, "CERTIFICATES_REMEMBERED_MAX", 6)
    follower, out = engine_for(net.employer, net, Clock(net.genesis.genesis_time_ms))
    peer = net.ministry.public_key
    checked: list[bytes] = []
    real_open = nacl.bindings.crypto_sign_open

    def counting_open(signed: bytes, public_key: bytes) -> bytes:
        checked.append(bytes(signed[:64]))
        return real_open(signed, public_key)

    follower.tick([peer])
    for _ in range(blocks):
        answer = serve_blocks_of(source, out.frames[-1][2])
        with monkeypatch.context() as counting:
            counting.setattr(nacl.bindings, "crypto_sign_open", counting_open)
            follower.sync_answer(peer, answer)
        if follower.chain.height == blocks:
            break
    assert follower.chain.height == blocks
    # Each block: its transactions' signatures. Each answer of 4: the one vote of its
    # first block's certificate (that block is committed alone) and of its last's (which
    # vouches for the run); the two between are stored with the last commit the next
    # block carries, whose vote is not checked. The next answer's first block carries
    # the last one's certificate as its last commit: not checked again.
    assert len(checked) == blocks * TXS_PER_BLOCK + (blocks // 4) * 2
    assert len(set(checked)) == len(checked)


def test_a_last_commit_other_than_the_certificate_served_is_checked_ahead_too(
        net: Consortium, monkeypatch: pytest.MonkeyPatch) -> None:
    """The node that serves blocks may hold other votes for a block than the proposer
    who put them in the next one as its last commit. Where a run may start (the
    answer's second block) the last commit is checked with the answer's other
    signatures, ahead, not as the block executes; further in, each is what the block
    before is stored with, vouched for by the run's last certificate."""
    blocks = 8
    source = source_with_txs(net, blocks)
    follower, out = engine_for(net.employer, net, Clock(net.genesis.genesis_time_ms))
    peer = net.ministry.public_key
    follower.tick([peer])
    peer_height, items = decode(serve_blocks_of(source, out.frames[-1][2]))
    for height, item in enumerate(items, start=1):  # the same block, another vote time
        block_hash = source.get_block(height).block_hash  # type: ignore[union-attr]
        item[1] = make_certificate(net.ministry, source.chain_id, height, 0, block_hash, 7)
        assert item[1] != source.get_certificate(height)
    checked_ahead: list[int] = []
    sized = SizedChecks()
    follower.check_signatures = sized
    checked_here: list[bytes] = []
    real_verify = node.validators.ValidatorSet.verify

    def verify_here(self: node.validators.ValidatorSet, validator: Any, message: bytes,
                    signature: bytes) -> bool:
        checked_here.append(signature)
        return real_verify(self, validator, message, signature)

    monkeypatch.setattr(node.validators.ValidatorSet, "verify", verify_here)
    follower.sync_answer(peer, encode([peer_height, items]))
    checked_ahead.extend(sized.sizes)
    assert follower.chain.height == blocks
    assert checked_here == []
    # Each block: its transactions; the votes served with the first and last blocks,
    # and the other vote block 2's last commit holds.
    assert sum(checked_ahead) == blocks * TXS_PER_BLOCK + 2 + 1
    for height in range(1, blocks):
        after = follower.chain.get_block(height + 1)
        assert after is not None and follower.chain.get_certificate(height) == after.last_commit
    assert follower.chain.get_certificate(blocks) == items[-1][1]


def serve_blocks_of(source: Chain, request: bytes) -> bytes:
    answer = serve_blocks(source, request)
    assert answer is not None
    return answer


def test_a_bad_certificate_with_the_last_block_commits_those_before_only(
        net: Consortium) -> None:
    source = source_with_txs(net, 5)
    clock = Clock(net.genesis.genesis_time_ms)
    follower, out = engine_for(net.employer, net, clock)
    liar, honest = net.ministry.public_key, net.university.public_key
    follower.tick([liar, honest])
    peer, channel, request = out.frames[-1]
    assert (peer, channel) == (liar, CH_SYNC_REQUEST)
    peer_height, items = decode(serve_blocks_of(source, request))
    block_hash = source.get_block(5).block_hash  # type: ignore[union-attr]
    # Signed by a member who is no validator: a well-formed certificate that certifies nothing.
    items[4][1] = make_certificate(net.university, source.chain_id, 5, 0, block_hash)
    follower.sync_answer(liar, encode([peer_height, items]))
    assert follower.chain.height == 4
    assert [r.execution.header.height for r in out.reports] == [1, 2, 3, 4]
    assert follower.chain.head_hash == source.get_block(4).block_hash  # type: ignore[union-attr]
    assert follower.chain.get_block(5) is None
    clock.now_ms += 600  # the next question goes to another peer: the liar is passed over
    follower.tick([liar, honest])
    assert out.frames[-1][0] == honest
    follower.sync_answer(honest, serve_blocks_of(source, out.frames[-1][2]))
    assert follower.chain.height == 5
    assert follower.chain.state.root == source.state.root


def commit_without_signature_checks(chain: Chain, txs: list[Transaction],
                                    net: Consortium) -> None:
    """Commit a block as a validator that skipped signature checks would certify it."""
    last_commit, when = block_basis(chain)
    execution = chain.build(txs, net.ministry.member_id, 0, when,
                            frozenset(tx.tx_id for tx in txs), last_commit)
    assert not execution.rejected
    header = execution.header
    chain.commit(execution, make_quorum_certificate([net.ministry], chain.chain_id,
                                                    header.height, 0, header.block_hash,
                                                    header.time_ms + 1_000))


@pytest.mark.parametrize("workers", [False, True])
def test_a_certified_block_holding_a_forged_signature_is_refused_after_the_good_ones(
        net: Consortium, workers: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    # The answer's parts are smaller than a batch worth a child: sent to one all the same.
    monkeypatch.setattr(node.signature_workers, "WORKER_BATCH_MIN", 1)
    source = source_with_txs(net, 2)
    good = make_tx(net.university, AnchorPayload(os.urandom(32)))
    forged = dataclasses.replace(make_tx(net.university, AnchorPayload(os.urandom(32))),
                                 signature=good.signature)
    commit_without_signature_checks(source, [good, forged], net)
    commit(source, [])
    clock = Clock(net.genesis.genesis_time_ms)
    follower, out = engine_for(net.employer, net, clock)
    pool = SignatureWorkers()
    if workers:
        follower.check_signatures = pool
    peer = net.ministry.public_key
    follower.tick([peer])
    try:
        follower.sync_answer(peer, serve_blocks_of(source, out.frames[-1][2]))
    finally:
        pool.close()
    assert follower.chain.height == 2
    assert follower.chain.tx_location(good.tx_id) is None


def test_the_next_question_leaves_before_an_answer_is_applied(
        net: Consortium, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = 12
    source = source_with_txs(net, blocks)
    monkeypatch.setattr(node.sync, "MAX_BLOCKS_PER_RESPONSE", 4)
    follower, out = engine_for(net.employer, net, Clock(net.genesis.genesis_time_ms))
    events: list[object] = []
    real_send, real_committed = out.send, out.committed

    def send(peer_key: bytes, channel: int, payload: bytes) -> None:
        events.append(("ask", decode(payload)[0]))
        real_send(peer_key, channel, payload)

    def committed(report: object) -> None:
        events.append(report.execution.header.height)  # type: ignore[attr-defined]
        real_committed(report)  # type: ignore[arg-type]

    monkeypatch.setattr(out, "send", send)
    monkeypatch.setattr(out, "committed", committed)
    peer = net.ministry.public_key
    follower.tick([peer])
    for _ in range(blocks):
        follower.sync_answer(peer, serve_blocks_of(source, out.frames[-1][2]))
        if follower.chain.height == blocks:
            break
    assert follower.chain.state.root == source.state.root
    # Each question for the next four blocks goes out before the answer in hand is
    # applied; the peer claims no block after 12, so nothing is asked after the last.
    assert events == [("ask", 1), ("ask", 5), 1, 2, 3, 4, ("ask", 9), 5, 6, 7, 8,
                      9, 10, 11, 12]


def test_the_question_asked_ahead_leaves_before_the_next_block_executes(
        net: Consortium, monkeypatch: pytest.MonkeyPatch) -> None:
    """The daemon's engine thread hands frames to the network once a commit is durable
    (`Outbox.committed`): that first commit must come before the answer's other blocks
    execute, or fetching the next answer waits for this one to be applied."""
    source = source_with_txs(net, 12)
    monkeypatch.setattr(node.sync, "MAX_BLOCKS_PER_RESPONSE", 4)
    follower, out = engine_for(net.employer, net, Clock(net.genesis.genesis_time_ms))
    events: list[object] = []
    real_send, real_committed = out.send, out.committed
    real_validate = follower.chain.validate

    def send(peer_key: bytes, channel: int, payload: bytes) -> None:
        events.append(("ask", decode(payload)[0]))
        real_send(peer_key, channel, payload)

    def committed(report: object) -> None:
        events.append("durable")
        real_committed(report)  # type: ignore[arg-type]

    def validate(block: Block, *args: Any, **kwargs: Any) -> Execution:
        events.append(block.header.height)
        return real_validate(block, *args, **kwargs)

    monkeypatch.setattr(out, "send", send)
    monkeypatch.setattr(out, "committed", committed)
    monkeypatch.setattr(follower.chain, "validate", validate)
    peer = net.ministry.public_key
    follower.tick([peer])
    follower.sync_answer(peer, serve_blocks_of(source, out.frames[-1][2]))
    assert follower.chain.height == 4
    assert events[:4] == [("ask", 1), ("ask", 5), 1, "durable"]
    assert events[4:] == [2, 3, 4, "durable", "durable", "durable"]  # one run, one write


def test_after_a_bad_answer_the_answer_to_the_question_asked_ahead_counts_for_nothing(
        net: Consortium, monkeypatch: pytest.MonkeyPatch) -> None:
    source = source_with_txs(net, 12)
    monkeypatch.setattr(node.sync, "MAX_BLOCKS_PER_RESPONSE", 4)
    clock = Clock(net.genesis.genesis_time_ms)
    follower, out = engine_for(net.employer, net, clock)
    liar, honest = net.ministry.public_key, net.university.public_key
    follower.tick([liar, honest])
    peer_height, items = decode(serve_blocks_of(source, out.frames[-1][2]))
    block_hash = source.get_block(4).block_hash  # type: ignore[union-attr]
    items[3][1] = make_certificate(net.university, source.chain_id, 4, 0, block_hash)
    sent = len(out.frames)
    follower.sync_answer(liar, encode([peer_height, items]))
    assert follower.chain.height == 3
    asked = [(peer, decode(payload)[0]) for peer, _, payload in out.frames[sent:]]
    assert asked == [(liar, 5), (honest, 4)]  # ahead, then again after the bad block
    # The liar's answer to the question asked ahead is good, but it no longer counts.
    follower.sync_answer(liar, serve_blocks_of(source, out.frames[sent][2]))
    assert follower.chain.height == 3
    follower.sync_answer(honest, serve_blocks_of(source, out.frames[-1][2]))
    assert follower.chain.height == 7


def test_a_peer_asked_ahead_is_not_timed_for_our_own_applying(
        net: Consortium, monkeypatch: pytest.MonkeyPatch) -> None:
    source = source_with_txs(net, 8)
    monkeypatch.setattr(node.sync, "MAX_BLOCKS_PER_RESPONSE", 4)
    clock = Clock(net.genesis.genesis_time_ms)
    follower, out = engine_for(net.employer, net, clock)
    first, second = net.ministry.public_key, net.university.public_key
    real_committed = out.committed

    def slow_commit(report: object) -> None:  # each block takes longer than the timeout
        clock.now_ms += node.sync.RESPONSE_TIMEOUT_MS
        real_committed(report)  # type: ignore[arg-type]

    monkeypatch.setattr(out, "committed", slow_commit)
    follower.tick([first, second])
    sent = len(out.frames)
    follower.sync_answer(first, serve_blocks_of(source, out.frames[-1][2]))
    assert follower.chain.height == 4
    asked = [(peer, decode(payload)[0]) for peer, _, payload in out.frames[sent:]]
    assert asked == [(first, 5)]  # asked ahead, and not asked of another peer after
    follower.sync_answer(first, serve_blocks_of(source, out.frames[-1][2]))
    assert follower.chain.height == 8


class RecordedChecks(InTurn):
    """Checks in turn, recording when each batch is started and collected."""

    def __init__(self, heights: list[int], follower: Engine) -> None:
        super().__init__()
        self.events: list[tuple[str, int, int]] = []  # what, batch, height at the time
        self._heights = heights
        self._follower = follower

    def start(self, checks: Sequence[SignatureCheck]) -> PendingChecks:
        batch = len(self.events)
        self.events.append(("start", batch, self._follower.chain.height))

        def collect() -> list[bool]:
            self.events.append(("collect", batch, self._follower.chain.height))
            return self(checks)
        return collect


@pytest.mark.parametrize("bad_at", [None, 9])
def test_an_answer_is_checked_in_parts_ahead_of_the_blocks_applied(
        net: Consortium, monkeypatch: pytest.MonkeyPatch, bad_at: int | None) -> None:
    # 3 checks a block (its transactions), and the vote of the first's and the last's
    # certificates: parts of 1, 2, 3, 3 and 3 blocks
    blocks = 12
    monkeypatch.setattr(node.signature_checks, "ANSWER_PART_CHECKS", 8)
    monkeypatch.setattr(node.signature_checks, "ANSWER_FIRST_PART_CHECKS", 4)
    # Each block committed alone, so that the chain's height says how far applying got.
    monkeypatch.setattr(ledger.chain_run, "CHAIN_RUN_BLOCKS_MAX", 1)
    source = source_with_txs(net, blocks)
    follower, out = engine_for(net.employer, net, Clock(net.genesis.genesis_time_ms))
    recorded = RecordedChecks([], follower)
    follower.check_signatures = recorded
    peer = net.ministry.public_key
    follower.tick([peer])
    peer_height, items = decode(serve_blocks_of(source, out.frames[-1][2]))
    if bad_at is not None:  # a forged certificate: the answer ends before that block
        block_hash = source.get_block(bad_at).block_hash  # type: ignore[union-attr]
        items[bad_at - 1][1] = make_certificate(net.university, source.chain_id, bad_at, 0,
                                                block_hash)
    follower.sync_answer(peer, encode([peer_height, items]))
    assert follower.chain.height == (blocks if bad_at is None else bad_at - 1)
    starts = [(batch, height) for what, batch, height in recorded.events if what == "start"]
    collects = {batch: height for what, batch, height in recorded.events if what == "collect"}
    # The first 2 parts go out at once, part k + 2 once part k is in; each is collected
    # as its first block applies, and what is still out when a bad block ends the answer
    # is collected by close().
    assert len(starts) == 5
    assert starts[:2] == [(0, 0), (1, 0)]
    assert [height for _, height in starts[2:]] == [0, 1, 3]
    assert sorted(collects) == [batch for batch, _ in starts]
    # No more out at once than there are workers: a part started while ANSWER_PARTS_AHEAD
    # are out finds no child free, and is checked on the engine thread.
    out_at_once = 0
    for what, _, _ in recorded.events:
        out_at_once += 1 if what == "start" else -1
        assert out_at_once <= node.signature_checks.ANSWER_PARTS_AHEAD, recorded.events
    assert [collects[batch] for batch, _ in starts] == (
        [0, 1, 3, 6, 9] if bad_at is None else [0, 1, 3, 6, 8])


class SizedChecks(InTurn):
    """Checks in turn, recording how many checks each batch started holds."""

    def __init__(self) -> None:
        super().__init__()
        self.sizes: list[int] = []

    def start(self, checks: Sequence[SignatureCheck]) -> PendingChecks:
        self.sizes.append(len(checks))
        return super().start(checks)


def test_an_answers_first_parts_are_small_so_its_first_block_waits_less(
        net: Consortium) -> None:
    """The engine waits for the first part before the answer's first block executes;
    the parts after it are checked while the blocks before them execute."""
    blocks = 60  # 3 checks a block (its transactions), and the first's and last's votes
    source = source_with_txs(net, blocks)
    follower, out = engine_for(net.employer, net, Clock(net.genesis.genesis_time_ms))
    sized = SizedChecks()
    follower.check_signatures = sized
    peer = net.ministry.public_key
    follower.tick([peer])
    follower.sync_answer(peer, serve_blocks_of(source, out.frames[-1][2]))
    assert follower.chain.height == blocks
    first, part = (node.signature_checks.ANSWER_FIRST_PART_CHECKS,
                   node.signature_checks.ANSWER_PART_CHECKS)
    assert first < part
    # Each part is closed by the block that brings it to its size: at most one block's
    # checks (its transactions and a vote) beyond it.
    block_checks = TXS_PER_BLOCK + 1
    assert all(first <= size < first + block_checks for size in sized.sizes[:2])
    assert all(part <= size < part + block_checks for size in sized.sizes[2:-1])
    assert len(sized.sizes) > 3
    assert sum(sized.sizes) == blocks * TXS_PER_BLOCK + 2
