"""Sync serving shared across followers (node.serve_budget): however many followers ask
as fast as they are answered, together they get the followers' shared rate, each an
equal share of it; a follower asking less than its share, and a validator catching up,
are not slowed; a validator asking without end still gets no more than its own rate."""

from __future__ import annotations

import heapq
import os

import pytest

from ledger.chain import Chain
from ledger.codec import encode
from ledger.payloads import AnchorPayload
from node.channels import CH_SYNC_RESPONSE
from node.network import Network
from node.serve_budget import (
    QUESTION_COST_BYTES,
    SERVE_ALL_BURST_BYTES,
    SERVE_ALL_BYTES_PER_S,
    SERVE_BYTES_PER_S,
    VALIDATOR_SERVE_BURST_BYTES,
    VALIDATOR_SERVE_BYTES_PER_S,
    ServeBudget,
)
from node.sync import MAX_BLOCKS_PER_RESPONSE, RESPONSE_TIMEOUT_MS
from node.sync_busy import read_busy
from storage.kv import MemoryStore
from tests.node.conftest import Consortium, commit, make_tx
from tests.node.test_client_limits import Clock
from tests.node.test_state_join import config_for

MIB = 1024 * 1024
ANSWER = MIB - QUESTION_COST_BYTES  # costs 1 MiB with its question
EVENTS_MAX = 1_000_000  # a bound on the simulation's loop
VALIDATOR = b"\xaa" * 32
GREEDY = [bytes([i]) * 32 for i in range(1, 41)]
HONEST = b"\xee" * 32


def serve(budget: ServeBudget, clock: Clock, askers: dict[bytes, float | None],
          seconds: float) -> tuple[dict[bytes, int], dict[bytes, float]]:
    """Each asker keeps one question open, asking the next as its answer is sent (an
    asker with a rate, in answers a second, asks no sooner than that after its last
    question). A question waits what `budget` says, then is answered and charged; a
    dropped one is asked again at the asker's timeout, as a node of an earlier release
    asks, which reads no busy answer (askers told busy: test_serve_busy). The answers
    each asker got in `seconds`, and how long its questions waited."""
    answered = dict.fromkeys(askers, 0)
    waited = dict.fromkeys(askers, 0.0)
    start = clock.now
    events: list[tuple[float, int, bytes]] = [(start, 0, key) for key in askers]  # asks
    heapq.heapify(events)
    for _ in range(EVENTS_MAX):
        at, kind, key = heapq.heappop(events)
        if at > start + seconds:
            break
        clock.now = at
        if kind == 0:  # a question arrives
            wait = budget.wait_s(key)
            if wait is None:
                heapq.heappush(events, (at + RESPONSE_TIMEOUT_MS / 1000, 0, key))
            else:
                waited[key] += wait
                heapq.heappush(events, (at + wait, 1, key))
        else:  # it is answered
            budget.charge(key, ANSWER)
            answered[key] += 1
            rate = askers[key]
            heapq.heappush(events, (at if rate is None else max(at, at + 1 / rate), 0, key))
    else:
        raise AssertionError("the simulation did not end")
    return answered, waited


@pytest.mark.parametrize("followers", [3, 8, 40])
def test_followers_asking_without_end_share_one_rate_equally(followers: int) -> None:
    clock = Clock()
    budget = ServeBudget(clock=clock)
    seconds = 120.0
    answered, _ = serve(budget, clock, dict.fromkeys(GREEDY[:followers]), seconds)
    total = sum(answered.values()) * MIB
    # The shared rate, the bursts of followers starting at once (each a share of the
    # shared burst), and one answer each still unpaid
    bursts = sum(SERVE_ALL_BURST_BYTES / k for k in range(1, followers + 1))
    assert total <= SERVE_ALL_BYTES_PER_S * seconds + bursts + followers * MIB
    assert total >= 0.8 * SERVE_ALL_BYTES_PER_S * seconds  # the share is used, not lost
    # The first to start had the larger shares of the burst; once it is spent, each
    # gets an equal share: none starved, none well above the others
    answered, _ = serve(budget, clock, dict.fromkeys(GREEDY[:followers]), seconds)
    assert max(answered.values()) <= 1.2 * min(answered.values())
    assert sum(answered.values()) * MIB <= SERVE_ALL_BYTES_PER_S * seconds + followers * MIB


def test_a_follower_asking_under_its_share_is_not_slowed_by_greedy_ones() -> None:
    clock = Clock()
    budget = ServeBudget(clock=clock)
    greedy = 6  # seven followers draw: each's share is 8/7 MiB/s
    askers: dict[bytes, float | None] = {**dict.fromkeys(GREEDY[:greedy]), HONEST: 1.0}
    answered, waited = serve(budget, clock, askers, 60.0)
    assert waited[HONEST] == 0
    assert answered[HONEST] >= 60
    assert sum(answered.values()) * MIB <= (SERVE_ALL_BYTES_PER_S * 60
                                            + 3 * SERVE_ALL_BURST_BYTES + 7 * MIB)


