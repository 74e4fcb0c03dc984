"""The API's public work: transaction submission and status, the validator-set changes a
light client follows, and what every public route shares: the client's rates, the public
pools, the bytes of large bodies in flight. Document verification's routes, under the
cost limits named here too, are in `node.api_verification`.

Each runs under a cost limit named here and the client's rate (`node.client_limits`);
checks run in the public pool over a committed view (`node.public_work`), never in
the ledger worker consensus uses.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from aiohttp import web

from ledger.errors import MalformedInput
from ledger.light_client import SetChangeProof
from ledger.verification import when
from node.body_charges import ArrivingBytes, ArrivingRate, InFlight, beyond_burst, no_charge
from node.checked_while_busy import AloneBudget
from node.client_limits import RATES, ClientLimits, Decision
from node.cut_off import cut_off_refusal
from node.http_limits import ArrivalCharge, body_too_large, http_error, json_error, read_body
from node.public_work import (
    RETRY_AFTER_S,
    VERIFY_CPU_SHARE,
    VERIFY_JOBS_MAX,
    VERIFY_WORKERS,
    ForgedSubmission,
    PublicWork,
    PublicWorkBusy,
    parse_json,
)
from node.service import NodeCore
from node.submission_answer import listed_answer
from node.submission_body import MAX_TXS_PER_REQUEST, items_at_most, parse_submission

# Request cost limits, per route.
TRANSACTIONS_BODY_MAX = 16 * 1024 * 1024
# A submission body up to this size, that can hold at most INLINE_PARSE_TXS_MAX items, is
# parsed on the event loop: ~13 µs for 50 transactions in msgpack, ~55 µs in JSON (18 KB),
# and parsing holds the GIL wherever it runs; parsed in the pool, a POST took a median
# 1.66 ms from arrival to check (0.12 ms here) with 4 validators busy on this machine
# (BENCHMARKS.md, session 37). Other bodies are parsed in the pool. The count matters as
# much as the bytes: 32 KiB holds 16,000 empty msgpack byte strings (~2 ms of parsing), or
# 10,000 JSON ones (~0.8 ms); with at most 128 (submission_body.items_at_most) the worst
# bodies found took ~55 µs in msgpack, ~115 µs in JSON (session 37, a loaded machine).
INLINE_PARSE_BYTES_MAX = 32 * 1024
INLINE_PARSE_TXS_MAX = 128
VERIFY_BODY_MAX = 256 * 1024
ANCHOR_BODY_MAX = 16 * 1024 * 1024
PROOFS_BODY_MAX = 64 * 1024
MAX_PROOF_KEYS = 32
MAX_STATE_KEY_BYTES = 128
# Bytes of large bodies being read and checked at once, counted apart for submissions,
# documents and anchored documents: each byte of a submission holds about three in
# memory until answered, and the byte rates are charged as a declared body starts (a
# slow sender holds each second's worth), so a flood of big bodies is answered "busy"
# beyond this instead of growing the node. A body this small never waits (the
# connection cap bounds how many there can be); one sent chunked, or compressed, is
# counted as it arrives, inflated (`node.body_charges`).
BODY_BYTES_IN_FLIGHT_MAX = 16 * 1024 * 1024
SMALL_SUBMISSION_BYTES = 64 * 1024
MAX_WAIT_S = 60.0
# Validator-set change proofs per page (each a header, a certificate, two Merkle proofs).
SET_CHANGES_PAGE_MAX = 16
# Long-polls waiting at once; beyond it a poll answers after a short pause, unregistered.
LONG_POLLS_MAX = 1_000
OVERFLOW_POLL_PAUSE_S = 1.0
# A client over its rate waits this long (at most) for its 429.
REFUSAL_PAUSE_S = 1.0
T = TypeVar("T")
CORE = web.AppKey("core", NodeCore)
LIMITS = web.AppKey("client_limits", ClientLimits)
VERIFY_WORK = web.AppKey("verify_work", PublicWork)
ALONE_BUDGET = web.AppKey("alone_budget", AloneBudget)


LONG_POLLS = web.AppKey("long_polls", InFlight)
SUBMISSION_BYTES = web.AppKey("submission_bytes", InFlight)
ANCHOR_BYTES = web.AppKey("anchor_bytes", InFlight)
VERIFY_BYTES = web.AppKey("verify_bytes", InFlight)


def _source(request: web.Request) -> str:
    return request.remote or "unknown"


async def _rate_refusal(request: web.Request, decision: Decision) -> web.HTTPException:
    """429 for a client over its rate (`decision.retry_after_s`), after a pause."""
    assert decision.retry_after_s is not None
    request.app[CORE].metrics.public_refusals.labels("rate_limited").inc()
    # A quick refusal would only invite the next body at once: answer after a pause,
    # and close the connection rather than read the body this request carries.
    await asyncio.sleep(min(decision.retry_after_s, REFUSAL_PAUSE_S))
    return http_error(web.HTTPTooManyRequests, "rate_limited", decision.reason,
                      headers={"Retry-After": str(int(decision.retry_after_s)),
                               "Connection": "close"})


async def within_rate(request: web.Request, kind: str, cost: float = 1.0) -> None:
    """Apply the client's rate for `kind`: raise 429 when over it, or pause a penalised one."""
    decision = request.app[LIMITS].admit(_source(request), kind, cost)
    if decision.retry_after_s is not None:
        raise await _rate_refusal(request, decision)
    if decision.delay_s:
        request.app[CORE].metrics.public_refusals.labels("slowed").inc()
        await asyncio.sleep(decision.delay_s)


