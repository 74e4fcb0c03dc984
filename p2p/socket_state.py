"""Whether a TCP connection's other end has gone, before this end has read that."""

from __future__ import annotations

import asyncio
import socket

_TCP_ESTABLISHED = 1  # tcp_info's tcpi_state (linux/tcp_states.h)


def other_end_gone(writer: asyncio.StreamWriter) -> bool:
    """Whether the other end has closed or reset the connection (its FIN or RST reached
    the kernel), whether or not this end has read that yet. A reader held back by a full
    inbound queue reads the end of a killed node's connection late, and the node,
    restarted, connected again while its old connection still looked open: read as a
    second node with its key. TCP_INFO's state on Linux; elsewhere, what asyncio saw."""
    sock = writer.get_extra_info("socket")
    if sock is None or not hasattr(socket, "TCP_INFO"):
        return bool(writer.transport.is_closing())
    try:
        state = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1)[0]
    except OSError:  # the socket is closed already
        return True
    return bool(state != _TCP_ESTABLISHED)
