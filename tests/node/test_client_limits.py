"""Per-client fairness: rates per address, forgers slowed then refused, honest ones served."""

from __future__ import annotations

import gzip
import os
from typing import Any

import pytest
from aiohttp import web

from ledger.codec import encode
from ledger.payloads import AnchorPayload
from node.api_public import (
    ANCHOR_BYTES,
    BODY_BYTES_IN_FLIGHT_MAX,
    LIMITS,
    SMALL_SUBMISSION_BYTES,
    SUBMISSION_BYTES,
    VERIFY_BYTES,
)
from node.client_limits import (
    RATES,
    REFUSE_FOR_S,
    SLOW_DELAY_S,
    STRIKES_TO_REFUSE,
    STRIKES_TO_SLOW,
    ClientLimits,
)
from node.public_work import INVALID_SIGNATURES_PER_SUBMISSION_MAX
from tests.node.conftest import Budget, Consortium, make_tx


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def test_rate_per_address_refills_with_time() -> None:
    clock = Clock()
    limits = ClientLimits(clock=clock)
    rate, burst = RATES["verify"]
    served = sum(limits.admit("10.0.0.1", "verify").retry_after_s is None
                 for _ in range(int(burst) + 10))
    assert served == burst
    refused = limits.admit("10.0.0.1", "verify")
    assert refused.retry_after_s is not None and refused.retry_after_s >= 1
    assert limits.admit("10.0.0.2", "verify").retry_after_s is None  # others unaffected
    clock.now += 1.0
    assert sum(limits.admit("10.0.0.1", "verify").retry_after_s is None
               for _ in range(int(rate) + 10)) == rate


def test_forger_is_slowed_then_refused_then_forgiven() -> None:
    clock = Clock()
    limits = ClientLimits(clock=clock)
    assert limits.admit("forger", "transactions", 10).delay_s == 0
    limits.penalise("forger", STRIKES_TO_SLOW)
    assert limits.admit("forger", "transactions", 10).delay_s == SLOW_DELAY_S
    assert limits.admit("honest", "transactions", 10).delay_s == 0
    limits.penalise("forger", STRIKES_TO_REFUSE)
    refused = limits.admit("forger", "transactions", 1)
    assert refused.retry_after_s == pytest.approx(REFUSE_FOR_S)
    assert "invalid signatures" in refused.reason
    assert limits.admit("honest", "transactions", 10) .retry_after_s is None
    clock.now += REFUSE_FOR_S + 1
    assert limits.admit("forger", "transactions", 1).retry_after_s is None


def test_the_table_of_sources_is_bounded_lru() -> None:
    limits = ClientLimits(sources_max=100, clock=Clock())
    limits.penalise("forger", STRIKES_TO_REFUSE)
    for number in range(99):
        limits.admit(f"10.1.{number // 256}.{number % 256}", "verify")
        limits.admit("forger", "verify")  # recently seen: kept
    assert len(limits) == 100
    assert limits.admit("forger", "verify").retry_after_s is not None
    for number in range(500):
        limits.admit(f"10.2.{number // 256}.{number % 256}", "verify")
    assert len(limits) == 100


async def test_a_forging_client_is_refused_and_an_honest_one_served(
        net: Consortium, budget: Budget) -> None:
    # The test client is on 127.0.0.1: as a node behind a proxy (`api.rate_exempt = []`).
    core, client = budget.core, budget.client
    forged = []
    for _ in range(STRIKES_TO_REFUSE):
        tx = make_tx(net.employer, AnchorPayload(os.urandom(32)))
        forged.append(tx.encode()[:-64] + os.urandom(64))  # signature replaced
    response = await client.post("/v1/transactions",
                                 json={"txs": [data.hex() for data in forged]})
    assert response.status == 400
    error = (await response.json())["error"]
    assert error["code"] == "forged_submission"
    assert (f"{INVALID_SIGNATURES_PER_SUBMISSION_MAX} of the first "
            f"{INVALID_SIGNATURES_PER_SUBMISSION_MAX} transactions") in error["message"]
    assert len(core.mempool) == 0
    honest = make_tx(net.employer, AnchorPayload(os.urandom(32)))
    response = await client.post("/v1/transactions", json={"tx": honest.encode().hex()})
    assert response.status == 429 and "Retry-After" in response.headers
    assert (await response.json())["error"]["code"] == "rate_limited"
    # The same transaction from the node's own host (exempt) goes through.
    client.app[LIMITS].exempt = frozenset({"127.0.0.1"})
    response = await client.post("/v1/transactions", json={"tx": honest.encode().hex()})
    assert response.status == 202


