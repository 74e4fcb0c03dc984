"""What a peer that says nothing can cost a join, beside busy answers (node.state_sync,
node.offer_round): one that serves once and then falls silent costs one timeout while
a better peer is there, not one each time that peer is busy; and silences on an earlier
snapshot do not give a peer up on the next."""

from __future__ import annotations

from collections.abc import Callable

from ledger.chain_layout import STATE_PREFIX
from ledger.codec import decode
from node.state_sync import Phase, StateSync
from node.state_wire import ASK_OFFER
from node.sync_busy import busy_answer
from storage.kv import MemoryStore
from tests.node.conftest import Consortium
from tests.node.test_state_sync import (
    check_joined,
    grown_chain,
    new_sync,
    serving,
    small_questions,  # noqa: F401  (an autouse fixture: many small questions here too)
)

A, B, HOSTILE = b"\x0a" * 32, b"\x0b" * 32, b"\x0c" * 32
BUSY_MS = 1_900
STEP_MS = 10
STEPS_MAX = 100_000  # simulated steps of STEP_MS: 1,000 s, far more than a join takes here

Says = Callable[[bytes, bytes, int], bytes | None]  # peer, question, now -> answer


def join(sync: StateSync, peers: list[bytes], says: Says, kv: MemoryStore
         ) -> list[tuple[int, bytes, bytes, bool]]:
    """Drive `sync` to its end, each question answered at once as `says` (None: silent),
    the clock moved on by STEP_MS when nothing is asked; a restart wipes what was written.
    Each question asked: when, of whom, the question, and whether it got an answer."""
    now = 0
    asked: list[tuple[int, bytes, bytes, bool]] = []
    for _ in range(STEPS_MAX):
        if sync.finished:
            break
        requests, restarted = sync.next_requests(now, peers)
        if restarted:
            kv.write({key: None for key, _ in kv.iterate_prefix(STATE_PREFIX)})
        if not requests:
            now += STEP_MS
        for request in requests:
            answer = says(request.peer, request.payload, now)
            asked.append((now, request.peer, request.payload, answer is not None))
            if answer is not None:
                kv.write(sync.accept(request.peer, answer, now).writes)
    else:
        raise AssertionError(f"the join did not end: {sync.phase}, {sync.restarts} restarts")
    if sync.phase is Phase.DONE:
        kv.write(sync.final_writes())
    return asked


def is_offer(question: bytes) -> bool:
    return bool(decode(question)[0] == ASK_OFFER)


def test_a_peer_that_serves_once_then_falls_silent_costs_one_timeout(
        net: Consortium) -> None:
    """HOSTILE's offer wins (the first of equals) and it answers the first question past
    it, then says nothing; B answers each question busy once, then for real. Before, the
    join asked HOSTILE whenever B was busy, a timeout each time."""
    chain = grown_chain(net)
    serve = serving(chain).answer
    told: set[bytes] = set()
    served_by_hostile = [0]

    def says(peer: bytes, question: bytes, now: int) -> bytes | None:
        del now
        if peer == HOSTILE:
            if is_offer(question) or not served_by_hostile[0]:
                served_by_hostile[0] += not is_offer(question)
                return serve(question)
            return None
        if is_offer(question) or question in told:
            return serve(question)
        told.add(question)
        return busy_answer(BUSY_MS)

    sync, kv = new_sync(net), MemoryStore()
    asked = join(sync, [HOSTILE, B], says, kv)
    assert sync.phase is Phase.DONE and sync.restarts == 0 and not sync.distrusted
    check_joined(net, chain, kv)
    silences = [at for at, peer, _, answered in asked if peer == HOSTILE and not answered]
    assert len(silences) == 1, f"HOSTILE was left {len(silences)} questions"
    past_b = [at for at, peer, question, _ in asked if peer == B and not is_offer(question)]
    assert len(past_b) >= 10  # B served the join, asked again at each time told


def test_a_peer_given_up_on_one_snapshot_is_asked_on_the_next(net: Consortium) -> None:
    """A's link is down for three questions past its offer (A given up, the join starts
    again); then A serves as a paced server does, busy to a question asked sooner than
    BUSY_MS after its last answer. Before, A's silences on the first snapshot gave it up
    on every next one before its first answer: the join asked one question of each new
    snapshot, was told busy (A had just sent the offer), and started again, without end."""
    chain = grown_chain(net)
    serve = serving(chain).answer
    down = [3]
    last_answer = [-BUSY_MS]

    def says(peer: bytes, question: bytes, now: int) -> bytes | None:
        assert peer == A
        if not is_offer(question) and down[0]:
            down[0] -= 1
            return None
        if now - last_answer[0] < BUSY_MS:
            return busy_answer(last_answer[0] + BUSY_MS - now)
        last_answer[0] = now
        return serve(question)

    sync, kv = new_sync(net), MemoryStore()
    join(sync, [A], says, kv)
    assert sync.phase is Phase.DONE and sync.restarts == 1 and not sync.distrusted
    check_joined(net, chain, kv)
