"""The engine thread's own clock, and when what the engine says reaches the event loop.

A stand-in engine keeps these about the thread, not about consensus: the real
engine over it is covered by the node and simulator tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Collection
from types import SimpleNamespace
from typing import Any

import pytest

from node import engine_thread
from node.engine_thread import (
    BATCHED_INPUT_BYTES_MAX,
    BATCHED_INPUTS_MAX,
    TICK_S,
    EngineThread,
)
from node.engine_types import CommitReport
from storage.kv import MemoryStore

DEADLINE_S = 10.0


class StandInEngine:
    """Records ticks; on new work, commits, then stays busy until released."""

    def __init__(self) -> None:
        self.thread: EngineThread | None = None
        self.ticks: list[Collection[bytes]] = []
        self.release = threading.Event()
        self.can_wait = 1  # timed: a tick every TICK_S (node.engine_quiet)
        self.steps: list[int | str] = []  # each tick's count of ticks, and inputs by name
        self.report = CommitReport(execution=None, refused=[], source="consensus")  # type: ignore[arg-type]
        # The head the thread reads after each step (whether the next block's rules are
        # known): no chain, so no rules version scheduled.
        self.chain = SimpleNamespace(height=0, state=MemoryStore())

    def tick(self, connected: Collection[bytes], ticks: int = 1) -> None:
        self.ticks.append(connected)
        self.steps.append(ticks)

    def ticks_can_wait(self) -> int:
        return self.can_wait

    def work_available(self) -> None:
        assert self.thread is not None
        self.thread.outbox.send(b"peer", 7, b"vote for the block")
        self.thread.outbox.committed(self.report)
        # What comes after a commit in the same input, e.g. building the next block.
        self.release.wait(DEADLINE_S * 2)
        self.thread.outbox.send(b"peer", 7, b"next proposal")


class Heard:
    def __init__(self) -> None:
        self.frames: list[bytes] = []
        self.reports: list[Any] = []
        self.committed = asyncio.Event()

    def send(self, peer_key: bytes, channel: int, payload: bytes) -> None:
        self.frames.append(payload)

    def on_committed(self, report: CommitReport) -> None:
        self.reports.append(report)
        self.committed.set()


@contextlib.asynccontextmanager
async def started() -> AsyncIterator[tuple[EngineThread, StandInEngine, Heard]]:
    """An engine thread over a stand-in engine, stopped when done."""
    loop = asyncio.get_running_loop()
    heard = Heard()
    thread = EngineThread(loop, heard.send, heard.on_committed, lambda refusals: None)
    engine = StandInEngine()
    engine.thread = thread
    thread.start(engine)  # type: ignore[arg-type]
    try:
        yield thread, engine, heard
    finally:
        engine.release.set()
        await loop.run_in_executor(None, thread.shutdown, True)


@pytest.fixture
async def running() -> AsyncIterator[tuple[EngineThread, StandInEngine, Heard]]:
    async with started() as parts:
        yield parts
    assert parts[0].failure is None, parts[0].failure


async def wait_until(condition: Any, what: str) -> None:
    deadline = asyncio.get_running_loop().time() + DEADLINE_S
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(TICK_S)


async def test_the_engine_ticks_by_itself_with_the_latest_connected_peers(
        running: tuple[EngineThread, StandInEngine, Heard]) -> None:
    thread, engine, _ = running
    await wait_until(lambda: len(engine.ticks) >= 3, "ticks with no ticker running")
    thread.set_connected((b"peer-a", b"peer-b"))
    await wait_until(lambda: engine.ticks[-1] == (b"peer-a", b"peer-b"),
                     "a tick with the peers just connected")


async def test_the_ticker_hands_over_the_connected_peers(
        running: tuple[EngineThread, StandInEngine, Heard]) -> None:
    thread, engine, _ = running
    ticker = asyncio.create_task(thread.ticker(lambda: [b"peer-c"]))
    try:
        await wait_until(lambda: bool(engine.ticks) and engine.ticks[-1] == (b"peer-c",),
                         "a tick with the ticker's peers")
    finally:
        ticker.cancel()


async def test_a_quiet_engine_is_ticked_seldom_and_given_every_tick_that_passed(
        running: tuple[EngineThread, StandInEngine, Heard]) -> None:
    _, engine, _ = running
    engine.can_wait = 10
    await wait_until(lambda: engine.steps, "the first tick")
    started = asyncio.get_running_loop().time()
    first = len(engine.steps)
    await wait_until(lambda: sum(engine.steps[first:]) >= 40, "40 ticks given")  # type: ignore[arg-type]
    passed = (asyncio.get_running_loop().time() - started) / TICK_S
    given: list[int] = engine.steps[first:]  # type: ignore[assignment]
    assert len(given) <= sum(given) / 3, given  # a wake-up for about ten ticks
    assert sum(given) <= passed + 10, (given, passed)  # never more than passed


async def test_an_input_ends_a_quiet_wait_after_the_ticks_that_passed(
        running: tuple[EngineThread, StandInEngine, Heard]) -> None:
    thread, engine, _ = running
    engine.can_wait = 1_000
    await wait_until(lambda: engine.steps, "the first tick")
    await asyncio.sleep(20 * TICK_S)  # time passes, with no tick run
    thread.offer(lambda peer, payload: engine.steps.append("input"), b"peer", b"frame")
    await wait_until(lambda: "input" in engine.steps, "the input")
    before = engine.steps[engine.steps.index("input") - 1]
    assert isinstance(before, int) and before >= 15, engine.steps


async def test_a_commit_reaches_the_loop_before_the_input_that_made_it_ends(
        running: tuple[EngineThread, StandInEngine, Heard]) -> None:
    thread, engine, heard = running
    thread.work_available()
    # The input is still running (it waits for `release`), yet the commit is heard,
    # with the frame said before it; the frame said after it is not sent yet.
    await asyncio.wait_for(heard.committed.wait(), DEADLINE_S)
    assert heard.reports == [engine.report]
    assert heard.frames == [b"vote for the block"]
    engine.release.set()
    await wait_until(lambda: len(heard.frames) == 2, "the rest of the input's frames")
    assert heard.frames == [b"vote for the block", b"next proposal"]
    assert heard.reports == [engine.report]  # delivered once


async def test_the_inbox_is_bounded_in_bytes_and_sync_answers_never_crowd_out_validators(
        ) -> None:
    """It counted items only: 20,000 sync answers of 8 MiB, which any peer may send,
    could wait at once. Sync answers stop at OTHER_INPUT_BYTES_MAX; a validator's inputs
    at PEER_INPUT_BYTES_MAX, so another validator's still get in."""
    from node.channels import SYNC_RESPONSE_BYTES
    from node.engine_inbox import (
        OTHER_INPUT_BYTES_MAX,
        OTHERS_FULL,
        PEER_FULL,
        PEER_INPUT_BYTES_MAX,
    )

    def handler(peer_key: bytes, payload: bytes) -> None:
        raise AssertionError("the engine thread is not started")

    thread = EngineThread(asyncio.get_running_loop(), lambda *a: None, lambda r: None,
                          lambda r: None)
    answer = b"a" * SYNC_RESPONSE_BYTES  # one object, offered again and again
    fit = OTHER_INPUT_BYTES_MAX // SYNC_RESPONSE_BYTES
    for _ in range(fit + 10):
        thread.offer(handler, b"member", answer)
    assert thread.dropped_inputs == 10
    assert thread.inbox.other_bytes == fit * SYNC_RESPONSE_BYTES
    assert thread.inbox.dropped[OTHERS_FULL] == 10
    frame = b"f" * (10 * 1024 * 1024)
    for _ in range(20):
        thread.offer(handler, b"byzantine", frame, validator=True)
    assert thread.inbox.by_peer[b"byzantine"] <= PEER_INPUT_BYTES_MAX
    assert thread.inbox.dropped[PEER_FULL] == 20 - PEER_INPUT_BYTES_MAX // len(frame)
    thread.offer(handler, b"honest", frame, validator=True)
    assert thread.inbox.by_peer[b"honest"] == len(frame)
    assert thread.dropped_inputs == 10 + thread.inbox.dropped[PEER_FULL]


