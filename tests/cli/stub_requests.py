"""What a stand-in node (a loopback socket server in a test) reads of a request."""

from __future__ import annotations

import socket

REQUEST_HEAD_BYTES_MAX = 65536


def request_path(connection: socket.socket) -> str | None:
    """The path of the request whose head arrives on `connection` (its body, if any, left
    unread); None if the client hung up first."""
    head = b""
    while b"\r\n\r\n" not in head and len(head) < REQUEST_HEAD_BYTES_MAX:
        chunk = connection.recv(4096)
        if not chunk:
            return None
        head += chunk
    return head.split(b" ", 2)[1].decode()
