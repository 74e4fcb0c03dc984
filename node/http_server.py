"""The node's HTTP server below the handlers: aiohttp's, holding connections to the limits
of `node.http_limits`.

Timeouts. aiohttp has no header-read timeout of its own, but (3.10 and later)
it arms its keep-alive timer when a connection opens and again after each
response, and on expiry closes a connection whose handler still waits for a
complete request head. `HEADER_TIMEOUT_S` is passed as that timer, so a
connection that is idle, or trickles a request head (slow-loris), is closed
once it expires; `tests/node/test_http_limits.py` holds it to that. A body the
handler left unread (a refusal's) ends its connection: what the client sends on is
thrown away unparsed after the answer for at most `REFUSED_BODY_DRAIN_S` and
`REFUSED_BODY_DRAIN_BYTES_MAX` in all, then the connection is closed; what it reads is
charged to the sender's byte rate (`node.client_limits.ClientLimits.drained`), and an
address with none left has 429 for such a refusal (a 4xx; any other answer stands).
A cap on open connections (`CONNECTIONS_MAX`, and `CONNECTIONS_PER_SOURCE_MAX` from one
address, shared between addresses as `node.fair_share` says) closes a connection beyond
it at once. A malformed request head is answered in the API's JSON and logged once per
address and kind (`node.malformed_heads`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.streams import StreamReader
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest

from node.client_limits import ClientLimits, Decision
from node.fair_share import (
    CONNECTIONS_DECIDING_MAX,
    CONNECTIONS_MAX,
    CONNECTIONS_PER_SOURCE_MAX,
    gives_way,
)
from node.http_limits import (
    BODY_HELD,
    BODY_INVITED,
    HEAD_LINE_BYTES_MAX,
    HEADER_TIMEOUT_S,
    HEADERS_MAX,
    OPENING_FORGOTTEN_S,
    REFUSED_BODY_DRAIN_BYTES_MAX,
    REFUSED_BODY_DRAIN_S,
    json_error,
)
from node.malformed_heads import ProtocolLog, head_problem, missing_decoder
from node.media_types import coding_problem, unsupported_coding
from p2p.address_keys import address_key

# Set on the request of a head aiohttp's parser failed on for want of a decoder (br or zstd
# without its package): the body, if one follows, is as unread as a refused route's.
UNREAD_AFTER_HEAD = web.RequestKey("unread_after_head", bool)


class WordedRequestHandler(RequestHandler):
    """aiohttp's connection handler, whose refusal of a malformed request head is this
    API's JSON error ("bad_request", the limit named) instead of aiohttp's plain text,
    and which says when its connection is gone (`gone`): a long-poll ends then instead of
    holding one of the node's LONG_POLLS_MAX for nobody (aiohttp cancels no handler).

    A request whose body the handler left unread (a refusal's: 413, 415, 429 ...) ends
    its connection, as nginx's lingering close does: the answer says Connection: close
    and is followed by the end of what the node sends (a half-close), and what the
    client still sends is then thrown away as it arrives, never parsed (so never inflated,
    however it is coded), until the client closes, REFUSED_BODY_DRAIN_BYTES_MAX have come
    or REFUSED_BODY_DRAIN_S have passed. So one connection makes the node read at most
    that much after a refusal, and a client still sending a body within those caps is
    not reset before it reads the answer. aiohttp's own lingering close read the rest of
    each such body through its parser, inflating a gzip one (1 MB of it is 1000 MiB of
    zeros, 2.4 s of CPU), and kept the connection for the next request, so a client could
    send on one refused body after another. A client that waited for 100 Continue on an
    API route (`BODY_HELD`) and was refused before its body was asked for
    (`node.http_limits.invite_body`) has none to drain: the connection closes as soon as
    the refusal is sent. Elsewhere aiohttp says 100 Continue as the head comes, and the
    body drains.

    What a drain reads is charged to the sender's byte rate (`limits`, the one its read
    bodies are charged to), and the drain ends once the address has none left: so the
    caps hold for one connection, the rate for all of an address's together, and an
    address's drains cost no other address anything. An address with none left has 429
    (Retry-After) in place of such a refusal (a 4xx), as it would for a body the node
    reads, and its connection is closed then with nothing drained; an answer that is no
    refusal stands (its work is done), closed undrained too. A refusal before a body was
    invited is left as it is: no drain follows, so no rate is asked.

    A body in br or zstd, which the node has no decoder for, fails aiohttp's parser as
    the head is read (aiohttp would inflate it): it is answered with the 415 a route gives
    a coding it does not read (`node.media_types.unsupported_coding`), and drained so."""

    def __init__(self, *args: Any, limits: ClientLimits | None = None,
                 over_rate_counted: Callable[[], None] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.gone = asyncio.Event()
        self._limits = limits
        self._over_rate_counted = over_rate_counted  # told of each refusal made a 429
        self._drain_from = ""  # the address charged for what the drain reads
        self._draining = False
        self._drained_bytes = 0
        self._drain_over = asyncio.Event()  # the client closed, or the cap was passed

    async def finish_response(self, request: BaseRequest, resp: web.StreamResponse,
                              start_time: float | None) -> tuple[web.StreamResponse, bool]:
        unread = not request.content.at_eof() or request.get(UNREAD_AFTER_HEAD, False)
        # A client waiting for 100 Continue that was never asked for its body sends none:
        # closing costs the node nothing, so its sender's rate is not asked.
        never_sent = (unread and request.get(BODY_HELD, False)
                      and not request.get(BODY_INVITED, False))
        spent = None
        if unread and not never_sent and self._limits is not None:
            spent = self._limits.spent(request.remote or "")
        if unread:
            if spent is not None:
                resp = self._over_rate(resp, spent)
            resp.force_close()  # Connection: close, unless the answer was already begun
        answered = await super().finish_response(request, resp, start_time)
        if never_sent or spent is not None:
            # Nothing to drain, or its sender has no bytes left to drain it with.
            self.force_close()
        elif unread:
            await self._drain(request.content, request.remote or "")
        return answered

    def _over_rate(self, answer: web.StreamResponse, spent: Decision) -> web.StreamResponse:
        """429 in place of a refusal (4xx, whose body is left unread) for a sender with no
        bytes left, unless it is one already or was begun. Any other answer stands: the work
        is done, and its connection closes undrained all the same."""
        if (answer.prepared or not 400 <= answer.status < 500 or answer.status == 429
                or spent.retry_after_s is None):
            return answer
        if self._over_rate_counted is not None:
            self._over_rate_counted()
        return json_error(429, "rate_limited", spent.reason,
                          headers={"Retry-After": str(int(spent.retry_after_s))})

    async def _drain(self, body: StreamReader, sender: str) -> None:
        """Throw away what arrives until the client closes, or the drain's caps, or the
        sender's byte rate is spent."""
        transport = self.transport
        if transport is None:
            return
        self._drain_from = sender
        self._draining = True
        if transport.can_write_eof():
            transport.write_eof()  # after the answer: a client reading it sees its end
        if not transport.is_reading():  # paused by a body buffer that no one reads now
            transport.resume_reading()
        try:
            async with asyncio.timeout(REFUSED_BODY_DRAIN_S):
                await self._drain_over.wait()
        except TimeoutError:
            pass
        # Ends aiohttp's own draining read before it starts: no more of it is parsed.
        body.feed_eof()

    def data_received(self, data: bytes) -> None:
        if not self._draining:
            super().data_received(data)
            return
        self._drained_bytes += len(data)
        within_rate = self._limits is None or self._limits.drained(self._drain_from, len(data))
        if not within_rate or self._drained_bytes > REFUSED_BODY_DRAIN_BYTES_MAX:
            self._drain_over.set()
            self.force_close()

    def eof_received(self) -> None:
        self._drain_over.set()  # the client has sent all it will
        super().eof_received()

    def connection_lost(self, exc: BaseException | None) -> None:
        super().connection_lost(exc)
        self.gone.set()
        self._drain_over.set()

    def handle_error(self, request: Any, status: int = 500, exc: BaseException | None = None,
                     message: str | None = None) -> web.StreamResponse:
        coding = missing_decoder(exc) if isinstance(exc, HttpProcessingError) else None
        if status == 400 and coding is not None:
            # The 415 a route gives such a coding, unlogged as a route's is.
            request[UNREAD_AFTER_HEAD] = True
            refusal = unsupported_coding(coding_problem([coding]) or "")
            refusal.headers["Connection"] = "close"  # said, though the answer is HTTP/1.0
            return refusal
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
                 exempt: frozenset[str] = frozenset(), limits: ClientLimits | None = None,
                 over_rate_counted: Callable[[], None] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limits = limits
        self.over_rate_counted = over_rate_counted
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
        handler = WordedRequestHandler(self, loop=self._loop, limits=self.limits,
                                       over_rate_counted=self.over_rate_counted,
                                       **self._kwargs)
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
    `exempt` addresses), times out idle request heads and ends a connection whose
    request's body was refused, draining it only so far (REFUSED_BODY_DRAIN_S,
    REFUSED_BODY_DRAIN_BYTES_MAX, and the sender's byte rate in `limits`, the app's
    client limits: without them a drain is charged to no one). `over_rate_counted` is
    called for each refusal made a 429 because its sender's bytes were spent."""

    def __init__(self, app: web.Application, connections_max: int = CONNECTIONS_MAX,
                 header_timeout_s: float = HEADER_TIMEOUT_S,
                 per_source_max: int = CONNECTIONS_PER_SOURCE_MAX,
                 exempt: frozenset[str] = frozenset(), limits: ClientLimits | None = None,
                 over_rate_counted: Callable[[], None] | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("keepalive_timeout", header_timeout_s)
        # The handler drains a body left unread (WordedRequestHandler), not aiohttp.
        kwargs["lingering_time"] = 0
        kwargs.setdefault("max_line_size", HEAD_LINE_BYTES_MAX)
        kwargs.setdefault("max_field_size", HEAD_LINE_BYTES_MAX)
        kwargs.setdefault("max_headers", HEADERS_MAX)
        kwargs.setdefault("logger", ProtocolLog(logging.getLogger("aiohttp.server"), {}))
        super().__init__(app, **kwargs)
        self._connections_max = connections_max
        self._per_source_max = per_source_max
        self._exempt = exempt
        self._limits = limits
        self._over_rate_counted = over_rate_counted

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
                                limits=self._limits,
                                over_rate_counted=self._over_rate_counted, **server._kwargs)
        return limited