async def test_a_failed_jobs_arguments_are_freed_without_a_gc_pass(
        running: tuple[EngineThread, StandInEngine, Heard]) -> None:
    """A ledger job that raised kept its arguments in reference cycles until a full GC
    pass, which the daemon's thresholds make rare (as PublicWork.run's did, 5f2f53f): the
    future holding its exception was held by three frames its traceback reaches,
    EngineThread.run's, _do_job's and that of the lambda calling _do_job (each one alone
    keeps the cycle)."""
    import gc
    import weakref

    class Body:
        pass

    def refuse(body: Body) -> None:
        raise ValueError("not a ledger read")

    thread, _, _ = running
    body = Body()
    freed = weakref.ref(body)
    gc.disable()
    try:
        with pytest.raises(ValueError):
            await thread.run(refuse, body)
        del body
        # The engine thread lets go of its last step at its next tick.
        await wait_until(lambda: freed() is None, "the job's arguments freed")
    finally:
        gc.enable()


class Burst:
    """An input that holds the engine thread until `go` while others queue behind it,
    and records each hand-over of frames to the loop."""

    def __init__(self, thread: EngineThread) -> None:
        self.thread = thread
        self.running = threading.Event()
        self.go = threading.Event()
        self.handed_over: list[list[bytes]] = []
        deliver = thread._deliver

        def recorded(frames: list[tuple[bytes, int, bytes]], reports: list[Any]) -> None:
            self.handed_over.append([payload for _, _, payload in frames])
            deliver(frames, reports)
        thread._deliver = recorded  # type: ignore[method-assign]

    async def hold(self, then: Any = None) -> None:
        """Offer the first input and wait until it runs; `then` runs as it ends."""
        def held(peer_key: bytes, payload: bytes) -> None:
            self.thread.outbox.send(b"peer", 7, b"first")
            self.running.set()
            self.go.wait(DEADLINE_S)
            if then is not None:
                then()
        self.thread.offer(held, b"peer-0", b"first input")
        await wait_until(lambda: self.running.is_set(), "the first input running")

    def saying(self, said: bytes) -> Any:
        return lambda peer_key, payload: self.thread.outbox.send(b"peer", 7, said)

    async def handed(self, frames: int) -> list[list[bytes]]:
        await wait_until(lambda: self.running.is_set(), "the first input running")
        self.go.set()
        await wait_until(lambda: sum(map(len, self.handed_over)) >= frames,
                         f"{frames} frames handed over")
        return self.handed_over


