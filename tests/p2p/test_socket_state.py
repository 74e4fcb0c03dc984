"""Whether a connection's other end has gone is told before this end reads it: a node
killed and restarted at once connected again while its peer, reading late, still held the
old connection, and four such restarts in a minute were logged as two nodes running with
one key (`p2p.peer_table.PeerTable.admit`)."""

from __future__ import annotations

import asyncio

import pytest

from p2p.socket_state import other_end_gone

pytestmark = pytest.mark.timeout(30)
DEADLINE_S = 10.0


@pytest.mark.parametrize("how", ["close", "reset"])
async def test_the_other_end_gone_is_seen_unread(how: str) -> None:
    accepted: asyncio.Queue[asyncio.StreamWriter] = asyncio.Queue()

    async def keep(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await accepted.put(writer)

    server = await asyncio.start_server(keep, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        _, dialler = await asyncio.open_connection("127.0.0.1", port)
        served = await asyncio.wait_for(accepted.get(), DEADLINE_S)
        transport = served.transport
        assert isinstance(transport, asyncio.ReadTransport)
        transport.pause_reading()  # as a reader held back by a full inbound queue
        dialler.write(b"a frame not yet read")
        await dialler.drain()
        assert not other_end_gone(served) and not other_end_gone(dialler)
        if how == "close":
            dialler.close()
        else:
            dialler.transport.abort()
        deadline = asyncio.get_running_loop().time() + DEADLINE_S
        while not other_end_gone(served):
            assert asyncio.get_running_loop().time() < deadline, "never seen gone"
            await asyncio.sleep(0.01)
        served.close()
    finally:
        server.close()
        await server.wait_closed()
