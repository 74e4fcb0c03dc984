"""A body sent chunked (no Content-Length) is charged by the bytes that arrive: the
byte rate and the bytes in flight. Before, it was charged its route's whole limit."""

from __future__ import annotations

import gzip
import os
import time
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from ledger.codec import encode
from ledger.payloads import AnchorPayload
from node import client_limits
from node.api_public import (
    ANCHOR_BYTES,
    BODY_BYTES_IN_FLIGHT_MAX,
    SMALL_SUBMISSION_BYTES,
    SUBMISSION_BYTES,
    VERIFY_BYTES,
)
from node.body_charges import ArrivingRate
from node.client_limits import (
    ARRIVING_HELD_MAX_S,
    ARRIVING_WAIT_MAX_S,
    RATES,
    ClientLimits,
    Decision,
)
from tests.node.conftest import Budget, Consortium, make_tx

PIECE = 16 * 1024


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def chunked(data: bytes) -> AsyncIterator[bytes]:
    """`data` as aiohttp's client sends a generator: Transfer-Encoding chunked."""
    async def pieces() -> AsyncIterator[bytes]:
        for start in range(0, len(data), PIECE):
            yield data[start:start + PIECE]
    return pieces()


async def test_a_chunked_anchored_document_is_charged_the_bytes_that_arrive(
        budget: Budget) -> None:
    """It was charged 16 MiB against a 2 MiB burst: always 429, its Retry-After (14 s)
    never enough."""
    for _ in range(5):
        response = await budget.client.post("/v1/verify/anchor",
                                          data=chunked(os.urandom(20_000)))
        assert response.status == 200, await response.text()
        assert (await response.json())["status"] == "unknown"
    response = await budget.client.post("/v1/verify", data=chunked(b'{"padding": "x"}'),
                                      headers={"Content-Type": "application/json"})
    assert response.status == 200, await response.text()
    assert budget.app[ANCHOR_BYTES].count == budget.app[VERIFY_BYTES].count == 0


async def test_a_body_past_the_byte_rate_burst_is_too_large_not_asked_to_wait(
        budget: Budget, monkeypatch: pytest.MonkeyPatch) -> None:
    """A body no wait lets through (2 MiB and more to /v1/verify/anchor) was refused 429
    with a Retry-After after which it was refused the same way; now 413, naming the most
    this address may send at once."""
    burst = 200_000  # as 2 MiB at 1 MiB/s is, but quicker to wait for
    monkeypatch.setitem(client_limits.RATES, "verify_bytes", (1_000_000.0, float(burst)))
    large = os.urandom(burst + 1)
    # Declared, refused before it is read; chunked, once more than the burst arrived.
    # Within it, each passes (a chunked one is held back until the bucket refills).
    for data, status in ((large, 413), (large[:-2], 200),
                         (chunked(large), 413), (chunked(large[:-2]), 200)):
        response = await budget.client.post("/v1/verify/anchor", data=data)
        assert response.status == status, await response.text()
        if status == 200:
            continue
        assert "Retry-After" not in response.headers
        error = (await response.json())["error"]
        assert error["code"] == "body_too_large" and error["params"] == {"limit": burst}
        assert f"exceeds {burst} bytes for /v1/verify/anchor" in error["message"]
    assert budget.app[ANCHOR_BYTES].count == 0


