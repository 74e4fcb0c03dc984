"""A sync question the serving node will not answer now is told "busy" whatever the
reason (node.sync_serving): every reader in use, or a failed read of the store (logged
once, not per question), as well as a share of the rate too small. Only an asker whose
question says it reads busy answers is told (a release before them passes its server
over for one); the others are left to time out, as before. A busy answer is counted
only once handed to the peer."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import Callable

import pytest

from ledger.chain import Chain
from ledger.codec import decode, encode
from ledger.payloads import AnchorPayload
from node import state_wire
from node.channels import CH_STATE_RESPONSE, CH_SYNC_RESPONSE
from node.network import Network
from node.serve_budget import BUSY_RETRY_MAX_S, SERVE_ALL_BURST_BYTES, ServeBudget
from node.state_serve import StateSnapshots
from node.state_sync import Phase
from node.state_wire import ASK_OFFER
from node.sync import MAX_BLOCKS_PER_RESPONSE
from node.sync_busy import BUSY_MARK, BUSY_READ_BIT, read_busy
from node.sync_serving import READERS_BUSY_RETRY_S, SYNC_SERVES_MAX
from node.validators import ValidatorSets
from storage.errors import AccessRefused, CorruptStateError
from storage.kv import MemoryStore
from tests.node.conftest import Consortium, commit, make_tx
from tests.node.test_client_limits import Clock
from tests.node.test_state_join import config_for
from tests.node.test_state_sync import check_joined, new_sync
from tests.node.test_state_sync import join as join_state

FOLLOWERS = [bytes([i]) * 32 for i in range(1, 50)]
READS_BUSY = encode([1, MAX_BLOCKS_PER_RESPONSE | BUSY_READ_BIT])
READS_NO_BUSY = encode([1, MAX_BLOCKS_PER_RESPONSE])  # a release before busy answers
WAIT_S = 10.0  # the longest a test waits for a condition

Sent = list[tuple[bytes, int, bytes]]


def recording(network: Network, handed: bool = True) -> Sent:
    """The messages `network` sends (peer, channel, payload); `handed`: whether the send
    queues take them."""
    sent: Sent = []

    def send(peer: bytes, channel: int, payload: bytes) -> bool:
        sent.append((peer, channel, payload))
        return handed

    network.peers.send = send  # type: ignore[method-assign,assignment]
    return sent


def busy_told(sent: Sent) -> list[tuple[bytes, int, int | None]]:
    return [(peer, channel, read_busy(payload)) for peer, channel, payload in sent
            if read_busy(payload) is not None]


def grown(net: Consortium, blocks: int = 3) -> Chain:
    chain = Chain(MemoryStore(), net.genesis)
    for _ in range(blocks):
        commit(chain, [make_tx(net.university, AnchorPayload(os.urandom(32)))])
    return chain


async def wait_until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, "the condition never came"
        await asyncio.sleep(0.01)


async def test_a_question_past_the_readers_is_told_busy_briefly(net: Consortium) -> None:
    chain = grown(net)
    network = Network(config_for("server", 0, []), net.genesis, net.ministry)
    sent = recording(network)
    release, lock = threading.Event(), threading.Lock()
    reading: list[int] = []
    read_block = chain.get_block_bytes

    def held_read(height: int) -> bytes | None:
        with lock:
            reading.append(height)
        release.wait(WAIT_S)
        return read_block(height)

    chain.get_block_bytes = held_read  # type: ignore[method-assign]
    serve = network.serve_sync_from(chain)
    readers = asyncio.gather(*(serve(FOLLOWERS[i], READS_BUSY)
                               for i in range(SYNC_SERVES_MAX)))
    await wait_until(lambda: len(reading) == SYNC_SERVES_MAX)
    await serve(FOLLOWERS[SYNC_SERVES_MAX], READS_BUSY)
    await serve(FOLLOWERS[SYNC_SERVES_MAX + 1], READS_NO_BUSY)  # left to time out
    assert busy_told(sent) == [(FOLLOWERS[SYNC_SERVES_MAX], CH_SYNC_RESPONSE,
                                round(READERS_BUSY_RETRY_S * 1000))]
    release.set()
    await readers
    assert sorted(peer for peer, _, payload in sent if read_busy(payload) is None) == sorted(
        FOLLOWERS[:SYNC_SERVES_MAX])  # the readers' answers went out
    assert network.sync_serving.budget.busy == 1


REFUSED_READ = ("the system refuses this user a read of the chain database: IO error: "
                "chain.ldb/000005.ldb: Permission denied")


@pytest.mark.parametrize("failure", ["damaged", "refused"])
async def test_a_failed_read_is_told_busy_at_the_longest_and_logged_once(
        net: Consortium, caplog: pytest.LogCaptureFixture, failure: str) -> None:
    """A read refused to the node's user (a table file's owner or mode) is said so, not as
    damage: it was "store damaged", whose cure gives no file to this user."""
    chain = grown(net)
    network = Network(config_for("server", 0, []), net.genesis, net.ministry)
    sent = recording(network)
    read_block = chain.get_block_bytes
    damaged = True

    def failing_read(height: int) -> bytes | None:
        if damaged and failure == "refused":
            raise AccessRefused(REFUSED_READ)
        if damaged:
            raise CorruptStateError(f"block {height} does not match its hash")
        return read_block(height)

    chain.get_block_bytes = failing_read  # type: ignore[method-assign]
    serve = network.serve_sync_from(chain)
    with caplog.at_level(logging.INFO, logger="senim.network"):
        for follower in FOLLOWERS[:20]:
            await serve(follower, READS_BUSY)
        await serve(FOLLOWERS[20], READS_NO_BUSY)
        assert busy_told(sent) == [(follower, CH_SYNC_RESPONSE, round(BUSY_RETRY_MAX_S * 1000))
                                   for follower in FOLLOWERS[:20]]
        lines = [r.getMessage() for r in caplog.records]
        assert len(lines) == 1, lines
        if failure == "refused":
            assert lines[0] == (
                "not serving blocks (askers told busy until a read succeeds again): "
                f"{REFUSED_READ}; nothing is damaged: the node's files are not readable by "
                "the node's user: fix their owner or mode (or unlock them)"), lines
        else:
            assert lines[0].startswith("store damaged: not serving blocks"), lines
            assert "block 1 does not match its hash" in lines[0], lines
        damaged = False  # mended: served again, and said once
        await serve(FOLLOWERS[21], READS_BUSY)
        await serve(FOLLOWERS[22], READS_BUSY)
    assert [peer for peer, _, payload in sent if read_busy(payload) is None] == [
        FOLLOWERS[21], FOLLOWERS[22]]
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2 and "21 reads" in lines[1], lines


def in_debt(net: Consortium, handed: bool = True) -> tuple[Network, Sent]:
    """A node whose followers' shared rate 40 followers in debt draw on: the next
    follower's question cannot be paid for within the wait allowed."""
    network = Network(config_for("server", 0, []), net.genesis, net.ministry)
    network.sync_serving.budget = ServeBudget(clock=Clock())
    for key in FOLLOWERS[:40]:
        network.sync_serving.budget.charge(key, SERVE_ALL_BURST_BYTES)
    return network, recording(network, handed)


