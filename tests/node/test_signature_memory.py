"""Signatures found good are not checked again (node.signature_memory): whichever path
found one good (admission, a proposal's or a sync answer's checks), the others take the
answer from memory; bad ones are always checked; the memory is bounded."""

from __future__ import annotations

import asyncio
import hashlib
import os
import threading
import time
from collections.abc import Hashable, Sequence

import pytest

from ledger.identity import KeyPair
from ledger.payloads import AnchorPayload
from node import signature_memory
from node.service import NodeCore
from node.signature_checks import transactions_checked_ahead
from node.signature_memory import (
    GOOD_SIGNATURES_REMEMBERED_MAX,
    GoodSignatures,
    RememberedChecks,
)
from node.signature_workers import PendingChecks, check_in_turn
from node.validators import SignatureCheck
from tests.node.conftest import Consortium, make_tx


class CountingChecks:
    """Checks in turn, keeping each batch it was given."""

    def __init__(self) -> None:
        self.batches: list[list[SignatureCheck]] = []

    def __call__(self, checks: Sequence[SignatureCheck], failures_max: int = 0) -> list[bool]:
        self.batches.append(list(checks))
        return check_in_turn(checks, failures_max)

    def start(self, checks: Sequence[SignatureCheck]) -> PendingChecks:
        self.batches.append(list(checks))
        return lambda: check_in_turn(checks)


def signed(count: int) -> list[SignatureCheck]:
    keys = KeyPair.generate()
    messages = [os.urandom(40) for _ in range(count)]
    return [(keys.public_key, message, keys.sign_raw(message)) for message in messages]


def forged(check: SignatureCheck) -> SignatureCheck:
    key, message, signature = check
    return key, message + b"!", signature


def test_a_good_signature_is_checked_once_and_a_bad_one_every_time() -> None:
    inner = CountingChecks()
    checks = RememberedChecks(inner, GoodSignatures())
    good = signed(3)
    bad = forged(good[0])
    assert checks([*good, bad]) == [True, True, True, False]
    assert checks([good[1], bad, good[2], good[0]]) == [True, False, True, True]
    assert inner.batches[1] == [bad]  # only the bad one went to be checked again
    # started and collected later: the same answers, from memory
    assert checks.start([good[2], bad])() == [True, False]
    assert inner.batches[2] == [bad]


def test_a_good_signature_under_another_key_or_message_is_checked() -> None:
    inner = CountingChecks()
    checks = RememberedChecks(inner, GoodSignatures())
    key, message, signature = signed(1)[0]
    assert checks([(key, message, signature)]) == [True]
    other_key = KeyPair.generate().public_key
    assert checks([(other_key, message, signature), (key, message[:-1], signature)]) == [
        False, False]
    assert len(inner.batches) == 2


def test_answers_stop_where_the_checker_stopped_after_failures_max_bad_ones() -> None:
    inner = CountingChecks()
    checks = RememberedChecks(inner, GoodSignatures())
    good = signed(4)
    assert checks(good[:2]) == [True, True]
    batch = [good[0], forged(good[2]), good[1], forged(good[3]), good[2], good[3]]
    # the second bad one ends the answers, as the checker's own do
    assert checks(batch, failures_max=2) == [True, False, True, False]
    assert inner.batches[-1] == [forged(good[2]), forged(good[3]), good[2], good[3]]


def test_the_memory_forgets_the_oldest_beyond_its_capacity() -> None:
    inner = CountingChecks()
    memory = GoodSignatures(capacity=4)
    checks = RememberedChecks(inner, memory)
    good = signed(6)
    checks(good)
    assert len(memory) == 4
    inner.batches.clear()
    assert checks(good) == [True] * 6
    assert inner.batches == [good[:2]]  # the two oldest were forgotten


async def test_a_transaction_the_engine_checked_is_admitted_from_gossip_unchecked(
        core: NodeCore, net: Consortium) -> None:
    """The daemon's wiring: admission and the engine each have their own checker and
    share one memory, so a proposal's transactions checked by the engine before their
    gossip arrived cost admission no check, and the other way round."""
    memory = GoodSignatures()
    admission, engine = CountingChecks(), CountingChecks()
    core.check_signatures = RememberedChecks(admission, memory)
    engine_checks = RememberedChecks(engine, memory)
    in_proposal = [make_tx(net.employer, AnchorPayload(os.urandom(32))) for _ in range(3)]
    gossiped_first = make_tx(net.employer, AnchorPayload(os.urandom(32)))
    loop = asyncio.get_running_loop()
    checked = await loop.run_in_executor(None, transactions_checked_ahead, in_proposal,
                                         core.chain, engine_checks)
    assert checked == {tx.tx_id for tx in in_proposal}
    results = await core.submit([tx.encode() for tx in [*in_proposal, gossiped_first]])
    assert [refusal for _, refusal in results] == [None] * 4
    assert [len(batch) for batch in admission.batches] == [1]  # only the one not seen
    assert await loop.run_in_executor(None, transactions_checked_ahead, [gossiped_first],
                                      core.chain, engine_checks) == {gossiped_first.tx_id}
    assert len(engine.batches) == 1


