"""A request body in a content coding the node does not inflate is refused 415, before it is
read (`node.media_types.coding_problem`). aiohttp inflates gzip and deflate (br and zstd with
their packages) and reads a body in any other coding, or in a list of codings, as though it
were in none: /v1/verify answered a verdict on bytes the client said were compressed, and
/v1/verify/anchor hashed them and called the document unknown. A body in br or zstd, which
aiohttp would inflate but has no decoder for here, failed its parser as the head was read:
aiohttp's 400 "Can not decode content-encoding". Now it is the same 415, on the node's own
server (`node.http_server`), its body drained unread as any refused one."""

from __future__ import annotations

import asyncio
import gzip
import json
import socket
import time
import zlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession, compression_utils, web
from aiohttp.test_utils import TestClient

from node.api import make_app
from node.http_limits import REFUSED_BODY_DRAIN_BYTES_MAX, REFUSED_BODY_DRAIN_S
from node.http_server import LimitedAppRunner
from node.mempool import MempoolLimits
from node.metrics import NodeMetrics
from node.service import NodeCore
from storage.kv import MemoryStore
from tests.node.api_server import serving_on_disk
from tests.node.conftest import Consortium
from tests.node.raw_answers import read_to_close

Client = TestClient[web.Request, web.Application]
DOCUMENT = b'{"format": "x"}'  # JSON that /v1/verify answers 200 (a malformed verdict)
# What aiohttp inflates here (br and zstd only with their packages installed).
CODINGS_READ = ("gzip", "deflate", *(["br"] if compression_utils.HAS_BROTLI else []),
                *(["zstd"] if compression_utils.HAS_ZSTD else []))
READ = " or ".join(CODINGS_READ)
# Codings aiohttp would inflate, with no decoder here: its parser fails on their heads.
WITHOUT_DECODER = [c for c, has in (("br", compression_utils.HAS_BROTLI),
                                    ("zstd", compression_utils.HAS_ZSTD)) if not has]
DEADLINE_S = 30.0
SLACK_S = 8.0  # a loaded CI machine may be seconds late
OFFERED_BYTES = 16 * 1024 * 1024
# What may go in beyond the drain's cap: the kernels' socket buffers on loopback.
KERNEL_BUFFERS_BYTES = 8 * 1024 * 1024


@pytest.fixture
async def client(tmp_path: Path, net: Consortium) -> AsyncIterator[Client]:
    async with serving_on_disk(net.ministry, net.genesis, tmp_path) as test_client:
        yield test_client


async def _post(client: Client, path: str, body: bytes, content_type: str,
                codings: list[str]) -> tuple[int, Any, dict[str, str]]:
    headers = [("Content-Type", content_type), *(("Content-Encoding", c) for c in codings)]
    response = await client.post(path, data=body, headers=headers)
    return response.status, await response.json(), dict(response.headers)


@pytest.mark.parametrize("codings", [
    ["compress"], ["x-gzip"], ["gzip, gzip"], ["deflate, gzip"], ["identity, gzip"],
    ["gzip", "gzip"], ["exi"], ["gz\u00efp"],
    # Blanks str.strip() takes and aiohttp keeps: it reads a non-ASCII value as no coding.
    ["gzip\u00a0"], ["\u00a0gzip"], ["gzip\u3000"], ["gzip\u0085"], ["deflate\u00a0"],
    ["identity\u00a0"]])
@pytest.mark.parametrize(("path", "content_type"), [
    ("/v1/verify", "application/json"), ("/v1/verify/anchor", "application/octet-stream"),
    ("/v1/transactions", "application/json"), ("/v1/proofs", "application/json"),
    ("/credentials/verify", "application/json")])
async def test_a_coding_the_node_does_not_inflate_is_415(
        client: Client, path: str, content_type: str, codings: list[str]) -> None:
    status, answer, headers = await _post(client, path, DOCUMENT, content_type, codings)
    assert status == 415, answer
    error = answer["error"]  # on a VC-API path, kept as a member of the problem details
    assert error["code"] == "unsupported_media_type", answer
    assert error["params"] == {"codings": READ}, answer
    assert error["message"].startswith("the request's body is in content coding "), answer
    assert error["message"].endswith(f"; this node reads a body in {READ}, or in none"), answer
    assert headers["Accept-Encoding"] == ", ".join(CODINGS_READ)
    assert headers["Connection"] == "close"  # the body is left unread


async def test_only_a_short_coding_is_named_back(client: Client) -> None:
    for coding, said in (("Compress", "compress"), ("x" * 300, "one this node cannot read"),
                         ("gzip, gzip", "gzip, gzip"), ("g\u00fczip", "one this node cannot read")):
        status, answer, _ = await _post(client, "/v1/verify", DOCUMENT, "application/json",
                                        [coding])
        assert status == 415, answer
        assert answer["error"]["message"].startswith(
            f"the request's body is in content coding {said};"), answer


@pytest.mark.parametrize("codings", [[], ["identity"], ["IDENTITY"], [""], [" \tidentity\t "]])
async def test_a_body_in_no_coding_is_read(client: Client, codings: list[str]) -> None:
    status, answer, _ = await _post(client, "/v1/verify", DOCUMENT, "application/json", codings)
    assert status == 200 and answer["status"] == "malformed", answer


@pytest.mark.parametrize("coding", CODINGS_READ)
async def test_a_coding_the_node_inflates_is_read(client: Client, coding: str) -> None:
    if coding not in ("gzip", "deflate"):
        pytest.skip(f"{coding} is read with its package; this test makes gzip and deflate")
    body = gzip.compress(DOCUMENT) if coding == "gzip" else zlib.compress(DOCUMENT)
    status, answer, _ = await _post(client, "/v1/verify", body, "application/json",
                                    [coding.upper()])
    assert status == 200 and answer["status"] == "malformed", answer