def test_one_follower_alone_or_beside_a_greedy_one_keeps_its_full_rate() -> None:
    clock = Clock()
    budget = ServeBudget(clock=clock)
    askers: dict[bytes, float | None] = {GREEDY[0]: None, HONEST: 3.9}  # 3.9 MiB/s
    answered, waited = serve(budget, clock, askers, 60.0)
    assert waited[HONEST] == 0 and answered[HONEST] >= 3.9 * 60 - 1
    assert budget.share(HONEST) == (SERVE_BYTES_PER_S, SERVE_ALL_BURST_BYTES / 2)


def test_a_catching_up_validator_is_not_slowed_by_many_followers() -> None:
    """At 3.9 MiB/s (a follower's full rate, which 20 followers sharing would each get a
    twentieth of) beside 20 followers asking without end."""
    clock = Clock()
    budget = ServeBudget(clock=clock, is_validator=lambda key: key == VALIDATOR)
    askers: dict[bytes, float | None] = {**dict.fromkeys(GREEDY[:20]), VALIDATOR: 3.9}
    answered, waited = serve(budget, clock, askers, 60.0)
    assert waited[VALIDATOR] == 0 and answered[VALIDATOR] >= 3.9 * 60 - 1
    followers = sum(answered[key] for key in GREEDY[:20]) * MIB
    assert followers <= SERVE_ALL_BYTES_PER_S * 60 + 4 * SERVE_ALL_BURST_BYTES + 20 * MIB


def test_a_validator_asking_without_end_gets_its_own_rate_and_no_more() -> None:
    clock = Clock()
    budget = ServeBudget(clock=clock, is_validator=lambda key: key == VALIDATOR)
    answered, waited = serve(budget, clock, {VALIDATOR: None, GREEDY[0]: None}, 60.0)
    assert waited[VALIDATOR] > 0
    assert answered[VALIDATOR] * MIB <= (VALIDATOR_SERVE_BYTES_PER_S * 60
                                         + VALIDATOR_SERVE_BURST_BYTES + MIB)
    assert answered[VALIDATOR] * MIB >= VALIDATOR_SERVE_BYTES_PER_S * 60
    # and the follower beside it keeps a follower's full rate: the validator is not shared
    assert answered[GREEDY[0]] * MIB >= SERVE_BYTES_PER_S * 60


def test_a_question_whose_share_is_too_small_is_dropped_uncharged() -> None:
    clock = Clock()
    budget = ServeBudget(clock=clock)
    for key in GREEDY:  # forty followers deep in debt, drawing all along
        budget.charge(key, SERVE_ALL_BURST_BYTES)
    budget.charge(HONEST, ANSWER)  # a share of 0.2 MiB/s: its answer takes 3-5 s to pay
    assert budget.wait_s(HONEST) is None and budget.dropped == 1 and budget.waits == 0
    assert budget.wait_s(HONEST) is None and budget.dropped == 2  # asked again at once
    clock.now += RESPONSE_TIMEOUT_MS / 1000  # its asker's timeout: it has paid meanwhile
    assert budget.wait_s(HONEST) == 0


@pytest.mark.parametrize("arguments", [{"rate": 0}, {"all_rate": -1.0}, {"burst": -1},
                                       {"validator_rate": 0}, {"all_burst": -5}])
def test_a_budget_refuses_a_rate_or_burst_that_makes_no_sense(
        arguments: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="serve budget"):
        ServeBudget(**arguments)  # type: ignore[arg-type]


async def test_the_node_serves_its_validators_outside_the_followers_share(
        net: Consortium) -> None:
    chain = Chain(MemoryStore(), net.genesis)
    for _ in range(MAX_BLOCKS_PER_RESPONSE):
        commit(chain, [make_tx(net.university, AnchorPayload(os.urandom(32)))])
    network = Network(config_for("server", 0, []), net.genesis, net.ministry)
    validator = net.genesis.validators[0].public_key
    assert validator in network.validator_keys
    clock = Clock()
    network.sync_serving.budget = ServeBudget(clock=clock, is_validator=network._is_validator)
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.now += seconds

    network.sync_serving.sleep = sleep
    sent: list[bytes] = []

    def send(peer: bytes, channel: int, payload: bytes) -> bool:
        assert channel == CH_SYNC_RESPONSE
        if read_busy(payload) is None:
            sent.append(peer)
        return True

    network.peers.send = send  # type: ignore[method-assign,assignment]
    for key in GREEDY:  # forty followers deep in debt
        network.sync_serving.budget.charge(key, SERVE_ALL_BURST_BYTES)
    serve_blocks = network.serve_sync_from(chain)
    question = encode([1, MAX_BLOCKS_PER_RESPONSE])
    await serve_blocks(GREEDY[0], question)
    assert sent == [] and network.sync_serving.budget.dropped == 1  # told busy, not answered
    await serve_blocks(validator, question)
    assert sent == [validator] and slept == []