async def within_byte_rate(request: web.Request, limit: int) -> ArrivalCharge:
    """The verification rates: one request, and the body's bytes, charged before it is
    read by its declared length (413 past the byte rate's burst: no wait lets it in), or,
    chunked or compressed, by the bytes read as they arrive: the charge for its reader.
    A body declared past the route's `limit` is refused (413) before anything is charged:
    admitted first, its bytes were charged once here and again as its refusal drained."""
    declared = request.content_length
    if declared is not None and declared > limit:
        raise body_too_large(request, limit, declared)
    await within_rate(request, "verify")
    limits, path = request.app[LIMITS], request.path
    rate = RATES["verify_bytes"][0]
    # (by its declared length, 3 KB of gzip carried 3 MiB past the burst, at will)
    if declared is None or _compressed(request):
        return ArrivingRate(limits, _source(request), "verify_bytes",
                            lambda burst: beyond_burst(path, "bytes", burst, rate),
                            lambda decision: _rate_refusal(request, decision), asyncio.sleep)
    cost = min(declared, limit)
    burst = limits.never_fits(_source(request), "verify_bytes", cost)
    if burst is not None:
        raise beyond_burst(path, "bytes", int(burst), rate, cost)
    await within_rate(request, "verify_bytes", cost)
    return no_charge


async def public(request: web.Request, func: Callable[..., Any], *args: Any,
                 pool: PublicWork | None = None) -> Any:
    """Run public work in `pool` (the admission pool by default), or answer 503 +
    Retry-After when it is full."""
    try:
        return await (pool or request.app[CORE].public_work).run(func, *args)
    except PublicWorkBusy as exc:
        raise busy_refusal(request, exc) from exc


def busy_refusal(request: web.Request, exc: PublicWorkBusy,
                 reason: str = "busy") -> web.HTTPException:
    """503 + Retry-After for work a full pool refused, counted under `reason`."""
    request.app[CORE].metrics.public_refusals.labels(reason).inc()
    return http_error(web.HTTPServiceUnavailable, "busy", f"{exc}; retry shortly",
                      headers={"Retry-After": str(RETRY_AFTER_S)})


def hex_param(request: web.Request, name: str, size: int) -> bytes:
    try:
        value = bytes.fromhex(request.match_info[name])
    except ValueError:
        value = b""
    if len(value) != size:
        raise web.HTTPBadRequest(
            text=json.dumps({"error": {"code": "bad_parameter",
                                       "message": f"{name} must be {size} bytes of hex"}}),
            content_type="application/json")
    return value


async def read_json(request: web.Request, limit: int) -> Any:
    """A JSON body of at most `limit` bytes, parsed and cost-checked in the public pool."""
    body = await read_body(request, limit)
    return await public(request, parse_json, body, pool=request.app[VERIFY_WORK])


