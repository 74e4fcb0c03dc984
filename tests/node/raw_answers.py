"""Reading a node's answer off a raw socket, for the tests that send what no HTTP client
would (a body the node refuses, sent whole before reading): what it sends until it
closes, and that answer's status line, headers and body."""

from __future__ import annotations

import socket


def read_to_close(sock: socket.socket) -> bytes:
    """All the server sends until it closes the connection; a reset, or the socket's
    timeout passing, ends the read with what came before it."""
    answer = b""
    try:
        while data := sock.recv(65536):
            answer += data
    except (ConnectionResetError, TimeoutError):
        pass
    return answer


def status_headers_body(answer: bytes) -> tuple[int, dict[str, str], bytes]:
    """An HTTP/1.x answer's status, headers (names in lower case) and body."""
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    assert lines[0].startswith("HTTP/1."), answer[:200]
    headers = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:])}
    return int(lines[0].split()[1]), headers, body
