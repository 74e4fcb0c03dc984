"""The route table is the one source of the router and of /openapi.json."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from node.api import ROUTES
from node.api_schema import Param, Reply, Route, add_routes, hex_bytes, openapi_document
from node.openapi import BLOCK_FORMAT, HEIGHT, TX_ID, WAIT
from node.vc_api import VC_ROUTES
from tests.node.api_server import serving_on_disk
from tests.node.conftest import Consortium

# Served by the portal's own routes, which are pages rather than API.
PORTAL_PATHS = {"/", "/holder", "/static/{path}"}
Client = TestClient[web.Request, web.Application]


@pytest.fixture
async def client(tmp_path: Path, net: Consortium) -> AsyncIterator[Client]:
    async with serving_on_disk(net.ministry, net.genesis, tmp_path) as test_client:
        yield test_client


async def _spec(client: Client) -> dict[str, Any]:
    response = await client.get("/openapi.json")
    assert response.status == 200
    spec: dict[str, Any] = await response.json()
    return spec


async def test_description_lists_exactly_the_registered_routes(client: Client) -> None:
    spec = await _spec(client)
    assert spec["openapi"] == "3.1.0"
    described = {(method.upper(), path) for path, item in spec["paths"].items()
                 for method in item}
    registered = set()
    for route in client.app.router.routes():
        path = route.resource.canonical if route.resource else ""
        if route.method != "HEAD" and path not in PORTAL_PATHS:
            registered.add((route.method, path))
    assert described == registered


async def test_every_answer_is_described_with_a_schema(client: Client) -> None:
    spec = await _spec(client)
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            for status, response in operation["responses"].items():
                if status == "204":
                    assert "content" not in response
                    continue
                assert response["content"], (method, path, status)
                for media in response["content"].values():
                    assert media["schema"], (method, path, status)
            for param in operation.get("parameters", []):
                if param["in"] == "path":
                    schema = param["schema"]
                    assert "pattern" in schema or schema["type"] == "integer", (path, param)
    submit = spec["paths"]["/v1/transactions"]["post"]
    assert {"202", "400", "429", "503"} <= set(submit["responses"])
    assert set(submit["requestBody"]["content"]) == {"application/json", "application/msgpack"}
    error = spec["components"]["schemas"]["Error"]
    assert error["properties"]["error"]["required"] == ["code", "message"]


async def test_wrong_method_is_405_with_allow(client: Client) -> None:
    response = await client.get("/v1/transactions")
    assert response.status == 405
    assert response.headers["Allow"] == "POST"
    assert (await response.json())["error"]["code"] == "method_not_allowed"
    response = await client.delete("/v1/blocks/1")
    assert response.status == 405
    assert response.headers["Allow"] == "GET"  # a block's HEAD is refused (HEAD_REFUSED)
    assert (await response.json())["error"]["message"] == ("DELETE is not answered here; "
                                                           "this path answers GET")
    response = await client.delete("/v1/members")
    assert set(response.headers["Allow"].split(",")) == {"GET", "HEAD"}


async def test_anchor_without_body_is_400(client: Client) -> None:
    response = await client.post("/v1/verify/anchor")
    assert response.status == 400
    error = (await response.json())["error"]
    assert error["code"] == "missing_body" and "application/octet-stream" in error["message"]

    async def nothing() -> AsyncIterator[bytes]:
        empty: tuple[bytes, ...] = ()
        for chunk in empty:
            yield chunk

    # A chunked body that turns out empty gets past the guard; the handler refuses it.
    response = await client.post("/v1/verify/anchor", data=nothing())
    assert response.status == 400
    assert (await response.json())["error"]["code"] in ("missing_body", "malformed")


@pytest.mark.parametrize(("param", "raw", "fits"), [
    (TX_ID, "ab" * 32, True), (TX_ID, "AB" * 32, True), (TX_ID, "ab" * 31, False),
    (TX_ID, "ab" * 33, False), (TX_ID, "zz" * 32, False), (TX_ID, "ab" * 32 + "\n", False),
    (HEIGHT, "0", True), (HEIGHT, str(2**63 - 1), True), (HEIGHT, str(2**63), False),
    (HEIGHT, "-1", False), (HEIGHT, "1e3", False), (HEIGHT, "٣", False),
    (WAIT, "0", True), (WAIT, "2.5", True), (WAIT, "60", True), (WAIT, "60.001", False),
    (WAIT, "-0.1", False), (WAIT, "inf", False), (WAIT, "nan", False), (WAIT, "1e1", True),
    (WAIT, "1.5E-05", True), (WAIT, "1e2", False), (WAIT, "1_0", False),
    (WAIT, "١", False), (BLOCK_FORMAT, "raw", True), (BLOCK_FORMAT, "RAW", False),
])
def test_parameters_fit_their_declaration(param: Param, raw: str, fits: bool) -> None:
    assert (param.problem(raw) is None) is fits


async def test_bad_path_parameter_is_400_before_the_handler() -> None:
    calls: list[str] = []

    async def handler(request: web.Request) -> web.Response:
        calls.append(request.match_info["item"])
        return web.json_response({"ok": True})

    route = Route("GET", "/items/{item}", handler, "an item",
                  {200: Reply("the item", {"application/json": {"type": "object"}})},
                  params=(Param("item", hex_bytes(4), "4 bytes of hex"),))
    app = web.Application()
    add_routes(app, [route])
    async with TestClient(TestServer(app)) as test_client:
        response = await test_client.get("/items/nothex")
        assert response.status == 400
        error = (await response.json())["error"]
        assert error["code"] == "bad_parameter" and "item" in error["message"]
        assert calls == []
        assert (await test_client.get("/items/0a0b0c0d")).status == 200
        assert calls == ["0a0b0c0d"]
    spec = openapi_document([route], {"title": "t", "version": "1"})
    [described] = spec["paths"]["/items/{item}"]["get"]["parameters"]
    assert described["schema"] == hex_bytes(4) and described["required"] is True


# A value fitting each declared path parameter, so that routing finds the resource.
FITTING = {"tx_id": "00" * 32, "height": "1", "key": "00", "issuer": "00" * 20,
           "root": "00" * 32, "target": "00" * 32, "list_id": "00" * 52}
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


async def test_every_undeclared_method_is_405_with_allow(client: Client) -> None:
    for route in ROUTES + VC_ROUTES:
        path = route.path
        for param in route.params:
            assert param.problem(FITTING[param.name]) is None, param
            path = path.replace(f"{{{param.name}}}", FITTING[param.name])
        declared = {m.upper() for m in (await _spec(client))["paths"][route.path]}
        allowed = declared | ({"HEAD"} if "GET" in declared and route.head else set())
        for method in set(METHODS) - declared:
            response = await client.request(method, path)
            assert response.status == 405, (method, path)
            assert set(response.headers["Allow"].split(",")) == allowed, (method, path)
            assert (await response.json())["error"]["code"] == "method_not_allowed"


async def test_verify_declares_the_json_it_answers_with_a_verdict(client: Client) -> None:
    # It declared an object, and answered an array with a verdict (schemathesis: a
    # "schema-violating request accepted").
    spec = await _spec(client)
    body = spec["paths"]["/v1/verify"]["post"]["requestBody"]["content"]["application/json"]
    assert "type" not in body["schema"], body
    response = await client.post("/v1/verify", data=b"[null, null]",
                                 headers={"Content-Type": "application/json"})
    assert response.status == 200
    assert (await response.json())["status"] == "malformed"
