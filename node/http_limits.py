"""HTTP limits below the handlers: connections, header and body timeouts, body size, CORS
(a large answer's pieces are `node.answer_pieces`).

Timeouts. aiohttp has no header-read timeout of its own, but (3.10 and later)
it arms its keep-alive timer when a connection opens and again after each
response, and on expiry closes a connection whose handler still waits for a
complete request head. `HEADER_TIMEOUT_S` is passed as that timer, so a
connection that is idle, or trickles a request head (slow-loris), is closed
once it expires; `tests/node/test_http_limits.py` holds it to that. A body is
read under `BODY_READ_TIMEOUT_S` (408 after); one the handler left unread (a
refusal's) is drained after the answer for at most `REFUSED_BODY_DRAIN_S` and
`REFUSED_BODY_DRAIN_BYTES_MAX`, then its connection closed. A cap on open connections
(`CONNECTIONS_MAX`, and `CONNECTIONS_PER_SOURCE_MAX` from one address, shared between
addresses as `node.fair_share` says) closes a connection beyond it at once. A client that
closes its connection part-way through a request is no error of the node's
(`node.api.json_errors` answers no one, and logs nothing).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import (
    ContentEncodingError,
    HttpProcessingError,
    LineTooLong,
    PayloadEncodingError,
)
from aiohttp.streams import StreamReader
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest

from node.fair_share import (
    CONNECTIONS_DECIDING_MAX,
    CONNECTIONS_MAX,
    CONNECTIONS_PER_SOURCE_MAX,
    gives_way,
)
from p2p.address_keys import address_key
from p2p.policy import LineBudget, RefusedKeys

HEADER_TIMEOUT_S = 10.0
# A request head's limits, given to aiohttp's parser and named in its refusals: bytes in
# the request line or in any one header line, and header lines in all.
HEAD_LINE_BYTES_MAX = 8190
HEADERS_MAX = 128
BODY_READ_TIMEOUT_S = 30.0
# A body the handler left unread (a refusal's: 413, 415, 429, 503 ...) is read and thrown
# away after the answer, so that a client still sending it is not reset before it reads
# the answer; aiohttp does so for up to 10 s with no cap on bytes (over a gigabyte a
# second on loopback). The node does so for at most this long and this many bytes from
# the wire, then closes the connection.
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


async def read_body(request: web.Request, limit: int,
                    charges: Sequence[ArrivalCharge] = ()) -> bytes:
    """The request body, at most `limit` bytes (413 beyond), within BODY_READ_TIMEOUT_S,
    each piece told to `charges` as it arrives (a wait they make counts in the timeout)."""
    too_large = f"request body exceeds {limit} bytes for {request.path}"
    if request.content_length is not None and request.content_length > limit:
        raise http_error(web.HTTPRequestEntityTooLarge, "body_too_large", too_large,
                         params={"limit": limit}, max_size=limit,
                         actual_size=request.content_length)
    body = bytearray()
    try:
        async with asyncio.timeout(BODY_READ_TIMEOUT_S):
            async for chunk in request.content.iter_chunked(READ_CHUNK_BYTES):
                body += chunk
                if len(body) > limit:
                    raise http_error(web.HTTPRequestEntityTooLarge, "body_too_large",
                                     too_large, params={"limit": limit}, max_size=limit,
                                     actual_size=len(body))
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


class ProtocolLog(logging.LoggerAdapter[logging.Logger]):
    """aiohttp's server log, where a malformed request (NUL bytes or garbage in a header,
    a bad request line, a body that is not its Content-Encoding, met again when aiohttp
    drains what the handler left) is the client's fault: one line at INFO, not an ERROR
    with a traceback, and at most one a window per address and kind of fault, the next
    giving the count since (each was a line: as much log as a client cared to make), and
    at most STRANGER_LINES_MAX a minute from all addresses together (p2p.policy.LineBudget).
    Anything else aiohttp reports keeps its traceback."""

    def __init__(self, logger: logging.Logger, extra: Any = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(logger, extra)
        self._said = RefusedKeys(BAD_REQUESTS_WINDOW_S, BAD_REQUESTS_SOURCES_MAX)
        self._lines = LineBudget()  # however many addresses send them
        self._clock = clock

    def _say(self, args: tuple[object, ...], exc: BaseException, line: str) -> None:
        remote = address_key(str(args[0])) if args else ""
        now = self._clock()
        quiet = self._said.note(f"{remote} {type(exc).__name__}".encode(), now)
        held = None if quiet is None else self._lines.take(now)
        if quiet is not None and held is not None:
            self.info("%s%s%s", line, f" ({quiet} more such from it since its last line, "
                      "not logged)" if quiet else "", self._lines.told(held))

    def exception(self, msg: object, *args: object, exc_info: Any = True,
                  **kwargs: Any) -> None:
        said = str(msg) % args if args else str(msg)
        if isinstance(exc_info, web.RequestPayloadError):
            self._say(args, exc_info, f"{said}: {exc_info}")
            return
        if isinstance(exc_info, HttpProcessingError):  # as the client is told: no bytes
            self._say(args, exc_info, f"{said}: HTTP {exc_info.code} {head_problem(exc_info)}")
            return
        super().exception(msg, *args, exc_info=exc_info, **kwargs)


def head_problem(exc: HttpProcessingError) -> str:
    """Why aiohttp's parser refused a request head, in one line naming the limit it
    passed; never the bytes it quotes back (its own text echoes up to 100 of them, across
    lines, for a request that was never HTTP at all)."""
    if isinstance(exc, LineTooLong):
        return (f"the request line or a header line is longer than {HEAD_LINE_BYTES_MAX} "
                "bytes (the limit)")
    said = " ".join(str(exc.message or "").split())
    if isinstance(exc, ContentEncodingError) and "content-encoding" not in said.lower():
        said = f"Can not decode content-encoding: {said}"  # raised with the encoding alone
    if isinstance(exc, ContentEncodingError) and ". Please install" in said:
        # aiohttp's advice to the node's own programmer (a decoder not installed here)
        said = said.split(". Please install", 1)[0] + ": this node reads gzip and deflate"
    if isinstance(exc, PayloadEncodingError):  # met before the handler read the body
        return "the request body cannot be read: " + said
    first = ((exc.message or "").strip().splitlines() or ["bad request"])[0]
    if first == "Too many headers received":
        return f"the request has more than {HEADERS_MAX} header lines (the limit)"
    return "the request is not HTTP/1.1 this node can read: " + first.rstrip(":")[:120]


class WordedRequestHandler(RequestHandler):
    """aiohttp's connection handler, whose refusal of a malformed request head is this
    API's JSON error ("bad_request", the limit named) instead of aiohttp's plain text,
    and which says when its connection is gone (`gone`): a long-poll ends then instead of
    holding one of the node's LONG_POLLS_MAX for nobody (aiohttp cancels no handler).

    A body left unread once the request is answered is read on and thrown away by aiohttp
    ("lingering close", for its `lingering_time`: REFUSED_BODY_DRAIN_S here) and, counted
    here as its bytes arrive, no further than REFUSED_BODY_DRAIN_BYTES_MAX: past that the
    connection is closed before the bytes are parsed."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.gone = asyncio.Event()
        self._unread_body: StreamReader | None = None  # the answered request's
        self._unread_bytes_arrived = 0

    async def finish_response(self, request: BaseRequest, resp: web.StreamResponse,
                              start_time: float | None) -> tuple[web.StreamResponse, bool]:
        answered = await super().finish_response(request, resp, start_time)
        if not request.content.is_eof():  # aiohttp drains it next
            self._unread_body = request.content
            self._unread_bytes_arrived = 0
        return answered

    def data_received(self, data: bytes) -> None:
        unread = self._unread_body
        if unread is not None and unread.is_eof():  # all of it came: what follows is not
            unread = self._unread_body = None
        if unread is not None:
            self._unread_bytes_arrived += len(data)
            if self._unread_bytes_arrived > REFUSED_BODY_DRAIN_BYTES_MAX:
                self._unread_body = None
                self.force_close()
                unread.feed_eof()  # ends aiohttp's draining read now, not at its timeout
                return
        super().data_received(data)

    def connection_lost(self, exc: BaseException | None) -> None:
        super().connection_lost(exc)
        self.gone.set()

    def handle_error(self, request: Any, status: int = 500, exc: BaseException | None = None,
                     message: str | None = None) -> web.StreamResponse:
        response = super().handle_error(request, status, exc, message)  # logs it too
        if status != 400 or not isinstance(exc, HttpProcessingError):
            return response
        worded = json_error(400, "bad_request", head_problem(exc))
        worded.force_close()
        return worded


