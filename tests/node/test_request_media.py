"""A request body is read only in a Content-Type its route declares (`node.media_types`):
anything else is 415 before the body is read or charged. And a GET whose answer is worked
out in a pool answers HEAD 405 (Allow: GET), never working the answer out."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import hdrs, web
from aiohttp.test_utils import TestClient

from node import api_chain, client_limits
from node.api import ROUTES
from node.api_public import LIMITS
from node.api_schema import HEAD_REFUSED
from node.vc_api import VC_ROUTES
from tests.node.api_server import serving_on_disk
from tests.node.conftest import Consortium

Client = TestClient[web.Request, web.Application]
DOCUMENT = b'{"format": "x"}'  # JSON that /v1/verify answers 200 (a malformed verdict)


@pytest.fixture
async def client(tmp_path: Path, net: Consortium) -> AsyncIterator[Client]:
    async with serving_on_disk(net.ministry, net.genesis, tmp_path) as test_client:
        yield test_client


async def _post(client: Client, path: str, body: bytes, content_type: str | None,
                **headers: str) -> tuple[int, Any, dict[str, str]]:
    """POST `body` as `content_type` (None: with no Content-Type header at all)."""
    if content_type is not None:
        headers["Content-Type"] = content_type
    response = await client.post(path, data=body, headers=headers, skip_auto_headers=(
        [hdrs.CONTENT_TYPE] if content_type is None else []))
    return response.status, await response.json(), dict(response.headers)


@pytest.mark.parametrize("content_type", [
    None, "text/plain", "text/plain; charset=utf-8", "application/xml",
    "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
    "application/json; charset=iso-8859-1", "application/jsonx", "application/json+zip",
    "garbage"])
@pytest.mark.parametrize("path", ["/v1/verify", "/v1/proofs", "/v1/transactions"])
async def test_json_sent_as_another_type_is_415(client: Client, path: str,
                                                content_type: str | None) -> None:
    # Each was read as JSON: /v1/verify answered 200 with a verdict.
    status, answer, headers = await _post(client, path, DOCUMENT, content_type)
    assert status == 415, answer
    error = answer["error"]
    accepted = ("application/json or application/msgpack" if path == "/v1/transactions"
                else "application/json")
    assert error["code"] == "unsupported_media_type"
    assert error["params"] == {"accepted": accepted}
    assert error["message"].endswith(("reads " + accepted, "(no charset, or charset=utf-8)"))
    assert headers["Accept-Post"] == accepted.replace(" or ", ", ")
    assert headers["Connection"] == "close"  # the body is left unread
    # a page of another origin may read the refusal where it may read the answer
    assert ("Access-Control-Allow-Origin" in headers) is (path != "/v1/transactions")


async def test_what_is_named_back_is_only_a_short_media_type(client: Client) -> None:
    said = {}
    for content_type in ("text/plain", "x" * 5000 + "/json", "text/pl\u00e4in",
                         "application/json; charset=\"a b\""):
        status, answer, _ = await _post(client, "/v1/verify", DOCUMENT, content_type)
        assert status == 415
        said[content_type[:12]] = answer["error"]["message"]
    assert said["text/plain"].startswith("the request's body is text/plain;")
    assert "xxxx" not in said["x" * 12] and "a type this node cannot read" in said["x" * 12]
    assert "a type this node cannot read" in said["text/pl\u00e4in"]
    assert "in charset one this node cannot read" in said["application/"]


async def test_a_structured_suffix_is_named_with_its_type(client: Client) -> None:
    # aiohttp parts "+json" from the subtype: the refusal named "application/ld".
    status, answer, _ = await _post(client, "/v1/verify", DOCUMENT, "application/ld+json")
    assert status == 415
    assert answer["error"]["message"].startswith("the request's body is application/ld+json;")


@pytest.mark.parametrize("path", ["/v1/verify", "/v1/transactions"])
async def test_json_in_utf16_is_refused_and_a_utf8_byte_order_mark_is_read(
        client: Client, path: str) -> None:
    # Given bytes, json.loads guessed UTF-16 and /v1/verify answered a verdict.
    text = json.dumps(json.loads(DOCUMENT)) if path == "/v1/verify" else '{"txs": []}'
    status, answer, _ = await _post(client, path, text.encode("utf-16"), "application/json")
    assert status == 400, answer
    assert "the byte 0xff at offset 0 is not UTF-8" in answer["error"]["message"]
    status, answer, _ = await _post(client, path, b"\xef\xbb\xbf" + text.encode(),
                                    "application/json")
    assert "not valid JSON" not in json.dumps(answer), answer
    if path == "/v1/verify":
        assert status == 200 and answer["status"] == "malformed", answer  # read: a verdict
    else:
        assert answer["error"]["message"].startswith("send 1 to"), answer  # read: no txs


@pytest.mark.parametrize(("path", "content_type"), [
    ("/v1/verify", "application/json"), ("/v1/verify", "Application/JSON; Charset=\"UTF-8\""),
    ("/v1/verify", "application/json;charset=utf8"),
    ("/v1/verify/anchor", "application/octet-stream"), ("/v1/verify/anchor", "application/pdf"),
    ("/v1/verify/anchor", "text/plain"), ("/v1/verify/anchor", None)])
async def test_the_types_a_route_reads_are_read(client: Client, path: str,
                                                content_type: str | None) -> None:
    status, answer, _ = await _post(client, path, DOCUMENT, content_type)
    assert status == 200, answer
    assert answer["status"] in ("malformed", "unknown"), answer


async def test_a_submission_reads_json_and_msgpack(client: Client) -> None:
    # An empty list of transactions is the submission's own refusal, past the guard.
    for content_type, body in (("application/json", b'{"txs": []}'),
                               ("application/msgpack", b"\x90"),
                               ("application/MsgPack", b"\x90")):
        status, answer, _ = await _post(client, "/v1/transactions", body, content_type)
        assert status == 400 and answer["error"]["code"] == "malformed", answer


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x"])
async def test_an_anchored_document_sent_as_a_form_is_415(client: Client,
                                                          content_type: str) -> None:
    # curl -d @diploma.pdf sends its bytes, line ends dropped, as a form: the node hashed
    # them and called a genuine anchored document unknown.
    status, answer, headers = await _post(client, "/v1/verify/anchor", b"%PDF-1.7",
                                          content_type)
    assert status == 415, answer
    assert answer["error"]["params"] == {"accepted": "application/octet-stream"}
    assert "curl --data-binary" in answer["error"]["message"]
    assert headers["Accept-Post"] == "application/octet-stream"


async def test_a_wrong_type_is_refused_before_the_body_is_charged(
        client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(client_limits.RATES, "verify", (0.001, 2.0))
    client.app[LIMITS].exempt = frozenset()  # the test client's 127.0.0.1
    for _ in range(5):
        status, _, _ = await _post(client, "/v1/verify", DOCUMENT, "text/plain")
        assert status == 415  # not 429: nothing was charged
    for _ in range(2):
        status, answer, _ = await _post(client, "/v1/verify", DOCUMENT, "application/json")
        assert status == 200, answer
    status, answer, _ = await _post(client, "/v1/verify", DOCUMENT, "application/json")
    assert status == 429 and answer["error"]["code"] == "rate_limited"


async def test_a_cors_preflight_still_allows_json(client: Client) -> None:
    for path in ("/v1/verify", "/v1/proofs", "/v1/verify/anchor"):
        response = await client.options(path, headers={
            "Origin": "https://example.org", "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Content-Type"})
        assert response.status == 204, path
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        assert "Content-Type" in response.headers["Access-Control-Allow-Headers"]


async def test_the_description_names_the_415_and_the_types(client: Client) -> None:
    spec = await (await client.get("/openapi.json")).json()
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if "requestBody" not in operation:
                continue
            refusal = operation["responses"]["415"]
            assert "Accept-Post" in refusal["headers"], (method, path)
            reads = [media for media in operation["requestBody"]["content"] if media != "*/*"]
            assert all(media in refusal["description"] for media in reads), (path, refusal)
            shape = refusal["content"]["application/json"]["schema"]["$ref"]
            assert shape.endswith("VcProblem" if path.startswith("/credentials/") or
                                  path.startswith("/presentations/") else "Error"), path


# ---- HEAD ----------------------------------------------------------------------------
async def test_head_of_governance_is_refused_without_working_it_out(
        client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    worked_out = []
    answer = api_chain._governance_answer

    def counted(*args: Any) -> Any:
        worked_out.append(1)
        return answer(*args)

    monkeypatch.setattr(api_chain, "_governance_answer", counted)
    response = await client.head("/v1/governance")
    assert response.status == 405  # it was 200, after working the whole answer out
    assert response.headers["Allow"] == "GET"
    assert not worked_out
    response = await client.get("/v1/governance")
    assert response.status == 200 and len(worked_out) == 1


async def test_head_is_refused_where_the_answer_is_worked_out_and_answered_elsewhere(
        client: Client) -> None:
    spec = await (await client.get("/openapi.json")).json()
    fitting = {"{height}": "0", "{key}": "00", "{list_id}": "00" * 52,
               "{tx_id}": "00" * 32, "{issuer}": "00" * 20, "{root}": "00" * 32,
               "{target}": "00" * 32}
    refused = set()
    for route in ROUTES + VC_ROUTES:
        if route.method != "GET":
            continue
        path = route.path
        for name, value in fitting.items():
            path = path.replace(name, value)
        response = await client.head(path)
        if route.head:
            assert response.status in (200, 404), (path, response.status)
            continue
        refused.add(route.path)
        assert response.status == 405, path
        assert response.headers["Allow"] == "GET", path
        assert spec["paths"][route.path]["get"]["description"] == HEAD_REFUSED
    assert refused == {"/v1/blocks/{height}", "/v1/state/{key}", "/v1/validator-sets/changes",
                       "/v1/governance", "/credentials/status/{list_id}"}