VOTE = b"v" * 200  # a consensus vote's size


@pytest.fixture
def untimed(monkeypatch: pytest.MonkeyPatch) -> None:
    """No time bound on a batch: a busy test machine may hold the thread past it."""
    monkeypatch.setattr(engine_thread, "BATCH_S_MAX", 60.0)


async def test_small_inputs_that_came_meanwhile_leave_in_one_hand_over(
        running: tuple[EngineThread, StandInEngine, Heard], untimed: None) -> None:
    thread, _, heard = running
    burst = Burst(thread)
    await burst.hold()
    for number in range(1, 4):
        thread.offer(burst.saying(b"vote %d" % number), b"peer-%d" % number, VOTE)
    assert await burst.handed(4) == [[b"first", b"vote 1", b"vote 2", b"vote 3"]]
    assert heard.frames == [b"first", b"vote 1", b"vote 2", b"vote 3"]


async def test_a_batch_is_bounded_in_inputs(
        running: tuple[EngineThread, StandInEngine, Heard], untimed: None) -> None:
    thread, _, _ = running
    burst = Burst(thread)
    await burst.hold()
    votes = [b"vote %d" % number for number in range(BATCHED_INPUTS_MAX + 2)]
    for vote in votes:
        thread.offer(burst.saying(vote), b"peer-1", VOTE)
    assert await burst.handed(len(votes) + 1) == [
        [b"first", *votes[:BATCHED_INPUTS_MAX]], votes[BATCHED_INPUTS_MAX:]]


async def test_a_large_input_waits_for_the_output_before_it_to_be_handed_over(
        running: tuple[EngineThread, StandInEngine, Heard], untimed: None) -> None:
    """A proposal or a sync answer can take long to run: what came before it leaves
    first, and the votes behind it go with it."""
    thread, _, _ = running
    burst = Burst(thread)
    await burst.hold()
    thread.offer(burst.saying(b"proposal"), b"peer-1", b"p" * (BATCHED_INPUT_BYTES_MAX + 1))
    thread.offer(burst.saying(b"vote"), b"peer-2", VOTE)
    assert await burst.handed(3) == [[b"first"], [b"proposal", b"vote"]]