def test_a_check_whose_bytes_run_on_into_the_next_field_is_not_taken_for_a_good_one(
        ) -> None:
    """A certificate's signature may have any length up to its bound (consensus
    decodes 1..MAX_SIGNATURE_BYTES): one byte moved from the message onto the end of a
    good signature joins into the same bytes, but is a bad check."""
    inner = CountingChecks()
    checks = RememberedChecks(inner, GoodSignatures())
    key, message, signature = signed(1)[0]
    assert checks([(key, message, signature)]) == [True]
    assert checks([(key, message[1:], signature + message[:1]),
                   (key, signature[-1:] + message, signature[:-1])]) == [False, False]
    assert len(inner.batches) == 2


def test_forgetting_the_oldest_costs_no_more_than_remembering() -> None:
    """Once full, each signature found good makes the memory forget one, under its lock
    and holding the GIL: that must cost about what remembering one does, not a walk
    past the slots of those forgotten before (a plain dict's first item, after many
    deletions from its front, is found only that way: ~40 µs a digest at the default
    capacity, close to the cost of the signature check it saves). CPU time of this
    thread, as a ratio: the machine's load does not move it."""
    memory = GoodSignatures()
    capacity = GOOD_SIGNATURES_REMEMBERED_MAX
    fill = [[os.urandom(32) for _ in range(1024)] for _ in range(capacity // 1024)]
    beyond = [[os.urandom(32) for _ in range(1024)] for _ in range(capacity // 1024)]
    started = time.thread_time()
    for batch in fill:
        memory.add(batch)
    filling = time.thread_time() - started
    started = time.thread_time()
    for batch in beyond:
        memory.add(batch)
    forgetting = time.thread_time() - started
    assert len(memory) == capacity and memory.known(beyond[-1]) == [True] * 1024
    assert memory.known(fill[-1]) == [False] * 1024
    assert forgetting < 8 * max(filling, 0.005), (filling, forgetting)


class HeldChecks(CountingChecks):
    """Checks in turn once `release` is set; `started` is set when a batch arrives."""

    def __init__(self) -> None:
        super().__init__()
        self.started = threading.Event()
        self.release = threading.Event()

    def __call__(self, checks: Sequence[SignatureCheck], failures_max: int = 0) -> list[bool]:
        self.started.set()
        assert self.release.wait(10), "never released"
        return super().__call__(checks, failures_max)


def engine_and_admission(memory: GoodSignatures, engine: HeldChecks | None = None
                         ) -> tuple[HeldChecks, RememberedChecks, CountingChecks,
                                    RememberedChecks]:
    """The daemon's wiring: the engine's checker says what it has under way, and
    admission's waits for it."""
    engine, admission = engine or HeldChecks(), CountingChecks()
    return (engine, RememberedChecks(engine, memory, says_under_way=True),
            admission, RememberedChecks(admission, memory, waits_under_way=True))


def checked_meanwhile(checker: RememberedChecks, checks: list[SignatureCheck]
                      ) -> tuple[threading.Thread, list[list[bool]]]:
    answers: list[list[bool]] = []
    thread = threading.Thread(target=lambda: answers.append(checker(checks)))
    thread.start()
    return thread, answers


class WatchedMemory(GoodSignatures):
    def __init__(self) -> None:
        super().__init__()
        self.waiting = threading.Event()

    def wait_under_way(self, checks: Sequence[Hashable], timeout_s: float) -> bool:
        self.waiting.set()
        return super().wait_under_way(checks, timeout_s)


def test_admission_waits_for_the_engines_check_under_way_rather_than_check_again() -> None:
    memory = WatchedMemory()
    engine, engine_checks, admission, admission_checks = engine_and_admission(memory)
    proposal = signed(6)
    gossip = [*proposal[:2], forged(proposal[2]), *signed(2)]
    thread, engine_answers = checked_meanwhile(engine_checks, [*proposal[:3], proposal[5]])
    assert engine.started.wait(10)
    admitting, admission_answers = checked_meanwhile(admission_checks, gossip)
    assert memory.waiting.wait(10)  # admission found the engine's checks under way
    engine.release.set()
    thread.join(10)
    admitting.join(10)
    assert engine_answers == [[True] * 4]
    assert admission_answers == [[True, True, False, True, True]]
    # only what the engine was not checking: the forged one and the two new ones
    assert admission.batches == [[gossip[2], *gossip[3:]]]


def test_a_bad_signature_under_way_is_checked_again_by_admission() -> None:
    memory = WatchedMemory()
    engine, engine_checks, admission, admission_checks = engine_and_admission(memory)
    bad = forged(signed(1)[0])
    thread, _ = checked_meanwhile(engine_checks, [bad])
    assert engine.started.wait(10)
    admitting, admission_answers = checked_meanwhile(admission_checks, [bad])
    assert memory.waiting.wait(10)
    engine.release.set()
    thread.join(10)
    admitting.join(10)
    assert admission_answers == [[False]]
    assert admission.batches == [[bad]]  # a bad answer is not remembered


class FailingChecks(HeldChecks):
    def __call__(self, checks: Sequence[SignatureCheck], failures_max: int = 0) -> list[bool]:
        self.started.set()
        assert self.release.wait(10), "never released"
        raise OSError("the checker failed")


def test_a_check_under_way_that_fails_releases_its_waiters() -> None:
    memory = WatchedMemory()
    failing, engine_checks, admission, admission_checks = engine_and_admission(
        memory, FailingChecks())
    checks = signed(2)
    failed: list[BaseException] = []

    def engine_call() -> None:
        try:
            engine_checks(checks)
        except OSError as exc:
            failed.append(exc)

    thread = threading.Thread(target=engine_call)
    thread.start()
    assert failing.started.wait(10)
    admitting, answers = checked_meanwhile(admission_checks, checks)
    assert memory.waiting.wait(10)
    failing.release.set()
    thread.join(10)
    admitting.join(10)
    assert len(failed) == 1 and answers == [[True, True]]
    assert admission.batches == [checks]
    assert memory.wait_under_way(checks, 0) is False  # nothing left under way


def test_a_long_message_is_remembered_by_its_hash_and_never_taken_for_another() -> None:
    keys = KeyPair.generate()
    long_message = os.urandom(signature_memory.REMEMBERED_MESSAGE_BYTES_MAX + 1)
    check = (keys.public_key, long_message, keys.sign_raw(long_message))
    inner = CountingChecks()
    checks = RememberedChecks(inner, GoodSignatures())
    assert checks([check]) == [True] and checks([check]) == [True]
    assert len(inner.batches) == 1
    # the same key and signature over the message's digest: a different, bad check
    digest = hashlib.sha256(long_message).digest()
    assert checks([(keys.public_key, digest, check[2])]) == [False]
    assert len(inner.batches) == 2


@pytest.mark.parametrize("path", ["call", "start"])
def test_a_message_over_the_bound_is_remembered_hashed_and_one_at_it_whole(path: str) -> None:
    keys = KeyPair.generate()
    at_bound, over = (os.urandom(signature_memory.REMEMBERED_MESSAGE_BYTES_MAX + extra)
                      for extra in (0, 1))
    whole, long = ((keys.public_key, message, keys.sign_raw(message))
                   for message in (at_bound, over))
    hashed = (keys.public_key, hashlib.sha256(over).digest(), long[2],
              signature_memory._LONG_MESSAGE)
    memory = GoodSignatures()
    checks = RememberedChecks(CountingChecks(), memory)
    answers = checks([whole, long]) if path == "call" else checks.start([whole, long])()
    assert answers == [True, True]
    assert memory.known([whole, long, hashed]) == [True, False, True]
    assert len(memory) == 2


def test_admission_waits_only_so_long_for_a_check_that_hangs(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(signature_memory, "UNDER_WAY_WAIT_S_MAX", 0.05)
    engine, engine_checks, admission, admission_checks = engine_and_admission(
        GoodSignatures())
    checks = signed(3)
    thread, _ = checked_meanwhile(engine_checks, checks)
    assert engine.started.wait(10)
    assert admission_checks(checks) == [True] * 3
    assert admission.batches == [checks]
    engine.release.set()
    thread.join(10)


def test_the_engine_never_waits_for_admissions_checks_under_way() -> None:
    memory = GoodSignatures()
    held = HeldChecks()
    admission_checks = RememberedChecks(held, memory, waits_under_way=True)
    engine = CountingChecks()
    engine_checks = RememberedChecks(engine, memory, says_under_way=True)
    checks = signed(3)
    thread, _ = checked_meanwhile(admission_checks, checks)
    assert held.started.wait(10)
    assert engine_checks(checks) == [True] * 3  # at once, while admission's are held
    assert engine.batches == [checks]
    held.release.set()
    thread.join(10)