def _compressed(request: web.Request) -> bool:  # aiohttp inflates it as it is read
    return request.headers.get("Content-Encoding", "").strip(" \t").lower() not in ("", "identity")


def _busy_with_large(request: web.Request, what: str) -> web.HTTPException:
    request.app[CORE].metrics.public_refusals.labels("busy").inc()
    return http_error(web.HTTPServiceUnavailable, "busy",
                      f"the node is checking other large {what}; retry shortly",
                      headers={"Retry-After": str(RETRY_AFTER_S), "Connection": "close"})


@contextlib.asynccontextmanager
async def large_body(request: web.Request, budget: web.AppKey[InFlight], limit: int,
                     what: str) -> AsyncIterator[ArrivalCharge]:
    """Count a body larger than SMALL_SUBMISSION_BYTES against the route's bytes in
    flight, or answer 503 busy when that would pass BODY_BYTES_IN_FLIGHT_MAX: one always
    gets in, a small one never waits. A declared body counts its length before it is
    read; one sent chunked, or compressed, by the bytes that arrive, inflated (32 gzip
    bodies of 30 KB, each small as declared, took a node from 71 to 593 MiB at once),
    through the charge yielded for the body's reader."""
    declared = request.content_length
    in_flight = request.app[budget]
    if declared is None or _compressed(request):
        arriving = ArrivingBytes(in_flight, SMALL_SUBMISSION_BYTES, BODY_BYTES_IN_FLIGHT_MAX,
                                 lambda: _busy_with_large(request, what))
        try:
            yield arriving
        finally:
            arriving.release()
        return
    size = min(declared, limit)
    if size <= SMALL_SUBMISSION_BYTES:
        yield no_charge
        return
    if in_flight.count and in_flight.count + size > BODY_BYTES_IN_FLIGHT_MAX:
        raise _busy_with_large(request, what)
    in_flight.count += size
    try:
        yield no_charge
    finally:
        in_flight.count -= size


async def submit_transactions(request: web.Request) -> web.Response:
    await within_rate(request, "transactions", 0)
    async with large_body(request, SUBMISSION_BYTES, TRANSACTIONS_BODY_MAX,
                          "submissions") as arriving:
        return await _submit(request, arriving)


async def _submit(request: web.Request, arriving: ArrivalCharge) -> web.Response:
    core: NodeCore = request.app[CORE]
    refused = cut_off_refusal(core)
    if refused is not None:
        return refused
    body = await read_body(request, TRANSACTIONS_BODY_MAX, (arriving,))
    if (len(body) <= INLINE_PARSE_BYTES_MAX
            and items_at_most(request.content_type, body) <= INLINE_PARSE_TXS_MAX):
        items, single = parse_submission(request.content_type, body)
    else:
        items, single = await public(request, parse_submission, request.content_type, body)
    if not items or len(items) > MAX_TXS_PER_REQUEST:
        raise MalformedInput(f"send 1 to {MAX_TXS_PER_REQUEST} transactions per request")
    await within_rate(request, "transactions", len(items))
    try:
        results = await core.submit(items)
    except ForgedSubmission as exc:
        # Every item counts: the whole batch came from a source forging signatures.
        request.app[LIMITS].penalise(_source(request), exc.items)
        core.metrics.txs_refused.labels(exc.code).inc(exc.items)
        return json_error(400, exc.code, exc.message)
    if results and all(refusal is not None and refusal.code == "busy"  # so none forged
                       for _, refusal in results):
        core.metrics.public_refusals.labels("busy").inc()
        raise http_error(web.HTTPServiceUnavailable, "busy", "the node is checking other "
                         "submissions; retry shortly", headers={"Retry-After": str(RETRY_AFTER_S)})
    if single:
        tx_id, refusal = results[0]
        if refusal is not None:
            if refusal.code == "bad_signature":
                request.app[LIMITS].penalise(_source(request), 1)
            status = 429 if refusal.code in ("mempool_full", "sender_limit") else 400
            return json_error(status, refusal.code, refusal.message, params=refusal.params)
        assert tx_id is not None
        return web.json_response({"tx_id": tx_id.hex(), "status": "pending"}, status=202)
    answer = await listed_answer(results)  # a step at a time: 20,000 held the loop 16 ms
    request.app[LIMITS].penalise(_source(request), answer.forged)
    return web.Response(text=answer.text, content_type="application/json",
                        status=202 if answer.accepted else 400)