async def test_nothing_more_runs_in_a_batch_once_a_block_is_committed(
        running: tuple[EngineThread, StandInEngine, Heard], untimed: None) -> None:
    """The next block's rules are checked after a commit, before any other input."""
    thread, engine, _ = running
    burst = Burst(thread)

    def commit() -> None:
        engine.chain.height += 1
    await burst.hold(then=commit)
    thread.offer(burst.saying(b"vote for the next block"), b"peer-1", VOTE)
    assert await burst.handed(2) == [[b"first"], [b"vote for the next block"]]


async def test_a_batch_is_bounded_in_time(
        running: tuple[EngineThread, StandInEngine, Heard],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine_thread, "BATCH_S_MAX", -1.0)  # every batch already too long
    thread, _, _ = running
    burst = Burst(thread)
    await burst.hold()
    thread.offer(burst.saying(b"vote"), b"peer-1", VOTE)
    assert await burst.handed(2) == [[b"first"], [b"vote"]]


async def test_a_batch_frees_its_inputs_places_in_the_inbox(
        running: tuple[EngineThread, StandInEngine, Heard], untimed: None) -> None:
    """Each input taken in a batch gives back its place, or the inbox would in time refuse
    every frame and the node hear no consensus."""
    thread, _, _ = running
    burst = Burst(thread)
    await burst.hold()
    for number in range(3):
        thread.offer(burst.saying(b"vote %d" % number), b"peer-1", VOTE)
    assert thread.inbox.items == 3 and thread.inbox.validator_bytes + thread.inbox.other_bytes
    await burst.handed(4)
    assert (thread.inbox.items, thread.inbox.validator_bytes, thread.inbox.other_bytes) == (
        0, 0, 0)


async def test_the_next_blocks_rules_are_checked_before_an_input_after_a_commit(
        running: tuple[EngineThread, StandInEngine, Heard], untimed: None) -> None:
    thread, engine, _ = running
    burst = Burst(thread)
    happened: list[str] = []
    check = thread._stop_before_unknown_rules

    def checked() -> None:
        happened.append(f"rules checked at {engine.chain.height}")
        check()
    thread._stop_before_unknown_rules = checked  # type: ignore[method-assign]

    def commit() -> None:
        engine.chain.height += 1
        happened.append("committed")
    await burst.hold(then=commit)
    thread.offer(lambda peer_key, payload: happened.append("vote"), b"peer-1", VOTE)
    await burst.handed(1)
    await wait_until(lambda: "vote" in happened, "the vote")
    assert happened[happened.index("committed"):happened.index("vote")] == [
        "committed", "rules checked at 1"]


async def test_a_batch_stops_when_the_thread_is_stopped(
        running: tuple[EngineThread, StandInEngine, Heard], untimed: None) -> None:
    thread, _, _ = running
    burst = Burst(thread)
    await burst.hold()
    thread.offer(burst.saying(b"vote"), b"peer-1", VOTE)
    stopping = asyncio.get_running_loop().run_in_executor(None, thread.shutdown, True)
    await wait_until(lambda: thread._stopping, "the thread told to stop")
    burst.go.set()
    await asyncio.wait_for(stopping, DEADLINE_S)
    await wait_until(lambda: burst.handed_over, "the first input's output")
    assert burst.handed_over == [[b"first"]]


async def test_a_failing_input_in_a_batch_lets_what_came_before_it_leave(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """As when each input's output left alone: the steps before it are heard, the failing
    one's own frames are not, and the thread stops with its failure."""
    monkeypatch.setattr(engine_thread, "BATCH_S_MAX", 60.0)
    async with started() as (thread, _, heard):
        burst = Burst(thread)
        await burst.hold()
        thread.offer(burst.saying(b"vote"), b"peer-1", VOTE)

        def failing(peer_key: bytes, payload: bytes) -> None:
            thread.outbox.send(b"peer", 7, b"said before failing")
            raise ValueError("a bug in the engine")
        thread.offer(failing, b"peer-2", VOTE)
        assert await burst.handed(2) == [[b"first", b"vote"]]
        await wait_until(lambda: thread.failure is not None, "the thread's failure")
        assert isinstance(thread.failure, ValueError)
        await asyncio.sleep(5 * TICK_S)
        assert heard.frames == [b"first", b"vote"]
