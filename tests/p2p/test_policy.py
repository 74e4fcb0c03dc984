"""Pure peer-manager policies: channels, backoff, tie-break, gossip dedupe."""

from __future__ import annotations

import itertools
import random

import pytest

from p2p.policy import (
    Channel,
    Direction,
    GossipFilter,
    backoff_delay_s,
    keep_new_connection,
)

LOW, HIGH = bytes([1]) * 32, bytes([2]) * 32


@pytest.mark.parametrize(
    "kwargs",
    [
        {"id": 0},
        {"id": 256},
        {"name": ""},
        {"max_message_bytes": 0},
        {"queue_capacity": 0},
    ],
)
def test_channel_refuses_bad_declarations(kwargs: dict[str, object]) -> None:
    fields: dict[str, object] = {
        "id": 1, "name": "tx", "max_message_bytes": 10, "queue_capacity": 1
    }
    fields.update(kwargs)
    with pytest.raises(ValueError):
        Channel(**fields)  # type: ignore[arg-type]


def test_backoff_grows_is_capped_and_jittered() -> None:
    rng = random.Random(5)
    delays = [backoff_delay_s(attempt, 0.1, 2.0, rng) for attempt in range(12)]
    for attempt, delay in enumerate(delays):
        ceiling = min(2.0, 0.1 * 2**attempt)
        assert ceiling / 2 <= delay <= ceiling
    assert max(delays) <= 2.0
    assert len({round(d, 9) for d in delays[6:]}) > 1  # capped delays still differ


def test_backoff_is_reproducible_from_the_seed() -> None:
    def draw(seed: int) -> list[float]:
        rng = random.Random(seed)
        return [backoff_delay_s(a, 0.2, 30.0, rng) for a in range(5)]

    assert draw(1) == draw(1)
    assert draw(1) != draw(2)
    assert backoff_delay_s(10_000, 0.2, 30.0, random.Random(0)) <= 30.0


def test_tie_break_is_the_same_on_both_ends() -> None:
    """For each situation, LOW and HIGH must keep the same physical connection."""
    for existing_is_low_dialled, new_is_low_dialled in itertools.product([True, False], repeat=2):
        def direction_at(me: bytes, low_dialled: bool) -> Direction:
            dialled_by_me = low_dialled == (me == LOW)
            return Direction.OUTBOUND if dialled_by_me else Direction.INBOUND

        decisions = {
            keep_new_connection(
                direction_at(me, existing_is_low_dialled),
                direction_at(me, new_is_low_dialled),
                me,
                peer,
            )
            for me, peer in [(LOW, HIGH), (HIGH, LOW)]
        }
        assert len(decisions) == 1
        if existing_is_low_dialled != new_is_low_dialled:
            assert decisions == {new_is_low_dialled}  # the one LOW dialled survives
        else:
            assert decisions == {True}  # a redial replaces a stale connection


def test_gossip_filter_delivers_and_forwards_once() -> None:
    seen = GossipFilter(max_entries=10)
    assert seen.note_received(1, b"tx")
    assert not seen.note_received(1, b"tx")
    assert seen.note_received(2, b"tx")  # the channel is part of the identity
    assert seen.claim_forward(1, b"tx")
    assert not seen.claim_forward(1, b"tx")
    assert not seen.note_received(1, b"tx")


def test_locally_originated_gossip_is_not_delivered_back() -> None:
    seen = GossipFilter(max_entries=10)
    assert seen.claim_forward(1, b"mine")
    assert not seen.note_received(1, b"mine")


def test_gossip_filter_is_bounded_lru() -> None:
    seen = GossipFilter(max_entries=3)
    for payload in [b"a", b"b", b"c"]:
        assert seen.note_received(1, payload)
    assert not seen.note_received(1, b"a")  # touch "a": now "b" is the oldest
    assert seen.note_received(1, b"d")
    assert len(seen) == 3
    assert seen.note_received(1, b"b")  # evicted, so new again
    assert not seen.note_received(1, b"a")
