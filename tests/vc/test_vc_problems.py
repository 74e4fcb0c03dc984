"""The VC-API's refusals are RFC 9457 problem details (type, status, title, detail) with
the refusal's specifics as `params` and the node's error beside them
(`node.vc_problems`); every answer checked here carries only members its route declares
in /openapi.json."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema_rs

from node.files import save_key
from node.vc_api import configure_vc
from node.vc_issuing import MAX_STATUS_UPDATES
from node.vc_problems import SENIM_PROBLEMS
from tests.vc.conftest import VcNode
from tests.vc.test_vc_issuing import AUTH, credential, issue

UNISSUED = {"credentialId": "urn:uuid:never-issued", "credentialStatus": [
    {"type": "BitstringStatusListEntry", "status": "revoked"}]}


def is_problem(body: dict[str, Any], status: int) -> dict[str, Any]:
    """`body`'s params, after checking it is problem details around the node's error."""
    error = body["error"]
    assert body["type"].startswith(("https://", "http://")), body
    assert body["status"] == status and body["title"] == error["code"], body
    assert body["detail"] == error["message"], body
    assert body.get("params") == error.get("params"), body
    params: dict[str, Any] = body.get("params", {})
    return params


async def test_a_chain_refusal_names_the_member_and_the_type(node: VcNode,
                                                              tmp_path: Path) -> None:
    save_key(tmp_path / "ministry.json", node.net.ministry)  # a member, accredited for nothing
    configure_vc(node.app, tmp_path / "ministry.json", tmp_path / "token")
    node.issuer = node.net.ministry
    refused = await issue(node, {"credential": credential(node)}, 403)
    assert refused["type"] == SENIM_PROBLEMS + "not_accredited"
    assert is_problem(refused, 403) == {"member": "Ministry of Science", "type": "certificate"}


async def test_a_malformed_request_names_its_field_and_limit(node: VcNode) -> None:
    update = {**UNISSUED, "credentialStatus": []}
    response = await node.client.post("/credentials/status", json=update,
                                      headers=AUTH)
    refused = await response.json()
    assert refused["type"] == "https://www.w3.org/TR/vc-data-model#MALFORMED_VALUE_ERROR"
    assert is_problem(refused, 400) == {"field": "credentialStatus",
                                        "limit": MAX_STATUS_UPDATES}
    response = await node.client.post("/credentials/verify", json=
        {"verifiableCredential": {}, "options": {"challenge": 5}})
    assert is_problem(await response.json(), 400) == {"field": "options.challenge"}


async def test_refusals_made_below_the_routes_are_problem_details_too(node: VcNode) -> None:
    # the parameter guard's, the router's (its Allow kept), the status list's own
    guarded = await node.client.get("/credentials/status/zz")
    assert is_problem(await guarded.json(), 400) == {"field": "list_id"}
    wrong_method = await node.client.get("/credentials/verify")
    assert wrong_method.headers["Allow"] == "POST"
    assert is_problem(await wrong_method.json(), 405) == {}
    unknown = await node.client.post("/credentials/status", json=UNISSUED,
                                     headers=AUTH)
    assert (await unknown.json())["title"] == "unknown_credential"
    # and the node's own routes keep their error alone
    response = await node.client.get("/v1/blocks/99")
    assert set(await response.json()) == {"error"}


# ---- every answer against its declaration, members no declaration names refused -------
def closed(schema: Any, schemas: dict[str, Any]) -> Any:
    """`schema` with its references inlined and every object that lists its properties
    closed to others (additionalProperties false, unless it says otherwise)."""
    if isinstance(schema, list):
        return [closed(item, schemas) for item in schema]
    if not isinstance(schema, dict):
        return schema
    if "$ref" in schema:
        return closed(schemas[schema["$ref"].rsplit("/", 1)[1]], schemas)
    out = {key: closed(value, schemas) for key, value in schema.items()}
    if "properties" in out and "additionalProperties" not in out:
        out["additionalProperties"] = False
    return out


async def declared(node: VcNode, method: str, path: str, status: int) -> Any:
    spec = await (await node.client.get("/openapi.json")).json()
    media = spec["paths"][path][method]["responses"][str(status)]["content"]
    return closed(media["application/json"]["schema"], spec["components"]["schemas"])


async def test_every_refusal_carries_only_declared_members(node: VcNode) -> None:
    cases: list[tuple[str, str, str, dict[str, Any] | None, dict[str, str], int]] = [
        # (method, declared path, path asked, body, headers, status)
        ("post", "/credentials/issue", "/credentials/issue", {"credential": 5}, AUTH, 400),
        ("post", "/credentials/issue", "/credentials/issue", {"credential": {}}, {}, 401),
        ("post", "/credentials/status", "/credentials/status",
         {**UNISSUED, "credentialStatus": []}, AUTH, 400),
        ("post", "/credentials/status", "/credentials/status", UNISSUED, AUTH, 404),
        ("post", "/credentials/verify", "/credentials/verify", {"options": []}, {}, 400),
        ("post", "/credentials/verify", "/credentials/verify",
         {"verifiableCredential": {"@context": 5}}, {}, 400),  # a verification result
        ("get", "/credentials/status/{list_id}", "/credentials/status/zz", None, {}, 400),
        ("get", "/credentials/status/{list_id}", "/credentials/status/" + "00" * 52, None,
         {}, 404),
        ("get", "/v1/blocks/{height}", "/v1/blocks/99", None, {}, 404),
        ("get", "/v1/blocks/{height}", "/v1/blocks/0?format=raw&format=json", None, {}, 400),
        ("post", "/v1/proofs", "/v1/proofs", {"keys": 5}, {}, 400),
    ]
    for method, template, path, body, headers, status in cases:
        response = await node.client.request(method.upper(), path, headers=headers,
                                             json=body)
        answer = await response.json()
        assert response.status == status, (path, answer)
        schema = await declared(node, method, template, status)
        errors = [e.message for e in jsonschema_rs.validator_for(schema).iter_errors(answer)]
        assert not errors, (path, answer, errors)
    # ... which can fail: a member no declaration names
    schema = await declared(node, "post", "/credentials/issue", 401)
    stray = {**answer, "type": "https://senim.kz/problems#x", "status": 401, "title": "x",
             "detail": "x", "error": {"code": "x", "message": "x"}, "hint": "x"}
    assert not jsonschema_rs.validator_for(schema).is_valid(stray)
