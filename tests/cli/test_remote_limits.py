"""A node that answers endlessly: `senim verify` (cli.remote) and every command that asks
a node (cli.client.NodeClient: status, members, governance, evidence, issue...) must give
up with one error, in bounded time and memory, whatever the node sends."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from cli import node_answers
from cli.client import ClientError, NodeClient
from cli.node_answers import RemoteFactsError
from cli.remote import RemoteFacts

# Each liar stops by itself, so a verifier without limits fails the test, not the machine.
FLOOD_BYTES = 16 * 1024 * 1024
DRIP_FOR_S = 20.0
GIVES_UP_WITHIN_S = 10.0


async def _flood(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    await response.prepare(request)
    await response.write(b"[")
    chunk = b"1," * (512 * 1024)
    for _ in range(FLOOD_BYTES // len(chunk)):
        await response.write(chunk)
    await response.write(b"1]")
    return response


async def _drip(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    await response.prepare(request)
    await response.write(b"{")
    deadline = time.monotonic() + DRIP_FOR_S
    while time.monotonic() < deadline:
        await response.write(b" ")
        await asyncio.sleep(0.2)
    await response.write(b"}")
    return response


@pytest.fixture
async def liar() -> AsyncIterator[Callable[[Callable[..., Awaitable[web.StreamResponse]]],
                                           Awaitable[str]]]:
    servers: list[TestServer] = []

    async def serve(handler: Callable[..., Awaitable[web.StreamResponse]]) -> str:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", handler)
        server = TestServer(app)
        await server.start_server()
        servers.append(server)
        return str(server.make_url("")).rstrip("/")

    yield serve
    for server in servers:
        await server.close()


async def _ask(url: str) -> tuple[str, float]:
    def run() -> str:
        try:
            RemoteFacts(url).get_json("/v1/status")
        except RemoteFactsError as exc:
            return str(exc)
        return "answered"

    started = time.monotonic()
    outcome = await asyncio.get_running_loop().run_in_executor(None, run)
    return outcome, time.monotonic() - started


async def test_an_endless_answer_is_cut_off(liar: Callable[..., Awaitable[str]],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(node_answers, "MAX_ANSWER_BYTES", 1024 * 1024)
    outcome, took = await _ask(await liar(_flood))
    assert "larger than" in outcome, outcome
    assert took < GIVES_UP_WITHIN_S


async def test_a_dripping_answer_is_given_up_on(liar: Callable[..., Awaitable[str]],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(node_answers, "ANSWER_DEADLINE_S", 1.0)
    outcome, took = await _ask(await liar(_drip))
    assert "did not finish its answer" in outcome, outcome
    assert took < GIVES_UP_WITHIN_S


async def _deep(request: web.Request) -> web.Response:
    return web.Response(body=b"[" * 100_000 + b"]" * 100_000, content_type="application/json")


async def test_an_answer_nested_too_deep_is_refused(liar: Callable[..., Awaitable[str]]) -> None:
    outcome, _took = await _ask(await liar(_deep))
    assert "not JSON" in outcome, outcome


async def _client_asks(url: str, timeout_s: float = 10.0) -> tuple[str, float]:
    def run() -> str:
        try:
            NodeClient(url, timeout_s=timeout_s).status()
        except ClientError as exc:
            return f"{exc} (exit {exc.exit_code})"
        return "answered"

    started = time.monotonic()
    outcome = await asyncio.get_running_loop().run_in_executor(None, run)
    return outcome, time.monotonic() - started


async def test_the_client_cuts_off_an_endless_answer(liar: Callable[..., Awaitable[str]],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(node_answers, "MAX_ANSWER_BYTES", 1024 * 1024)
    outcome, took = await _client_asks(await liar(_flood))
    assert "larger than" in outcome and "(exit 3)" in outcome, outcome
    assert took < GIVES_UP_WITHIN_S


async def test_the_client_gives_up_on_a_dripping_answer(
        liar: Callable[..., Awaitable[str]]) -> None:
    # each byte comes within the socket timeout, so only a deadline on the whole body ends it
    outcome, took = await _client_asks(await liar(_drip), timeout_s=1.0)
    assert "did not finish its answer within 1 s" in outcome and "(exit 3)" in outcome, outcome
    assert took < GIVES_UP_WITHIN_S


async def test_the_client_refuses_an_answer_nested_too_deep(
        liar: Callable[..., Awaitable[str]]) -> None:
    outcome, _took = await _client_asks(await liar(_deep))
    assert "did not answer JSON" in outcome and "(exit 3)" in outcome, outcome


async def _odd_error(request: web.Request) -> web.Response:
    return web.json_response({"error": {"code": 5, "message": ["x"]}}, status=400)


async def test_the_client_names_the_status_of_an_error_it_cannot_read(
        liar: Callable[..., Awaitable[str]]) -> None:
    outcome, _took = await _client_asks(await liar(_odd_error))
    # a 400 need not carry the API's error (/credentials/verify's verdict is one without):
    # said by its status, neither the node's nor a proxy's
    assert outcome.endswith("answered HTTP 400 (exit 3)"), outcome


async def _silent(request: web.Request) -> web.Response:
    await asyncio.sleep(DRIP_FOR_S)
    return web.json_response({})


async def test_the_client_says_a_silent_node_did_not_answer_in_time(
        liar: Callable[..., Awaitable[str]]) -> None:
    """Not 'cannot reach the node … timed out': the address answered the connection."""
    url = await liar(_silent)
    outcome, took = await _client_asks(url, timeout_s=1.0)
    assert outcome == f"the node at {url} did not answer within 1 s (exit 3)", outcome
    assert took < GIVES_UP_WITHIN_S


async def test_verify_says_a_silent_node_did_not_answer_in_time(
        liar: Callable[..., Awaitable[str]]) -> None:
    """It took the connection, so its address is right: 'cannot reach' would send the
    operator to check it."""
    url = await liar(_silent)

    def run() -> str:
        try:
            RemoteFacts(url, timeout_s=0.5).get_json("/v1/status")
        except RemoteFactsError as exc:
            return str(exc)
        return "answered"

    outcome = await asyncio.get_running_loop().run_in_executor(None, run)
    assert outcome == f"the node at {url} did not answer within 0.5 s"


async def _plain(request: web.Request) -> web.Response:
    return web.json_response({"chain_id": "t", "height": 1})


async def test_https_to_a_node_of_plain_http_says_so(
        liar: Callable[..., Awaitable[str]]) -> None:
    """'[SSL: WRONG_VERSION_NUMBER] wrong version number' told an operator nothing."""
    url = await liar(_plain)
    https = "https://" + url.removeprefix("http://")
    told = f"the node at {https} does not answer in TLS: if its API is plain HTTP, give {url}"

    def run() -> tuple[str, str]:
        try:
            NodeClient(https, timeout_s=5.0).status()
            client = "answered"
        except ClientError as exc:
            client = str(exc)
        try:
            RemoteFacts(https, timeout_s=5.0).get_json("/v1/status")
            remote = "answered"
        except RemoteFactsError as exc:
            remote = str(exc)
        return client, remote

    assert await asyncio.get_running_loop().run_in_executor(None, run) == (told, told)


async def test_a_post_redirected_is_not_sent_as_a_get(liar: Callable[..., Awaitable[str]]
                                                      ) -> None:
    """A proxy that redirects (http to https, say): urllib turned a POST into a GET
    without its body, so a transaction was 'submitted' without ever being sent."""
    seen: list[str] = []

    async def moved(request: web.Request) -> web.Response:
        seen.append(request.method)
        if request.path.startswith("/v1/"):
            raise web.HTTPMovedPermanently("/moved" + request.path)
        return web.json_response({"tx_id": "ab" * 32})

    url = await liar(moved)

    def submit() -> str:
        try:
            return NodeClient(url, timeout_s=5).submit_encoded(b"\x01\x02")
        except ClientError as exc:
            return str(exc)

    outcome = await asyncio.get_running_loop().run_in_executor(None, submit)
    assert outcome == (f"{url}/v1/transactions redirects to {url}/moved/v1/transactions: "
                       "give that node's address with --node (a redirected POST would "
                       "arrive without its body)"), outcome
    assert seen == ["POST"]


@pytest.fixture
async def not_http() -> AsyncIterator[str]:
    """What a node's P2P port says to an HTTP request: bytes that are no status line."""
    async def speak(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"SNM\x01\x9e\x7f binary handshake bytes\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(speak, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.close()
    await server.wait_closed()


async def test_a_port_that_does_not_speak_http_is_named_as_such(not_http: str) -> None:
    """--node given the P2P port (9101 for 8101) ended in a BadStatusLine traceback."""
    outcome, _took = await _client_asks(not_http)
    assert outcome == (f"{not_http} did not answer in HTTP (BadStatusLine): is it the node's "
                       "P2P port rather than its API (api.listen)? (exit 3)"), outcome
    verifier, _took = await _ask(not_http)
    assert verifier == f"{not_http} did not answer in HTTP (BadStatusLine): is it the node's API?"


async def _no_such_route(request: web.Request) -> web.Response:
    # as node.api's json_errors middleware answers a path the API does not have
    return web.json_response({"error": {"code": "not_found", "message": "Not Found"}},
                             status=404)


async def test_a_node_url_with_a_path_is_named_as_the_likely_slip(
        liar: Callable[..., Awaitable[str]]) -> None:
    """--node http://host:8101/v1 answered just 'error: Not Found', exit 1 (a refusal)."""
    url = await liar(_no_such_route) + "/v1"
    outcome, _took = await _client_asks(url)
    assert outcome == (f"{url}/v1/status: Not Found (HTTP 404): is --node the node's base "
                       "URL, e.g. http://127.0.0.1:8101? (exit 2)"), outcome