async def test_a_compressed_body_is_charged_the_bytes_it_inflates_to(
        budget: Budget, monkeypatch: pytest.MonkeyPatch) -> None:
    """Charged its declared (compressed) length, 3 KB of gzip carried 3 MiB of zeros to
    /v1/verify/anchor, past the 2 MiB burst, three times a second; the same body sent
    chunked was 413."""
    burst = 200_000
    monkeypatch.setitem(client_limits.RATES, "verify_bytes", (1_000_000.0, float(burst)))
    for size, status in ((burst + 1, 413), (burst // 2, 200)):
        for _ in range(2):
            response = await budget.client.post(
                "/v1/verify/anchor", data=gzip.compress(bytes(size)),
                headers={"Content-Encoding": "gzip"})
            assert response.status == status, await response.text()
    assert budget.app[ANCHOR_BYTES].count == 0


async def test_a_chunked_body_is_held_back_to_the_byte_rate_not_refused(
        budget: Budget, monkeypatch: pytest.MonkeyPatch) -> None:
    rate, burst = 100_000.0, 200_000.0
    monkeypatch.setitem(client_limits.RATES, "verify_bytes", (rate, burst))
    body = os.urandom(150_000)
    response = await budget.client.post("/v1/verify/anchor", data=chunked(body))
    assert response.status == 200, await response.text()
    started = time.monotonic()
    response = await budget.client.post("/v1/verify/anchor", data=chunked(body))
    assert response.status == 200, await response.text()
    # 50,000 bytes were left: the other 100,000 arrive as fast as the rate refills.
    assert time.monotonic() - started >= 0.5


async def test_a_chunked_submission_is_counted_in_flight_by_the_bytes_that_arrive(
        net: Consortium, budget: Budget) -> None:
    """It was counted as 16 MiB: busy whenever another large body was being read."""
    core, app, client = budget.core, budget.app, budget.client
    app[SUBMISSION_BYTES].count = BODY_BYTES_IN_FLIGHT_MAX // 2  # another being read
    small = encode([make_tx(net.employer, AnchorPayload(os.urandom(32))).encode()
                    for _ in range(20)])
    large = encode([make_tx(net.employer, AnchorPayload(os.urandom(32))).encode()
                    for _ in range(SMALL_SUBMISSION_BYTES // 100)])
    assert len(small) < SMALL_SUBMISSION_BYTES < len(large)
    for data in (small, large):
        response = await client.post("/v1/transactions", data=chunked(data),
                                     headers={"Content-Type": "application/msgpack"})
        assert response.status == 202, await response.text()
    assert app[SUBMISSION_BYTES].count == BODY_BYTES_IN_FLIGHT_MAX // 2
    assert len(core.mempool) == 20 + SMALL_SUBMISSION_BYTES // 100
    # Past the budget while others hold some of it: busy, and nothing is kept counted.
    app[SUBMISSION_BYTES].count = BODY_BYTES_IN_FLIGHT_MAX - SMALL_SUBMISSION_BYTES
    response = await client.post("/v1/transactions", data=chunked(large),
                                 headers={"Content-Type": "application/msgpack"})
    assert response.status == 503 and "Retry-After" in response.headers
    assert (await response.json())["error"]["code"] == "busy"
    assert app[SUBMISSION_BYTES].count == BODY_BYTES_IN_FLIGHT_MAX - SMALL_SUBMISSION_BYTES


def test_a_charge_goes_into_debt_and_says_how_long_to_hold_the_sender_back() -> None:
    clock = Clock()
    limits = ClientLimits(clock=clock, exempt=frozenset())
    rate, burst = RATES["verify_bytes"]
    assert limits.charge("10.0.0.1", "verify_bytes", burst).delay_s == 0
    held = limits.charge("10.0.0.1", "verify_bytes", rate / 2)
    assert held.retry_after_s is None and held.delay_s == pytest.approx(0.5)
    assert limits.never_fits("10.0.0.1", "verify_bytes", burst) is None
    assert limits.never_fits("10.0.0.1", "verify_bytes", burst + 1) == burst
    assert ClientLimits().never_fits("127.0.0.1", "verify_bytes", burst + 1) is None


def test_a_charge_refused_for_its_wait_names_one_after_which_a_burst_passes() -> None:
    """Several bodies of one address took its tokens far into debt."""
    clock = Clock()
    limits = ClientLimits(clock=clock, exempt=frozenset())
    rate, burst = RATES["verify_bytes"]
    taken = 0
    for _ in range(20):
        refused = limits.charge("10.0.0.1", "verify_bytes", burst)
        if refused.retry_after_s is not None:
            break
        taken += 1
    assert refused.retry_after_s is not None and refused.retry_after_s >= 1
    assert taken == 1 + int(ARRIVING_WAIT_MAX_S * rate // burst)  # held back up to 10 s
    assert "per second" in refused.reason
    clock.now += refused.retry_after_s
    held_s = 0.0
    for _ in range(int(burst) // PIECE):  # a whole burst, a piece at a time, as it arrives
        held = limits.charge("10.0.0.1", "verify_bytes", PIECE,
                             ARRIVING_WAIT_MAX_S - held_s)
        assert held.retry_after_s is None
        held_s += held.delay_s
        clock.now += held.delay_s
    assert held_s <= ARRIVING_WAIT_MAX_S


async def test_a_chunked_body_is_held_back_at_most_the_wait_in_all_then_refused() -> None:
    """Each piece's wait was short, but other bodies of its sender, adding to its debt,
    made them add up: held back past BODY_READ_TIMEOUT_S, the body would be cut off 408
    for the node's waiting, its sender told it was too slow."""
    clock = Clock()
    limits = ClientLimits(clock=clock, exempt=frozenset())
    rate, burst = RATES["verify_bytes"]
    assert limits.charge("10.0.0.1", "verify_bytes", burst + 9 * rate).delay_s == 9
    paused: list[float] = []

    async def pause(seconds: float) -> None:
        paused.append(seconds)
        clock.now += seconds

    async def refused(decision: Decision) -> web.HTTPException:
        return web.HTTPTooManyRequests(reason=decision.reason)

    arriving = ArrivingRate(limits, "10.0.0.1", "verify_bytes",
                            lambda burst: web.HTTPRequestEntityTooLarge(burst, 0),
                            refused, pause)
    with pytest.raises(web.HTTPTooManyRequests):
        for _ in range(int(burst) // PIECE):
            for _ in range(10):  # ten other bodies' pieces arrive meanwhile
                assert limits.charge("10.0.0.1", "verify_bytes", PIECE).retry_after_s is None
            await arriving(PIECE)
    assert max(paused) < ARRIVING_WAIT_MAX_S
    assert ARRIVING_HELD_MAX_S - 1 < sum(paused) <= ARRIVING_HELD_MAX_S
