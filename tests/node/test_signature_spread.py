"""The public set of signature workers (`SignatureWorkers(spread=True)`): a large batch
split among the free children, answered as one child would answer it whole, and callers
that wait for a child rather than check in turn."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Sequence

import pytest

import node.signature_workers
from node.signature_workers import (
    SPREAD_PIECE_CHECKS_MIN,
    WORKER_BATCH_MIN,
    InTurn,
    SignatureWorkers,
    check_in_turn,
)
from node.validators import SignatureCheck
from tests.node.conftest import Consortium
from tests.node.test_signature_workers import (
    DEADLINE_S,
    UNEXPLAINED,
    answers_on_threads,
    children_of,
    mixed_checks,
    raise_once,
    wait_until,
)


class CountedInTurn(InTurn):
    def __init__(self) -> None:
        self.batches = 0

    def __call__(self, checks: Sequence[SignatureCheck], failures_max: int = 0) -> list[bool]:
        self.batches += 1
        return super().__call__(checks, failures_max)


@pytest.fixture
def in_turn(monkeypatch: pytest.MonkeyPatch) -> CountedInTurn:
    counted = CountedInTurn()
    monkeypatch.setattr(node.signature_workers, "check_in_turn", counted)
    return counted


def good_checks(net: Consortium, count: int) -> list[SignatureCheck]:
    return [(net.ministry.public_key, b"good %d" % i, net.ministry.sign_raw(b"good %d" % i))
            for i in range(count)]


def test_a_large_batch_is_spread_over_the_free_children(
        net: Consortium, in_turn: CountedInTurn) -> None:
    checks = mixed_checks(net, 4 * SPREAD_PIECE_CHECKS_MIN)
    expected = check_in_turn(checks)
    for spread, children in ((False, 1), (True, 2)):
        workers = SignatureWorkers(2, spread=spread)
        try:
            assert workers(checks) == expected
            assert len(children_of(os.getpid())) == children, spread
        finally:
            workers.close()
        wait_until(lambda: not children_of(os.getpid()), "the children stop with close()")
    small = SignatureWorkers(2, spread=True)
    try:  # too few checks to be worth two trips
        assert small(checks[:2 * SPREAD_PIECE_CHECKS_MIN - 1]) == expected[
            :2 * SPREAD_PIECE_CHECKS_MIN - 1]
        assert len(children_of(os.getpid())) == 1
    finally:
        small.close()
    assert in_turn.batches == 0


def test_a_spread_batch_stops_where_one_child_checking_it_whole_would(
        net: Consortium, in_turn: CountedInTurn) -> None:
    """Each piece stops after `failures_max` bad ones; the answers stop at the batch's
    own `failures_max`th, wherever the pieces put it."""
    half = 2 * SPREAD_PIECE_CHECKS_MIN
    mixed = mixed_checks(net, half)  # every 7th bad
    batches = {"bad ones in the first piece only": mixed + good_checks(net, half),
               "bad ones in the second piece only": good_checks(net, half) + mixed,
               "bad ones in both": mixed + mixed}
    workers = SignatureWorkers(2, spread=True)
    try:
        for what, checks in batches.items():
            for failures_max in (0, 1, 5, 37, 38, 60, 1000):
                assert workers(checks, failures_max) == check_in_turn(
                    checks, failures_max), (what, failures_max)
        assert len(children_of(os.getpid())) == 2
    finally:
        workers.close()
    assert in_turn.batches == 0


def test_callers_of_a_spreading_set_wait_for_a_child_rather_than_check_in_turn(
        net: Consortium, in_turn: CountedInTurn, monkeypatch: pytest.MonkeyPatch) -> None:
    # The wait's own bound is the next test's, and out of the way here: at its 1 s, the
    # twelve callers on a heavily loaded machine may run out of it and check in turn, which
    # is that bound working, not callers that did not wait.
    monkeypatch.setattr(node.signature_workers, "CHILD_WAIT_S_MAX", 60.0)
    checks = mixed_checks(net, 3 * SPREAD_PIECE_CHECKS_MIN)
    expected = check_in_turn(checks)
    workers = SignatureWorkers(2, spread=True)
    try:
        assert answers_on_threads(workers, checks) == [expected] * 12
        assert in_turn.batches == 0
        assert len(children_of(os.getpid())) == 2
    finally:
        workers.close()


def test_a_caller_waits_a_bounded_time_and_close_ends_the_wait(
        net: Consortium, in_turn: CountedInTurn, monkeypatch: pytest.MonkeyPatch) -> None:
    checks = good_checks(net, 2 * SPREAD_PIECE_CHECKS_MIN)
    monkeypatch.setattr(node.signature_workers, "CHILD_WAIT_S_MAX", 0.2)
    workers = SignatureWorkers(2, spread=True)
    held = [workers.start(checks), workers.start(checks)]  # both children leased
    try:
        started = time.monotonic()
        assert workers(checks) == [True] * len(checks)
        assert time.monotonic() - started >= 0.2
        assert in_turn.batches == 1  # checked in turn once the wait ran out
        monkeypatch.setattr(node.signature_workers, "CHILD_WAIT_S_MAX", 60.0)
        waited: list[list[bool]] = []
        waiter = threading.Thread(target=lambda: waited.append(workers(checks)))
        waiter.start()
        time.sleep(0.1)  # nothing to wait for: the caller must still be waiting after it
        assert waiter.is_alive() and in_turn.batches == 1
        workers.close()
        waiter.join(DEADLINE_S)
        assert waited == [[True] * len(checks)] and in_turn.batches == 2
    finally:
        for pending in held:
            assert pending() == [True] * len(checks)
        workers.close()


def test_every_waiter_stops_waiting_once_no_child_will_be_started(
        net: Consortium, in_turn: CountedInTurn, monkeypatch: pytest.MonkeyPatch) -> None:
    """After WORKER_FAILURES_MAX failures no child is started or given back again: every
    caller waiting for one checks in turn at once, not only the one woken by the drop."""
    checks = good_checks(net, 2 * SPREAD_PIECE_CHECKS_MIN)
    monkeypatch.setattr(node.signature_workers, "WORKER_FAILURES_MAX", 1)
    monkeypatch.setattr(node.signature_workers, "CHILD_WAIT_S_MAX", 60.0)
    workers = SignatureWorkers(1, spread=True)
    try:
        held = workers.start(checks)  # the only child, leased
        (child,) = children_of(os.getpid())
        waited: list[list[bool]] = []
        waiters = [threading.Thread(target=lambda: waited.append(workers(checks)))
                   for _ in range(2)]
        for waiter in waiters:
            waiter.start()
        os.kill(child, signal.SIGKILL)
        assert held() == [True] * len(checks)  # dropped: the failure that ends the set
        for waiter in waiters:
            waiter.join(DEADLINE_S)
        assert waited == [[True] * len(checks)] * 2
        assert in_turn.batches == 3
    finally:
        workers.close()


@pytest.mark.parametrize("failing", ["send", "receive"])
def test_a_piece_that_raises_leaves_no_child_leased(
        net: Consortium, in_turn: CountedInTurn, monkeypatch: pytest.MonkeyPatch,
        failing: str) -> None:
    """An unexpected error handing the first piece over (the second child is then handed
    none) or collecting it (the second piece is then still out) reaches the caller, and
    every child of the batch is given back, or dropped if its pipe may hold half a batch
    or half an answer: the next batch finds both children at once and is spread again."""
    checks = good_checks(net, 2 * SPREAD_PIECE_CHECKS_MIN)
    raise_once(monkeypatch, failing)
    # a child left leased would make the next caller wait this long, then check in turn
    # or (the set having room for one new child) check it unspread
    monkeypatch.setattr(node.signature_workers, "CHILD_WAIT_S_MAX", 5.0)
    workers = SignatureWorkers(2, spread=True)
    try:
        with pytest.raises(RuntimeError, match=UNEXPLAINED):
            workers(checks)
        send = node.signature_workers._Child.send
        pieces: list[int] = []

        def counted_send(child: node.signature_workers._Child,
                         batch: Sequence[SignatureCheck], failures_max: int) -> None:
            pieces.append(len(batch))
            send(child, batch, failures_max)

        monkeypatch.setattr(node.signature_workers._Child, "send", counted_send)
        assert workers(checks) == [True] * len(checks)
        assert pieces == [SPREAD_PIECE_CHECKS_MIN] * 2
        assert in_turn.batches == 0
        wait_until(lambda: len(children_of(os.getpid())) == 2,
                   "the child whose pipe was half used is replaced, the other kept")
    finally:
        workers.close()


def test_a_child_that_fails_to_start_unexpectedly_frees_its_place(
        net: Consortium, in_turn: CountedInTurn, monkeypatch: pytest.MonkeyPatch) -> None:
    """Any failure to start a child is one failure: that batch is checked in turn and
    the child's place in the set is free again, for the next batch's child."""
    start_child = node.signature_workers._Child.__init__
    failed: list[bool] = []

    def start_failing_once(child: node.signature_workers._Child) -> None:
        if not failed:
            failed.append(True)
            raise RuntimeError(UNEXPLAINED)
        start_child(child)

    monkeypatch.setattr(node.signature_workers._Child, "__init__", start_failing_once)
    checks = good_checks(net, WORKER_BATCH_MIN)
    workers = SignatureWorkers(1)
    try:
        assert workers.start(checks)() == [True] * len(checks)
        assert in_turn.batches == 1 and not children_of(os.getpid())
        assert workers.start(checks)() == [True] * len(checks)
        assert in_turn.batches == 1 and len(children_of(os.getpid())) == 1
    finally:
        workers.close()
