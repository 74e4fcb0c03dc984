"""The next sync answer's signatures handed to the workers while this one's last blocks
execute and commit (`node.engine_sync.AppliesSyncedBlocks._prepare_next`), and the
engine thread's look into its inbox for it (`EngineThread.waiting_answer`)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence

import pytest

import ledger.chain
from ledger.chain import Chain
from ledger.chain_run import Execution
from ledger.codec import decode, encode
from ledger.payloads import AnchorPayload
from node.block_serve import serve_blocks
from node.engine import Engine
from node.engine_sync import PreparedAnswer
from node.engine_thread import WAITING_LOOKED_AT_MAX, EngineThread
from node.signature_checks import ANSWER_PARTS_AHEAD
from node.signature_child import check_batch
from node.signature_workers import PendingChecks
from node.validators import SignatureCheck
from storage.kv import MemoryStore
from tests.node.certificates import make_certificate, make_quorum_certificate
from tests.node.conftest import Consortium, commit, make_tx
from tests.node.test_chain_runs import follower_of, voted_source
from tests.node.test_engine import Recorder, source_chain
from tests.node.test_key_rotation import rotation


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


def checks_handed_over(events: list[tuple[str, int]], until: tuple[str, int] | None = None
                       ) -> int:
    """How many checks were handed over (before the event `until`)."""
    end = len(events) if until is None else events.index(until)
    return sum(count for event, count in events[:end] if event == "handed over")


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


def test_an_answer_handed_over_for_a_head_not_reached_is_dropped(net: Consortium) -> None:
    """The answer before it lost its last block (a forged certificate): its peer is passed
    over and the waiting answer, which no longer follows the head, is no answer to an open
    question; the checks made for it are collected and thrown away."""
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


def first_answer_applied(net: Consortium, source: Chain) -> tuple[
        Engine, Recorder, list[tuple[str, int]], dict[bytes, bytes], PreparedAnswer]:
    """A follower that applied its first answer (blocks 1-64) from the ministry, and the
    next answer, prepared while it did."""
    follower, out, events, served = syncing(net, source, prepare=True)
    follower.tick([net.ministry.public_key])
    follower.sync_answer(net.ministry.public_key, answer_for(source, out, served))
    prepared = follower._prepared
    assert follower.chain.height == 64 and prepared is not None and prepared.head == 64
    return follower, out, events, served, prepared


def test_an_answer_taken_at_another_head_than_it_was_handed_over_for_is_checked_again(
        net: Consortium) -> None:
    """Block 65 arrives announced between the answer that ends at 64 and the next one,
    which starts at 65: that answer is still the one asked for, but its checks were made
    for a head of 64, so they are collected and dropped and its signatures checked anew."""
    source = source_chain(net, 100)
    peer = net.ministry.public_key
    follower, out, events, served, prepared = first_answer_applied(net, source)
    block, cert = source.get_block_bytes(65), source.get_certificate(65)
    assert block is not None and cert is not None
    follower.block_announced(peer, encode([block, cert]))
    assert follower.chain.height == 65
    taken = len(events)
    follower.sync_answer(peer, answer_for(source, out, served))
    assert follower.chain.height == 100
    collected_first = [("collected", len(part.checks))
                       for part in prepared.checks._parts[:ANSWER_PARTS_AHEAD]]
    assert events[taken:taken + len(collected_first)] == collected_first
    assert events[taken + len(collected_first)][0] == "handed over"
    handed = [count for event, count in events if event == "handed over"]
    assert sorted(handed) == sorted(count for event, count in events if event == "collected")


def test_a_key_rotated_in_the_run_before_is_checked_again_at_execution(
        net: Consortium) -> None:
    """The next answer's senders' keys are read before this answer's last run commits. The
    university rotates its key in that run, and a block of the next answer (certified by a
    quorum that signs what it did not check) holds a transaction signed by its old key:
    found good under the key read ahead, it is refused at execution, where the ledger
    checks again the signature of any sender that ever rotated (`ledger.rules`)."""
    source = Chain(MemoryStore(), net.genesis)
    for _ in range(39):
        commit(source, [make_tx(net.university, AnchorPayload(os.urandom(32)))])
    new, payload = rotation(source, net.university)
    commit(source, [make_tx(net.university, payload)])  # block 40
    while source.height < 64:
        commit(source, [make_tx(new, AnchorPayload(os.urandom(32)))])
    old_signed = make_tx(net.university, AnchorPayload(os.urandom(32)))
    with pytest.MonkeyPatch.context() as patch:
        # where a block's execution calls it (`Chain._execute_one`)
        patch.setattr(ledger.chain, "check_signature", lambda *args: None)
        commit(source, [old_signed])  # block 65
    peer = net.ministry.public_key
    follower, out, _, served, prepared = first_answer_applied(net, source)
    assert old_signed.tx_id in prepared.checks.verified(0)  # good under the key read ahead
    follower.sync_answer(peer, answer_for(source, out, served))
    assert follower.chain.height == 64


def next_answer_with_block_12_signed_by_the_replaced_set(blocks: int
                                                       ) -> tuple[Engine, Chain, bytes]:
    """Validator 3 is voted out from block 12 by block 9, the last of the first answer.
    The next answer, of `blocks` from 10, waits in the inbox, so its checks are made
    before block 9 executes, against the set they knew, the genesis set; block 12's
    certificate in it is signed by the genesis validators (validator 3 among them). The
    follower once both answers are applied, the source, and that certificate."""
    source, council = voted_source()
    follower, _, _ = follower_of(source, council.ministry2)
    peer = council.ministry.public_key
    genesis_set = follower.validator_sets.at(12)
    block = source.get_block(12)
    assert block is not None
    height, items = decode(serve_blocks(source, encode([10, blocks])) or b"")
    items[2][1] = make_quorum_certificate(list(council.validators), source.chain_id, 12, 0,
                                          block.block_hash, block.header.time_ms + 1_000)
    follower.next_sync_answer = lambda: (peer, encode([height, items]))
    follower.tick([peer])
    follower.sync_answer(peer, serve_blocks(source, encode([1, 9])) or b"")
    prepared = follower._prepared
    assert follower.chain.height == 9 and prepared is not None and prepared.head == 9
    follower.sync_answer(peer, prepared.payload)
    assert (items[2][1] in genesis_set._checked) == (blocks == 3)  # checked ahead if last
    return follower, source, items[2][1]


def test_a_certificate_checked_ahead_by_a_set_replaced_in_the_run_before_is_checked_again(
        ) -> None:
    """Block 12 is the next answer's last, so its certificate is checked ahead: good by
    the genesis set, which remembers it, but the set in force at 12 does not sign it, so
    block 12 is refused."""
    follower, _, _ = next_answer_with_block_12_signed_by_the_replaced_set(3)
    assert follower.chain.height == 11


def test_a_certificate_of_a_replaced_set_served_inside_a_run_is_not_what_is_stored(
        ) -> None:
    """Block 12 is inside the next answer's last run (12-14): the certificate served with
    it is never read, and block 12 is stored with the last commit block 13 carries, which
    the set in force at 12 signed."""
    follower, source, served = next_answer_with_block_12_signed_by_the_replaced_set(64)
    assert follower.chain.height == 14
    block, after = source.get_block(12), follower.chain.get_block(13)
    assert block is not None and after is not None
    assert follower.chain.get_certificate(12) == after.last_commit != served
    assert follower.validator_sets.certifies(after.last_commit, 12, block.block_hash)
