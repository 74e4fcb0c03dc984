"""A client that asks before sending its body (Expect: 100-continue) is told to send it only
when the node reads it (`node.http_limits.invite_body`). aiohttp said 100 Continue as soon
as the head came, so a body the route then refused (too long, of a type or coding it does
not read) was sent anyway and drained; now, on an API route (BODY_HELD), the refusal is the
only answer and the connection closes at once, no body having been asked for. A path of no
route gets aiohttp's 100 and drains as before."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator

import pytest

from node.api_public import VERIFY_BODY_MAX
from node.http_limits import REFUSED_BODY_DRAIN_S
from tests.node.conftest import Consortium
from tests.node.test_refused_body_drain import _serve

VERIFY = "/v1/verify"
DOCUMENT = b'{"format": "x"}'  # JSON that /v1/verify answers 200 (a malformed verdict)
DEADLINE_S = 30.0


@pytest.fixture
async def port(net: Consortium) -> AsyncIterator[int]:
    async for bound in _serve(net):
        yield bound


def _head(length: int, *headers: str, path: str = VERIFY) -> bytes:
    return ("".join(f"{header}\r\n" for header in (
        f"POST {path} HTTP/1.1", "Host: x", f"Content-Length: {length}",
        "Expect: 100-continue", *headers)) + "\r\n").encode()


def _ask_then_wait(port: int, head: bytes) -> tuple[bytes, float]:
    """Send `head` alone, as a client waiting for 100 Continue does, and read until the
    connection ends: all that came, and the seconds it took."""
    with socket.create_connection(("127.0.0.1", port), timeout=DEADLINE_S) as sock:
        started = time.monotonic()
        sock.sendall(head)
        answer = b""
        while piece := sock.recv(65536):
            answer += piece
        return answer, time.monotonic() - started


def _only_answer(answer: bytes) -> tuple[int, str]:
    head, _, body = answer.partition(b"\r\n\r\n")
    assert not head.startswith(b"HTTP/1.1 100"), answer[:300]
    assert b"\r\nConnection: close\r\n" in head, answer[:300]
    length = int(next(line.split(b":", 1)[1] for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length:")))
    assert len(body) == length, answer  # nothing follows it
    return int(head.split()[1]), str(json.loads(body)["error"]["code"])


@pytest.mark.parametrize(("length", "headers", "refusal"), [
    (VERIFY_BODY_MAX + 1, ("Content-Type: application/json",), (413, "body_too_large")),
    (len(DOCUMENT), ("Content-Type: text/plain",), (415, "unsupported_media_type")),
    (len(DOCUMENT), ("Content-Type: application/json", "Content-Encoding: compress"),
     (415, "unsupported_media_type"))])
async def test_a_refused_body_is_never_asked_for(
        port: int, length: int, headers: tuple[str, ...], refusal: tuple[int, str]) -> None:
    answer, lasted_s = await asyncio.to_thread(_ask_then_wait, port, _head(length, *headers))
    assert _only_answer(answer) == refusal
    # Closed once answered: it was held for the drain, REFUSED_BODY_DRAIN_S.
    assert lasted_s < REFUSED_BODY_DRAIN_S / 2, lasted_s


async def test_another_expectation_is_417(port: int) -> None:
    head = _head(len(DOCUMENT), "Content-Type: application/json").replace(
        b"100-continue", b"200-ok")
    answer, _ = await asyncio.to_thread(_ask_then_wait, port, head)
    assert _only_answer(answer) == (417, "expectation_failed")


def _ask_then_send(port: int, path: str) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=DEADLINE_S) as sock:
        sock.sendall(_head(len(DOCUMENT), "Content-Type: application/json",
                           "Connection: close", path=path))
        answer = sock.recv(65536)
        assert answer == b"HTTP/1.1 100 Continue\r\n\r\n", answer
        sock.sendall(DOCUMENT)
        while piece := sock.recv(65536):
            answer += piece
        return answer


async def test_a_body_read_is_asked_for_then_answered(port: int) -> None:
    answer = await asyncio.to_thread(_ask_then_send, port, VERIFY)
    final = answer.removeprefix(b"HTTP/1.1 100 Continue\r\n\r\n")
    assert final.startswith(b"HTTP/1.1 200 "), answer[:300]
    assert json.loads(final.partition(b"\r\n\r\n")[2])["status"] == "malformed"


async def test_a_vc_api_body_is_asked_for_when_read(port: int) -> None:
    """The VC-API reads its bodies on its own (`node.vc_common.read_bytes`)."""
    answer = await asyncio.to_thread(_ask_then_send, port, "/credentials/verify")
    final = answer.removeprefix(b"HTTP/1.1 100 Continue\r\n\r\n")
    assert final.startswith(b"HTTP/1.1 400 "), answer[:300]  # a verdict: no credential
    assert json.loads(final.partition(b"\r\n\r\n")[2])["verified"] is False, answer


def _told_then_sends(port: int, path: str, body_bytes: int) -> bytes:
    """As a client that waits for 100 Continue, then sends its whole body before it reads."""
    with socket.create_connection(("127.0.0.1", port), timeout=DEADLINE_S) as sock:
        sock.sendall(_head(body_bytes, "Content-Type: application/json", path=path))
        answer = sock.recv(65536)
        # The answer may come in the same read: a path of no route needs no body to answer.
        assert answer.startswith(b"HTTP/1.1 100 Continue\r\n\r\n"), answer
        sock.sendall(b" " * body_bytes)  # reset here when the node closed at once
        while piece := sock.recv(65536):
            answer += piece
        return answer


@pytest.mark.parametrize("path", ["/v1/nowhere", "/v1/status"])
async def test_a_body_aiohttp_asked_for_off_the_api_routes_gets_its_answer(
        port: int, path: str) -> None:
    """A path of no route (404) or a method a route does not take (405) keeps aiohttp's
    own expect handler, which says 100 Continue at once: the client told to send its body
    is not reset while it sends, as it was when every unread body of a client that asked
    first closed the connection at once."""
    answer = await asyncio.to_thread(_told_then_sends, port, path, 200_000)
    final = answer.removeprefix(b"HTTP/1.1 100 Continue\r\n\r\n")
    assert final.split()[1] in (b"404", b"405"), answer[:300]
