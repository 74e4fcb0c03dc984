"""The HTTP API: thin aiohttp handlers over the node core.

Every error is JSON {"error": {"code", "message"}} with a 4xx status (503 when
public work is saturated), and `params` beside them when a refusal names specifics (the
member, a height; the field a malformed transaction has wrong): node.http_limits.json_error.
Bad input never produces a 500. Submission handlers, with the cost limits of
every public route, are in `node.api_public`; document verification's in
`node.api_verification`; the read-only routes over the committed chain in `node.api_chain`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from prometheus_client import generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from ledger.errors import MalformedInput
from ledger.key_events import validator_member
from ledger.rules import load_member
from ledger.validator_sets import validator_set_at
from ledger.verification import when
from node import openapi as shapes
from node.answer_pieces import answers_in_pieces
from node.api_chain import (
    BLOCK_ANSWERS,
    BlockAnswers,
    chain_evidence,
    evidence,
    get_batch,
    get_block,
    get_credential,
    get_state,
    governance,
    list_members,
    state_proofs,
)
from node.api_public import (
    ALONE_BUDGET,
    ANCHOR_BODY_MAX,
    ANCHOR_BYTES,
    CORE,
    LIMITS,
    LONG_POLLS,
    SUBMISSION_BYTES,
    TRANSACTIONS_BODY_MAX,
    VERIFY_BYTES,
    VERIFY_WORK,
    submit_transactions,
    transaction_status,
    validator_set_changes,
    verify_pool,
    within_rate,
)
from node.api_schema import (
    BINARY,
    ERROR_REF,
    JSON,
    Reply,
    Route,
    add_routes,
    error_reply,
    openapi_document,
)
from node.api_verification import verify_anchor_hash, verify_document
from node.body_charges import InFlight
from node.checked_while_busy import AloneBudget
from node.client_limits import RATE_EXEMPT_ADDRESSES, ClientLimits
from node.engine_thread import EngineBusy
from node.governance_view import rules_json
from node.http_limits import add_cors_headers, json_error
from node.media_types import ANY_DOCUMENT
from node.portal import add_portal_routes
from node.public_work import RETRY_AFTER_S
from node.service import NodeCore
from node.store_refusals import STORE_UNREADABLE, UNREADABLE_ANSWER, UnreadableStoreLog
from node.submission_body import MAX_TXS_PER_REQUEST
from node.vc_api import add_vc_routes
from node.vc_problems import vc_problems
from storage.errors import AccessRefused, StorageError
from storage.state_tree import StateTree

log = logging.getLogger("senim.api")
# aiohttp's own backstop; each route reads under its own, smaller limit.
MAX_BODY_BYTES = max(TRANSACTIONS_BODY_MAX, ANCHOR_BODY_MAX)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
NODE_NAME = web.AppKey("node_name", str)
UNREADABLE_LOG = web.AppKey("unreadable_store_log", UnreadableStoreLog)


class StatusProvider:
    """Extra status from the consensus/P2P side; the solo node has little to say."""

    def consensus(self) -> dict[str, Any]:
        return {"mode": "solo"}

    def peers(self) -> list[dict[str, Any]]:
        return []


STATUS = web.AppKey("status_provider", StatusProvider)


error = json_error


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    metrics = request.app[CORE].metrics
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        metrics.http_requests.labels(str(exc.status)).inc()
        if exc.content_type == "application/json":
            raise
        code = {404: "not_found", 405: "method_not_allowed",
                413: "body_too_large"}.get(exc.status, "http_error")
        message = exc.reason if exc.status not in (405, 413) else (
            f"request body exceeds {MAX_BODY_BYTES} bytes" if exc.status == 413 else
            f"{request.method} is not answered here; this path answers "
            + exc.headers.get("Allow", "").replace(",", ", "))
        kept = {name: value for name, value in exc.headers.items()
                if name in ("Allow", "Retry-After", "Connection")}
        return error(exc.status, code, message, headers=kept,
                     params={"limit": MAX_BODY_BYTES} if exc.status == 413 else None)
    except MalformedInput as exc:
        metrics.http_requests.labels("400").inc()
        return error(400, "malformed", str(exc), params=exc.refusal_params())
    except EngineBusy as exc:
        # The ledger jobs the API may queue on the engine thread are all taken.
        metrics.public_refusals.labels("busy").inc()
        metrics.http_requests.labels("503").inc()
        return error(503, "busy", f"{exc}; retry shortly",
                     headers={"Retry-After": str(RETRY_AFTER_S)})
    except ConnectionResetError:
        # The client closed the connection before its request was read, or while its
        # long-poll waited: nobody hears this answer, and nothing is wrong with the node.
        metrics.http_requests.labels("400").inc()
        return error(400, "connection_lost", "the connection closed before the request "
                     "was read")
    except AccessRefused as exc:
        # No damage: the node's files are not its user's to read (their owner or mode).
        request.app[UNREADABLE_LOG].refused(request.method, request.path, exc)
        metrics.store_unreadable.inc()
        metrics.http_requests.labels("503").inc()
        return error(503, STORE_UNREADABLE, UNREADABLE_ANSWER)
    except StorageError as exc:
        # Damage found while answering: never a wrong answer, and the operator hears of it.
        log.error("store damaged, not answering %s %s: %s", request.method, request.path, exc)
        metrics.store_damage.inc()
        metrics.http_requests.labels("503").inc()
        return error(503, "store_damaged", "this node's store is damaged and cannot answer "
                     "this; ask another node (its operator has been told)")
    except Exception:
        log.exception("unexpected error serving %s %s", request.method, request.path)
        metrics.http_requests.labels("500").inc()
        return error(500, "internal", "internal error; see the node's log")
    metrics.http_requests.labels(str(response.status)).inc()
    if 200 <= response.status < 400:  # a 4xx may be given before any read (a bad query)
        request.app[UNREADABLE_LOG].answered(request.method, request.path)
    return response


def _name(state: StateTree, member_id: bytes) -> str:
    record = load_member(state, member_id)
    return record.name if record else member_id.hex()


async def node_status(request: web.Request) -> web.Response:
    core: NodeCore = request.app[CORE]
    await within_rate(request, "verify")
    provider: StatusProvider = request.app[STATUS]
    head = core.chain.head_header
    state = core.chain.state
    me = load_member(state, core.keys.member_id)
    validators = validator_set_at(state, head.height + 1).validators  # of the next block
    return web.json_response({
        "chain_id": core.chain_id, "node": request.app[NODE_NAME],
        "member_id": core.keys.member_id.hex(), "member": me.name if me else None,
        "public_key": core.keys.public_key.hex(),
        "validator": any(v.public_key == core.keys.public_key for v in validators),
        "height": head.height, "head_hash": head.block_hash.hex(), "head_time": when(
            head.time_ms), "state_root": head.state_root.hex(),
        "mempool": {"transactions": len(core.mempool), "bytes": core.mempool.size_bytes},
        "consensus": provider.consensus(), "peers": provider.peers(),
        "validators": [{"member_id": member.hex(), "name": _name(state, member)}
                       for member in (validator_member(state, v.public_key)
                                      for v in validators)],
        "rules": rules_json(state, head.height),
    })


async def metrics(request: web.Request) -> web.Response:
    core: NodeCore = request.app[CORE]
    await within_rate(request, "verify")
    return web.Response(body=generate_latest(core.metrics.registry),
                        headers={"Content-Type": CONTENT_TYPE_LATEST})


# Every read is rated (the client's `verify` rate), a transaction's status too
_RATED = {429: shapes.PUBLIC_ERRORS[429]}
_GET_ERRORS = {**_RATED, 503: shapes.STORE_FAULT}
_PARAM_ERRORS = {400: shapes.BAD_REQUEST, **_GET_ERRORS}

ROUTES: tuple[Route, ...] = (
    Route("GET", "/metrics", metrics, "Prometheus metrics", {
        200: Reply("Metrics in the Prometheus text format", {"text/plain": shapes.STRING}),
        **_RATED}),
    Route("GET", "/v1/status", node_status, "Node status: chain, head, mempool, consensus, "
          "peers", {200: shapes.json_reply("Status", shapes.NODE_STATUS), **_GET_ERRORS}),
    Route("POST", "/v1/transactions", submit_transactions,
          f"Submit a signed transaction ({{\"tx\": hex}}) or many ({{\"txs\": [hex]}}, at "
          f"most {MAX_TXS_PER_REQUEST}), or msgpack bytes / an array of bytes; body at most "
          f"{TRANSACTIONS_BODY_MAX // 1024} KiB. 429 with Retry-After past the client's rate "
          "or after many invalid signatures; 503 with Retry-After when the node is busy "
          "checking others. No CORS: writes come from registrars' tools, not web pages", {
              202: shapes.json_reply("Accepted into the mempool (all, or some of many)",
                                     {"oneOf": [shapes.SUBMITTED_ONE, shapes.SUBMITTED_MANY]}),
              400: shapes.json_reply("Refused: an error, or (for many) every one's refusal",
                                     {"oneOf": [ERROR_REF, shapes.SUBMITTED_MANY]}),
              409: error_reply("This node's member is retired, or no longer holds the key "
                               "it signs with: its peers dropped it, so nothing sent here "
                               "commits (node_retired, node_key_replaced)"),
              **shapes.PUBLIC_ERRORS},
          body={JSON: shapes.SUBMISSION, "application/msgpack": BINARY}),
    Route("GET", "/v1/transactions/{tx_id}", transaction_status, "Transaction status; "
          "when too many polls wait, it answers after about a second instead", {
              200: shapes.json_reply("Known to this node", shapes.TX_STATUS),
              404: shapes.json_reply("Unknown to this node", shapes.TX_STATUS),
              **_PARAM_ERRORS},
          params=(shapes.TX_ID,), query=(shapes.WAIT,)),
    Route("GET", "/v1/blocks/{height}", get_block, "Block header, transaction ids and "
          "commit certificate; ?format=raw for its bytes", {
              200: Reply("The block", {JSON: shapes.BLOCK, "application/octet-stream": BINARY}),
              404: shapes.NOT_FOUND, **_PARAM_ERRORS},
          params=(shapes.HEIGHT,), query=(shapes.BLOCK_FORMAT,), head=False),
    Route("GET", "/v1/state/{key}", get_state, "A state value with its Merkle proof against "
          "the head's state root", {
              200: shapes.json_reply("The value and its proof", shapes.STATE_ENTRY),
              **_PARAM_ERRORS},
          params=(shapes.STATE_KEY,), head=False),
    Route("GET", "/v1/validator-sets/changes", validator_set_changes, "Proofs of the "
          "validator-set changes since genesis, a page at a time: for each, the block "
          "before it with its commit certificate and Merkle proofs of the new set. A light "
          "client follows them to check any block's certificate against the set in force", {
              200: shapes.json_reply("A page of set-change proofs", shapes.SET_CHANGES),
              **_PARAM_ERRORS},
          query=(shapes.SET_CHANGES_AFTER,), head=False),
    Route("POST", "/v1/proofs", state_proofs, "State entries with Merkle proofs against the "
          "head, plus its header and commit certificate: the makings of an offline proof",
          {200: shapes.json_reply("The proof bundle", shapes.PROOF_BUNDLE), 400: shapes.BAD_REQUEST,
           **shapes.PUBLIC_ERRORS}, body={JSON: shapes.PROOF_REQUEST}, cors_preflight=True),
    Route("POST", "/v1/verify", verify_document, "Verify a credential document (text must "
          "be valid Unicode). Any origin may call it (CORS). A node too busy to check it "
          "against its chain still answers, 200, a document that fails its own checks "
          "(tampered, malformed, newer_format), within a share of its time for them (one "
          "for each client, and a slice only documents of at most 64 KiB may spend); any "
          "other, and any once that share is spent, is 503 busy", {
              200: shapes.json_reply("The verdict, valid or not", shapes.VERDICT),
              400: shapes.BAD_REQUEST,
              **shapes.PUBLIC_ERRORS}, body={JSON: shapes.DOCUMENT}, cors_preflight=True),
    Route("POST", "/v1/verify/anchor", verify_anchor_hash, "Look up an anchored document "
          "(its raw bytes, hashed as sent: any Content-Type, or none, but a form's, "
          "application/x-www-form-urlencoded or multipart/form-data, 415: a form is an "
          "envelope around the document, or, made by curl -d, the document altered)", {
              200: shapes.json_reply("The verdict", shapes.VERDICT), 400: shapes.BAD_REQUEST,
              **shapes.PUBLIC_ERRORS},
          body={"application/octet-stream": shapes.ANCHORED, ANY_DOCUMENT: shapes.ANCHORED},
          cors_preflight=True),
    Route("GET", "/v1/batches/{issuer}/{root}", get_batch, "A credential batch on chain "
          "(batches are keyed by issuer and root)", {
              200: shapes.json_reply("The batch", shapes.BATCH), 404: shapes.NOT_FOUND,
              **_PARAM_ERRORS},
          params=(shapes.ISSUER, shapes.ROOT)),
    Route("GET", "/v1/batches/{issuer}/{root}/credentials/{target}", get_credential,
          "Revocation status of one credential of a batch", {
              200: shapes.json_reply("Revoked or not", shapes.REVOCATION), **_PARAM_ERRORS},
          params=(shapes.ISSUER, shapes.ROOT, shapes.TARGET)),
    Route("GET", "/v1/members", list_members, "Consortium members and their accreditations",
          {200: shapes.json_reply("Members", shapes.MEMBERS), **_GET_ERRORS}),
    Route("GET", "/v1/governance", governance, "Governance: the policy, its voters, the "
          "validator set from each height, and recent proposals with who voted",
          {200: shapes.json_reply("Governance", shapes.GOVERNANCE), **_GET_ERRORS},
          head=False),
    Route("GET", "/v1/evidence", evidence, "Misbehaviour of validators seen by this node "
          "(signed messages as received; one per validator, kind, height and view; capped), "
          "newest first, a page at a time", {
              200: shapes.json_reply("A page of evidence", shapes.EVIDENCE), **_PARAM_ERRORS},
          query=(shapes.EVIDENCE_LIMIT, shapes.EVIDENCE_BEFORE)),
    Route("GET", "/v1/evidence/chain", chain_evidence, "Equivocation evidence on chain (one "
          "record per validator, kind, height and view; the signed messages are in the "
          "submitting transaction), a page at a time", {
              200: shapes.json_reply("A page of evidence on chain", shapes.CHAIN_EVIDENCE),
              **_PARAM_ERRORS},
          query=(shapes.EVIDENCE_LIMIT, shapes.EVIDENCE_AFTER)),
)


def _openapi_route(routes: tuple[Route, ...]) -> Route:
    async def openapi(request: web.Request) -> web.Response:
        await within_rate(request, "verify")
        return web.Response(body=encoded, content_type="application/json")

    route = Route("GET", "/openapi.json", openapi, "This description (OpenAPI 3.1)",
                  {200: shapes.json_reply("The description", shapes.OPENAPI_DOC), **_RATED})
    # Encoded once: its 66 KB worked out again for each request took 5 ms of the event
    # loop, and 450 requests a second from four addresses took commit p50 from 46 ms to
    # 1.4 s.
    encoded = json.dumps(openapi_document((route, *routes), shapes.INFO)).encode()
    return route


def make_app(core: NodeCore, node_name: str, provider: StatusProvider | None = None,
             rate_exempt: frozenset[str] = RATE_EXEMPT_ADDRESSES) -> web.Application:
    app = web.Application(middlewares=[vc_problems, json_errors, answers_in_pieces],
                          client_max_size=MAX_BODY_BYTES)
    app[CORE] = core
    app[NODE_NAME] = node_name
    app[UNREADABLE_LOG] = UnreadableStoreLog()
    app[BLOCK_ANSWERS] = BlockAnswers()
    app[LIMITS] = ClientLimits(exempt=rate_exempt)
    app[LONG_POLLS] = InFlight()
    app[SUBMISSION_BYTES] = InFlight()
    app[ANCHOR_BYTES] = InFlight()
    app[VERIFY_BYTES] = InFlight()
    app.on_response_prepare.append(add_cors_headers)
    app[VERIFY_WORK] = verify = verify_pool()
    app[ALONE_BUDGET] = AloneBudget()
    core.metrics.public_jobs.set_function(lambda: core.public_work.jobs + verify.jobs)

    async def close_verify_pool(_app: web.Application) -> None:
        verify.close()

    app.on_cleanup.append(close_verify_pool)

    async def end_waits(_app: web.Application) -> None:  # the node is stopping
        core.end_waits()

    app.on_shutdown.append(end_waits)
    app[STATUS] = provider or StatusProvider()
    add_portal_routes(app)
    routes = ROUTES + add_vc_routes(app, core)
    add_routes(app, (_openapi_route(routes), *routes))
    return app
