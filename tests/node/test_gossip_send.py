"""Transaction gossip leaves in batches (node.network): a submission of many at once; a
single one at once after a quiet spell, else GOSSIP_FLUSH_S after the last frame,
gathered with the others admitted meanwhile.

The event loop's clock is a fake one here, moved by the test: on the real clock two
calls a line apart may be more than GOSSIP_FLUSH_S (1 ms) apart on a loaded machine,
and the loop wakes for a timer up to a millisecond late (epoll's granularity)."""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest

import node.network
from ledger.codec import decode
from node.channels import CH_TXS
from node.network import GOSSIP_AT_ONCE_TXS, GOSSIP_FLUSH_S, Network
from tests.e2e.harness import free_port
from tests.node.conftest import Consortium
from tests.node.test_state_join import config_for


@dataclass
class Timer:
    cancelled: bool = False

    def cancel(self) -> None:
        self.cancelled = True


@dataclass
class Clock:
    """The part of an event loop gossip uses: its time, and timers run by `advance`."""
    now: float = 1000.0
    timers: list[tuple[float, int, Timer, Callable[[], object]]] = field(default_factory=list)
    order: itertools.count[int] = field(default_factory=itertools.count)

    def time(self) -> float:
        return self.now

    def call_at(self, when: float, callback: Callable[[], object]) -> Timer:
        timer = Timer()
        heapq.heappush(self.timers, (when, next(self.order), timer, callback))
        return timer

    def advance(self, seconds: float) -> None:
        end = self.now + seconds
        while self.timers and self.timers[0][0] <= end:
            when, _, timer, callback = heapq.heappop(self.timers)
            self.now = max(self.now, when)
            if not timer.cancelled:
                callback()
        self.now = end

    def pending(self) -> int:
        return sum(1 for _, _, timer, _ in self.timers if not timer.cancelled)


Frames = list[tuple[float, int, list[bytes]]]  # (when it left, channel, transactions)


@pytest.fixture
def sent(net: Consortium, monkeypatch: pytest.MonkeyPatch
         ) -> tuple[Network, Clock, Frames]:
    network = Network(config_for("gossip", free_port(), []), net.genesis, net.ministry)
    clock = Clock()
    frames: Frames = []

    def send(key: bytes, channel: int, payload: bytes) -> bool:
        frames.append((clock.now, channel, decode(payload)))
        return True
    validator = next(iter(network.validator_keys))
    monkeypatch.setattr(network.peers, "connected", lambda: [validator])
    monkeypatch.setattr(network.peers, "send", send)
    # node.network's own name for asyncio, so nothing else sees the fake clock
    monkeypatch.setattr(node.network, "asyncio", SimpleNamespace(get_running_loop=lambda: clock))
    return network, clock, frames


def items_of(frames: Frames) -> list[list[bytes]]:
    return [items for _, _, items in frames]


def test_a_submission_of_many_is_gossiped_at_once(
        sent: tuple[Network, Clock, Frames]) -> None:
    network, clock, frames = sent
    network.gossip_transactions([b"first"])  # after a quiet spell: leaves at once
    single = [b"single"]
    many = [b"tx-%d" % i for i in range(GOSSIP_AT_ONCE_TXS)]
    clock.advance(GOSSIP_FLUSH_S / 2)
    network.gossip_transactions(single)
    assert len(frames) == 1  # a single one right after a frame waits for others to join it
    network.gossip_transactions(many)
    assert [(channel, items) for _, channel, items in frames] == [
        (CH_TXS, [b"first"]), (CH_TXS, single + many)]
    clock.advance(2 * GOSSIP_FLUSH_S)
    assert len(frames) == 2  # the timer found nothing left


def test_single_submissions_are_gathered_into_one_frame(
        sent: tuple[Network, Clock, Frames]) -> None:
    network, clock, frames = sent
    few = [b"tx-%d" % i for i in range(GOSSIP_AT_ONCE_TXS - 1)]
    for data in few:
        network.gossip_transactions([data])
        clock.advance(GOSSIP_FLUSH_S / 100)
    assert items_of(frames) == [few[:1]]
    clock.advance(GOSSIP_FLUSH_S)
    assert items_of(frames) == [few[:1], few[1:]]
    assert frames[1][0] - frames[0][0] == pytest.approx(GOSSIP_FLUSH_S)


def test_a_single_submission_after_a_quiet_spell_leaves_at_once(
        sent: tuple[Network, Clock, Frames]) -> None:
    network, clock, frames = sent
    for round_ in range(3):
        network.gossip_transactions([b"lone-%d" % round_])
        assert len(frames) == round_ + 1  # no timer waited out
        clock.advance(GOSSIP_FLUSH_S)
    assert items_of(frames) == [[b"lone-0"], [b"lone-1"], [b"lone-2"]]


def test_a_batch_leaving_sets_the_next_wait_from_its_own_frame(
        sent: tuple[Network, Clock, Frames]) -> None:
    """The timer waiting when a batch leaves is cancelled: it used to send the next
    single one early, and stay beside the next timer, one more for every such batch."""
    network, clock, frames = sent
    many = [b"tx-%d" % i for i in range(GOSSIP_AT_ONCE_TXS)]
    network.gossip_transactions([b"first"])
    clock.advance(GOSSIP_FLUSH_S * 0.2)
    network.gossip_transactions([b"waits"])
    clock.advance(GOSSIP_FLUSH_S * 0.6)
    network.gossip_transactions(many)  # leaves at once, taking "waits" along
    clock.advance(GOSSIP_FLUSH_S * 0.1)
    network.gossip_transactions([b"after"])
    clock.advance(GOSSIP_FLUSH_S * 0.85)
    assert items_of(frames) == [[b"first"], [b"waits", *many]]  # "after" still waits
    clock.advance(GOSSIP_FLUSH_S * 0.1)
    assert items_of(frames)[2:] == [[b"after"]]
    assert clock.pending() == 0


def test_a_burst_of_single_submissions_leaves_one_frame_per_gossip_flush_s(
        sent: tuple[Network, Clock, Frames]) -> None:
    """Thousands of single submissions, among batches, in a second: the frames of single
    ones leave GOSSIP_FLUSH_S apart at least, and every transaction leaves."""
    network, clock, frames = sent
    sent_count = 0
    for step in range(4000):  # one every 0.25 ms: a second's worth
        if step % 7 == 3:
            batch = [b"batch-%d-%d" % (step, i) for i in range(GOSSIP_AT_ONCE_TXS)]
            network.gossip_transactions(batch)
            sent_count += len(batch)
        network.gossip_transactions([b"single-%d" % step])
        sent_count += 1
        clock.advance(GOSSIP_FLUSH_S / 4)
        assert clock.pending() <= 1
    clock.advance(GOSSIP_FLUSH_S)
    assert sum(len(items) for items in items_of(frames)) == sent_count
    singles = [when for when, _, items in frames if len(items) < GOSSIP_AT_ONCE_TXS]
    previous = [when for when, _, _ in frames]
    for when in singles:
        before = [left for left in previous if left < when]
        assert not before or when - before[-1] >= GOSSIP_FLUSH_S * (1 - 1e-9)
    assert len(singles) <= 1000 + 1
