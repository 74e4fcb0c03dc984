"""The P2P listening socket, with its own accept loop.

asyncio's server makes a task, a transport, a protocol and a stream pair for every
connection it accepts before any code of ours sees the caller's address: a connection
from a fresh address cost the node 0.4-0.55 ms, most of it that, not the handshake's
crypto. This loop accepts the socket itself and asks `admit` with the caller's host
first; a connection refused there is reset and closed at once (two system calls, no
object of asyncio's, nothing read or sent), so what a flood of refused connections costs
is bounded by what the kernel's accept costs.

Each wake accepts at most `ACCEPTS_PER_WAKE`: other ready work (consensus frames on the
same loop) runs between batches however fast connections arrive.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import socket
import struct
import time
from collections.abc import Awaitable, Callable

from p2p.connection import STREAM_LIMIT_BYTES, Address, Incoming

log = logging.getLogger(__name__)

BACKLOG = 128
# Connections accepted in one wake of the loop before it lets other work run.
ACCEPTS_PER_WAKE = 32
# Out of file descriptors (EMFILE/ENFILE): accept nothing for this long, rather than
# spin on a listening socket that stays readable. Said at most once a window.
NO_DESCRIPTORS_PAUSE_S = 0.1
NO_DESCRIPTORS_TOLD_S = 60.0
# SO_LINGER on, zero seconds: close() sends a reset and frees the socket at once (no
# TIME_WAIT kept by this node for a caller it refused).
_RESET_ON_CLOSE = struct.pack("ii", 1, 0)

Admit = Callable[[str], bool]
OnIncoming = Callable[[Incoming], Awaitable[None]]


def refuse(sock: socket.socket) -> None:
    """Reset and close an accepted socket, reading and writing nothing."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _RESET_ON_CLOSE)
    sock.close()


class Listener:
    """Listening sockets handing each admitted stream to `on_incoming` in a task."""

    def __init__(self, sockets: list[socket.socket], on_incoming: OnIncoming,
                 admit: Admit | None) -> None:
        self._sockets = sockets
        self._on_incoming = on_incoming
        self._admit = admit
        self._loop = asyncio.get_running_loop()
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False
        self._descriptors_told_at: float | None = None
        sockname = sockets[0].getsockname()
        self.address: Address = (str(sockname[0]), int(sockname[1]))
        for sock in sockets:
            self._loop.add_reader(sock.fileno(), self._accept_some, sock)

    def _accept_some(self, listening: socket.socket) -> None:
        for _ in range(ACCEPTS_PER_WAKE):
            try:
                sock, peer = listening.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                if exc.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    self._pause(listening, exc)
                    return  # each further accept of this wake would fail the same way
                # Anything else (ECONNABORTED: the caller gave up in the queue) is one
                # connection's affair: go on with the next.
                continue
            if self._admit is not None and not self._admit(str(peer[0])):
                refuse(sock)
                continue
            sock.setblocking(False)
            task = self._loop.create_task(self._serve(sock))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _pause(self, listening: socket.socket, exc: OSError) -> None:
        now = time.monotonic()
        if self._descriptors_told_at is None or now - self._descriptors_told_at >= \
                NO_DESCRIPTORS_TOLD_S:
            self._descriptors_told_at = now
            log.error("p2p accept failed (%s): accepting nothing for %.1f s (said at most "
                      "once a minute)", exc, NO_DESCRIPTORS_PAUSE_S)
        self._loop.remove_reader(listening.fileno())

        def resume() -> None:
            if not self._closed:
                self._loop.add_reader(listening.fileno(), self._accept_some, listening)
        self._loop.call_later(NO_DESCRIPTORS_PAUSE_S, resume)

    async def _serve(self, sock: socket.socket) -> None:
        try:
            reader, writer = await asyncio.open_connection(sock=sock, limit=STREAM_LIMIT_BYTES)
        except BaseException:
            # gone between accept and now, or cancelled there (the listener closed): the
            # socket is no stream's yet, so no one else would close it
            sock.close()
            raise
        try:
            await self._on_incoming(Incoming(reader, writer))
        except BaseException:
            writer.transport.abort()  # the owner failed before taking the stream on
            raise

    async def close(self) -> None:
        """Stop accepting; connections already handed on are their owner's to close."""
        if self._closed:
            return
        self._closed = True
        for sock in self._sockets:
            with contextlib.suppress(ValueError, OSError):
                self._loop.remove_reader(sock.fileno())
            sock.close()
        # Streams still being set up are nobody's yet: ended here, each closing its socket
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


async def listen(address: Address, on_incoming: OnIncoming, admit: Admit | None = None
                 ) -> Listener:
    """Listen on (host, port), every address the host stands for (as asyncio's server
    does); port 0 picks a free port (see `Listener.address`). `admit(host)`: whether to
    take a connection from `host` at all, asked before anything is read from it."""
    loop = asyncio.get_running_loop()
    host: str | None = address[0] or None
    infos = await loop.getaddrinfo(host, address[1], type=socket.SOCK_STREAM,
                                   flags=socket.AI_PASSIVE)
    sockets: list[socket.socket] = []
    try:
        for family, kind, proto, _, sockaddr in dict.fromkeys(infos):
            try:
                sock = socket.socket(family, kind, proto)
            except OSError:
                continue  # a family the kernel lacks (IPv6 turned off): as asyncio skips it
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6 and hasattr(socket, "IPPROTO_IPV6"):
                # "::" and "0.0.0.0" both listed: each its own socket, as asyncio does
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                sock.bind(sockaddr)
            except OSError as exc:
                # named, as asyncio's server named it: the operator learns which port
                raise OSError(exc.errno, f"error while attempting to bind on address "
                              f"{sockaddr[:2]!r}: {exc.strerror}") from None
            sock.listen(BACKLOG)
            sock.setblocking(False)
    except OSError:
        for sock in sockets:
            sock.close()
        raise
    if not sockets:
        raise OSError(f"no address to listen on for {address[0]!r}")
    return Listener(sockets, on_incoming, admit)