async def test_a_busy_answer_the_send_queue_refused_is_not_counted(net: Consortium) -> None:
    network, sent = in_debt(net, handed=False)
    serve = network.serve_sync_from(grown(net))
    await serve(FOLLOWERS[0], READS_BUSY)
    assert len(busy_told(sent)) == 1 and network.sync_serving.budget.busy == 0
    # nor was it remembered: the peer's next question is told, and this one handed
    sent = recording(network, handed=True)
    await serve(FOLLOWERS[0], READS_BUSY)
    assert len(busy_told(sent)) == 1 and network.sync_serving.budget.busy == 1


async def test_only_an_asker_that_reads_busy_answers_is_told_busy(net: Consortium) -> None:
    network, sent = in_debt(net)
    chain = grown(net)
    serve_blocks = network.serve_sync_from(chain)
    serve_state = network.serve_state_from(StateSnapshots(
        chain.kv, ValidatorSets.for_chain(chain).certifies))
    await serve_blocks(FOLLOWERS[0], READS_NO_BUSY)
    await serve_state(FOLLOWERS[1], encode([ASK_OFFER]))
    assert sent == []  # an earlier release's asker: left to its timeout, as before
    await serve_blocks(FOLLOWERS[2], READS_BUSY)
    await serve_state(FOLLOWERS[3], encode([ASK_OFFER, BUSY_MARK]))
    assert [(peer, channel) for peer, channel, _ in busy_told(sent)] == [
        (FOLLOWERS[2], CH_SYNC_RESPONSE), (FOLLOWERS[3], CH_STATE_RESPONSE)]
    assert len(sent) == 2 and network.sync_serving.budget.busy == 2


async def test_the_mark_changes_no_answer(net: Consortium) -> None:
    """A server of any release answers the question a busy reader asks as it answers
    the same question without the mark: the block count's high bits are taken as the
    most an answer holds, and this release reads a state question's last BUSY_MARK."""
    chain = grown(net, blocks=MAX_BLOCKS_PER_RESPONSE + 2)
    network = Network(config_for("server", 0, []), net.genesis, net.ministry)
    sent = recording(network)
    snapshots = StateSnapshots(chain.kv, ValidatorSets.for_chain(chain).certifies)
    serve_blocks = network.serve_sync_from(chain)
    serve_state = network.serve_state_from(snapshots)
    await serve_blocks(FOLLOWERS[0], READS_BUSY)
    await serve_blocks(FOLLOWERS[0], READS_NO_BUSY)
    await serve_state(FOLLOWERS[0], encode([ASK_OFFER, BUSY_MARK]))
    await serve_state(FOLLOWERS[0], encode([ASK_OFFER]))
    (_, _, marked_blocks), (_, _, blocks), (_, _, marked_offer), (_, _, offer) = sent
    assert marked_blocks == blocks and len(decode(blocks)[1]) == MAX_BLOCKS_PER_RESPONSE
    assert marked_offer == offer and decode(offer)[:2] == [ASK_OFFER, chain.height]


def test_a_joiner_marks_its_questions_once_every_server_reads_the_mark(
        net: Consortium, monkeypatch: pytest.MonkeyPatch) -> None:
    """A server before this release refuses a state question with the mark, so joiners
    send none (MARK_STATE_QUESTIONS); once set, every question ends with it and this
    release's server answers them all."""
    chain = grown(net)
    snapshots = StateSnapshots(chain.kv, ValidatorSets.for_chain(chain).certifies)
    for mark in (False, True):
        monkeypatch.setattr(state_wire, "MARK_STATE_QUESTIONS", mark)
        questions: list[list[object]] = []

        def answer(question: bytes, asked: list[list[object]] = questions) -> bytes | None:
            asked.append(decode(question))
            return snapshots.answer(question)

        sync, kv = new_sync(net), MemoryStore()
        join_state(sync, {FOLLOWERS[0]: answer}, kv)
        assert sync.phase is Phase.DONE and not sync.distrusted
        check_joined(net, chain, kv)
        assert len(questions) > 2
        assert all((question[-1] == BUSY_MARK) is mark for question in questions)
