"""State sync asks several peers at once past the offer (node.state_pieces), within the
limits on questions open, on a simulated clock: each peer answers after its own delay.
A peer that answers wrong pieces, a slow one and a silent one can slow the copy but not
change it, and do not hold it up for long."""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable
from dataclasses import dataclass

from ledger.codec import decode
from node.state_sync import RESPONSE_TIMEOUT_MS, Phase, StateSync
from node.state_wire import (
    ASK_NODES,
    ASK_OFFER,
    ASK_VALUES,
    PIECES_IN_FLIGHT_MAX,
    PIECES_PER_PEER_MAX,
)
from node.value_ranges import ValueRange, ValueRanges
from storage.kv import MemoryStore
from tests.node.conftest import Consortium
from tests.node.test_state_sync import (
    Serve,
    check_joined,
    flip,
    grown_chain,
    new_sync,
    serving,
    small_questions,  # noqa: F401  (an autouse fixture: many small questions here too)
    tampered,
)

STEP_MS = 50  # as node.state_join polls
STEPS_MAX = 100_000
FAST_MS, SLOW_MS = 100, 2_000


@dataclass
class Peer:
    serve: Serve  # question -> answer (None: silent)
    delay_ms: int = FAST_MS


@dataclass
class Trace:
    join_ms: int = 0
    copy_ms: int = 0  # from the first question past the offer to the end
    open_max: int = 0  # questions past the offer asked and not yet answered, at once
    open_of_one_max: int = 0  # the same, of one peer
    peers_asked: set[bytes] | None = None  # who was asked past the offer


def timed_join(sync: StateSync, peers: dict[bytes, Peer], kv: MemoryStore) -> Trace:
    """Drive `sync` on a simulated clock: each answer arrives its peer's delay after its
    question (a silent peer's never), the clock moving by STEP_MS between polls."""
    now, order, trace = 0, 0, Trace(peers_asked=set())
    coming: list[tuple[int, int, bytes, bytes]] = []  # (due, order asked, peer, answer)
    # Questions past the offer not answered yet: peer -> when each is over (its answer
    # due, or for one never answered, the asker's timeout)
    open_until: dict[bytes, list[int]] = {}
    for _ in range(STEPS_MAX):
        if sync.finished:
            break
        requests, restarted = sync.next_requests(now, list(peers))
        assert not restarted
        for request in requests:
            peer = peers[request.peer]
            answer = peer.serve(request.payload)
            past_offer = decode(request.payload)[0] != ASK_OFFER
            if past_offer:
                assert trace.peers_asked is not None
                if not trace.peers_asked:
                    trace.copy_ms = -now
                trace.peers_asked.add(request.peer)
                over = now + (RESPONSE_TIMEOUT_MS if answer is None else peer.delay_ms)
                open_until.setdefault(request.peer, []).append(over)
            if answer is not None:
                heapq.heappush(coming, (now + peer.delay_ms, order, request.peer, answer))
            order += 1
        for ends in open_until.values():
            ends[:] = [end for end in ends if end > now]
        trace.open_max = max(trace.open_max, sum(map(len, open_until.values())))
        trace.open_of_one_max = max([trace.open_of_one_max, *map(len, open_until.values())])
        if coming and coming[0][0] <= now:
            _, _, peer_key, answer = heapq.heappop(coming)
            kv.write(sync.accept(peer_key, answer, now).writes)
            continue
        now += STEP_MS
    else:
        raise AssertionError("the join did not end")
    if sync.phase is Phase.DONE:
        kv.write(sync.final_writes())
    trace.join_ms = now
    trace.copy_ms += now
    return trace


def silent_past_offer(serve: Serve) -> Serve:
    def answer(question: bytes) -> bytes | None:
        return serve(question) if decode(question)[0] == ASK_OFFER else None
    return answer


def keys(count: int) -> list[bytes]:
    return [bytes([index + 1]) * 32 for index in range(count)]


def test_the_copy_asks_several_peers_at_once_within_the_limits(net: Consortium) -> None:
    source = grown_chain(net, blocks=4, anchors=60)
    peers = {key: Peer(serving(source).answer) for key in keys(PIECES_IN_FLIGHT_MAX + 3)}
    sync, kv = new_sync(net), MemoryStore()
    trace = timed_join(sync, peers, kv)
    assert sync.phase is Phase.DONE and not sync.distrusted and sync.restarts == 0
    check_joined(net, source, kv)
    assert trace.open_max == PIECES_IN_FLIGHT_MAX
    assert trace.open_of_one_max == PIECES_PER_PEER_MAX
    assert trace.peers_asked is not None and len(trace.peers_asked) >= PIECES_IN_FLIGHT_MAX
    # The same copy from one peer, one question at a time, takes twice as long or more.
    alone, alone_kv = new_sync(net), MemoryStore()
    one_at_a_time = timed_join(alone, {keys(1)[0]: Peer(serving(source).answer)}, alone_kv)
    check_joined(net, source, alone_kv)
    assert trace.copy_ms * 2 < one_at_a_time.copy_ms


