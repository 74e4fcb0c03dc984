"""The HTTP API: thin aiohttp handlers over the node core.

Every error is JSON {"error": {"code", "message"}} with a 4xx status; bad input
never produces a 500.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from prometheus_client import generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from ledger.blocks import Block
from ledger.codec import decode
from ledger.errors import MalformedInput
from ledger.facts import LocalFacts
from ledger.offline import make_bundle
from ledger.rules import load_accreditation, load_batch, load_member, load_revocation
from ledger.verification import verify_anchor, verify_credential, when
from node.evidence import list_evidence
from node.openapi import OPENAPI
from node.portal import add_portal_routes
from node.service import NodeCore
from storage.state_tree import state_proof_to_json

log = logging.getLogger("senim.api")
MAX_BODY_BYTES = 64 * 1024 * 1024
MAX_TXS_PER_REQUEST = 20_000
# Each submission's signatures are checked in the ledger worker that consensus
# shares; a cap keeps a crowd of uploads from queueing seconds of work ahead of it.
MAX_CONCURRENT_SUBMISSIONS = 8
MAX_WAIT_S = 60.0
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
CORE = web.AppKey("core", NodeCore)
NODE_NAME = web.AppKey("node_name", str)


@dataclass
class InFlight:
    count: int = 0


SUBMISSIONS = web.AppKey("submissions_in_flight", InFlight)


class StatusProvider:
    """Extra status from the consensus/P2P side; the solo node has little to say."""

    def consensus(self) -> dict[str, Any]:
        return {"mode": "solo"}

    def peers(self) -> list[dict[str, Any]]:
        return []


STATUS = web.AppKey("status_provider", StatusProvider)


def error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


def _hex_param(request: web.Request, name: str, size: int) -> bytes:
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
        return error(exc.status, code, message)
    except MalformedInput as exc:
        metrics.http_requests.labels("400").inc()
        return error(400, "malformed", str(exc))
    except Exception:
        log.exception("unexpected error serving %s %s", request.method, request.path)
        metrics.http_requests.labels("500").inc()
        return error(500, "internal", "internal error; see the node's log")
    metrics.http_requests.labels(str(response.status)).inc()
    return response


async def _read_json(request: web.Request) -> Any:
    try:
        return await request.json(loads=json.loads)
    except (ValueError, UnicodeDecodeError, LookupError) as exc:
        raise MalformedInput(f"body is not valid JSON: {exc}") from exc
    except RecursionError as exc:
        raise MalformedInput("body is not valid JSON: nested too deeply") from exc


async def _submitted_transactions(request: web.Request) -> tuple[list[bytes], bool]:
    """Transactions from a msgpack body (bytes or array of bytes) or JSON hex."""
    if request.content_type == "application/msgpack":
        value = decode(await request.read()) if request.can_read_body else None
        if isinstance(value, bytes):
            return [value], True
        if isinstance(value, list) and all(isinstance(v, bytes) for v in value):
            return value, False
        raise MalformedInput("msgpack body must be a transaction or an array of them")
    body = await _read_json(request)
    try:
        if isinstance(body, dict) and isinstance(body.get("tx"), str):
            return [bytes.fromhex(body["tx"])], True
        if isinstance(body, dict) and isinstance(body.get("txs"), list):
            return [bytes.fromhex(t) for t in body["txs"]], False
    except (TypeError, ValueError) as exc:
        raise MalformedInput("transactions must be hex strings") from exc
    raise MalformedInput('JSON body must be {"tx": hex} or {"txs": [hex, ...]}')


async def submit_transactions(request: web.Request) -> web.Response:
    core: NodeCore = request.app[CORE]
    items, single = await _submitted_transactions(request)
    if not items or len(items) > MAX_TXS_PER_REQUEST:
        raise MalformedInput(f"send 1 to {MAX_TXS_PER_REQUEST} transactions per request")
    in_flight = request.app[SUBMISSIONS]
    if in_flight.count >= MAX_CONCURRENT_SUBMISSIONS:
        return error(429, "busy", f"{MAX_CONCURRENT_SUBMISSIONS} submissions are being "
                     "checked; retry shortly")
    in_flight.count += 1
    try:
        results = await core.submit(items)
    finally:
        in_flight.count -= 1
    if single:
        tx_id, refusal = results[0]
        if refusal is not None:
            status = 429 if refusal.code in ("mempool_full", "sender_limit") else 400
            return error(status, refusal.code, refusal.message)
        assert tx_id is not None
        return web.json_response({"tx_id": tx_id.hex(), "status": "pending"}, status=202)
    listed = [{"tx_id": tx_id.hex() if tx_id else None,
               "status": "pending" if refusal is None else "rejected",
               **({} if refusal is None else {"code": refusal.code,
                                               "reason": refusal.message})}
              for tx_id, refusal in results]
    accepted = sum(1 for _, refusal in results if refusal is None)
    return web.json_response({"accepted": accepted, "rejected": len(results) - accepted,
                              "results": listed}, status=202 if accepted else 400)


async def transaction_status(request: web.Request) -> web.Response:
    core: NodeCore = request.app[CORE]
    tx_id = _hex_param(request, "tx_id", 32)
    try:
        wait_s = min(float(request.query.get("wait", "0")), MAX_WAIT_S)
    except ValueError as exc:
        raise MalformedInput("wait must be a number of seconds") from exc
    if math.isnan(wait_s):
        raise MalformedInput("wait must be a number of seconds")
    status = await core.wait_for(tx_id, wait_s)
    body: dict[str, Any] = {"tx_id": tx_id.hex(), "status": status.status}
    if status.height is not None:
        header = core.chain.get_block(status.height)
        body.update({"height": status.height, "index": status.index,
                     "block_hash": header.block_hash.hex() if header else None,
                     "time": when(header.header.time_ms) if header else None})
    if status.code is not None:
        body.update({"code": status.code, "reason": status.reason})
    return web.json_response(body, status=404 if status.status == "unknown" else 200)


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
    if not 0 < len(key) <= 128:
        raise MalformedInput("state key must be 1 to 128 bytes")
    value, proof, header = await core.in_worker(_read_with_proof, core, key)
    return web.json_response({
        "chain_id": core.chain_id, "key": key.hex(),
        "value": None if value is None else value.hex(), "proof": state_proof_to_json(proof),
        "height": header.height, "block_hash": header.block_hash.hex(),
        "state_root": header.state_root.hex(),
    })


def _read_with_proof(core: NodeCore, key: bytes) -> tuple[Any, Any, Any]:
    return core.chain.state.get(key), core.chain.state.prove(key), core.chain.head_header


MAX_PROOF_KEYS = 32


async def state_proofs(request: web.Request) -> web.Response:
    """Several state entries with proofs, all against one certified block (offline proofs)."""
    core: NodeCore = request.app[CORE]
    body = await _read_json(request)
    try:
        keys = [bytes.fromhex(k) for k in body["keys"]]
    except (KeyError, TypeError, ValueError) as exc:
        raise MalformedInput('body must be {"keys": [hex, ...]}') from exc
    if not 0 < len(keys) <= MAX_PROOF_KEYS or not all(0 < len(k) <= 128 for k in keys):
        raise MalformedInput(f"ask for 1 to {MAX_PROOF_KEYS} keys of 1 to 128 bytes")
    return web.json_response(await core.in_worker(_snapshot_proofs, core, keys))


def _snapshot_proofs(core: NodeCore, keys: list[bytes]) -> dict[str, Any]:
    header = core.chain.head_header
    certificate = core.chain.get_certificate(header.height) or b""
    return make_bundle(core.chain.state, header, certificate, keys)


async def verify_document(request: web.Request) -> web.Response:
    core: NodeCore = request.app[CORE]
    document = await _read_json(request)
    facts = LocalFacts(core.chain.state, f"node {core.keys.member_id.hex()[:12]} at height "
                       f"{core.chain.height}", core.chain.height)
    verdict = await core.in_worker(verify_credential, document, facts, core.chain_id)
    return web.json_response(verdict.to_json())


async def verify_anchor_hash(request: web.Request) -> web.Response:
    core: NodeCore = request.app[CORE]
    data = await request.read()
    facts = LocalFacts(core.chain.state, f"height {core.chain.height}")
    verdict = await core.in_worker(verify_anchor, data, facts)
    return web.json_response(verdict.to_json())


async def get_batch(request: web.Request) -> web.Response:
    core: NodeCore = request.app[CORE]
    issuer_id = _hex_param(request, "issuer", 20)
    root = _hex_param(request, "root", 32)
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
    issuer_id = _hex_param(request, "issuer", 20)
    root = _hex_param(request, "root", 32)
    target = _hex_param(request, "target", 32)
    revocation = load_revocation(core.chain.state, issuer_id, root, target)
    if revocation is None:
        return web.json_response({"target_hash": target.hex(), "batch_root": root.hex(),
                                  "revoked": False, "height": core.chain.height})
    return web.json_response({
        "target_hash": target.hex(), "revoked": True, "reason": revocation.reason,
        "revoked_at_height": revocation.height, "revoked_at": when(revocation.time_ms),
        "batch_root": revocation.batch_root.hex(), "height": core.chain.height})


async def list_members(request: web.Request) -> web.Response:
    core: NodeCore = request.app[CORE]
    members = []
    for entry in core.genesis.members:
        record = load_member(core.chain.state, entry.member_id)
        accreditation = load_accreditation(core.chain.state, entry.member_id)
        members.append({
            "member_id": entry.member_id.hex(), "name": entry.name, "role": entry.role,
            "validator": entry.validator, "public_key": entry.public_key.hex(),
            "on_chain": record is not None,
            "accreditations": [
                {"types": list(g.types), "from": when(g.not_before_ms),
                 "until": when(g.not_after_ms), "granted_by": g.granted_by.hex(),
                 "granted_height": g.granted_height, "suspended_height": g.suspended_height,
                 "suspend_reason": g.suspend_reason} for g in accreditation.grants]})
    return web.json_response({"members": members})


async def node_status(request: web.Request) -> web.Response:
    core: NodeCore = request.app[CORE]
    provider: StatusProvider = request.app[STATUS]
    head = core.chain.head_header
    me = core.genesis.member_by_id(core.keys.member_id)
    return web.json_response({
        "chain_id": core.chain_id, "node": request.app[NODE_NAME],
        "member_id": core.keys.member_id.hex(), "member": me.name if me else None,
        "validator": bool(me and me.validator),
        "height": head.height, "head_hash": head.block_hash.hex(), "head_time": when(
            head.time_ms), "state_root": head.state_root.hex(),
        "mempool": {"transactions": len(core.mempool), "bytes": core.mempool.size_bytes},
        "consensus": provider.consensus(), "peers": provider.peers(),
        "validators": [{"member_id": v.member_id.hex(), "name": v.name}
                       for v in core.genesis.validators],
    })


async def evidence(request: web.Request) -> web.Response:
    core: NodeCore = request.app[CORE]
    return web.json_response({"evidence": list_evidence(core.chain.kv)})


async def metrics(request: web.Request) -> web.Response:
    core: NodeCore = request.app[CORE]
    return web.Response(body=generate_latest(core.metrics.registry),
                        headers={"Content-Type": CONTENT_TYPE_LATEST})


async def openapi(request: web.Request) -> web.Response:
    return web.json_response(OPENAPI)


def make_app(core: NodeCore, node_name: str, provider: StatusProvider | None = None
             ) -> web.Application:
    app = web.Application(middlewares=[json_errors], client_max_size=MAX_BODY_BYTES)
    app[CORE] = core
    app[NODE_NAME] = node_name
    app[SUBMISSIONS] = InFlight()
    app[STATUS] = provider or StatusProvider()
    add_portal_routes(app)
    app.router.add_get("/openapi.json", openapi)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/v1/status", node_status)
    app.router.add_post("/v1/transactions", submit_transactions)
    app.router.add_get("/v1/transactions/{tx_id}", transaction_status)
    app.router.add_get("/v1/blocks/{height}", get_block)
    app.router.add_get("/v1/state/{key}", get_state)
    app.router.add_post("/v1/proofs", state_proofs)
    app.router.add_post("/v1/verify", verify_document)
    app.router.add_post("/v1/verify/anchor", verify_anchor_hash)
    app.router.add_get("/v1/batches/{issuer}/{root}", get_batch)
    app.router.add_get("/v1/batches/{issuer}/{root}/credentials/{target}", get_credential)
    app.router.add_get("/v1/members", list_members)
    app.router.add_get("/v1/evidence", evidence)
    return app
