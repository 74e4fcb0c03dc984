"""Sync answers are let in only from peers asked a question (node.answer_gate): a peer
sending answers nobody asked for could fill the engine inbox's pool for sync answers, so
that an honest relay's answer was dropped and this node's catch-up stalled."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable

import pytest

from ledger.chain import Chain
from node.answer_gate import (
    DROP_LOG_EVERY_S,
    PEERS_REMEMBERED_MAX,
    QUESTION_REMEMBERED_S,
    QUESTIONS_PER_PEER_MAX,
    AnswerGate,
)
from node.block_serve import serve_blocks
from node.channels import CH_CONSENSUS, CH_SYNC_REQUEST, SYNC_RESPONSE_BYTES
from node.engine import Engine
from node.engine_inbox import OTHER_INPUT_BYTES_MAX
from node.engine_thread import TICK_S, EngineThread
from node.engine_types import EngineConfig
from node.mempool import Mempool, MempoolLimits
from node.sync import RESPONSE_TIMEOUT_MS
from node.validators import ValidatorSets
from storage.kv import MemoryStore
from tests.node.conftest import Consortium
from tests.node.test_engine import Clock, source_chain

DEADLINE_S = 15.0
ASKED, OTHER = b"a" * 32, b"o" * 32


class Now:
    def __init__(self) -> None:
        self.s = 1_000.0

    def __call__(self) -> float:
        return self.s


def gate_and_clock() -> tuple[AnswerGate, Now]:
    now = Now()
    return AnswerGate("block-sync", clock=now), now


def test_one_answer_gets_in_for_each_question_sent_and_others_are_dropped() -> None:
    gate, _ = gate_and_clock()
    assert not gate.admit(ASKED)  # nothing asked yet
    gate.asked(ASKED)
    assert not gate.admit(OTHER)  # a peer not asked
    assert gate.admit(ASKED)
    assert not gate.admit(ASKED)  # a second answer to the one question
    gate.asked(ASKED)
    gate.asked(ASKED)  # asked again before answering: its late answer and the new one
    assert gate.admit(ASKED) and gate.admit(ASKED) and not gate.admit(ASKED)
    assert gate.dropped == 4


def test_a_question_is_forgotten_well_after_its_timeout_but_a_late_answer_gets_in() -> None:
    assert QUESTION_REMEMBERED_S * 1000 >= 10 * RESPONSE_TIMEOUT_MS
    gate, now = gate_and_clock()
    gate.asked(ASKED)
    now.s += QUESTION_REMEMBERED_S  # long past the asker's timeout, yet still in
    assert gate.admit(ASKED)
    gate.asked(ASKED)
    now.s += QUESTION_REMEMBERED_S + 1
    assert not gate.admit(ASKED)
    assert gate.questions_open(ASKED) == 0


def test_a_peer_asked_many_times_unanswered_may_send_only_a_few_answers_at_once() -> None:
    """Fewer than the engine inbox's pool for sync answers holds, so one asked peer that
    kept its answers back cannot fill it."""
    assert QUESTIONS_PER_PEER_MAX * SYNC_RESPONSE_BYTES < OTHER_INPUT_BYTES_MAX
    gate, now = gate_and_clock()
    for _ in range(10):
        gate.asked(ASKED)
        now.s += RESPONSE_TIMEOUT_MS / 1000
    assert [gate.admit(ASKED) for _ in range(10)] == (
        [True] * QUESTIONS_PER_PEER_MAX + [False] * (10 - QUESTIONS_PER_PEER_MAX))


def test_peers_remembered_are_bounded_and_the_latest_asked_kept() -> None:
    gate, now = gate_and_clock()
    for index in range(PEERS_REMEMBERED_MAX + 5):
        gate.asked(index.to_bytes(32, "big"))
    assert len(gate._asked) == PEERS_REMEMBERED_MAX
    assert not gate.admit((0).to_bytes(32, "big"))  # the first asked, forgotten
    assert gate.admit((PEERS_REMEMBERED_MAX + 4).to_bytes(32, "big"))
    gate.asked(OTHER)
    now.s += QUESTION_REMEMBERED_S + 1  # all expired: forgotten as the next peer comes
    gate.asked(ASKED)
    assert set(gate._asked) == {ASKED}


def test_only_questions_queued_on_the_question_channel_are_recorded() -> None:
    gate, _ = gate_and_clock()
    queued = [True]

    def send(peer_key: bytes, channel: int, payload: bytes) -> bool:
        return queued[0]

    recording = gate.recording(send, CH_SYNC_REQUEST)
    assert recording(ASKED, CH_CONSENSUS, b"vote")
    assert gate.questions_open(ASKED) == 0
    queued[0] = False  # not connected, or its queue full: no answer will come
    assert not recording(ASKED, CH_SYNC_REQUEST, b"question")
    assert gate.questions_open(ASKED) == 0
    queued[0] = True
    assert recording(ASKED, CH_SYNC_REQUEST, b"question")
    assert gate.questions_open(ASKED) == 1


def test_drops_are_logged_once_per_interval_with_a_count(
        caplog: pytest.LogCaptureFixture) -> None:
    gate, now = gate_and_clock()
    with caplog.at_level(logging.WARNING, logger="senim.network"):
        for _ in range(500):
            gate.admit(OTHER)
        now.s += DROP_LOG_EVERY_S
        gate.admit(OTHER)
    said = [r.getMessage() for r in caplog.records if "block-sync answers" in r.getMessage()]
    assert len(said) == 2
    assert said[0].startswith("dropped 1 block-sync answers")
    assert said[1].startswith("dropped 500 block-sync answers")
    assert said[1].endswith("(501 since start)")


async def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = asyncio.get_running_loop().time() + DEADLINE_S
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(TICK_S)


async def test_a_flood_of_unasked_answers_does_not_crowd_out_the_asked_relays_answer(
        net: Consortium) -> None:
    """Wired as the daemon wires it: the engine's questions leave through the gate's
    `recording`, answers reach the engine's inbox through `gated`. While the engine
    thread is busy, a member floods answers of the largest size nobody asked it for,
    more than the inbox's pool for sync answers holds; then the relay asked answers.
    Its blocks are applied (before, its answer met a full pool and was dropped, and the
    question timed out)."""
    loop = asyncio.get_running_loop()
    relay, flooder = net.ministry.public_key, net.university.public_key
    relay_chain = source_chain(net, 3)
    gate = AnswerGate("block-sync")
    questions: list[tuple[bytes, bytes]] = []

    def send(peer_key: bytes, channel: int, payload: bytes) -> bool:
        if channel == CH_SYNC_REQUEST:
            questions.append((peer_key, payload))
        return True

    thread = EngineThread(loop, gate.recording(send, CH_SYNC_REQUEST), lambda report: None,
                          lambda refusals: None)
    chain = Chain(MemoryStore(), net.genesis)
    # The engine's clock stands still: no question times out, so none is asked again.
    engine = Engine(net.employer, chain, Mempool(MempoolLimits(100, 1 << 20, 100)),
                    ValidatorSets.for_chain(chain), EngineConfig(1_000, 100),
                    Clock(net.genesis.genesis_time_ms), thread.outbox)

    async def sync_answer(peer_key: bytes, payload: bytes) -> None:  # as the daemon's
        thread.offer(engine.sync_answer, peer_key, payload)

    receive = gate.gated(sync_answer)
    thread.set_connected((relay,))
    thread.start(engine)
    release = threading.Event()
    try:
        await wait_until(lambda: bool(questions), "the follower's first question")
        assert questions == [(relay, questions[0][1])]
        busy = threading.Event()

        def hold_the_engine() -> None:
            busy.set()
            release.wait(DEADLINE_S)

        held = asyncio.ensure_future(thread.run(hold_the_engine))
        await wait_until(busy.is_set, "the engine thread busy")
        flood = b"\x00" * SYNC_RESPONSE_BYTES  # one object, sent again and again
        flooded = OTHER_INPUT_BYTES_MAX // SYNC_RESPONSE_BYTES + 2
        for _ in range(flooded):
            await receive(flooder, flood)
        answer = serve_blocks(relay_chain, questions[0][1])
        assert answer is not None
        await receive(relay, answer)
        await receive(relay, answer)  # twice: the second is no answer to a question
        release.set()
        await held
        await wait_until(lambda: chain.height == 3, "the relay's blocks applied")
        assert gate.dropped == flooded + 1
        assert thread.dropped_inputs == 0
    finally:
        release.set()
        await loop.run_in_executor(None, thread.shutdown, True)
    assert thread.failure is None, thread.failure