def test_a_hostile_a_slow_and_a_silent_peer_only_slow_the_copy(net: Consortium) -> None:
    # One chain every run: the time a join takes turns on where its keys fall (with
    # random anchors, 4 runs in 20 went past a bound that was met by the rest).
    source = grown_chain(net, blocks=4, anchors=60, seed=61)

    def forge_value(answer: list[object]) -> None:
        items = answer[2]
        assert isinstance(items, list)
        items[-1][1] = items[-1][1] + b"x"
    honest, slow, silent, hostile_nodes, hostile_values = keys(5)
    lying_nodes = tampered(serving(source).answer, ASK_NODES,
                           lambda a: a[2].__setitem__(-1, flip(a[2][-1])))  # type: ignore
    peers = {  # the liars answer first (they offer first), the honest peer last
        hostile_nodes: Peer(lying_nodes, delay_ms=10),
        hostile_values: Peer(tampered(serving(source).answer, ASK_VALUES, forge_value),
                             delay_ms=10),
        silent: Peer(silent_past_offer(serving(source).answer), delay_ms=20),
        slow: Peer(serving(source).answer, delay_ms=SLOW_MS),
        honest: Peer(serving(source).answer),
    }
    sync, kv = new_sync(net), MemoryStore()
    trace = timed_join(sync, peers, kv)
    assert sync.phase is Phase.DONE and sync.restarts == 0
    assert sync.distrusted == {hostile_nodes, hostile_values}
    check_joined(net, source, kv)  # nothing of the liars' was kept
    # The honest peers alone, the slow one among them, take this long (a question the
    # slow one takes can hold the copy up by its delay, as much with no liar there);
    # the liars and the silent peer cost no more than the silent peer's three timeouts.
    alone, alone_kv = new_sync(net), MemoryStore()
    honest_alone = timed_join(alone, {slow: Peer(serving(source).answer, delay_ms=SLOW_MS),
                                      honest: Peer(serving(source).answer)}, alone_kv).join_ms
    check_joined(net, source, alone_kv)
    assert trace.join_ms < honest_alone + 3 * RESPONSE_TIMEOUT_MS


def test_a_peer_leaving_values_out_beside_honest_ones_is_found_and_alone_distrusted(
        net: Consortium) -> None:
    # One chain every run: on a chain of random anchors the value the liar leaves out is,
    # now and then, also in an honest peer's overlapping range, and the copy ends whole
    # without the omission being seen (24 of 1,200 seeded chains, each copied right):
    # nothing is lost, but there is then no liar to find.
    source = grown_chain(net, blocks=4, anchors=60, seed=61)

    def drop_one(answer: list[object]) -> None:
        items = answer[2]
        assert isinstance(items, list)
        if len(items) > 1:
            items.pop(1)
    liar, *honest = keys(3)
    peers = {liar: Peer(tampered(serving(source).answer, ASK_VALUES, drop_one), delay_ms=10)}
    peers.update({key: Peer(serving(source).answer) for key in honest})
    sync, kv = new_sync(net), MemoryStore()
    timed_join(sync, peers, kv)
    assert sync.phase is Phase.DONE and sync.distrusted == {liar} and sync.restarts == 0
    check_joined(net, source, kv)


def test_key_ranges_cut_as_the_copy_goes_cover_every_key_once_asked() -> None:
    """Ranges asked at once, each answered by a scan of a sorted key list, bring every
    key, whatever the keys look like; and never more ranges than questions open."""
    rng = random.Random(61)
    shapes: list[Callable[[], bytes]] = [
        lambda: b"b:" + rng.randbytes(32), lambda: rng.randbytes(rng.randint(1, 50)),
        lambda: b"k" + bytes([rng.randint(0, 3)]) * rng.randint(1, 45)]
    for shape in shapes:
        stored = sorted({shape() for _ in range(3_000)})
        ranges, seen = ValueRanges(), set()
        open_: list[ValueRange] = []
        for _ in range(10_000):
            if ranges.done:
                break
            while len(open_) < 5 and (value_range := ranges.to_ask(10**6, 16)) is not None:
                open_.append(value_range)
            value_range = open_.pop(rng.randrange(len(open_)))
            after = [k for k in stored if k > value_range.after][:16]
            seen.update(after)
            ranges.answered(value_range, (after[0], after[-1]) if after else None,
                            len(after) < 16)
            assert len(ranges) <= 6
        assert ranges.done and seen == set(stored)


def test_a_slow_peer_still_serves_its_share(net: Consortium) -> None:
    """A slow honest peer is not dropped: its answers come in time and count."""
    source = grown_chain(net, blocks=2, anchors=30)
    fast, slow = keys(2)
    sync, kv = new_sync(net), MemoryStore()
    trace = timed_join(sync, {fast: Peer(serving(source).answer),
                              slow: Peer(serving(source).answer, delay_ms=SLOW_MS)}, kv)
    assert sync.phase is Phase.DONE and not sync.distrusted
    assert trace.peers_asked == {fast, slow}
    check_joined(net, source, kv)
