"""Block sync told "busy, ask again in N ms" (node.sync_busy): no answer and no fault. The
peer is asked again at the time it gave (bounded), or another peer at once; never after
a RESPONSE_TIMEOUT_MS of idleness; a busy answer from a peer not asked changes nothing."""

from __future__ import annotations

from ledger.codec import decode, encode
from node.channels import CH_SYNC_REQUEST
from node.sync import MAX_BLOCKS_PER_RESPONSE, RESPONSE_TIMEOUT_MS, BlockSync, read_answer
from node.sync_busy import (
    BUSY_MARK,
    BUSY_WAIT_MAX_MS,
    BUSY_WAIT_MIN_MS,
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
    assert decode(request.payload) == [head + 1, MAX_BLOCKS_PER_RESPONSE]
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
    # B is silent: once its question times out, A (free again, and not passed over for
    # its busy answer) is asked, not B in turn
    assert asked_first(sync, 5 + RESPONSE_TIMEOUT_MS, 10, [A, B]) == A


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
