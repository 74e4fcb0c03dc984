"""Block sync and answers that come late: a peer's answer to a question it was passed over
for is not taken for a later question to it (node.sync), and a question kept open by
such answers is still passed over at RESPONSE_TIMEOUT_MS.

The test consortium has one validator (the ministry); the employer runs a follower engine
(see tests/node/test_engine.py), whose peers are the ministry, asked first, and the
university."""

from __future__ import annotations

from dataclasses import dataclass

from ledger.chain import Chain
from ledger.codec import decode
from node.block_serve import serve_blocks
from node.channels import CH_SYNC_REQUEST
from node.engine import Engine
from node.sync import RESPONSE_TIMEOUT_MS
from storage.kv import MemoryStore
from tests.node.conftest import Consortium, commit
from tests.node.test_engine import Clock, Recorder, engine_for


def answer_of(chain: Chain, request: bytes) -> bytes:
    answer = serve_blocks(chain, request)
    assert answer is not None
    return answer


@dataclass
class LateAnswer:
    """A follower at height 3 that has just asked the slow peer again (for block 4),
    holding the answer the slow peer gave late to the question it was passed over for
    (blocks 1-3, asked at height 0); the source chain holds 6 blocks."""

    follower: Engine
    out: Recorder
    clock: Clock
    source: Chain
    slow: bytes
    other: bytes
    late: bytes

    @property
    def peers(self) -> list[bytes]:
        return [self.slow, self.other]

    def last_question(self) -> tuple[bytes, int]:
        peer, channel, payload = self.out.frames[-1]
        assert channel == CH_SYNC_REQUEST
        return peer, decode(payload)[0]


def asked_again_after_a_late_answer(net: Consortium) -> LateAnswer:
    clock = Clock(net.genesis.genesis_time_ms)
    follower, out = engine_for(net.employer, net, clock)
    slow, other = net.ministry.public_key, net.university.public_key
    source = Chain(MemoryStore(), net.genesis)
    for _ in range(3):
        commit(source, [])
    case = LateAnswer(follower, out, clock, source, slow, other, b"")
    follower.tick(case.peers)
    assert case.last_question() == (slow, 1)
    case.late = answer_of(source, out.frames[-1][2])  # made now, delivered much later
    clock.now_ms += RESPONSE_TIMEOUT_MS
    follower.tick(case.peers)
    assert case.last_question() == (other, 1)  # the slow peer was passed over
    assert follower.sync.shown(slow) == (1, 0)
    follower.sync_answer(other, answer_of(source, out.frames[-1][2]))
    assert follower.chain.height == 3
    for _ in range(3):
        commit(source, [])
    clock.now_ms += 1_000  # the next poll: the slow peer's turn
    follower.tick(case.peers)
    assert case.last_question() == (slow, 4)
    return case


def test_a_late_answer_is_not_taken_for_the_next_question_to_its_peer(
        net: Consortium) -> None:
    """Its blocks start at the earlier question's height: taken for the open question,
    they did not follow the head, the honest peer's answer showed nothing and its answer
    to the open question was refused. It is ignored: the question stays open."""
    case = asked_again_after_a_late_answer(net)
    case.follower.sync_answer(case.slow, case.late)
    assert case.follower.chain.height == 3
    assert case.follower.sync.shown(case.slow) == (1, 0)  # as before: nothing new shown
    case.follower.sync_answer(case.slow, answer_of(case.source, case.out.frames[-1][2]))
    assert case.follower.chain.height == 6
    assert case.follower.sync.shown(case.slow) == (3, 6)


def test_late_answers_do_not_keep_a_question_open_past_the_timeout(
        net: Consortium) -> None:
    """A peer that sends late (or made-up stale) answers again and again, and never the
    answer asked for, is passed over at RESPONSE_TIMEOUT_MS after it was asked."""
    case = asked_again_after_a_late_answer(net)
    asked = len(case.out.frames)
    for _ in range(4):
        case.clock.now_ms += RESPONSE_TIMEOUT_MS // 5
        case.follower.sync_answer(case.slow, case.late)
        case.follower.tick(case.peers)
    assert len(case.out.frames) == asked  # still waiting for the answer asked for
    case.clock.now_ms += RESPONSE_TIMEOUT_MS // 5
    case.follower.tick(case.peers)
    assert case.last_question() == (case.other, 4)
    assert case.follower.sync.shown(case.slow) == (3, 0)
