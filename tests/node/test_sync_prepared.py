"""The next sync answer's signatures handed to the workers while this one's last blocks
execute and commit (`node.engine_sync.AppliesSyncedBlocks._prepare_next`), and the
engine thread's look into its inbox for it (`EngineThread.waiting_answer`)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from ledger.chain import Chain
from ledger.chain_run import Execution
from ledger.codec import decode, encode
from node.engine import Engine
from node.engine_thread import WAITING_LOOKED_AT_MAX, EngineThread
from node.signature_child import check_batch
from node.signature_workers import PendingChecks
from node.sync import serve_blocks
from node.validators import SignatureCheck
from tests.node.certificates import make_certificate
from tests.node.conftest import Consortium
from tests.node.test_chain_runs import follower_of
from tests.node.test_engine import Recorder, source_chain


class HandedOver:
    """`CheckSignatures` in turn, noting each batch when handed over and when collected,
    among the other events of the test (`events`)."""

    def __init__(self, events: list[tuple[str, int]]) -> None:
        self.events = events

    def __call__(self, checks: Sequence[SignatureCheck], failures_max: int = 0) -> list[bool]:
        return check_batch(checks, failures_max)

    def start(self, checks: Sequence[SignatureCheck]) -> PendingChecks:
        self.events.append(("handed over", len(checks)))

        def collect() -> list[bool]:
            self.events.append(("collected", len(checks)))
            return check_batch(checks, 0)
        return collect


def syncing(net: Consortium, source: Chain, prepare: bool
            ) -> tuple[Engine, Recorder, list[tuple[str, int]], dict[bytes, bytes]]:
    """A follower whose checks are noted with its commits, and whose inbox holds the
    answer to its last question whenever it looks (a peer that answers at once)."""
    follower, out, _ = follower_of(source, net.employer)
    events: list[tuple[str, int]] = []
    follower.check_signatures = HandedOver(events)
    commit_run = follower.chain.commit_run

    def noted(blocks: list[tuple[Execution, bytes]],
              also_write: dict[bytes, bytes | None] | None = None, sync: bool = True) -> None:
        commit_run(blocks, also_write, sync)
        events.append(("committed to", follower.chain.height))

    follower.chain.commit_run = noted  # type: ignore[method-assign]
    served: dict[bytes, bytes] = {}

    def waiting() -> tuple[bytes, bytes] | None:
        request = out.frames[-1][2]
        answer = served.setdefault(request, serve_blocks(source, request) or b"")
        return net.ministry.public_key, answer

    if prepare:
        follower.next_sync_answer = waiting
    return follower, out, events, served


def answer_for(source: Chain, out: Recorder, served: dict[bytes, bytes]) -> bytes:
    request = out.frames[-1][2]
    answer = served.pop(request, None) or serve_blocks(source, request)
    assert answer is not None
    return answer


def test_the_next_answer_is_handed_over_before_this_one_commits(net: Consortium) -> None:
    source = source_chain(net, 100)
    peer = net.ministry.public_key
    runs: dict[bool, list[tuple[str, int]]] = {}
    for prepare in (False, True):
        follower, out, events, served = syncing(net, source, prepare)
        follower.tick([peer])
        while follower.chain.height < source.height:
            events.append(("answer taken", follower.chain.height))
            follower.sync_answer(peer, answer_for(source, out, served))
        assert follower.chain.state.root == source.state.root
        runs[prepare] = events
    alone, prepared = runs[False], runs[True]
    # The first answer's first block commits alone (the next question leaves with it),
    # then its other 63 in one run; the second answer, the last, is one run of 36.
    for events in (alone, prepared):
        assert [e for e in events if e[0] != "handed over" and e[0] != "collected"] == [
            ("answer taken", 0), ("committed to", 1), ("committed to", 64),
            ("answer taken", 64), ("committed to", 100)]
    # The second answer's first parts went out before the first answer's last run
    # committed, and not again when it was taken: the same checks, each once.
    ahead = (checks_handed_over(prepared, ("committed to", 64))
             - checks_handed_over(alone, ("committed to", 64)))
    assert ahead > 0
    assert checks_handed_over(prepared) == checks_handed_over(alone)
    for events in (alone, prepared):
        assert checks_handed_over(events) == sum(n for e, n in events if e == "collected")


def checks_handed_over(events: list[tuple[str, int]], until: tuple[str, int] | None = None
                       ) -> int:
    """How many checks were handed over (before the event `until`)."""
    end = len(events) if until is None else events.index(until)
    return sum(count for event, count in events[:end] if event == "handed over")


def test_an_answer_handed_over_for_a_head_not_reached_is_dropped(net: Consortium) -> None:
    """The answer before it lost its last block (a forged certificate): the head is not
    the one the waiting answer's checks were made for, so they are collected and thrown
    away, and the answer, which no longer follows the head, applies nothing."""
    source = source_chain(net, 100)
    peer = net.ministry.public_key
    follower, out, events, served = syncing(net, source, prepare=True)
    follower.tick([peer])
    height, items = decode(answer_for(source, out, served))
    last = source.get_block(64)
    assert last is not None and len(items) == 64
    # Signed by a member that validates nothing: no certificate of this chain.
    items[-1][1] = make_certificate(net.university, source.chain_id, 64, 0, last.block_hash)
    follower.sync_answer(peer, encode([height, items]))
    assert follower.chain.height == 63
    assert follower._prepared is not None and follower._prepared.head == 64
    waiting = follower._prepared.payload
    follower.sync_answer(peer, waiting)
    assert follower.chain.height == 63 and follower._prepared is None
    handed = [count for event, count in events if event == "handed over"]
    assert sorted(handed) == sorted(count for event, count in events if event == "collected")


def test_the_engine_thread_finds_the_first_waiting_answer_and_leaves_it() -> None:
    loop = asyncio.new_event_loop()
    try:
        thread = EngineThread(loop, lambda *a: None, lambda r: None, lambda r: None)
        taken: list[bytes] = []

        def answer(peer_key: bytes, payload: bytes) -> None:
            taken.append(payload)

        def frame(peer_key: bytes, payload: bytes) -> None:
            del peer_key, payload

        assert thread.waiting_answer(answer) is None
        thread.offer(frame, b"v" * 32, b"vote", validator=True)
        thread.offer(answer, b"p" * 32, b"first")
        thread.offer(answer, b"q" * 32, b"second")
        assert thread.waiting_answer(answer) == (b"p" * 32, b"first")
        assert thread.waiting_answer(answer) == (b"p" * 32, b"first")  # left where it was
        assert len(thread._inputs) == 3 and taken == []

        crowded = EngineThread(loop, lambda *a: None, lambda r: None, lambda r: None)
        for index in range(WAITING_LOOKED_AT_MAX):
            crowded.offer(frame, b"v" * 32, b"%d" % index, validator=True)
        crowded.offer(answer, b"p" * 32, b"late")
        assert crowded.waiting_answer(answer) is None  # its own turn comes soon enough
    finally:
        loop.close()
