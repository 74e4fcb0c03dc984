"""HTTP limits below the handlers: the numbers (head and body sizes, timeouts, connections),
a body's read within them, the API's JSON error, CORS. The server that holds connections
to them is `node.http_server`; a large answer's pieces are `node.answer_pieces`.

A body is read under `BODY_READ_TIMEOUT_S` (408 after) and its route's byte limit (413
beyond); a client waiting for 100 Continue is told to send it only then (`invite_body`).
One the handler refused unread ends its connection, drained no further than
`REFUSED_BODY_DRAIN_S` and `REFUSED_BODY_DRAIN_BYTES_MAX` (`node.http_server`). A client
that closes its connection part-way through a request is no error of the node's
(`node.api.json_errors` answers no one, and logs nothing).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from aiohttp import hdrs, web
from aiohttp.http import HttpVersion11
from aiohttp.http_exceptions import HttpProcessingError

HEADER_TIMEOUT_S = 10.0
# A request head's limits, given to aiohttp's parser and named in its refusals: bytes in
# the request line or in any one header line, and header lines in all.
HEAD_LINE_BYTES_MAX = 8190
HEADERS_MAX = 128
BODY_READ_TIMEOUT_S = 30.0
# A body the handler left unread (a refusal's: 413, 415, 429, 503 ...) is thrown away
# unparsed as it arrives after the answer, so that a client still sending it is not reset
# before it reads the answer; aiohttp read it through its parser for up to 10 s with no
# cap on bytes (over a gigabyte a second on loopback). The node does so for at most this
# long and this many bytes from the wire on the connection, then closes it.
REFUSED_BODY_DRAIN_S = 5.0
REFUSED_BODY_DRAIN_BYTES_MAX = 1024 * 1024
OPENING_FORGOTTEN_S = 5.0
READ_CHUNK_BYTES = 64 * 1024
# Routes any web page may call: they read and change nothing. Writes get no CORS.
READ_ONLY_POSTS = frozenset({"/v1/verify", "/v1/verify/anchor", "/v1/proofs"})
CORS_MAX_AGE_S = 600
# Told the length of each piece of a body as it arrives, before the next is read: may
# hold the reading back (a byte rate) or refuse the request (an HTTPException).
ArrivalCharge = Callable[[int], Awaitable[None]]
# Set on a request once its client has been told to send the body (100 Continue).
BODY_INVITED = web.RequestKey("body_invited", bool)
# Set on a request whose 100 Continue this node held back (its routes' expect handler, for
# a client awaiting one); a path of no route, or the portal's, has aiohttp's own, which
# sent 100 Continue at once.
BODY_HELD = web.RequestKey("body_held", bool)
# A malformed request is logged once per address and kind of fault a window.
BAD_REQUESTS_WINDOW_S = 60.0
BAD_REQUESTS_SOURCES_MAX = 1_024  # addresses whose last line is remembered


def json_error(status: int, code: str, message: str,
               headers: dict[str, str] | None = None,
               params: Mapping[str, str | int] | None = None) -> web.Response:
    """The API's error: its code, its English message, and (when it has any) the
    specifics the message names, by name (`params`: a ledger refusal's member, height or
    limit), for a client that says the refusal in another language."""
    error: dict[str, object] = {"code": code, "message": message}
    if params:
        error["params"] = dict(params)
    return web.json_response({"error": error}, status=status, headers=headers)


def http_error(exc_class: type[web.HTTPException], code: str, message: str,
               params: Mapping[str, str | int] | None = None,
               **kwargs: Any) -> web.HTTPException:
    """An aiohttp HTTP exception with our JSON error body (`params` as json_error's)."""
    error: dict[str, object] = {"code": code, "message": message}
    if params:
        error["params"] = dict(params)
    return exc_class(text=json.dumps({"error": error}), content_type="application/json",
                     **kwargs)


def awaits_invitation(request: web.BaseRequest) -> bool:
    """Whether the client waits to be told to send its body (Expect: 100-continue)."""
    return (request.version >= HttpVersion11 and request.headers.get(hdrs.EXPECT, "")
            .strip(" \t").lower() == "100-continue")


async def expect_body_later(request: web.Request) -> None:
    """Every API route's expect handler. aiohttp's own said 100 Continue as soon as the
    head came, so the client sent its body and then met the route's refusal (its length,
    type or coding, a rate's 429), which the node drained. Here the body is invited only
    when it is read (`invite_body`); a refusal made before is the only answer, and the
    connection then closes with no body to drain. Another expectation is 417, as
    aiohttp's (RFC 9110 10.1.1). An HTTP/1.0 client is never invited (it cannot wait for
    a 100), so it sends its body regardless: not held, a refused one is drained."""
    if request.version >= HttpVersion11 and not awaits_invitation(request):
        raise http_error(web.HTTPExpectationFailed, "expectation_failed",
                         "the request's Expect header asks for something other than "
                         "100-continue, which is all this node answers")
    if awaits_invitation(request):
        request[BODY_HELD] = True


async def invite_body(request: web.Request) -> None:
    """Tell a client that waits for it (`awaits_invitation`) to send its body, once."""
    if awaits_invitation(request) and not request.get(BODY_INVITED, False):
        request[BODY_INVITED] = True
        await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        request.writer.output_size = 0  # as aiohttp does: not the answer's bytes


def body_too_large(request: web.Request, limit: int, size: int) -> web.HTTPException:
    """413 for a body of `size` bytes (declared, or read so far) past the route's `limit`."""
    return http_error(web.HTTPRequestEntityTooLarge, "body_too_large",
                      f"request body exceeds {limit} bytes for {request.path}",
                      params={"limit": limit}, max_size=limit, actual_size=size)


async def read_body(request: web.Request, limit: int,
                    charges: Sequence[ArrivalCharge] = ()) -> bytes:
    """The request body, at most `limit` bytes (413 beyond), within BODY_READ_TIMEOUT_S,
    each piece told to `charges` as it arrives (a wait they make counts in the timeout)."""
    if request.content_length is not None and request.content_length > limit:
        raise body_too_large(request, limit, request.content_length)
    await invite_body(request)
    body = bytearray()
    try:
        async with asyncio.timeout(BODY_READ_TIMEOUT_S):
            async for chunk in request.content.iter_chunked(READ_CHUNK_BYTES):
                body += chunk
                if len(body) > limit:
                    raise body_too_large(request, limit, len(body))
                for charge in charges:
                    await charge(len(chunk))
    except TimeoutError as exc:
        raise http_error(web.HTTPRequestTimeout, "body_timeout",
                         f"request body not received within {BODY_READ_TIMEOUT_S:g} s",
                         params={"limit": int(BODY_READ_TIMEOUT_S)},
                         headers={"Connection": "close"}) from exc
    except web.RequestPayloadError as exc:
        raise http_error(web.HTTPBadRequest, "malformed", payload_problem(exc)) from exc
    return bytes(body)


def payload_problem(exc: web.RequestPayloadError) -> str:
    """In one line, why a body could not be read (e.g. it is not its Content-Encoding)."""
    cause = exc.__cause__
    why = cause.message if isinstance(cause, HttpProcessingError) else str(exc)
    return "the request body cannot be read: " + " ".join(str(why).split())


def is_read_only(request: web.Request) -> bool:
    if request.method in ("GET", "HEAD"):
        return True
    return request.method in ("POST", "OPTIONS") and request.path in READ_ONLY_POSTS


async def add_cors_headers(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: read-only routes may be called from any origin."""
    if is_read_only(request):
        response.headers["Access-Control-Allow-Origin"] = "*"


async def cors_preflight(request: web.Request) -> web.Response:
    return web.Response(status=204, headers={
        "Access-Control-Allow-Methods": "POST, OPTIONS",
        "Access-Control-Allow-Headers": "Content-Type",
        "Access-Control-Max-Age": str(CORS_MAX_AGE_S)})
