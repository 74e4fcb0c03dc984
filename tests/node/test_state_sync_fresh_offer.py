"""The joiner takes the freshest certified snapshot offered, not the first (`node.offer_round`).

A lagging peer, honest or not, could hand over an old but certified snapshot by answering
first; block sync would then need blocks above it that peers which joined by state sync
do not hold. Peers here hold prefixes of one chain: OLD stops at block 10, MID at 30,
FRESH at 50, each snapshot taken at its head when first asked."""

from __future__ import annotations

import os

import pytest

from ledger.chain import Chain
from ledger.codec import decode, encode
from ledger.payloads import AnchorPayload
from node import offer_round, state_join, state_sync
from node.offer_round import OFFER_PEERS_MAX, OFFER_WINDOW_MS
from node.state_sync import Phase, StateSync
from node.state_wire import ASK_NODES, ASK_OFFER
from storage.kv import MemoryStore
from tests.node.certificates import make_certificate
from tests.node.conftest import Consortium, commit, keys_from, make_tx
from tests.node.test_state_sync import (
    Serve,
    check_joined,
    join,
    new_sync,
    serving,
    small_questions,  # noqa: F401  (an autouse fixture: many small questions here too)
    tampered,
)

OLD, MID, FRESH, LIAR = (bytes([n]) * 32 for n in (1, 2, 3, 4))


@pytest.fixture
def chains(net: Consortium) -> dict[int, Chain]:
    """Copies of one chain's store as it stood at blocks 10, 30 and 50."""
    chain = Chain(MemoryStore(), net.genesis)
    copies = {}
    for height in (10, 30, 50):
        while chain.height < height:
            commit(chain, [make_tx(net.university, AnchorPayload(os.urandom(32)))])
        kv = MemoryStore()
        kv.write(dict(chain.kv.iterate_prefix(b"")))
        copies[height] = Chain(kv, net.genesis)
    return copies


def offer_of(serve: Serve) -> bytes:
    answer = serve(encode([ASK_OFFER]))
    assert answer is not None
    return answer


def asked(sync: StateSync, now_ms: int, peers: list[bytes]) -> list[tuple[bytes, int]]:
    """Who `sync` asks now, and the kind of each question."""
    requests, restarted = sync.next_requests(now_ms, peers)
    assert not restarted
    return [(r.peer, decode(r.payload)[0]) for r in requests]


@pytest.mark.parametrize("order", [(OLD, FRESH), (FRESH, OLD)])
def test_of_two_offers_the_higher_is_taken_whichever_answered_first(
        net: Consortium, chains: dict[int, Chain], order: tuple[bytes, bytes]) -> None:
    serves = {OLD: serving(chains[10]).answer, FRESH: serving(chains[50]).answer}
    sync, kv = new_sync(net), MemoryStore()
    join(sync, {peer: serves[peer] for peer in order}, kv)
    assert sync.phase is Phase.DONE and not sync.distrusted and sync.restarts == 0
    assert sync.snapshot is not None and sync.snapshot.offered_by == FRESH
    check_joined(net, chains[50], kv)


def test_an_offer_within_the_window_beats_an_older_one_that_came_first(
        net: Consortium, chains: dict[int, Chain]) -> None:
    old, fresh = serving(chains[10]).answer, serving(chains[50]).answer
    sync = new_sync(net)
    assert asked(sync, 0, [OLD, FRESH]) == [(OLD, ASK_OFFER), (FRESH, ASK_OFFER)]
    sync.accept(OLD, offer_of(old), 0)
    assert asked(sync, 100, [OLD, FRESH]) == []  # the window opens: FRESH may still answer
    assert asked(sync, 100 + OFFER_WINDOW_MS - 1, [OLD, FRESH]) == []
    # late, but within the window
    sync.accept(FRESH, offer_of(fresh), 100 + OFFER_WINDOW_MS - 1)
    # Everyone asked has answered, and still the window runs: a peer connecting late
    # (as at a join's start, while handshakes finish) may be asked in it too.
    assert asked(sync, 100 + OFFER_WINDOW_MS - 1, [OLD, FRESH]) == []
    assert asked(sync, 100 + OFFER_WINDOW_MS, [OLD, FRESH]) == [(FRESH, ASK_NODES)]
    assert sync.snapshot is not None and sync.snapshot.height == 50


