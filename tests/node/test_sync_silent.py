"""What a peer that says nothing can cost block sync beside busy answers (node.sync): one
that serves once and then falls silent is not asked in place of a good peer that is only
busy; and an honest server's longest busy answer costs it no silence
(node.serve_budget.BUSY_RETRY_MAX_S)."""

from __future__ import annotations

import os

from ledger.chain import Chain
from ledger.codec import encode
from ledger.payloads import AnchorPayload
from node.block_serve import serve_blocks
from node.serve_budget import BUSY_RETRY_MAX_S, WAIT_MAX_S
from node.sync import MAX_BLOCKS_PER_RESPONSE, RESPONSE_TIMEOUT_MS, BlockSync
from node.sync_busy import busy_answer
from storage.kv import MemoryStore
from tests.node.conftest import Consortium, commit, make_tx

A, B, HOSTILE = b"\x0a" * 32, b"\x0b" * 32, b"\x0c" * 32
BUSY_MS = 1_900
STEP_MS = 10
STEPS_MAX = 100_000  # simulated steps of STEP_MS: 1,000 s, far more than a catch-up here


def test_a_peer_that_serves_once_then_falls_silent_is_not_asked_for_a_busy_one(
        net: Consortium) -> None:
    """HOSTILE is asked first and answers, then says nothing; B answers each question
    busy once, then for real, each answer's next question asked of its peer ahead (as
    the engine does). Before, each of B's busy answers had HOSTILE asked in its place,
    a timeout each time."""
    chain = Chain(MemoryStore(), net.genesis)
    for _ in range(4 * MAX_BLOCKS_PER_RESPONSE):
        commit(chain, [make_tx(net.university, AnchorPayload(os.urandom(32)))])
    told: set[bytes] = set()
    served_by_hostile = [0]

    def says(peer: bytes, question: bytes) -> bytes | None:
        if peer == HOSTILE:
            served_by_hostile[0] += 1
            return serve_blocks(chain, question) if served_by_hostile[0] == 1 else None
        if question in told:
            return serve_blocks(chain, question)
        told.add(question)
        return busy_answer(BUSY_MS)

    sync = BlockSync(None)
    sync.want(chain.height)
    head, now = 0, 0
    asked: list[tuple[bytes, bool]] = []
    for _ in range(STEPS_MAX):
        if head >= chain.height:
            break
        request = sync.next_request(now, head, [HOSTILE, B])
        while request is not None:
            answer = says(request.peer, request.payload)
            asked.append((request.peer, answer is not None))
            items = [] if answer is None else sync.accept(request.peer, answer, head, now)
            head += len(items)
            request = sync.ask_ahead(now, request.peer, head + 1) if items else None
        now += STEP_MS
    else:
        raise AssertionError(f"the catch-up did not end: head {head}")
    assert asked[:2] == [(HOSTILE, True), (HOSTILE, False)]
    assert (HOSTILE, False) not in asked[2:], asked
    assert sum(peer == B for peer, _ in asked) >= 6  # told busy, then asked again


def test_an_honest_server_told_its_longest_busy_is_not_counted_silent() -> None:
    """A server says busy for BUSY_RETRY_MAX_S, the most it tells, and answers the
    question asked again then after WAIT_MAX_S, the most it makes a question wait: within
    the asker's RESPONSE_TIMEOUT_MS of its first question, so the asker counts no
    silence (block sync: the peer's height is never taken as nothing). Told 5 s, as
    before, it was counted silent each time."""
    sync = BlockSync(None)
    sync.want(100, A)
    head = 10
    request = sync.next_request(0, head, [A])
    assert request is not None and request.peer == A
    sync.accept(A, busy_answer(round(BUSY_RETRY_MAX_S * 1000)), head, 0)
    answer_at = None
    for now in range(0, RESPONSE_TIMEOUT_MS + 1_000, STEP_MS):
        request = sync.next_request(now, head, [A])
        shown = sync.shown(A)
        assert shown is None or shown[1] == head, f"counted silent at {now} ms"
        if request is not None:
            assert request.peer == A and answer_at is None
            answer_at = now + round(WAIT_MAX_S * 1000)
        if answer_at is not None and now >= answer_at:
            assert sync.accept(A, encode([head, []]), head, now) == []
            break
    assert answer_at is not None and sync.shown(A) == (2, head)