@pytest.fixture
async def live_port(net: Consortium) -> AsyncIterator[int]:
    """The app on the node's own server (aiohttp's test server is not it)."""
    core = NodeCore(net.ministry, net.genesis, MemoryStore(), MempoolLimits(100, 1 << 20, 100),
                    NodeMetrics())
    runner = LimitedAppRunner(make_app(core, "codings"), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield runner.addresses[0][1]
    finally:
        await runner.cleanup()
        core.worker.shutdown(wait=True)


@pytest.mark.parametrize("codings", [["br"], ["BR"], ["zstd"], ["Zstd"], ["gzip", "br"],
                                     ["br, gzip"], ["zstd, br"], ["compress"]])
@pytest.mark.parametrize("path", ["/v1/verify", "/v1/transactions", "/credentials/verify"])
async def test_a_coding_without_a_decoder_is_the_same_415_on_the_nodes_server(
        live_port: int, path: str, codings: list[str],
        caplog: pytest.LogCaptureFixture) -> None:
    if len(codings) == 1 and codings[0].lower() in CODINGS_READ:
        pytest.skip(f"{codings[0]} is read here (its package is installed)")
    headers = [("Content-Type", "application/json"), *(("Content-Encoding", c) for c in codings)]
    async with ClientSession() as session, session.post(
            f"http://127.0.0.1:{live_port}{path}", data=DOCUMENT, headers=headers) as response:
        answer = await response.json()
        assert response.status == 415, answer
        assert response.headers["Accept-Encoding"] == ", ".join(CODINGS_READ)
        assert response.headers["Connection"] == "close"
    error = answer["error"]
    assert error["code"] == "unsupported_media_type", answer
    assert error["params"] == {"codings": READ}, answer
    assert error["message"].startswith("the request's body is in content coding "), answer
    assert error["message"].endswith(f"; this node reads a body in {READ}, or in none"), answer
    assert "install" not in error["message"].lower()
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"


def _send_refused_body(port: int, coding: str) -> tuple[int, float, bytes]:
    """A client that sends its whole body before it reads (http.client's way): the body's
    bytes it got in before the node stopped it, the seconds that took, and the answer."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * 1024)
        sock.settimeout(DEADLINE_S)
        sock.connect(("127.0.0.1", port))
        sock.sendall(f"POST /v1/verify HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                     f"\r\nContent-Encoding: {coding}\r\nContent-Length: {OFFERED_BYTES}"
                     "\r\n\r\n".encode())
        piece, sent, started = b"\0" * 65536, 0, time.monotonic()
        try:
            while sent < OFFERED_BYTES and time.monotonic() - started < DEADLINE_S:
                sock.sendall(piece)
                sent += len(piece)
        except (BrokenPipeError, ConnectionResetError):
            pass
        answer = read_to_close(sock)
        return sent, time.monotonic() - started, answer


@pytest.mark.parametrize("coding", WITHOUT_DECODER or ["br"])
async def test_a_large_body_without_a_decoder_is_drained_and_its_415_read(
        live_port: int, coding: str) -> None:
    """Its body is thrown away unparsed as far as the drain's caps, as a route's refused
    one is, and the client reads the answer; aiohttp's 400 closed at once."""
    if coding not in WITHOUT_DECODER:
        pytest.skip(f"{coding} is read here (its package is installed)")
    sent, took_s, answer = await asyncio.to_thread(_send_refused_body, live_port, coding)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith((b"HTTP/1.0 415 ", b"HTTP/1.1 415 ")), answer[:200]
    assert json.loads(body)["error"]["code"] == "unsupported_media_type"
    assert sent <= REFUSED_BODY_DRAIN_BYTES_MAX + KERNEL_BUFFERS_BYTES, sent
    assert took_s < REFUSED_BODY_DRAIN_S + SLACK_S, took_s


def _exchange(port: int, head: bytes) -> bytes:
    """`head` (and the two bytes of body it declares) sent whole, and all that is answered."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(DEADLINE_S)
        sock.connect(("127.0.0.1", port))
        sock.sendall(head + b"{}")
        answer = read_to_close(sock)
        return answer


@pytest.mark.parametrize("fault", [
    b"X-Note: a\0b\r\nContent-Length: 2\r\n",  # a NUL in a header
    b"Content-Length: two\r\n",
    b"Content-Length: -2\r\n",
    b"Content-Length: 2\r\nContent-Length: 3\r\n",
    b"Content-Length: 2\r\nTransfer-Encoding: chunked\r\n",
], ids=["nul", "words", "negative", "two-lengths", "length-and-chunked"])
@pytest.mark.parametrize("coding", WITHOUT_DECODER or ["br"])
async def test_a_malformed_head_in_a_coding_without_a_decoder_stays_400(
        live_port: int, coding: str, fault: bytes) -> None:
    """A head aiohttp's parser refuses for itself is the 400 it always was, whatever coding
    it names: only a coding wanting its decoder is made the route's 415."""
    if coding not in WITHOUT_DECODER:
        pytest.skip(f"{coding} is read here (its package is installed)")
    head = (b"POST /v1/verify HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Encoding: " + coding.encode() + b"\r\n" + fault + b"\r\n")
    answer = await asyncio.to_thread(_exchange, live_port, head)
    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line.split()[1:2] == [b"400"], answer[:300]
    assert json.loads(rest.partition(b"\r\n\r\n")[2])["error"]["code"] == "bad_request", answer
