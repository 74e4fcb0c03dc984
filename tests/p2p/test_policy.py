"""Pure peer-manager policies: channels, backoff, tie-break."""

from __future__ import annotations

import itertools
import random

import pytest

from p2p.policy import (
    KEY_CONFLICTS_KEYS_MAX,
    KEY_CONFLICTS_TO_WARN,
    KEY_CONFLICTS_WINDOW_S,
    PEER_LINES_MAX,
    PEER_LINES_WINDOW_S,
    REFUSED_KEYS_MAX,
    REFUSED_KEYS_WINDOW_S,
    STRANGER_LINES_MAX,
    STRANGER_LINES_WINDOW_S,
    Channel,
    Direction,
    KeyConflicts,
    LineBudget,
    PeerLines,
    RefusedKeys,
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



def test_key_conflicts_warn_past_races_and_restarts_once_per_window() -> None:
    conflicts = KeyConflicts()
    spread = KEY_CONFLICTS_WINDOW_S / (KEY_CONFLICTS_TO_WARN - 1)
    # a race at start and a restart now and then: never a warning
    assert [conflicts.note(LOW, i * spread * 1.01) for i in range(20)] == [None] * 20
    start = 10_000.0
    answers = [conflicts.note(HIGH, start + i) for i in range(3 * KEY_CONFLICTS_TO_WARN)]
    assert answers[KEY_CONFLICTS_TO_WARN - 1] == KEY_CONFLICTS_TO_WARN
    assert [a for a in answers if a is not None] == [KEY_CONFLICTS_TO_WARN]  # once a window
    later = start + KEY_CONFLICTS_WINDOW_S + 3 * KEY_CONFLICTS_TO_WARN
    assert [conflicts.note(HIGH, later + i) for i in range(KEY_CONFLICTS_TO_WARN)][-1] \
        == KEY_CONFLICTS_TO_WARN  # and again in the next one


def test_key_conflicts_remember_a_bounded_number_of_keys() -> None:
    conflicts = KeyConflicts()
    for n in range(KEY_CONFLICTS_KEYS_MAX * 3):
        conflicts.note(n.to_bytes(32, "big"), 0.0)
    assert len(conflicts._keys) == KEY_CONFLICTS_KEYS_MAX


def test_a_refused_key_is_said_once_a_window_with_the_refusals_since() -> None:
    """Both ends of a retired member's link redial within the backoff's cap: a warning
    each time was one every few seconds, on each side, for good."""
    refused = RefusedKeys()
    assert refused.note(LOW, 0.0) == 0
    assert [refused.note(LOW, t) for t in (3.0, 8.0, 13.0)] == [None] * 3
    assert refused.note(HIGH, 14.0) == 0  # another key has its own window
    assert refused.note(LOW, REFUSED_KEYS_WINDOW_S) == 3
    assert refused.note(LOW, REFUSED_KEYS_WINDOW_S + 1) is None
    for n in range(REFUSED_KEYS_MAX * 3):  # a stranger picks any key
        refused.note(n.to_bytes(32, "big"), 20.0)
    assert len(refused._keys) == REFUSED_KEYS_MAX


def test_lines_strangers_cause_are_capped_in_all_and_the_next_says_how_many_were_not() -> None:
    """Each source said once a window was still a line per source, and sources are free."""
    budget = LineBudget()
    assert [budget.take(1.0) for _ in range(STRANGER_LINES_MAX)] == [0] * STRANGER_LINES_MAX
    assert [budget.take(2.0) for _ in range(5)] == [None] * 5
    assert budget.take(1.0 + STRANGER_LINES_WINDOW_S) == 5
    assert budget.told(5) == (f" [5 more such lines, about other sources, were not logged: "
                              f"at most {STRANGER_LINES_MAX} each 60 s]")
    assert budget.told(0) == ""
    assert budget.take(-100.0) == 0  # a clock set back opens a new window, not a long one


def test_a_peers_connection_lines_are_capped_each_window_with_the_count_held() -> None:
    """A listed key reconnecting 580 times a second wrote a line for each: 7 GB a day."""
    lines = PeerLines()
    key, other = b"k" * 32, b"o" * 32
    said = [lines.take(key, 1.0) for _ in range(PEER_LINES_MAX + 5)]
    assert said == [0] * PEER_LINES_MAX + [None] * 5
    assert lines.take(other, 1.0) == 0  # another key's lines are its own
    assert lines.take(key, 1.0 + PEER_LINES_WINDOW_S) == 5  # the next window: the count held
    assert "5 more connection lines of this peer were not logged" in PeerLines.told(5)
    assert PeerLines.told(0) == ""
