"""Serving sync is paced per peer (node.serve_budget): a peer asking the same blocks again
and again as fast as it is answered gets its rate of answer bytes, and no more; another
peer, and an honest follower's catch-up, are not held back by it."""

from __future__ import annotations

import asyncio
import os

import pytest

from ledger.chain import Chain
from ledger.codec import encode
from ledger.payloads import AnchorPayload
from node.channels import CH_SYNC_RESPONSE
from node.network import Network
from node.serve_budget import (
    QUESTION_COST_BYTES,
    SERVE_BURST_BYTES,
    SERVE_BYTES_PER_S,
    WAIT_MAX_S,
    ServeBudget,
)
from node.sync import MAX_BLOCKS_PER_RESPONSE, RESPONSE_TIMEOUT_MS
from storage.kv import MemoryStore
from tests.node.conftest import Consortium, commit, make_tx
from tests.node.test_client_limits import Clock
from tests.node.test_state_join import config_for

ABUSER, OTHER = b"\x01" * 32, b"\x02" * 32


def test_a_peer_in_debt_waits_for_it_and_another_peer_does_not() -> None:
    clock = Clock()
    budget = ServeBudget(rate=1_000_000, burst=2_000_000, clock=clock)
    answer = 1_000_000 - QUESTION_COST_BYTES  # costs 1 s of the rate, with its question
    assert budget.wait_s(ABUSER) == 0
    budget.charge(ABUSER, answer)
    budget.charge(ABUSER, answer)  # the burst spent
    assert budget.wait_s(ABUSER) == 0  # not in debt yet: at nought
    budget.charge(ABUSER, answer)
    assert budget.wait_s(ABUSER) == pytest.approx(1.0)
    assert budget.wait_s(OTHER) == 0
    clock.now += 0.5
    assert budget.wait_s(ABUSER) == pytest.approx(0.5)
    clock.now += 0.5
    assert budget.wait_s(ABUSER) == 0
    assert budget.waits == 2


def test_no_wait_is_near_the_askers_timeout() -> None:
    clock = Clock()
    budget = ServeBudget(clock=clock)
    for _ in range(100):
        budget.charge(ABUSER, 5 * 1024 * 1024)
    assert budget.wait_s(ABUSER) == WAIT_MAX_S
    assert WAIT_MAX_S < RESPONSE_TIMEOUT_MS / 1000 / 2


def catch_up_s(blocks: int, blocks_per_s: float, block_bytes: int) -> float:
    """How long a follower applying `blocks_per_s` takes to fetch `blocks` of
    `block_bytes`, asking ahead, from a peer that paces it."""
    clock = Clock()
    budget = ServeBudget(clock=clock)
    started = clock.now
    for _ in range(blocks // MAX_BLOCKS_PER_RESPONSE):
        wait = budget.wait_s(OTHER)
        assert wait is not None, "a follower alone is never dropped"
        clock.now += wait
        budget.charge(OTHER, MAX_BLOCKS_PER_RESPONSE * block_bytes)
        clock.now += MAX_BLOCKS_PER_RESPONSE / blocks_per_s
    return clock.now - started


def test_an_honest_catch_up_stays_fast() -> None:
    """bench.engine's catch-up at its best (1,700 blocks a second of 1.7 KB, in one
    process on a quiet machine) goes at full speed for its burst, then at least 90% of
    it; at 1,000 blocks a second it is never paced, nor is a chain's growth at
    saturation (3,300 transactions of ~190 bytes a second, in blocks of 1,000)."""
    assert catch_up_s(192_000, 1_700, 1_700) <= 192_000 / 1_700 / 0.9
    assert catch_up_s(192_000, 1_000, 1_700) == pytest.approx(192_000 / 1_000)
    assert catch_up_s(19_200, 3.3, 190_000) == pytest.approx(19_200 / 3.3)


async def test_a_peer_asking_blocks_again_and_again_gets_its_rate_and_no_more(
        net: Consortium) -> None:
    chain = Chain(MemoryStore(), net.genesis)
    for _ in range(MAX_BLOCKS_PER_RESPONSE):
        commit(chain, [make_tx(net.university, AnchorPayload(os.urandom(32)))])
    network = Network(config_for("server", 0, []), net.genesis, net.ministry)
    clock = Clock()
    network.sync_serving.budget = ServeBudget(clock=clock)
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.now += seconds

    network.sync_serving.sleep = sleep
    sent: dict[bytes, int] = {ABUSER: 0, OTHER: 0}

    def send(peer: bytes, channel: int, payload: bytes) -> bool:
        assert channel == CH_SYNC_RESPONSE
        sent[peer] += len(payload)
        return peer == OTHER  # the abuser does not read: its queue is full, still charged

    network.peers.send = send  # type: ignore[method-assign,assignment]
    serve = network.serve_sync_from(chain)
    question = encode([1, MAX_BLOCKS_PER_RESPONSE])
    started = clock.now
    for _ in range(2_000):
        await serve(ABUSER, question)
    answered = sent[ABUSER]
    answers_cost = answered + 2_000 * QUESTION_COST_BYTES
    elapsed = clock.now - started
    assert slept, "the abuser was never paced"
    # the burst, the rate, and the debt of the last answer, unpaid
    assert answers_cost <= (SERVE_BURST_BYTES + elapsed * SERVE_BYTES_PER_S
                            + answered / 2_000 + QUESTION_COST_BYTES)
    last = answered / 2_000 + QUESTION_COST_BYTES
    assert elapsed >= (answers_cost - SERVE_BURST_BYTES - last) / SERVE_BYTES_PER_S - 1e-6
    waits = len(slept)
    await serve(OTHER, question)  # another peer is answered at once
    assert len(slept) == waits and sent[OTHER] == answered / 2_000
    await asyncio.sleep(0)
