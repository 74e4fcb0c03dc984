"""urllib handlers whose requests end by a deadline, however the node answers.

urllib's `timeout` bounds each socket operation, not the request: a node that sends
its status line, headers or body a byte at a time, each within the timeout, holds the
caller for as long as it likes (`cli.node_answers.read_bounded` bounds a body's reading,
but not what comes before it). Here every read from the connection's socket is given
only the time left until the request's deadline (and never more than the connection's
own timeout, so a silent node is still given up on as soon as before), so connecting,
sending, the headers and the body together end by it, with the TimeoutError a socket
raises.
"""

from __future__ import annotations

import http.client
import io
import socket
import time
import urllib.request
from typing import Any


class _DeadlineReader(io.RawIOBase):
    """The socket's raw reader (socket.SocketIO), each read given the time left."""

    def __init__(self, raw: Any, sock: socket.socket, deadline: float,
                 per_read: float | None) -> None:
        super().__init__()
        self._raw = raw
        self._sock = sock
        self._deadline = deadline
        self._per_read = per_read

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int | None:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the request's deadline passed")
        self._sock.settimeout(left if self._per_read is None else min(left, self._per_read))
        result: int | None = self._raw.readinto(buffer)
        return result

    def close(self) -> None:
        self._raw.close()  # the socket's own count of its open files goes down with it
        super().close()


class _DeadlineSocket:
    """The connection's socket, its files read by `_DeadlineReader`; all else as is."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self._sock = sock
        self._deadline = deadline
        self._per_read = sock.gettimeout()  # the urlopen timeout (None: none was given)

    def makefile(self, mode: str = "r", buffering: int | None = None, **_: Any
                 ) -> io.BufferedReader:
        assert mode == "rb"  # all http.client asks for
        raw = self._sock.makefile("rb", buffering=0)
        return io.BufferedReader(_DeadlineReader(raw, self._sock, self._deadline,
                                                 self._per_read))

    def sendall(self, data: Any) -> None:
        self._sock.settimeout(max(self._deadline - time.monotonic(), 1e-3))
        self._sock.sendall(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class _DeadlineHTTP(http.client.HTTPConnection):
    deadline = 0.0

    def connect(self) -> None:
        super().connect()
        self.sock = _DeadlineSocket(self.sock, self.deadline)


class _DeadlineHTTPS(http.client.HTTPSConnection):
    deadline = 0.0

    def connect(self) -> None:
        super().connect()  # TCP, then TLS: the TLS socket is the one read
        self.sock = _DeadlineSocket(self.sock, self.deadline)


def _connection(kind: type[http.client.HTTPConnection], deadline: float
                ) -> type[http.client.HTTPConnection]:
    return type(kind.__name__, (kind,), {"deadline": deadline})


class DeadlineHTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, deadline: float) -> None:
        super().__init__()
        self.deadline = deadline

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_connection(_DeadlineHTTP, self.deadline), req)


class DeadlineHTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, deadline: float) -> None:
        super().__init__()
        self.deadline = deadline

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_connection(_DeadlineHTTPS, self.deadline), req,
                            context=self._context)  # type: ignore[attr-defined]


def deadline_opener(deadline: float,
                    *handlers: urllib.request.BaseHandler | type[urllib.request.BaseHandler]
                    ) -> urllib.request.OpenerDirector:
    """An opener (with `handlers`) whose requests end by `deadline` (time.monotonic)."""
    return urllib.request.build_opener(*handlers, DeadlineHTTPHandler(deadline),
                                       DeadlineHTTPSHandler(deadline))
