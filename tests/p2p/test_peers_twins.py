"""Live PeerManagers over real loopback sockets: a node that names itself among its
peers, and two nodes running with one key, told apart from a restart."""

from __future__ import annotations

import asyncio
import logging
import socket

import pytest

from p2p import Direction
from p2p.policy import KEY_CONFLICTS_TO_WARN
from tests.p2p.helpers import (
    Node,
    address_of,
    close_all,
    make_node,
    public_key,
    start_mesh,
    wait_for_mesh,
    wait_until,
)
from tests.p2p.test_peers_live import MEMBERS

pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize("own_key_allowed", [False, True])
async def test_a_node_whose_peers_name_itself_says_so_and_stops_dialling_it(
    caplog: pytest.LogCaptureFixture, own_key_allowed: bool
) -> None:
    """A peer list copied whole to every node names each node too. The node's own key
    is no stranger's ("not an allowed member"), and redialling itself never helps."""
    caplog.set_level(logging.INFO, logger="p2p")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    allowed = MEMBERS if own_key_allowed else MEMBERS - {public_key(1)}
    node = make_node(1, dial=[("127.0.0.1", port)], allowed=allowed, listen_port=port)
    await node.manager.start()
    try:
        await wait_until(
            lambda: any("is this node itself" in r.getMessage() for r in caplog.records),
            "the node said it dialled itself",
        )
        # its dial loop ended and the self-connection closed: no task of the manager is left
        await wait_until(lambda: not node.manager._tasks, "the node stopped dialling itself")
        assert not any("not an allowed member" in r.getMessage() for r in caplog.records)
        assert node.manager.connected() == frozenset()
    finally:
        await node.manager.close()


