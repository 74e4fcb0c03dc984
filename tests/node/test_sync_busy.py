"""Block sync told "busy, ask again in N ms" (node.sync_busy): no answer and no fault. The
peer is asked again at the time it gave (bounded), or another peer at once; never after
a RESPONSE_TIMEOUT_MS of idleness; a busy answer from a peer not asked changes nothing."""

from __future__ import annotations

from ledger.codec import decode, encode
from node.channels import CH_SYNC_REQUEST
from node.sync import MAX_BLOCKS_PER_RESPONSE, RESPONSE_TIMEOUT_MS, BlockSync, read_answer
from node.sync_busy import (
    BUSY_MARK,
    BUSY_READ_BIT,
    BUSY_WAIT_MAX_MS,
    BUSY_WAIT_MIN_MS,
    BusyPeers,
    busy_answer,
    read_busy,
)
from tests.node.conftest import Consortium
from tests.node.test_engine import Clock, engine_for

A, B = b"\x0a" * 32, b"\x0b" * 32
BUSY_MS = 1_900


def asked_first(sync: BlockSync, now_ms: int, head: int, peers: list[bytes]) -> bytes:
    request = sync.next_request(now_ms, head, peers)
    assert request is not None
    assert decode(request.payload) == [head + 1, MAX_BLOCKS_PER_RESPONSE | BUSY_READ_BIT]
    return request.peer


def test_a_busy_peer_is_asked_again_at_the_time_it_gave_not_after_a_timeout() -> None:
    sync = BlockSync(None)
    sync.want(100, A)
    assert asked_first(sync, 0, 10, [A]) == A
    assert sync.accept(A, busy_answer(BUSY_MS), 10, 5) == []
    assert sync.next_request(5 + BUSY_MS - 1, 10, [A]) is None
    assert asked_first(sync, 5 + BUSY_MS, 10, [A]) == A
    # no answer and no fault: the target stands, and the busy answer showed nothing
    assert sync.behind(10) == 90 and sync.shown(A) is None


def test_told_busy_by_one_peer_another_is_asked_at_once_and_the_first_stays_preferred(
        ) -> None:
    sync = BlockSync(None)
    sync.want(100, A)  # A preferred
    assert asked_first(sync, 0, 10, [A, B]) == A
    sync.accept(A, busy_answer(BUSY_MS), 10, 5)
    assert asked_first(sync, 5, 10, [A, B]) == B
    sync.accept(B, busy_answer(100), 10, 10)
    # B is busy too, for less: once A is free again (within RESPONSE_TIMEOUT_MS of its
    # question), A is asked, not B in turn: its busy answer did not pass it over
    assert asked_first(sync, 5 + BUSY_MS, 10, [A, B]) == A


def test_a_busy_answer_naming_an_absurd_delay_is_bounded() -> None:
    sync = BlockSync(None)
    sync.want(100, A)
    asked_first(sync, 0, 10, [A])
    sync.accept(A, encode([BUSY_MARK, 2**62]), 10, 0)
    assert sync.next_request(BUSY_WAIT_MAX_MS - 1, 10, [A]) is None
    assert asked_first(sync, BUSY_WAIT_MAX_MS, 10, [A]) == A
    # and one naming no delay at all does not have it asked again at every turn
    sync.accept(A, busy_answer(0), 10, BUSY_WAIT_MAX_MS)
    assert sync.next_request(BUSY_WAIT_MAX_MS + BUSY_WAIT_MIN_MS - 1, 10, [A]) is None
    assert asked_first(sync, BUSY_WAIT_MAX_MS + BUSY_WAIT_MIN_MS, 10, [A]) == A


def test_a_busy_answer_from_a_peer_not_asked_is_ignored() -> None:
    sync = BlockSync(None)
    sync.want(100, A)
    assert asked_first(sync, 0, 10, [A, B]) == A
    assert sync.accept(B, busy_answer(BUSY_MS), 10, 5) == []
    assert sync.next_request(10, 10, [A, B]) is None  # A's question is still open
    sync.accept(A, busy_answer(BUSY_MS), 10, 20)
    assert asked_first(sync, 20, 10, [A, B]) == B  # B was not made busy by its own word


def test_a_busy_height_question_is_asked_again_once_its_peer_is_free() -> None:
    sync = BlockSync(None)
    sync.ask_height(A)
    assert asked_first(sync, 0, 10, [A]) == A
    sync.accept(A, busy_answer(BUSY_MS), 10, 0)
    assert sync.height_ask_waiting(A)
    assert sync.next_request(BUSY_MS - 1, 10, [A]) is None
    assert asked_first(sync, BUSY_MS, 10, [A]) == A and not sync.height_ask_waiting(A)


def test_the_busy_form_is_no_block_answer_and_is_read_strictly() -> None:
    """A node of an earlier release reads it as a malformed answer (`read_answer` None:
    the peer passed over for a turn), not as an empty one ("no blocks after your head",
    which would stop its catch-up)."""
    busy = busy_answer(BUSY_MS)
    assert read_answer(busy) is None and len(busy) <= 16
    assert read_busy(busy) == BUSY_MS
    assert read_busy(encode([BUSY_MARK, 10**12])) == BUSY_WAIT_MAX_MS
    for not_busy in (encode([5, []]), encode([BUSY_MARK, -1]), encode([BUSY_MARK, True]),
                     encode([BUSY_MARK, 1, 2]), encode([b"bus", 1]), encode([BUSY_MARK]),
                     encode([[BUSY_MARK, 1]]), b"", b"\xc1"):
        assert read_busy(not_busy) is None