async def _while_connected(request: web.Request, waiting: Awaitable[T]) -> T:
    """`waiting`, ended early when the client's connection is gone: 1,000 long-polls
    opened and dropped at once held every place for their whole wait, each honest poll
    then answered after a second. Where the server's handler does not say (a test
    server's), simply `waiting`."""
    gone: asyncio.Event | None = getattr(request.protocol, "gone", None)
    if gone is None:
        return await waiting
    answer = asyncio.ensure_future(waiting)
    left = asyncio.ensure_future(gone.wait())
    try:
        done, _ = await asyncio.wait((answer, left), return_when=asyncio.FIRST_COMPLETED)
    finally:
        left.cancel()
        if not answer.done():
            answer.cancel()  # the client left, or this handler is being cancelled
    if answer not in done:
        # nobody hears an answer; node.api.json_errors says so without logging
        raise ConnectionResetError("the client left while its long-poll waited")
    return answer.result()


async def transaction_status(request: web.Request) -> web.Response:
    core: NodeCore = request.app[CORE]
    # Rated as every read: unrated, one address asked 1,681 times a second (wait=0,
    # pipelined) and the testnet's commit p50 went from 43 to 205 ms.
    await within_rate(request, "verify")
    tx_id = hex_param(request, "tx_id", 32)
    try:
        wait_s = min(float(request.query.get("wait", "0")), MAX_WAIT_S)
    except ValueError as exc:
        raise MalformedInput("wait must be a number of seconds") from exc
    if math.isnan(wait_s):
        raise MalformedInput("wait must be a number of seconds")
    polls = request.app[LONG_POLLS]
    if wait_s > 0 and polls.count >= LONG_POLLS_MAX:
        # Too many waiting: answer soon without registering a waiter.
        await asyncio.sleep(min(wait_s, OVERFLOW_POLL_PAUSE_S))
        wait_s = 0
    waiting = 1 if wait_s > 0 else 0
    polls.count += waiting
    try:
        status = await _while_connected(request, core.wait_for(tx_id, wait_s))
    finally:
        polls.count -= waiting
    body: dict[str, Any] = {"tx_id": tx_id.hex(), "status": status.status}
    if status.height is not None:
        header = core.header_at(status.height)
        body.update({"height": status.height, "index": status.index,
                     "block_hash": header.block_hash.hex() if header else None,
                     "time": when(header.time_ms) if header else None})
    if status.code is not None:
        body.update({"code": status.code, "reason": status.reason})
    if status.params:
        body["params"] = status.params
    return web.json_response(body, status=404 if status.status == "unknown" else 200)


async def validator_set_changes(request: web.Request) -> web.Response:
    """The proofs a light client follows from genesis to the set in force at the head:
    for each change above block `after`, the block before it, its certificate, and its
    state's validator-set index and new set with Merkle proofs."""
    core: NodeCore = request.app[CORE]
    try:
        after = int(request.query.get("after", "0"))
    except ValueError as exc:
        raise MalformedInput("after must be an integer") from exc
    if not 0 <= after < 2**63:
        raise MalformedInput("after must be a non-negative integer")
    await within_rate(request, "verify")
    proofs: list[SetChangeProof] = await core.in_worker(
        core.chain.set_change_proofs, after, SET_CHANGES_PAGE_MAX + 1)
    return web.json_response({
        "chain_id": core.chain_id, "after": after,
        "changes": [proof.to_json() for proof in proofs[:SET_CHANGES_PAGE_MAX]],
        "more": len(proofs) > SET_CHANGES_PAGE_MAX})


def verify_pool() -> PublicWork:
    return PublicWork(VERIFY_WORKERS, VERIFY_JOBS_MAX, VERIFY_CPU_SHARE)
