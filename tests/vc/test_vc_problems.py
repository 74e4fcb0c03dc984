"""The VC-API's refusals are RFC 9457 problem details (type, status, title, detail) with
the refusal's specifics as `params` and the node's error beside them
(`node.vc_problems`); every answer checked here carries only members its route declares
in /openapi.json."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest

from node import (
    api_public,
    api_schema,
    body_charges,
    client_limits,
    vc_api,
    vc_common,
    vc_issuing,
)
from node.api_public import LIMITS
from node.files import save_key
from node.vc_api import configure_vc
from node.vc_issuing import ISSUING, MAX_ISSUES_IN_FLIGHT, MAX_STATUS_UPDATES
from node.vc_problems import CODE_PATTERN, RESULT_CODES, SENIM_PROBLEMS, VC_CODES
from tests.vc.conftest import JSON_BODY, VcNode, post
from tests.vc.test_vc_issuing import AUTH, credential, issue

UNISSUED = {"credentialId": "urn:uuid:never-issued", "credentialStatus": [
    {"type": "BitstringStatusListEntry", "status": "revoked"}]}


def is_problem(body: dict[str, Any], status: int) -> dict[str, Any]:
    """`body`'s params, after checking it is problem details around the node's error."""
    error = body["error"]
    assert body["type"].startswith(("https://", "http://")), body
    assert body["status"] == status and body["title"] == error["code"], body
    assert body["code"] == error["code"], body
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


# ---- every refusal's stable code ---------------------------------------------------------
async def _refused(node: VcNode, method: str, path: str, body: Any = None,
                   headers: dict[str, str] | None = None, data: bytes | None = None
                   ) -> dict[str, Any]:
    response = await node.client.request(method, path, json=body, data=data,
                                         headers=headers)
    answer: dict[str, Any] = await response.json()
    assert response.status >= 400, answer
    is_problem(answer, response.status)
    return answer


async def test_each_refusal_gives_its_code(node: VcNode,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    ours = credential(node)
    paths: list[tuple[str, str, str, Any, dict[str, str] | None, bytes | None]] = [
        # (code, method, path, JSON body, headers, raw body)
        ("unauthorized", "POST", "/credentials/issue", {"credential": ours}, None, None),
        ("malformed", "POST", "/credentials/issue", {"credential": 5}, AUTH, None),
        ("malformed", "POST", "/credentials/verify", {"options": []}, None, None),
        ("wrong_issuer", "POST", "/credentials/issue",
         {"credential": {**ours, "issuer": "did:example:other"}}, AUTH, None),
        ("unsupported_status", "POST", "/credentials/status", {**UNISSUED, "credentialStatus": [
            {"type": "BitstringStatusListEntry", "status": "suspended"}]}, AUTH, None),
        ("unknown_credential", "POST", "/credentials/status", UNISSUED, AUTH, None),
        ("bad_parameter", "GET", "/credentials/status/zz", None, None, None),
        ("no_such_batch", "GET", "/credentials/status/" + "00" * 52, None, None, None),
        ("unsupported_media_type", "POST", "/credentials/verify", None,
         {"Content-Type": "text/plain"}, b"{}"),
        ("missing_body", "POST", "/presentations/verify", None, None, None),
        ("body_too_large", "POST", "/credentials/verify", None, JSON_BODY,
         b"{" + b" " * 600_000 + b"}"),
        ("method_not_allowed", "GET", "/credentials/verify", None, None, None),
        ("not_found", "GET", "/credentials/nothing/here", None, None, None),
    ]
    for code, method, path, body, headers, data in paths:
        answer = await _refused(node, method, path, body, headers, data)
        assert answer["code"] == code, (code, path, answer)
        assert code in VC_CODES
    # the 415 rewritten as problem details keeps its headers and closes its connection
    response = await node.client.post("/credentials/verify", data=b"{}")
    assert response.status == 415
    assert response.headers["Accept-Post"] == "application/json"
    assert response.headers["Connection"] == "close"
    # the issuing queue full, and over the client's rate
    issuing = node.app[ISSUING]
    for _ in range(MAX_ISSUES_IN_FLIGHT):
        await issuing.in_flight.acquire()
    answer = await _refused(node, "POST", "/credentials/issue", {"credential": ours}, AUTH)
    assert answer["code"] == "busy" and answer["params"] == {"limit": MAX_ISSUES_IN_FLIGHT}
    for _ in range(MAX_ISSUES_IN_FLIGHT):
        issuing.in_flight.release()
    monkeypatch.setitem(client_limits.RATES, "verify", (0.001, 1.0))
    node.app[LIMITS].exempt = frozenset()  # the test client's 127.0.0.1
    codes = [(await _refused(node, "GET", "/credentials/status/zz0"))["code"]
             for _ in range(2)]  # the first is the guard's, uncharged
    codes.append((await _refused(node, "GET", "/credentials/status/" + "00" * 52))["code"])
    codes.append((await _refused(node, "GET", "/credentials/status/" + "00" * 52))["code"])
    assert codes == ["bad_parameter", "bad_parameter", "no_such_batch", "rate_limited"]


async def test_a_refusal_by_the_chain_gives_the_ledgers_code(node: VcNode,
                                                            tmp_path: Path) -> None:
    save_key(tmp_path / "ministry.json", node.net.ministry)  # accredited for nothing
    configure_vc(node.app, tmp_path / "ministry.json", tmp_path / "token")
    node.issuer = node.net.ministry
    refused = await issue(node, {"credential": credential(node)}, 403)
    assert refused["code"] == "not_accredited" and refused["code"] not in VC_CODES
    assert re.fullmatch(CODE_PATTERN, refused["code"])


async def test_a_verification_results_problems_give_their_codes(node: VcNode) -> None:
    issued = (await issue(node, {"credential": credential(node)}))["verifiableCredential"]
    tampered = {**issued, "credentialSubject": {**issued["credentialSubject"], "name": "B"}}
    result = await post(node, "/credentials/verify", {"verifiableCredential": tampered}, 400)
    assert [(e["code"], e["title"]) for e in result["errors"]] == [("tampered", "tampered")]
    unanchored = {key: value for key, value in issued.items() if key != "senim"}
    result = await post(node, "/credentials/verify", {"verifiableCredential": unanchored},
                        400)  # its signature no longer covers it: tampered as well
    assert [e["code"] for e in result["errors"]] == ["tampered"]
    assert all(e["code"] in RESULT_CODES for e in result["errors"] + result["warnings"])


def _codes_in(source: str) -> set[str]:
    """The code literals a module refuses with: problem(status, CODE, ...),
    IssueRefused(status, CODE, ...), http_error(exc, CODE, ...), json_error(status, CODE,
    ...), {"code": CODE}."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in (
                "problem", "IssueRefused", "http_error", "json_error") and len(node.args) > 1:
            code = node.args[1]
            if isinstance(code, ast.Constant) and isinstance(code.value, str):
                found.add(code.value)
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if (isinstance(key, ast.Constant) and key.value == "code"
                        and isinstance(value, ast.Constant) and isinstance(value.value, str)):
                    found.add(value.value)
    return found


