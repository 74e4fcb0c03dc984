"""A malformed request head as the node says it: to the client, in one line naming the limit
it passed (`head_problem`), and in the log, once a window per address and kind of fault
(`ProtocolLog`). Used by the node's HTTP server (`node.http_server`)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import (
    ContentEncodingError,
    HttpProcessingError,
    LineTooLong,
    PayloadEncodingError,
)

from node.http_limits import (
    BAD_REQUESTS_SOURCES_MAX,
    BAD_REQUESTS_WINDOW_S,
    HEAD_LINE_BYTES_MAX,
    HEADERS_MAX,
)
from node.media_types import CODINGS_NOT_INSTALLED
from p2p.address_keys import address_key
from p2p.policy import LineBudget, RefusedKeys


class ProtocolLog(logging.LoggerAdapter[logging.Logger]):
    """aiohttp's server log, where a malformed request (NUL bytes or garbage in a header,
    a bad request line, a body that is not its Content-Encoding) is the client's fault:
    one line at INFO, not an ERROR with a traceback, and at most one a window per address
    and kind of fault, the next giving the count since (each was a line: as much log as a
    client cared to make), and at most STRANGER_LINES_MAX a minute from all addresses
    together (p2p.policy.LineBudget). Anything else aiohttp reports keeps its traceback."""

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


def missing_decoder(exc: HttpProcessingError) -> str | None:
    """The content coding aiohttp's parser could not inflate for want of its package (br
    or zstd: `node.media_types.CODINGS_NOT_INSTALLED`), when that is what `exc` says; it
    names it in brackets, "brotli (br)"."""
    if not isinstance(exc, ContentEncodingError):
        return None
    said = str(exc.message or "")
    return next((coding for coding in CODINGS_NOT_INSTALLED if f"({coding})" in said), None)


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
    if isinstance(exc, PayloadEncodingError):  # met before the handler read the body
        return "the request body cannot be read: " + said
    first = ((exc.message or "").strip().splitlines() or ["bad request"])[0]
    if first == "Too many headers received":
        return f"the request has more than {HEADERS_MAX} header lines (the limit)"
    return "the request is not HTTP/1.1 this node can read: " + first.rstrip(":")[:120]