def test_the_nodes_own_host_is_exempt_from_rates_but_others_are_not() -> None:
    limits = ClientLimits(clock=Clock())
    limits.penalise("127.0.0.1", STRIKES_TO_REFUSE)
    assert all(limits.admit("127.0.0.1", "verify").retry_after_s is None
               for _ in range(int(RATES["verify"][1]) * 2))
    limits.penalise("127.0.0.2", STRIKES_TO_REFUSE)
    assert limits.admit("127.0.0.2", "verify").retry_after_s is not None


async def test_a_forged_submission_admits_nothing_not_even_its_valid_part(
        net: Consortium, budget: Budget) -> None:
    core, client = budget.core, budget.client
    valid = [make_tx(net.employer, AnchorPayload(os.urandom(32))).encode()
             for _ in range(5)]
    forged = [make_tx(net.employer, AnchorPayload(os.urandom(32))).encode()[:-64]
              + os.urandom(64) for _ in range(INVALID_SIGNATURES_PER_SUBMISSION_MAX)]
    response = await client.post("/v1/transactions",
                                 json={"txs": [d.hex() for d in valid + forged]})
    assert response.status == 400
    assert (await response.json())["error"]["code"] == "forged_submission"
    assert len(core.mempool) == 0
    # One invalid signature fewer is an honest mistake: the valid ones are kept.
    response = await client.post("/v1/transactions", json={
        "txs": [d.hex() for d in valid + forged[1:]]})
    body = await response.json()
    assert response.status == 202 and body["accepted"] == len(valid)
    assert len(core.mempool) == len(valid)