def test_every_code_the_vc_modules_refuse_with_is_listed() -> None:
    found = set()
    # the VC routes', and those of the guard, the rates and the body charges before them
    for module in (vc_api, vc_issuing, vc_common, api_schema, api_public, body_charges):
        found |= _codes_in(Path(str(module.__file__)).read_text(encoding="utf-8"))
    assert {"issuing_disabled", "not_committed", "vc_worker_lost", "body_timeout",  # found
            "status_list_not_held", "unsupported_media_type", "rate_limited"} <= found
    assert found - {"not_checked"} <= set(VC_CODES), found - set(VC_CODES)  # a result's


async def test_the_description_lists_the_codes(node: VcNode) -> None:
    spec = await (await node.client.get("/openapi.json")).json()
    code = spec["components"]["schemas"]["VcProblem"]["properties"]["code"]
    assert code["anyOf"][0]["enum"] == list(VC_CODES)
    assert all(f"{listed} (" in code["description"] for listed in VC_CODES)
    assert "code" in spec["components"]["schemas"]["VcProblem"]["required"]
    result = spec["paths"]["/credentials/verify"]["post"]["responses"]["200"]["content"]
    problem = result["application/json"]["schema"]["properties"]["errors"]["items"]
    assert problem["properties"]["code"]["anyOf"][0]["enum"] == list(RESULT_CODES)

