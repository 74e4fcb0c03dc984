"""A request head aiohttp's parser refuses is refused as every other request is: a 400
with the API's JSON error, naming the limit it passed, quoting none of its bytes back."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest

from tests.node.test_http_limits import DEADLINE_S, Served, served

__all__ = ["served"]  # the fixture, shared with test_http_limits


async def _refusal(served: Served, raw: bytes) -> tuple[bytes, dict[str, dict[str, str]]]:
    reader, writer = await asyncio.open_connection("127.0.0.1", served.port)
    writer.write(raw)
    await writer.drain()
    async with asyncio.timeout(DEADLINE_S):
        answer = await reader.read()  # the refusal closes the connection
    writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    return head, json.loads(body)


@pytest.mark.parametrize(("raw", "said"), [
    (b"GET /v1/status HTTP/1.1\r\nX-Big: " + b"a" * 100_000 + b"\r\n\r\n",
     "the request line or a header line is longer than 8190 bytes (the limit)"),
    (b"GET /v1/state/" + b"ab" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
     "the request line or a header line is longer than 8190 bytes (the limit)"),
    (b"GET /v1/status HTTP/1.1\r\n" + b"".join(b"X-%d: a\r\n" % i for i in range(500))
     + b"\r\n", "the request has more than 128 header lines (the limit)"),
    (b"BREW /v1/status HTTP/1.1\r\nHost: x\r\n\r\n",
     "the request is not HTTP/1.1 this node can read: "),
    (b"POST /v1/verify HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
     b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
     "the request is not HTTP/1.1 this node can read: Transfer-Encoding can't be present "
     "with Content-Length"),
])
async def test_a_refused_request_head_gets_the_apis_json_error(served: Served, raw: bytes,
                                                              said: str) -> None:
    # Each was answered in aiohttp's plain text, the huge ones quoting 100 of their
    # bytes back ("Got more than 8190 bytes when reading: b'aaaa…'"), and "Too many
    # headers received" without the limit.
    head, body = await _refusal(served, raw)
    assert head.split(b"\r\n")[0].endswith(b" 400 Bad Request"), head
    assert b"application/json" in head.lower(), head
    assert body["error"]["code"] == "bad_request"
    message = body["error"]["message"]
    assert message.startswith(said), message
    assert "aaaa" not in message and "abab" not in message and "\n" not in message


async def test_a_flood_of_malformed_requests_is_one_line(
        served: Served, caplog: pytest.LogCaptureFixture) -> None:
    # Each was a line at INFO: as much log as a client cared to make.
    caplog.set_level(logging.INFO, logger="aiohttp.server")
    for _ in range(20):
        await _refusal(served, b"POST /v1/verify HTTP/1.1\r\nHost: x\r\n"
                               b"Content-Length: -5\r\n\r\n")
    lines = [r.getMessage() for r in caplog.records if r.name == "aiohttp.server"]
    assert len(lines) == 1, lines
    assert lines[0].startswith("Error handling request from 127.0.0.1: HTTP 400 "), lines


async def test_a_refused_head_is_logged_without_its_bytes(
        served: Served, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="aiohttp.server")
    await _refusal(served, b"GET /v1/status HTTP/1.1\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n")
    lines = [r.getMessage() for r in caplog.records if r.name == "aiohttp.server"]
    assert lines == ["Error handling request from 127.0.0.1: HTTP 400 the request line or a "
                     "header line is longer than 8190 bytes (the limit)"], lines
