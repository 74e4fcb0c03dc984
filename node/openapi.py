"""The OpenAPI document the node serves at /openapi.json."""

from __future__ import annotations

from typing import Any

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
            "Submit a signed transaction ({\"tx\": hex}) or many ({\"txs\": [hex]}), "
            "or msgpack bytes / array of bytes", body="application/json",
            errors=(400, 413, 429))},
        "/v1/transactions/{tx_id}": {"get": _op(
            "Transaction status; ?wait=S long-polls until committed or refused",
            ["tx_id"], errors=(400, 404))},
        "/v1/blocks/{height}": {"get": _op(
            "Block header, transaction ids and commit certificate; ?format=raw for bytes",
            ["height"], errors=(400, 404))},
        "/v1/state/{key}": {"get": _op(
            "A state value with its Merkle proof against the head's state root", ["key"])},
        "/v1/proofs": {"post": _op(
            "State entries with Merkle proofs against the head, plus its header and commit "
            "certificate: the makings of an offline proof", body="application/json")},
        "/v1/verify": {"post": _op("Verify a credential document (JSON body)",
                                   body="application/json")},
        "/v1/verify/anchor": {"post": _op("Look up an anchored document (raw body)",
                                          body="application/octet-stream")},
        "/v1/batches/{issuer}/{root}": {"get": _op(
            "A credential batch on chain (batches are keyed by issuer and root)",
            ["issuer", "root"], errors=(400, 404))},
        "/v1/batches/{issuer}/{root}/credentials/{target}": {"get": _op(
            "Revocation status of one credential of a batch", ["issuer", "root", "target"])},
        "/v1/members": {"get": _op("Consortium members and their accreditations", errors=())},
        "/v1/evidence": {"get": _op("Misbehaviour of validators seen by this node "
                                    "(signed messages as received), newest first",
                                    errors=())},
        "/metrics": {"get": _op("Prometheus metrics", errors=())},
    },
    "components": {"schemas": {"Error": {
        "type": "object",
        "properties": {"error": {"type": "object", "properties": {
            "code": {"type": "string"}, "message": {"type": "string"}}}}}}},
}