class _Refused(asyncio.Protocol):
    """A connection beyond the cap: closed as it opens, before aiohttp sees it."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport.close()


class LimitedServer(web.Server):
    """aiohttp's connection manager, closing connections beyond its caps as they open.

    A connection's address is known only once it is made, so up to
    CONNECTIONS_DECIDING_MAX beyond the cap are taken that far; past that they are
    refused in the protocol factory. One that is over the cap is then closed, or takes
    the place of another address's connection (`node.fair_share.gives_way`). Refused
    connections are closed once their handler has started: a request handler closed
    in its own connection_made would start anyway on a connection already lost, and
    fail with an ERROR and a traceback in the log for every connection a crowd opened."""

    def __init__(self, *args: Any, connections_max: int = CONNECTIONS_MAX,
                 per_source_max: int = CONNECTIONS_PER_SOURCE_MAX,
                 exempt: frozenset[str] = frozenset(), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.connections_max = connections_max
        self.per_source_max = per_source_max
        self.exempt = exempt
        self.refused_connections = 0
        self.evicted_connections = 0  # closed to make room for an address holding fewer
        # Counted connections: by handler (in the order they came), per address, and
        # those of exempt addresses (never made to give way).
        self._sources: dict[RequestHandler, str] = {}
        self._per_source: dict[str, int] = {}
        self._exempt_open: set[RequestHandler] = set()
        # Handlers made for accepted connections whose connection_made has not run yet
        # (the loop accepts several at once), with when they were made: one whose
        # transport never came is forgotten after OPENING_FORGOTTEN_S.
        self._opening: dict[RequestHandler, float] = {}

    def __call__(self) -> asyncio.Protocol:  # type: ignore[override]
        now = time.monotonic()
        for stale in [h for h, made in self._opening.items()
                      if now - made > OPENING_FORGOTTEN_S]:
            del self._opening[stale]
        if (len(self.connections) + len(self._opening)
                >= self.connections_max + CONNECTIONS_DECIDING_MAX):
            self.refused_connections += 1
            return _Refused()
        handler = WordedRequestHandler(self, loop=self._loop, **self._kwargs)
        self._opening[handler] = now
        return handler

    def connection_made(self, handler: RequestHandler, transport: asyncio.Transport) -> None:
        self._opening.pop(handler, None)
        super().connection_made(handler, transport)
        peer = transport.get_extra_info("peername")
        address = str(peer[0]) if isinstance(peer, tuple) and peer else ""
        exempt = not address or address in self.exempt
        source = address_key(address)
        held = 0 if exempt else self._per_source.get(source, 0)
        if not exempt and held >= self.per_source_max:
            self._refuse(handler)
            return
        if len(self._sources) + len(self._exempt_open) >= self.connections_max:
            victim = self._victim(held)
            if victim is None:
                self._refuse(handler)
                return
            self._forget(victim)
            victim.force_close()
            self.evicted_connections += 1
        if exempt:
            self._exempt_open.add(handler)
        else:
            self._sources[handler] = source
            self._per_source[source] = held + 1

    def _refuse(self, handler: RequestHandler) -> None:
        self.refused_connections += 1
        # Closed once its handler has started (the next turn of the loop).
        asyncio.get_running_loop().call_soon(handler.force_close)

    def _victim(self, newcomer_holds: int) -> RequestHandler | None:
        """The connection that gives way to a newcomer, if any: an idle one (waiting for
        a request head) of the address holding the most, else its oldest."""
        address = gives_way(self._per_source, newcomer_holds)
        if address is None:
            return None
        theirs = [h for h, source in self._sources.items() if source == address]
        # aiohttp's own flag, set while a request is being handled; without it, count
        # every connection as busy (the oldest is taken).
        idle = [h for h in theirs if not getattr(h, "_request_in_progress", True)]
        return (idle or theirs)[0]

    def _forget(self, handler: RequestHandler) -> None:
        self._exempt_open.discard(handler)
        source = self._sources.pop(handler, None)
        if source is not None:
            left = self._per_source[source] - 1
            if left:
                self._per_source[source] = left
            else:
                del self._per_source[source]

    def connection_lost(self, handler: RequestHandler,
                        exc: BaseException | None = None) -> None:
        super().connection_lost(handler, exc)
        self._forget(handler)


class LimitedAppRunner(web.AppRunner):
    """An AppRunner whose server caps connections (in all and per address, but for
    `exempt` addresses), times out idle request heads and drains a refused body only so
    far (REFUSED_BODY_DRAIN_S, REFUSED_BODY_DRAIN_BYTES_MAX)."""

    def __init__(self, app: web.Application, connections_max: int = CONNECTIONS_MAX,
                 header_timeout_s: float = HEADER_TIMEOUT_S,
                 per_source_max: int = CONNECTIONS_PER_SOURCE_MAX,
                 exempt: frozenset[str] = frozenset(), **kwargs: Any) -> None:
        kwargs.setdefault("keepalive_timeout", header_timeout_s)
        kwargs.setdefault("lingering_time", REFUSED_BODY_DRAIN_S)
        kwargs.setdefault("max_line_size", HEAD_LINE_BYTES_MAX)
        kwargs.setdefault("max_field_size", HEAD_LINE_BYTES_MAX)
        kwargs.setdefault("max_headers", HEADERS_MAX)
        kwargs.setdefault("logger", ProtocolLog(logging.getLogger("aiohttp.server"), {}))
        super().__init__(app, **kwargs)
        self._connections_max = connections_max
        self._per_source_max = per_source_max
        self._exempt = exempt

    def connections_refused_and_evicted(self) -> tuple[int, int]:
        """What the caps have done since the server started: connections refused, and
        open ones closed to make room for an address holding fewer (both 0 before it
        starts)."""
        server = self.server
        if not isinstance(server, LimitedServer):
            return 0, 0
        return server.refused_connections, server.evicted_connections

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        limited = LimitedServer(server.request_handler, request_factory=server.request_factory,
                                handler_cancellation=server.handler_cancellation,
                                connections_max=self._connections_max,
                                per_source_max=self._per_source_max, exempt=self._exempt,
                                **server._kwargs)
        return limited
