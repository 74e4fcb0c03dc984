"""A connection closed while its peer reads nothing lets go of its socket after the close
deadline: asyncio keeps a closed transport's socket open until its buffer is written, so a
peer that stopped reading held a descriptor and the unsent bytes for as long as it liked
(a dropped peer's queue is written just before its close: `p2p.peer.Peer.leave`)."""

from __future__ import annotations

import asyncio
import socket

import pytest

from p2p.connection import CLOSE_TIMEOUT_S, close_writer

pytestmark = pytest.mark.timeout(30)


async def test_a_close_whose_peer_reads_nothing_drops_the_unsent_bytes() -> None:
    closed: asyncio.Queue[tuple[int, int]] = asyncio.Queue()

    async def handle(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"x" * (8 << 20))  # more than the kernel's buffers take
        await close_writer(writer)
        await asyncio.sleep(0.1)  # an abort lets go of the socket on the next turn
        await closed.put((writer.transport.get_extra_info("socket").fileno(),
                          writer.transport.get_write_buffer_size()))

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    silent = socket.socket()
    silent.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    silent.connect(("127.0.0.1", port))
    try:
        fileno, unsent = await asyncio.wait_for(closed.get(), CLOSE_TIMEOUT_S + 10)
        assert fileno == -1, f"the socket is still open with {unsent} bytes unsent"
    finally:
        silent.close()
        server.close()
        await server.wait_closed()