def test_a_peer_connecting_after_the_first_offer_is_asked_within_the_window(
        net: Consortium, chains: dict[int, Chain]) -> None:
    """The join starts while its peers still connect: the first peer, asked alone, had
    its offer taken within a poll, before the fresher peer was even asked."""
    old, fresh = serving(chains[10]).answer, serving(chains[50]).answer
    sync = new_sync(net)
    assert asked(sync, 0, [OLD]) == [(OLD, ASK_OFFER)]
    sync.accept(OLD, offer_of(old), 0)
    assert asked(sync, 50, [OLD]) == []
    assert asked(sync, 100, [OLD, FRESH]) == [(FRESH, ASK_OFFER)]  # just connected
    sync.accept(FRESH, offer_of(fresh), 100)
    assert asked(sync, 50 + OFFER_WINDOW_MS, [OLD, FRESH]) == [(FRESH, ASK_NODES)]
    assert sync.snapshot is not None and sync.snapshot.height == 50


def test_a_single_answer_is_enough_once_the_window_ends_and_a_late_offer_changes_nothing(
        net: Consortium, chains: dict[int, Chain]) -> None:
    old, fresh = serving(chains[10]).answer, serving(chains[50]).answer
    sync = new_sync(net)
    asked(sync, 0, [OLD, FRESH])
    sync.accept(OLD, offer_of(old), 0)
    assert asked(sync, 10, [OLD, FRESH]) == []
    assert asked(sync, 10 + OFFER_WINDOW_MS, [OLD, FRESH]) == [(OLD, ASK_NODES)]
    assert sync.snapshot is not None and sync.snapshot.height == 10
    # FRESH's offer comes after the round ended: neither taken nor held against it, and
    # the question open to OLD still stands.
    sync.accept(FRESH, offer_of(fresh), 10 + OFFER_WINDOW_MS)
    assert sync.snapshot.height == 10 and not sync.distrusted
    assert asked(sync, 20 + OFFER_WINDOW_MS, [OLD, FRESH]) == []
    # Driven to the end with FRESH silent throughout, the join ends at OLD's snapshot.
    sync, kv = new_sync(net), MemoryStore()
    join(sync, {OLD: old, FRESH: lambda question: None}, kv)
    assert sync.phase is Phase.DONE and not sync.distrusted
    check_joined(net, chains[10], kv)


def test_a_forged_offer_above_the_others_is_refused_and_the_honest_highest_taken(
        net: Consortium, chains: dict[int, Chain]) -> None:
    top = chains[50]

    def forge(answer: list[object]) -> None:  # certified by a key outside the set
        answer[3] = make_certificate(keys_from("outsider"), net.genesis.chain_id,
                                     top.height, 0, top.head_hash)
    sync, kv = new_sync(net), MemoryStore()
    join(sync, {LIAR: tampered(serving(top).answer, ASK_OFFER, forge),
                MID: serving(chains[30]).answer, OLD: serving(chains[10]).answer}, kv)
    assert sync.phase is Phase.DONE and sync.distrusted == {LIAR} and sync.restarts == 0
    assert sync.snapshot is not None and sync.snapshot.offered_by == MID
    check_joined(net, chains[30], kv)


def test_a_peer_that_offers_the_highest_then_falls_silent_does_not_hold_the_join(
        net: Consortium, chains: dict[int, Chain]) -> None:
    """It wins the first round; once silent SILENT_QUESTIONS_MAX times in a row it no
    longer counts as holding the snapshot (OLD does not), the join starts again, and its
    offer loses to any other peer's."""
    top = serving(chains[50]).answer

    def offers_only(question: bytes) -> bytes | None:
        return top(question) if decode(question)[0] == ASK_OFFER else None
    sync, kv = new_sync(net), MemoryStore()
    join(sync, {FRESH: offers_only, OLD: serving(chains[10]).answer}, kv)
    assert sync.phase is Phase.DONE and not sync.distrusted and sync.restarts == 1
    assert sync.snapshot is not None and sync.snapshot.offered_by == OLD
    check_joined(net, chains[10], kv)


def test_a_round_asks_at_most_its_bound_and_the_answers_fit_the_joiners_queue(
        net: Consortium) -> None:
    many = [bytes([n]) * 32 for n in range(1, 3 * OFFER_PEERS_MAX)]
    sync = new_sync(net)
    assert asked(sync, 0, many) == [(peer, ASK_OFFER) for peer in many[:OFFER_PEERS_MAX]]
    assert asked(sync, 1, many) == []  # the round is full: the others wait for the next
    assert state_join.ANSWERS_QUEUED_MAX > OFFER_PEERS_MAX
    # Every limit is short beside the question's timeout, so no round outlasts it.
    assert offer_round.OFFER_WINDOW_MS < state_sync.RESPONSE_TIMEOUT_MS
