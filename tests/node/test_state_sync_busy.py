"""State sync told "busy, ask again in N ms" (node.sync_busy): no answer and no fault. The
peer is asked again at the time it gave (bounded), or another peer at once, the join
finishing with nobody distrusted; a busy answer from a peer not asked changes nothing."""

from __future__ import annotations

from collections.abc import Callable

from ledger.codec import decode, encode
from node.offer_round import SILENT_QUESTIONS_MAX
from node.state_sync import Phase, StateSync
from node.state_wire import ASK_OFFER
from node.sync_busy import BUSY_IN_A_ROW_MAX, BUSY_MARK, BUSY_WAIT_MAX_MS, busy_answer
from storage.kv import MemoryStore
from tests.node.conftest import Consortium
from tests.node.test_state_sync import (
    Serve,
    check_joined,
    grown_chain,
    new_sync,
    serving,
    small_questions,  # noqa: F401  (an autouse fixture: many small questions here too)
)

A, B = b"\x0a" * 32, b"\x0b" * 32
BUSY_MS = 1_900
STEP_MS = 10
STEPS_MAX = 200_000  # simulated steps of STEP_MS: far more than a join takes here

Says = Callable[[bytes, bytes, int], bytes | None]  # peer, question, number -> answer


def join(sync: StateSync, peers: list[bytes], says: Says, kv: MemoryStore
         ) -> list[tuple[int, bytes, bool]]:
    """Drive `sync` to its end, each question answered at once as `says` (None: silent),
    the clock moved on by STEP_MS when nothing is asked. Each question asked: when, of
    whom, and whether it was answered busy."""
    now = 0
    asked: list[tuple[int, bytes, bool]] = []
    for _ in range(STEPS_MAX):
        if sync.finished:
            break
        requests, restarted = sync.next_requests(now, peers)
        assert not restarted
        if not requests:
            now += STEP_MS
        for request in requests:
            answer = says(request.peer, request.payload, len(asked))
            asked.append((now, request.peer, answer is not None and decode(answer)[0] == BUSY_MARK))
            if answer is not None:
                kv.write(sync.accept(request.peer, answer, now).writes)
    else:
        raise AssertionError("the join did not end")
    if sync.phase is Phase.DONE:
        kv.write(sync.final_writes())
    return asked


def test_a_join_told_busy_asks_again_at_the_time_told_and_finishes(net: Consortium) -> None:
    chain = grown_chain(net)
    serve: Serve = serving(chain).answer
    answered: set[bytes] = set()

    def busy_first(peer: bytes, question: bytes, number: int) -> bytes | None:
        del peer, number
        if question not in answered:  # each question is told busy once, then answered
            answered.add(question)
            return busy_answer(BUSY_MS)
        return serve(question)

    sync, kv = new_sync(net), MemoryStore()
    asked = join(sync, [A], busy_first, kv)
    assert sync.phase is Phase.DONE and not sync.distrusted and sync.restarts == 0
    check_joined(net, chain, kv)
    busy = [index for index, (_, _, was_busy) in enumerate(asked) if was_busy]
    assert len(busy) >= 5
    for index in busy:  # the next question at the time told, not a timeout later
        assert asked[index + 1][0] == asked[index][0] + BUSY_MS
        assert asked[index + 1][1] == A


def test_told_busy_by_one_peer_the_join_asks_another_at_once(net: Consortium) -> None:
    chain = grown_chain(net)
    serves = {A: serving(chain).answer, B: serving(chain).answer}

    def a_busy_past_its_offer(peer: bytes, question: bytes, number: int) -> bytes | None:
        del number
        if peer == A and decode(question)[0] != ASK_OFFER:
            return busy_answer(BUSY_MS)
        return serves[peer](question)

    sync, kv = new_sync(net), MemoryStore()
    asked = join(sync, [A, B], a_busy_past_its_offer, kv)
    assert sync.phase is Phase.DONE and not sync.distrusted and sync.restarts == 0
    check_joined(net, chain, kv)
    busy = [index for index, (_, _, was_busy) in enumerate(asked) if was_busy]
    assert busy  # A's offer won (the first of equals): the first question past it was A's
    for index in busy:  # the question A was told busy on went to B at the same moment
        assert asked[index + 1][:2] == (asked[index][0], B)


def test_a_busy_offer_question_is_asked_again_in_the_same_round(net: Consortium) -> None:
    sync = new_sync(net)
    requests, _ = sync.next_requests(0, [A])
    assert [(r.peer, decode(r.payload)) for r in requests] == [(A, [ASK_OFFER])]
    sync.accept(A, busy_answer(BUSY_MS), 5)
    assert sync.next_requests(5 + BUSY_MS - 1, [A]) == ([], False)
    requests, _ = sync.next_requests(5 + BUSY_MS, [A])
    assert [(r.peer, decode(r.payload)) for r in requests] == [(A, [ASK_OFFER])]
    assert not sync.distrusted


def test_a_busy_answer_naming_an_absurd_delay_is_bounded(net: Consortium) -> None:
    sync = new_sync(net)
    sync.next_requests(0, [A])
    sync.accept(A, encode([BUSY_MARK, 2**62]), 0)
    assert sync.next_requests(BUSY_WAIT_MAX_MS - 1, [A]) == ([], False)
    requests, _ = sync.next_requests(BUSY_WAIT_MAX_MS, [A])
    assert [r.peer for r in requests] == [A]


def test_a_busy_answer_from_a_peer_not_asked_is_ignored(net: Consortium) -> None:
    chain = grown_chain(net)
    sync = new_sync(net)
    requests, _ = sync.next_requests(0, [A])
    assert [r.peer for r in requests] == [A]
    sync.accept(B, busy_answer(BUSY_MS), 5)  # B was asked nothing
    requests, _ = sync.next_requests(10, [A, B])
    assert [r.peer for r in requests] == [B]  # not held back by its own word
    offer = serving(chain).answer(encode([ASK_OFFER]))
    assert offer is not None
    sync.accept(A, offer, 20)  # A's question was still open: its offer counts
    assert not sync.distrusted


def test_a_lone_peer_busy_without_end_holds_a_join_no_longer_than_a_silent_one(
        net: Consortium) -> None:
    """A peer that holds the snapshot and says busy to every question past its offer is
    counted silent once every BUSY_IN_A_ROW_MAX of them, as a timeout would count it,
    so the join gives it up and starts again (`OfferRound.given_up`) as with a silent
    peer, not waiting on it for ever."""
    chain = grown_chain(net)
    serve = serving(chain).answer
    sync = new_sync(net)
    now, busy_answers = 0, 0
    for _ in range(STEPS_MAX):
        requests, restarted = sync.next_requests(now, [A])
        if restarted:
            break
        for request in requests:
            if decode(request.payload)[0] == ASK_OFFER:
                answer = serve(request.payload)
                assert answer is not None
            else:
                answer, busy_answers = busy_answer(BUSY_WAIT_MAX_MS), busy_answers + 1
            sync.accept(A, answer, now)
        now += STEP_MS
    else:
        raise AssertionError("the join waited on a peer busy without end")
    assert busy_answers == BUSY_IN_A_ROW_MAX * SILENT_QUESTIONS_MAX
    assert not sync.distrusted
