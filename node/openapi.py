"""The OpenAPI document the node serves at /openapi.json."""

from __future__ import annotations

from typing import Any

from node.api_public import (
    ANCHOR_BODY_MAX,
    MAX_TXS_PER_REQUEST,
    MAX_WAIT_S,
    TRANSACTIONS_BODY_MAX,
    VERIFY_BODY_MAX,
)
from node.evidence import EVIDENCE_PAGE_MAX
from node.public_work import JSON_DEPTH_MAX, JSON_VALUES_MAX

_KIB = 1024

_ERROR = {"$ref": "#/components/schemas/Error"}


def _op(summary: str, params: list[str] | None = None, body: str | None = None,
        errors: tuple[int, ...] = (400,)) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "responses": {"200": {"description": "OK"}}}
    for code in errors:
        op["responses"][str(code)] = {"description": "Error",
                                      "content": {"application/json": {"schema": _ERROR}}}
    if params:
        op["parameters"] = [{"name": p, "in": "path", "required": True,
                             "schema": {"type": "string"}} for p in params]
    if body:
        op["requestBody"] = {"required": True, "content": {body: {"schema": {}}}}
    return op


OPENAPI: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "Senim node API", "version": "1",
             "description": "Education credentials on a consortium ledger."},
    "paths": {
        "/v1/status": {"get": _op("Node status: chain, head, mempool, consensus, peers",
                                  errors=())},
        "/v1/transactions": {"post": _op(
            "Submit a signed transaction ({\"tx\": hex}) or many ({\"txs\": [hex]}, at "
            f"most {MAX_TXS_PER_REQUEST}), or msgpack bytes / array of bytes; body at most "
            f"{TRANSACTIONS_BODY_MAX // _KIB} KiB. 429 with "
            "Retry-After past the client's rate or after many invalid signatures; 503 with "
            "Retry-After when the node is busy checking others. No CORS: writes come from "
            "registrars' tools, not web pages", body="application/json",
            errors=(400, 408, 413, 429, 503))},
        "/v1/transactions/{tx_id}": {"get": _op(
            f"Transaction status; ?wait=S (at most {MAX_WAIT_S:g}) long-polls until committed or "
            "refused; when too many polls wait, it answers after about a second instead",
            ["tx_id"], errors=(400, 404))},
        "/v1/blocks/{height}": {"get": _op(
            "Block header, transaction ids and commit certificate; ?format=raw for bytes",
            ["height"], errors=(400, 404))},
        "/v1/state/{key}": {"get": _op(
            "A state value with its Merkle proof against the head's state root", ["key"])},
        "/v1/proofs": {"post": _op(
            "State entries with Merkle proofs against the head, plus its header and commit "
            "certificate: the makings of an offline proof", body="application/json")},
        "/v1/verify": {"post": _op(
            f"Verify a credential document (JSON body of at most {VERIFY_BODY_MAX // _KIB} KiB, "
            f"{JSON_VALUES_MAX} values, nesting {JSON_DEPTH_MAX}; text must be valid Unicode). "
            "Any origin may call it (CORS)",
            body="application/json", errors=(400, 408, 413, 429, 503))},
        "/v1/verify/anchor": {"post": _op("Look up an anchored document (raw body, at "
                                          f"most {ANCHOR_BODY_MAX // _KIB} KiB)",
                                          body="application/octet-stream",
                                          errors=(400, 408, 413, 429, 503))},
        "/v1/batches/{issuer}/{root}": {"get": _op(
            "A credential batch on chain (batches are keyed by issuer and root)",
            ["issuer", "root"], errors=(400, 404))},
        "/v1/batches/{issuer}/{root}/credentials/{target}": {"get": _op(
            "Revocation status of one credential of a batch", ["issuer", "root", "target"])},
        "/v1/members": {"get": _op("Consortium members and their accreditations", errors=())},
        "/v1/evidence": {"get": {
            **_op("Misbehaviour of validators seen by this node (signed messages as "
                  "received; one per validator, kind, height and view; capped), newest "
                  f"first, a page at a time: ?limit=N (at most {EVIDENCE_PAGE_MAX}) and "
                  "?before=CURSOR, the `next` of the previous page"),
            "parameters": [{"name": name, "in": "query", "required": False,
                            "schema": {"type": "integer", "minimum": minimum}}
                           for name, minimum in (("limit", 1), ("before", 0))]}},
        "/metrics": {"get": _op("Prometheus metrics", errors=())},
    },
    "components": {"schemas": {"Error": {
        "type": "object",
        "properties": {"error": {"type": "object", "properties": {
            "code": {"type": "string"}, "message": {"type": "string"}}}}}}},
}