async def test_two_nodes_running_with_one_key_are_named_by_their_peer(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An operator who copies a node's folder to a second machine and starts both runs
    one key twice. Their peer keeps one connection per key, so the two keep replacing
    each other there; it says so, naming the likely cause, and a restart does not."""
    caplog.set_level(logging.INFO, logger="p2p")
    conflict = "two nodes may be running with its key"
    nodes = await start_mesh([1, 2, 3], MEMBERS)
    a, b, c = nodes
    twin = make_node(2, dial=[address_of(c)], allowed=MEMBERS)
    await c.manager.close()  # c again, naming its peers as a node does
    c = nodes[2] = make_node(3, dial=[address_of(a), address_of(b)], allowed=MEMBERS,
                             listen_port=address_of(c)[1],
                             describe={public_key(n): f"member {n}" for n in (1, 2)}.__getitem__)
    await c.manager.start()
    try:
        await wait_for_mesh(nodes)
        b_address = address_of(b)
        await b.manager.close()
        await wait_until(lambda: b.key not in c.manager.connected(), "c noticed b left")
        b = make_node(2, dial=[address_of(a), address_of(c)], allowed=MEMBERS,
                      listen_port=b_address[1])
        await b.manager.start()
        nodes[1] = b
        await wait_for_mesh(nodes)
        assert not any(conflict in r.getMessage() for r in caplog.records)
        await twin.manager.start()
        await wait_until(
            lambda: any(conflict in r.getMessage() and r.levelno == logging.ERROR
                        and "peer member 2 connected" in r.getMessage() for r in caplog.records),
            "c named the member whose key two nodes connect with",
        )
    finally:
        await twin.manager.close()
        await close_all(nodes)


class VanishingRelay:
    """A TCP relay to `target` that can be cut like a host that lost power or moved:
    from then on it forwards nothing and closes nothing, so the connection it carried
    looks open to the side that dialled until that side's idle timeout."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.cut = False
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> tuple[str, int]:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        host, port = self._server.sockets[0].getsockname()[:2]
        return host, port

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.append(writer)
        if self.cut:  # no host answers there any more
            writer.close()
            return
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        self._writers.append(up_writer)
        for source, sink in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.ensure_future(self._pump(source, sink))
            self._tasks.add(task)

    async def _pump(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        while data := await source.read(65536):
            if not self.cut:
                sink.write(data)
        if not self.cut:
            sink.close()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in self._tasks:
            task.cancel()
        for writer in self._writers:
            writer.close()


async def test_a_restart_its_peer_has_not_noticed_is_not_named_as_two_nodes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A node's host vanishes without a FIN (power lost, or the node moved to another
    address) and the node comes back at once. Its peer still holds the old connection,
    which it dialled; with the lower key it keeps that one and refuses each redial of
    the restarted node, one per backoff step, until its idle timeout ends the old one.
    That is one restart, not two nodes running with one key."""
    caplog.set_level(logging.INFO, logger="p2p")
    low, high = 5, 1  # node 5's key sorts below node 1's: its own dial wins a tie
    assert public_key(low) < public_key(high)
    allowed = {public_key(low), public_key(high)}
    old = make_node(high, allowed=allowed)
    await old.manager.start()
    relay = VanishingRelay(address_of(old))
    peer = make_node(low, dial=[await relay.start()], allowed=allowed)
    await peer.manager.start()
    restarted = make_node(high, dial=[address_of(peer)], allowed=allowed)
    try:
        await wait_until(lambda: old.key in peer.manager.connected(), "the peer dialled the node")
        relay.cut = True
        await old.manager.close()
        await restarted.manager.start()
        await wait_until(
            lambda: any(s.public_key == restarted.key and s.direction is Direction.INBOUND
                        for s in peer.manager.status()),
            "the peer's old connection timed out and the restarted node's was kept",
        )
        dialled = f"outbound peer {peer.key.hex()[:16]} connected"
        redials = sum(dialled in r.getMessage() for r in caplog.records)
        assert redials > KEY_CONFLICTS_TO_WARN, "refused while the old connection held"
        assert not any("two nodes may be running" in r.getMessage() for r in caplog.records)
    finally:
        await close_all([peer, restarted])
        await relay.close()


async def test_a_twin_refused_beside_a_live_connection_is_named_too(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The other way round from the restart: the peer keeps its own live connection to
    the node (its dial wins the tie-break) and refuses each connection of the node's
    twin. The open connection keeps speaking between the twin's redials, so it is no
    stale one, and the peer says two nodes may be running with that key."""
    caplog.set_level(logging.INFO, logger="p2p")
    low, high = 5, 1
    allowed = {public_key(low), public_key(high)}
    node = make_node(high, allowed=allowed)
    await node.manager.start()
    peer = make_node(low, dial=[address_of(node)], allowed=allowed)
    await peer.manager.start()
    twin = make_node(high, dial=[address_of(peer)], allowed=allowed)
    try:
        await wait_until(lambda: node.key in peer.manager.connected(), "the peer dialled the node")
        await twin.manager.start()
        await wait_until(
            lambda: any("two nodes may be running" in r.getMessage()
                        and r.levelno == logging.ERROR for r in caplog.records),
            "the peer named the key that two nodes connect with",
        )
        (status,) = peer.manager.status()
        assert status.direction is Direction.OUTBOUND  # the twin was refused throughout
    finally:
        await close_all([peer, node, twin])


async def test_restarts_whose_old_connection_ended_unread_are_not_named_as_two_nodes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A node killed and restarted at once, again and again (a crash loop, or an
    operator's kill -9 cycles): its peer, its reader held back by a full inbound queue,
    had not read the old connection's end, took each new connection for a second node's,
    and after four said "two nodes may be running with its key"."""
    caplog.set_level(logging.INFO, logger="p2p")
    low, high = 5, 1
    allowed = {public_key(low), public_key(high)}
    peer = make_node(low, allowed=allowed)
    await peer.manager.start()
    try:
        for _ in range(KEY_CONFLICTS_TO_WARN + 2):
            node = make_node(high, dial=[address_of(peer)], allowed=allowed)
            await node.manager.start()

            def both_connected(n: Node = node) -> bool:
                return n.key in peer.manager.connected() and peer.key in n.manager.connected()

            await wait_until(both_connected, "the node connected")
            held = peer.manager._table.live(node.key)
            assert held is not None
            transport = held.connection._writer.transport
            assert isinstance(transport, asyncio.ReadTransport)
            transport.pause_reading()  # its end is not read
            await node.manager.close()
        assert not any("two nodes may be running" in r.getMessage() for r in caplog.records)
    finally:
        await close_all([peer])
