"""Large answers written a piece at a time, so a client that reads slowly or not at all
holds about two pieces of the node's memory, not a copy of the answer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from aiohttp import web

# A large answer is written this much at a time, each piece once the connection has taken
# most of those before (aiohttp drains past 64 KiB): asyncio copies into a connection's
# own buffer whatever its socket does not take at once, so written whole, a 1.5 MB answer
# to a client that reads slowly or not at all was a copy of most of it per connection
# (52 such connections added 75 MiB to the node where send buffers stop at 64 KiB,
# bench/governance_hold.py); in pieces, each holds about two pieces (200 added 26 MiB),
# and the answer itself is the one object they share.
ANSWER_PIECE_BYTES = 64 * 1024


async def send_in_pieces(request: web.Request, parts: tuple[bytes, ...],
                         content_type: str = "application/json; charset=utf-8",
                         status: int = 200, headers: Mapping[str, str] | None = None
                         ) -> web.StreamResponse:
    """Answer `status` with the body `parts` joined, written ANSWER_PIECE_BYTES at a time
    (to HEAD, its headers alone)."""
    response = web.StreamResponse(status=status, headers=headers)
    response.content_type = content_type.split(";", 1)[0].strip()
    if "charset=" in content_type:
        response.charset = content_type.split("charset=", 1)[1].split(";", 1)[0].strip()
    response.content_length = sum(len(part) for part in parts)
    await response.prepare(request)
    try:
        for part in parts if request.method != "HEAD" else ():
            view = memoryview(part)
            for start in range(0, len(view), ANSWER_PIECE_BYTES):
                await response.write(view[start:start + ANSWER_PIECE_BYTES])
        await response.write_eof()
    except ConnectionError:
        # The client left part-way: nobody hears the rest, and the node is fine. aiohttp
        # says so as ConnectionResetError, or as a bare ConnectionError when the
        # connection is lost while a piece waits to drain.
        pass
    return response


# Headers a piecewise answer sets itself, from the body it is given.
_BODY_HEADERS = frozenset({"content-type", "content-length", "transfer-encoding"})


@web.middleware
async def answers_in_pieces(request: web.Request, handler: Callable[
        [web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
    """Any answer of more than ANSWER_PIECE_BYTES, sent in pieces (`send_in_pieces`):
    written whole, what its socket did not take at once was copied into the connection's
    buffer, and held there, beside the answer itself, for as long as its client read
    nothing. A route whose answer is shared between connections (a block's, governance)
    sends its pieces itself."""
    response = await handler(request)
    body = response.body if type(response) is web.Response else None
    if not isinstance(body, bytes) or len(body) <= ANSWER_PIECE_BYTES or response.prepared:
        return response
    kept = {name: value for name, value in response.headers.items()
            if name.lower() not in _BODY_HEADERS}
    return await send_in_pieces(request, (body,), response.headers.get(
        "Content-Type", "application/octet-stream"), response.status, kept)