async def test_large_submissions_beyond_the_bytes_in_flight_are_busy_small_ones_pass(
        net: Consortium, budget: Budget) -> None:
    core, app, client = budget.core, budget.app, budget.client
    app[SUBMISSION_BYTES].count = BODY_BYTES_IN_FLIGHT_MAX  # others reading
    large = [make_tx(net.employer, AnchorPayload(os.urandom(32))).encode()
             for _ in range(SMALL_SUBMISSION_BYTES // 100)]
    assert len(encode(large)) > SMALL_SUBMISSION_BYTES
    response = await client.post("/v1/transactions", data=encode(large),
                                 headers={"Content-Type": "application/msgpack"})
    assert response.status == 503 and "Retry-After" in response.headers
    assert (await response.json())["error"]["code"] == "busy"
    assert len(core.mempool) == 0
    small = make_tx(net.employer, AnchorPayload(os.urandom(32)))
    response = await client.post("/v1/transactions", json={"tx": small.encode().hex()})
    assert response.status == 202
    app[SUBMISSION_BYTES].count = 0  # the others were answered
    response = await client.post("/v1/transactions", data=encode(large),
                                 headers={"Content-Type": "application/msgpack"})
    assert response.status == 202 and app[SUBMISSION_BYTES].count == 0


async def test_large_anchored_documents_beyond_the_bytes_in_flight_are_busy(
        budget: Budget) -> None:
    """The byte rate is charged as a body starts, so slow senders held each second's
    worth until the body timeout: ten addresses, each starting two 1 MiB bodies a second
    and holding their last byte, took a validator from 84 to 350 MB."""
    app, client = budget.app, budget.client
    app[ANCHOR_BYTES].count = BODY_BYTES_IN_FLIGHT_MAX  # others reading
    large = os.urandom(SMALL_SUBMISSION_BYTES + 1)
    response = await client.post("/v1/verify/anchor", data=large)
    assert response.status == 503 and "Retry-After" in response.headers
    assert (await response.json())["error"]["code"] == "busy"
    small = await client.post("/v1/verify/anchor", data=b"a small document")
    assert small.status == 200, await small.text()
    app[ANCHOR_BYTES].count = 0  # the others were answered
    response = await client.post("/v1/verify/anchor", data=large)
    assert response.status == 200 and app[ANCHOR_BYTES].count == 0


async def test_large_documents_beyond_the_bytes_in_flight_are_busy(budget: Budget) -> None:
    """Ten addresses sending 256 KiB documents slowly, each within its byte rate, held
    640 of them (the per-address connection cap) and took a validator from 113 to 316 MB."""
    app, client = budget.app, budget.client
    app[VERIFY_BYTES].count = BODY_BYTES_IN_FLIGHT_MAX  # others reading
    large = b'{"padding": "' + b"x" * SMALL_SUBMISSION_BYTES + b'"}'
    response = await client.post("/v1/verify", data=large,
                                 headers={"Content-Type": "application/json"})
    assert response.status == 503 and "Retry-After" in response.headers
    assert (await response.json())["error"]["code"] == "busy"
    small = await client.post("/v1/verify", json={"padding": "x"})
    assert small.status == 200, await small.text()
    app[VERIFY_BYTES].count = 0  # the others were answered
    response = await client.post("/v1/verify", data=large,
                                 headers={"Content-Type": "application/json"})
    assert response.status == 200 and app[VERIFY_BYTES].count == 0


@pytest.mark.parametrize(("path", "budget_key", "content_type"), [
    ("/v1/verify/anchor", ANCHOR_BYTES, "application/octet-stream"),
    ("/v1/verify", VERIFY_BYTES, "application/json"),
    ("/v1/transactions", SUBMISSION_BYTES, "application/json"),
])
async def test_a_compressed_body_is_counted_as_it_inflates(
        budget: Budget, path: str, budget_key: web.AppKey[Any], content_type: str) -> None:
    """aiohttp inflates a Content-Encoding body as it reads it: 32 bodies of 30 KB of
    gzip, each counted as small by its declared length, were 15 MB each once read and
    took a node from 71 to 593 MiB at once. Now counted by what it inflates to, as it is
    read (`node.body_charges.ArrivingBytes`), as a chunked body is."""
    app, client = budget.app, budget.client
    inflated = b'{"padding": "' + b"x" * (2 * SMALL_SUBMISSION_BYTES) + b'"}'
    body = gzip.compress(inflated)
    assert len(body) < SMALL_SUBMISSION_BYTES  # small as declared
    headers = {"Content-Type": content_type, "Content-Encoding": "gzip"}
    # others reading, with no room for what this one inflates to
    app[budget_key].count = BODY_BYTES_IN_FLIGHT_MAX - len(inflated) + 1
    response = await client.post(path, data=body, headers=headers)
    assert response.status == 503 and "Retry-After" in response.headers
    assert (await response.json())["error"]["code"] == "busy"
    assert app[budget_key].count == BODY_BYTES_IN_FLIGHT_MAX - len(inflated) + 1
    app[budget_key].count -= 1  # room for it, just
    response = await client.post(path, data=body, headers=headers)
    assert response.status in (200, 400), await response.text()  # read, then judged
    assert app[budget_key].count == BODY_BYTES_IN_FLIGHT_MAX - len(inflated)


async def test_a_small_compressed_submission_waits_for_no_other_body(
        net: Consortium, budget: Budget) -> None:
    """Counted as the route's whole limit (16 MiB, all of the bytes in flight), a gzip
    submission of 20 transactions was answered 503 busy whenever any other large
    submission was being read, or another gzip one, however small."""
    app, client = budget.app, budget.client
    body = gzip.compress(encode([make_tx(net.employer, AnchorPayload(os.urandom(32))).encode()
                                 for _ in range(20)]))
    headers = {"Content-Type": "application/msgpack", "Content-Encoding": "gzip"}
    app[SUBMISSION_BYTES].count = BODY_BYTES_IN_FLIGHT_MAX // 2  # another being read
    response = await client.post("/v1/transactions", data=body, headers=headers)
    assert response.status == 202, await response.text()
    assert (await response.json())["accepted"] == 20
    assert app[SUBMISSION_BYTES].count == BODY_BYTES_IN_FLIGHT_MAX // 2
