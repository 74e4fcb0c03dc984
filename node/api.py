"""The HTTP API: thin aiohttp handlers over the node core.

Every error is JSON {"error": {"code", "message"}} with a 4xx status (503 when
public work is saturated); bad input never produces a 500. Submission and
verification handlers, with their cost limits, are in `node.api_public`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from prometheus_client import generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from ledger.blocks import Block
from ledger.errors import MalformedInput
from ledger.light_client import MAX_SET_CHANGE_PROOFS
from ledger.offline import make_bundle
from ledger.rules import (
    all_members,
    load_accreditation,
    load_batch,
    load_member,
    load_revocation,
)
from ledger.validator_sets import validator_set_at
from ledger.verification import when
from node import openapi as shapes
from node.api_public import (
    ANCHOR_BODY_MAX,
    CORE,
    LIMITS,
    LONG_POLLS,
    MAX_PROOF_KEYS,
    MAX_STATE_KEY_BYTES,
    MAX_TXS_PER_REQUEST,
    PROOFS_BODY_MAX,
    SUBMISSION_BYTES,
    TRANSACTIONS_BODY_MAX,
    VERIFY_WORK,
    InFlight,
    hex_param,
    read_json,
    submit_transactions,
    transaction_status,
    validator_set_changes,
    verify_anchor_hash,
    verify_document,
    verify_pool,
    within_rate,
)
from node.api_schema import BINARY, ERROR_REF, JSON, Reply, Route, add_routes, openapi_document
from node.client_limits import RATE_EXEMPT_ADDRESSES, ClientLimits
from node.evidence import EVIDENCE_PAGE_MAX, chain_evidence_page, evidence_page
from node.governance_view import governance_json
from node.http_limits import add_cors_headers, json_error
from node.portal import add_portal_routes
from node.service import NodeCore
from node.vc_api import add_vc_routes
from storage.errors import StorageError
from storage.state_tree import StateTree, state_proof_to_json

log = logging.getLogger("senim.api")
# aiohttp's own backstop; each route reads under its own, smaller limit.
MAX_BODY_BYTES = max(TRANSACTIONS_BODY_MAX, ANCHOR_BODY_MAX)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
NODE_NAME = web.AppKey("node_name", str)


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
        message = exc.reason if exc.status != 413 else (
            f"request body exceeds {MAX_BODY_BYTES} bytes")
        kept = {name: value for name, value in exc.headers.items()
                if name in ("Allow", "Retry-After", "Connection")}
        return error(exc.status, code, message, headers=kept)
    except MalformedInput as exc:
        metrics.http_requests.labels("400").inc()
        return error(400, "malformed", str(exc))
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
    return response


def block_json(block: Block, certificate: bytes) -> dict[str, Any]:
    header = block.header
    return {
        "height": header.height, "hash": header.block_hash.hex(),
        "previous_hash": header.previous_hash.hex(), "time_ms": header.time_ms,
        "time": when(header.time_ms), "proposer": header.proposer.hex(), "view": header.view,
        "txs_root": header.txs_root.hex(), "state_root": header.state_root.hex(),
        "validator_set_hash": header.validator_set_hash.hex(), "chain_id": header.chain_id,
        "transactions": [{"tx_id": tx.tx_id.hex(), "kind": tx.kind, "sender": tx.sender.hex()}
                         for tx in block.transactions],
        "certificate": certificate.hex(),
    }


async def get_block(request: web.Request) -> web.StreamResponse:
    core: NodeCore = request.app[CORE]
    try:
        height = int(request.match_info["height"])
    except ValueError as exc:
        raise MalformedInput("height must be an integer") from exc
    if not 0 <= height < 2**63:
        raise MalformedInput("height must be a non-negative integer")
    found = core.block_for_api(height)
    if found is None and height < core.chain.base_height:
        return error(404, "block_not_held", f"block {height} is not held here: this node "
                     f"joined by state sync at block {core.chain.base_height}; ask another node")
    if found is None:
        return error(404, "no_such_block", f"no block at height {height} "
                     f"(head is {core.chain.height})")
    block, certificate = found
    if request.query.get("format") == "raw":
        return web.Response(body=core.chain.get_block_bytes(height),
                            content_type="application/octet-stream")
    return web.json_response(block_json(block, certificate))


async def get_state(request: web.Request) -> web.Response:
    core: NodeCore = request.app[CORE]
    try:
        key = bytes.fromhex(request.match_info["key"])
    except ValueError as exc:
        raise MalformedInput("state key must be hex") from exc
    if not 0 < len(key) <= MAX_STATE_KEY_BYTES:
        raise MalformedInput(f"state key must be 1 to {MAX_STATE_KEY_BYTES} bytes")
    await within_rate(request, "verify")
    value, proof, header = await core.in_worker(_read_with_proof, core, key)
    return web.json_response({
        "chain_id": core.chain_id, "key": key.hex(),
        "value": None if value is None else value.hex(), "proof": state_proof_to_json(proof),
        "height": header.height, "block_hash": header.block_hash.hex(),
        "state_root": header.state_root.hex(),
    })


def _read_with_proof(core: NodeCore, key: bytes) -> tuple[Any, Any, Any]:
    return core.chain.state.get(key), core.chain.state.prove(key), core.chain.head_header


async def state_proofs(request: web.Request) -> web.Response:
    """Several state entries with proofs, all against one certified block (offline proofs)."""
    core: NodeCore = request.app[CORE]
    await within_rate(request, "verify")
    body = await read_json(request, PROOFS_BODY_MAX)
    try:
        keys = [bytes.fromhex(k) for k in body["keys"]]
    except (KeyError, TypeError, ValueError) as exc:
        raise MalformedInput('body must be {"keys": [hex, ...]}') from exc
    if not 0 < len(keys) <= MAX_PROOF_KEYS or not all(0 < len(k) <= MAX_STATE_KEY_BYTES
                                                        for k in keys):
        raise MalformedInput(f"ask for 1 to {MAX_PROOF_KEYS} keys of 1 to "
                             f"{MAX_STATE_KEY_BYTES} bytes")
    return web.json_response(await core.in_worker(_snapshot_proofs, core, keys))


def _snapshot_proofs(core: NodeCore, keys: list[bytes]) -> dict[str, Any]:
    header = core.chain.head_header
    certificate = core.chain.get_certificate(header.height) or b""
    changes = core.chain.set_change_proofs(0, MAX_SET_CHANGE_PROOFS)
    return make_bundle(core.chain.state, header, certificate, keys, changes)


async def get_batch(request: web.Request) -> web.Response:
    core: NodeCore = request.app[CORE]
    issuer_id = hex_param(request, "issuer", 20)
    root = hex_param(request, "root", 32)
    batch = load_batch(core.chain.state, issuer_id, root)
    if batch is None:
        return error(404, "no_such_batch", "this issuer has no batch with this root on chain")
    issuer = load_member(core.chain.state, batch.issuer)
    return web.json_response({
        "root": root.hex(), "issuer": batch.issuer.hex(), "issuer_name": issuer.name if issuer
        else None, "type": batch.credential_type, "count": batch.count,
        "height": batch.height, "time": when(batch.time_ms), "tx_id": batch.tx_id.hex()})


async def get_credential(request: web.Request) -> web.Response:
    core: NodeCore = request.app[CORE]
    issuer_id = hex_param(request, "issuer", 20)
    root = hex_param(request, "root", 32)
    target = hex_param(request, "target", 32)
    revocation = load_revocation(core.chain.state, issuer_id, root, target)
    if revocation is None:
        return web.json_response({"target_hash": target.hex(), "batch_root": root.hex(),
                                  "revoked": False, "height": core.chain.height})
    return web.json_response({
        "target_hash": target.hex(), "revoked": True, "reason": revocation.reason,
        "revoked_at_height": revocation.height, "revoked_at": when(revocation.time_ms),
        "batch_root": revocation.batch_root.hex(), "height": core.chain.height})


async def list_members(request: web.Request) -> web.Response:
    """Every member on chain: genesis members in genesis order, then those added since."""
    core: NodeCore = request.app[CORE]
    state = core.chain.state
    validating = set(validator_set_at(state, core.chain.height + 1).public_keys)
    genesis_order = {m.member_id: i for i, m in enumerate(core.genesis.members)}
    on_chain = sorted(all_members(state), key=lambda item: (
        genesis_order.get(item[0], len(genesis_order)), item[1].added_height, item[0]))
    members = []
    for member_id, record in on_chain:
        accreditation = load_accreditation(state, member_id)
        members.append({
            "member_id": member_id.hex(), "name": record.name, "role": record.role,
            "validator": record.public_key in validating,
            "public_key": record.public_key.hex(), "on_chain": True,
            "added_height": record.added_height, "retired_height": record.retired_height,
            "accreditations": [
                {"types": list(g.types), "from": when(g.not_before_ms),
                 "until": when(g.not_after_ms), "granted_by": g.granted_by.hex(),
                 "granted_height": g.granted_height, "suspended_height": g.suspended_height,
                 "suspend_reason": g.suspend_reason} for g in accreditation.grants]})
    return web.json_response({"members": members})


def _name(state: StateTree, member_id: bytes) -> str:
    record = load_member(state, member_id)
    return record.name if record else member_id.hex()


async def governance(request: web.Request) -> web.Response:
    core: NodeCore = request.app[CORE]
    return web.json_response(governance_json(core.chain.state, core.chain.height))


async def node_status(request: web.Request) -> web.Response:
    core: NodeCore = request.app[CORE]
    provider: StatusProvider = request.app[STATUS]
    head = core.chain.head_header
    state = core.chain.state
    me = load_member(state, core.keys.member_id)
    validators = validator_set_at(state, head.height + 1).validators  # of the next block
    return web.json_response({
        "chain_id": core.chain_id, "node": request.app[NODE_NAME],
        "member_id": core.keys.member_id.hex(), "member": me.name if me else None,
        "validator": any(v.member_id == core.keys.member_id for v in validators),
        "height": head.height, "head_hash": head.block_hash.hex(), "head_time": when(
            head.time_ms), "state_root": head.state_root.hex(),
        "mempool": {"transactions": len(core.mempool), "bytes": core.mempool.size_bytes},
        "consensus": provider.consensus(), "peers": provider.peers(),
        "validators": [{"member_id": v.member_id.hex(), "name": _name(state, v.member_id)}
                       for v in validators],
    })


async def evidence(request: web.Request) -> web.Response:
    core: NodeCore = request.app[CORE]
    try:
        limit = int(request.query.get("limit", str(EVIDENCE_PAGE_MAX)))
        before = int(request.query["before"]) if "before" in request.query else None
    except ValueError as exc:
        raise MalformedInput("limit and before must be integers") from exc
    if limit < 1 or (before is not None and before < 0):
        raise MalformedInput("limit must be positive and before not negative")
    return web.json_response(evidence_page(core.chain.kv, limit, before))


async def chain_evidence(request: web.Request) -> web.Response:
    core: NodeCore = request.app[CORE]
    try:
        limit = int(request.query.get("limit", str(EVIDENCE_PAGE_MAX)))
        after = bytes.fromhex(request.query["after"]) if "after" in request.query else None
    except ValueError as exc:
        raise MalformedInput("limit must be an integer and after a cursor in hex") from exc
    if limit < 1:
        raise MalformedInput("limit must be positive")
    return web.json_response(chain_evidence_page(core.chain.state, limit, after))


async def metrics(request: web.Request) -> web.Response:
    core: NodeCore = request.app[CORE]
    return web.Response(body=generate_latest(core.metrics.registry),
                        headers={"Content-Type": CONTENT_TYPE_LATEST})


_GET_ERRORS = {503: shapes.STORE_DAMAGED}
_PARAM_ERRORS = {400: shapes.BAD_REQUEST, 503: shapes.STORE_DAMAGED}

ROUTES: tuple[Route, ...] = (
    Route("GET", "/metrics", metrics, "Prometheus metrics", {
        200: Reply("Metrics in the Prometheus text format", {"text/plain": shapes.STRING})}),
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
              **shapes.PUBLIC_ERRORS},
          body={JSON: shapes.SUBMISSION, "application/msgpack": BINARY}),
    Route("GET", "/v1/transactions/{tx_id}", transaction_status, "Transaction status; "
          "when too many polls wait, it answers after about a second instead", {
              200: shapes.json_reply("Known to this node", shapes.TX_STATUS),
              404: shapes.json_reply("Unknown to this node", shapes.TX_STATUS), **_PARAM_ERRORS},
          params=(shapes.TX_ID,), query=(shapes.WAIT,)),
    Route("GET", "/v1/blocks/{height}", get_block, "Block header, transaction ids and "
          "commit certificate; ?format=raw for its bytes", {
              200: Reply("The block", {JSON: shapes.BLOCK, "application/octet-stream": BINARY}),
              404: shapes.NOT_FOUND, **_PARAM_ERRORS},
          params=(shapes.HEIGHT,), query=(shapes.BLOCK_FORMAT,)),
    Route("GET", "/v1/state/{key}", get_state, "A state value with its Merkle proof against "
          "the head's state root", {
              200: shapes.json_reply("The value and its proof", shapes.STATE_ENTRY),
              429: shapes.PUBLIC_ERRORS[429], **_PARAM_ERRORS},
          params=(shapes.STATE_KEY,)),
    Route("GET", "/v1/validator-sets/changes", validator_set_changes, "Proofs of the "
          "validator-set changes since genesis, a page at a time: for each, the block "
          "before it with its commit certificate and Merkle proofs of the new set. A light "
          "client follows them to check any block's certificate against the set in force", {
              200: shapes.json_reply("A page of set-change proofs", shapes.SET_CHANGES),
              429: shapes.PUBLIC_ERRORS[429], **_PARAM_ERRORS},
          query=(shapes.SET_CHANGES_AFTER,)),
    Route("POST", "/v1/proofs", state_proofs, "State entries with Merkle proofs against the "
          "head, plus its header and commit certificate: the makings of an offline proof",
          {200: shapes.json_reply("The proof bundle", shapes.PROOF_BUNDLE), 400: shapes.BAD_REQUEST,
           **shapes.PUBLIC_ERRORS}, body={JSON: shapes.PROOF_REQUEST}, cors_preflight=True),
    Route("POST", "/v1/verify", verify_document, "Verify a credential document (text must "
          "be valid Unicode). Any origin may call it (CORS)", {
              200: shapes.json_reply("The verdict, valid or not", shapes.VERDICT),
              400: shapes.BAD_REQUEST,
              **shapes.PUBLIC_ERRORS}, body={JSON: shapes.DOCUMENT}, cors_preflight=True),
    Route("POST", "/v1/verify/anchor", verify_anchor_hash, "Look up an anchored document "
          "(its raw bytes)", {
              200: shapes.json_reply("The verdict", shapes.VERDICT), 400: shapes.BAD_REQUEST,
              **shapes.PUBLIC_ERRORS},
          body={"application/octet-stream": shapes.ANCHORED}, cors_preflight=True),
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
          {200: shapes.json_reply("Governance", shapes.GOVERNANCE), **_GET_ERRORS}),
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
        return web.json_response(document)

    route = Route("GET", "/openapi.json", openapi, "This description (OpenAPI 3.1)",
                  {200: shapes.json_reply("The description", shapes.OPENAPI_DOC)})
    document = openapi_document((route, *routes), shapes.INFO)
    return route


def make_app(core: NodeCore, node_name: str, provider: StatusProvider | None = None,
             rate_exempt: frozenset[str] = RATE_EXEMPT_ADDRESSES) -> web.Application:
    app = web.Application(middlewares=[json_errors], client_max_size=MAX_BODY_BYTES)
    app[CORE] = core
    app[NODE_NAME] = node_name
    app[LIMITS] = ClientLimits(exempt=rate_exempt)
    app[LONG_POLLS] = InFlight()
    app[SUBMISSION_BYTES] = InFlight()
    app.on_response_prepare.append(add_cors_headers)
    app[VERIFY_WORK] = verify = verify_pool()
    core.metrics.public_jobs.set_function(lambda: core.public_work.jobs + verify.jobs)

    async def close_verify_pool(_app: web.Application) -> None:
        verify.close()

    app.on_cleanup.append(close_verify_pool)
    app[STATUS] = provider or StatusProvider()
    add_portal_routes(app)
    routes = ROUTES + add_vc_routes(app, core)
    add_routes(app, (_openapi_route(routes), *routes))
    return app