def test_the_engine_asks_again_at_the_time_told(net: Consortium) -> None:
    clock = Clock(net.genesis.genesis_time_ms)
    follower, out = engine_for(net.employer, net, clock)
    peer = net.university.public_key
    follower.sync.want(50, peer)
    follower.tick([peer])
    assert out.frames[-1][:2] == (peer, CH_SYNC_REQUEST)
    sent = len(out.frames)
    clock.now_ms += 7
    follower.sync_answer(peer, busy_answer(BUSY_MS))
    clock.now_ms += BUSY_MS - 1
    follower.tick([peer])
    assert len(out.frames) == sent  # not yet
    clock.now_ms += 1
    follower.tick([peer])
    assert len(out.frames) == sent + 1 and out.frames[-1][:2] == (peer, CH_SYNC_REQUEST)
    assert follower.sync.behind(follower.chain.height) == 50


def test_a_relay_busy_on_its_height_question_shows_nothing_as_soon_as_a_silent_one() -> None:
    """node.network judges a relay's forged-looking signatures by what it showed to a
    question asked after them (`shown`): a relay answering "busy" for ever must not stay
    unjudged, so its height question ends RESPONSE_TIMEOUT_MS after it was first asked,
    answered with nothing, as if the relay had said nothing."""
    relay, other = A, B

    def shown_after(answer: bytes | None) -> list[tuple[int, tuple[int, int] | None]]:
        sync = BlockSync(None)
        asked_before = sync.questions
        sync.ask_height(relay)
        seen = []
        for now in range(0, 3 * RESPONSE_TIMEOUT_MS, 50):
            request = sync.next_request(now, 10, [relay, other])
            if request is not None and answer is not None:
                sync.accept(request.peer, answer, 10, now + 1)
            seen.append((now, sync.shown(relay)))
        assert asked_before == 0
        return seen

    silent = shown_after(None)
    assert (RESPONSE_TIMEOUT_MS - 50, None) in silent and (RESPONSE_TIMEOUT_MS, (1, 0)) in silent
    for busy in (busy_answer(BUSY_WAIT_MAX_MS), busy_answer(BUSY_MS), busy_answer(0)):
        # the same moments, its height 0 (nothing), each number that of a question
        # asked after `ask_height` (the relay may have been asked again meanwhile)
        seen = shown_after(busy)
        assert [(now, None if shown is None else shown[1]) for now, shown in seen] == [
            (now, None if shown is None else shown[1]) for now, shown in silent]
        assert all(shown is None or shown[0] >= 1 for _, shown in seen)


def test_the_only_peer_busy_without_end_shows_nothing_once_a_timeout_as_a_silent_one(
        ) -> None:
    """While it is the only peer it is asked again whenever it is free (there is nobody
    else to ask, as after a silent peer's timeout), and it counts as silent (passed over,
    showing nothing) once each RESPONSE_TIMEOUT_MS, whatever waits it tells."""
    sync = BlockSync(None)
    sync.want(100, A)
    asked: list[int] = []
    shown: dict[int, tuple[int, int] | None] = {}
    waits = iter([4_000] + [BUSY_WAIT_MAX_MS] * 20)
    for now in range(0, 4 * RESPONSE_TIMEOUT_MS + 1, 10):
        request = sync.next_request(now, 10, [A])
        if request is not None:
            asked.append(now)
            sync.accept(A, busy_answer(next(waits)), 10, now)
        shown[now] = sync.shown(A)
    # asked at 0, again at 4 s (the time told; the timeout still runs from 0), counted
    # silent at 5 s with its time told (9 s) not over, so the next 5 s are the next
    # silence: asked at 9 s, silent at 10 s; from then on asked again at each timeout
    assert asked == [0, 4_000, 9_000, 14_000, 19_000]
    assert [shown[t] for t in (4_990, 5_000, 9_990, 10_000, 15_000, 20_000)] == [
        None, (2, 0), (2, 0), (3, 0), (4, 0), (5, 0)]
    assert sync.behind(10) == 90  # no answer: the target stands


def test_a_reckoning_carried_past_a_silence_ends_uncounted_once_its_peer_is_free() -> None:
    """A peer still busy when counted silent is reckoned on (its next RESPONSE_TIMEOUT_MS
    of holding the asker off is the next silence), but once free and not asked by then
    it held nobody: no second silence, and its next question is timed afresh."""
    busy: BusyPeers[str] = BusyPeers()
    busy.told(A, BUSY_WAIT_MAX_MS, 4_000, 0, "second")  # asked at 0, told to wait to 9 s
    assert busy.overdue(RESPONSE_TIMEOUT_MS - 1, RESPONSE_TIMEOUT_MS) == []
    assert busy.overdue(RESPONSE_TIMEOUT_MS, RESPONSE_TIMEOUT_MS) == [(A, "second")]
    assert busy.free([A], 8_999) == [] and busy.free([A], 9_000) == [A]
    assert busy.overdue(2 * RESPONSE_TIMEOUT_MS, RESPONSE_TIMEOUT_MS) == []
    assert busy.timed_from(A, 12_000) == (12_000, None)
    # asked again while the carried reckoning runs, the question is timed from its start
    busy.told(B, BUSY_WAIT_MAX_MS, 4_000, 0, "b")
    busy.overdue(RESPONSE_TIMEOUT_MS, RESPONSE_TIMEOUT_MS)
    assert busy.timed_from(B, 9_000) == (RESPONSE_TIMEOUT_MS, "b")
    # and a real answer ends any reckoning
    busy.told(B, 100, 9_100, 9_000, "c")
    busy.answered(B)
    assert busy.overdue(60_000, RESPONSE_TIMEOUT_MS) == [] and busy.free([B], 9_101) == [B]
