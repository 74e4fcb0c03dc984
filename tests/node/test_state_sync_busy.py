"""State sync told "busy, ask again in N ms" (node.sync_busy): no answer and no fault. The
peer is asked again at the time it gave (bounded), or another peer at once, the join
finishing with nobody distrusted; a busy answer from a peer not asked changes nothing."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from ledger.codec import decode, encode
from node import state_serve
from node.offer_round import SILENT_QUESTIONS_MAX
from node.state_sync import RESPONSE_TIMEOUT_MS, Phase, StateSync
from node.state_wire import ASK_OFFER, ASK_SET_CHANGES
from node.sync_busy import BUSY_MARK, BUSY_WAIT_MAX_MS, busy_answer
from node.validators import certifies_by_keys
from storage.kv import MemoryStore
from tests.node.conftest import Consortium
from tests.node.set_changes import voted_chain
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


def held_until_given_up(sync: StateSync, serve: Serve, past_offer: bytes | None
                        ) -> tuple[int, int]:
    """Drive `sync` with one peer that serves offers and answers every later question
    `past_offer` (None: says nothing): when the first such question was asked, and when
    the join gave the peer up and started again."""
    now, first = 0, None
    for _ in range(STEPS_MAX):
        requests, restarted = sync.next_requests(now, [A])
        if restarted:
            assert first is not None
            return first, now
        for request in requests:
            if decode(request.payload)[0] == ASK_OFFER:
                answer = serve(request.payload)
            else:
                first = now if first is None else first
                answer = past_offer
            if answer is not None:
                sync.accept(A, answer, now)
        now += STEP_MS
    raise AssertionError("the join waited on its peer without end")


def test_a_lone_peer_busy_without_end_holds_a_join_no_longer_than_a_silent_one(
        net: Consortium) -> None:
    """A peer that holds the snapshot and says busy to every question past its offer
    counts as silent once each RESPONSE_TIMEOUT_MS, as a timeout counts it, so the join
    gives it up and starts again (`OfferRound.given_up`) as soon as with a silent peer:
    three busy answers of up to BUSY_WAIT_MAX_MS each once made one silence (45 s)."""
    chain = grown_chain(net)
    first, gave_up = held_until_given_up(new_sync(net), serving(chain).answer, None)
    silent_s = gave_up - first
    assert silent_s >= SILENT_QUESTIONS_MAX * RESPONSE_TIMEOUT_MS
    for wait_ms in (BUSY_WAIT_MAX_MS, 4_000, BUSY_MS):
        sync = new_sync(net)
        first, gave_up = held_until_given_up(sync, serving(chain).answer,
                                             busy_answer(wait_ms))
        assert gave_up - first <= silent_s and not sync.distrusted


def test_an_offer_peer_busy_on_its_proofs_is_given_up_as_soon_as_a_silent_one(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """While the rest of an offer's proofs come by pages, only its peer is asked: busy
    on them, it is given up (a new offer asked for) RESPONSE_TIMEOUT_MS after the first
    page was asked, as when silent, not after three busy answers (15 s)."""
    voted = voted_chain()
    monkeypatch.setattr(state_serve, "SET_CHANGES_ANSWER_BYTES", 1)  # no proof fits
    serve = serving(voted.chain).answer
    for past_offer in (None, busy_answer(BUSY_WAIT_MAX_MS), busy_answer(BUSY_MS)):
        sync = StateSync(voted.council.genesis,
                         certifies_by_keys(voted.council.genesis.chain_id))
        now, first = 0, None
        for _ in range(STEPS_MAX):
            requests, _ = sync.next_requests(now, [A])
            if first is not None and sync.phase is Phase.OFFER:
                break
            for request in requests:
                if decode(request.payload)[0] == ASK_OFFER:
                    answer = serve(request.payload)
                else:
                    assert decode(request.payload)[0] == ASK_SET_CHANGES
                    first = now if first is None else first
                    answer = past_offer
                if answer is not None:
                    sync.accept(A, answer, now)
            now += STEP_MS
        assert first is not None and now - first == RESPONSE_TIMEOUT_MS, past_offer
