"""Live PeerManagers over real loopback sockets."""

from __future__ import annotations

import asyncio
import logging
import re
import socket
from collections.abc import AsyncIterator

import pytest

from p2p import Direction, MessageTooLarge, UnknownChannel, connection
from p2p.policy import KEY_CONFLICTS_TO_WARN
from tests.p2p.helpers import (
    CONSENSUS,
    TINY_QUEUE,
    TXS,
    Node,
    address_of,
    close_all,
    make_node,
    public_key,
    start_mesh,
    wait_for_mesh,
    wait_until,
)

pytestmark = pytest.mark.timeout(60)

MEMBERS = {public_key(n) for n in (1, 2, 3)}


@pytest.fixture
async def mesh() -> AsyncIterator[list[Node]]:
    nodes = await start_mesh([1, 2, 3], MEMBERS)
    yield nodes
    await close_all(nodes)


async def assert_mesh_exchanges(nodes: list[Node], tag: bytes) -> None:
    """Every node broadcasts a fresh message; every other node must receive it."""
    for node in nodes:
        assert node.manager.broadcast(CONSENSUS.id, tag + bytes([node.number])) == len(nodes) - 1
    expected = {tag + bytes([n.number]) for n in nodes}
    for node in nodes:
        await wait_for_payloads(node, expected - {tag + bytes([node.number])}, tag)


async def wait_for_payloads(node: Node, want: set[bytes], tag: bytes) -> None:
    await wait_until(
        lambda: want <= set(node.payloads(CONSENSUS.id)),
        f"node {node.number} received {tag!r} from the others",
    )


async def test_three_peers_broadcast_and_send(mesh: list[Node]) -> None:
    a, b, c = mesh
    await assert_mesh_exchanges(mesh, b"hello")
    assert a.manager.send(c.key, CONSENSUS.id, b"only for c")
    await wait_until(lambda: b"only for c" in c.payloads(CONSENSUS.id), "c got the direct send")
    assert b"only for c" not in b.payloads(CONSENSUS.id)
    assert (a.key, CONSENSUS.id, b"only for c") in c.received
    assert a.manager.broadcast(CONSENSUS.id, b"not for b", exclude={b.key}) == 1


async def test_status_reports_each_peer(mesh: list[Node]) -> None:
    a, b, c = mesh
    await assert_mesh_exchanges(mesh, b"count")
    statuses = {s.public_key: s for s in a.manager.status()}
    assert set(statuses) == {b.key, c.key}
    for status in statuses.values():
        assert status.authenticated
        assert status.address[0] == "127.0.0.1"
        assert status.frames_out >= 1 and status.bytes_out > 0
        assert status.frames_in >= 1 and status.dropped == 0
    # a listened and dialled nobody; b and c dialled a.
    assert {s.direction for s in statuses.values()} == {Direction.INBOUND}


async def test_local_mistakes_raise_and_unknown_peer_returns_false(mesh: list[Node]) -> None:
    a = mesh[0]
    with pytest.raises(UnknownChannel):
        a.manager.send(mesh[1].key, 99, b"x")
    with pytest.raises(MessageTooLarge):
        a.manager.broadcast(TXS.id, bytes(TXS.max_message_bytes + 1))
    assert not a.manager.send(public_key(42), CONSENSUS.id, b"nobody")


async def test_unknown_key_is_dropped_and_others_keep_working(
    mesh: list[Node], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="p2p")
    a = mesh[0]
    intruder = make_node(66, dial=[address_of(a)], allowed=MEMBERS)
    await intruder.manager.start()
    try:
        intruder_hex = intruder.key.hex()
        await wait_until(
            lambda: any(
                "not an allowed member" in r.getMessage() and intruder_hex in r.getMessage()
                for r in caplog.records
            ),
            "a logged that it dropped the intruder",
        )
        assert intruder.key not in a.manager.connected()
        assert intruder.received == []
        await assert_mesh_exchanges(mesh, b"after intruder")
    finally:
        await intruder.manager.close()


async def test_a_node_its_peer_does_not_admit_is_told_so_once(
    mesh: list[Node], caplog: pytest.LogCaptureFixture
) -> None:
    """The refused node's own log showed only 'connected' and 'stream ended after 0
    bytes of a frame', again and again: nothing said its key was the cause."""
    caplog.set_level(logging.WARNING, logger="p2p")
    intruder = make_node(66, dial=[address_of(mesh[0])], allowed=MEMBERS)
    await intruder.manager.start()
    told = f"does not admit this node, it seems (its key {intruder.key.hex()} is not a member"
    try:
        await wait_until(lambda: any(told in r.getMessage() for r in caplog.records),
                         "the intruder told why it is dropped")
        # The refusing end says so once a window (p2p.policy.RefusedKeys), and counts the rest.
        refused = mesh[0].manager._refused_keys._keys

        def refusals() -> int:
            return refused.get(intruder.key, (0.0, 0))[1]

        before = refusals()
        await wait_until(lambda: refusals() >= before + 3, "three more refusals")
        assert len([r for r in caplog.records if told in r.getMessage()]) == 1
    finally:
        await intruder.manager.close()


async def test_peer_restart_is_reconnected_by_backoff() -> None:
    nodes = await start_mesh([1, 2, 3], MEMBERS)
    a, b, c = nodes
    try:
        b_address = address_of(b)
        await b.manager.close()
        await wait_until(lambda: b.key not in c.manager.connected(), "c noticed b left")
        await wait_until(lambda: b.key not in a.manager.connected(), "a noticed b left")
        # Same key, same port: only a dials nobody, so c's dial loop must bring b back.
        b = make_node(2, dial=[address_of(a)], allowed=MEMBERS, listen_port=b_address[1])
        await b.manager.start()
        nodes[1] = b
        await wait_for_mesh(nodes)
        c_to_b = [s for s in c.manager.status() if s.public_key == b.key]
        assert [s.direction for s in c_to_b] == [Direction.OUTBOUND]
        await assert_mesh_exchanges(nodes, b"after restart")
    finally:
        await close_all(nodes)


async def test_full_queue_drops_are_counted(mesh: list[Node]) -> None:
    a, b, _ = mesh
    # No await between sends: the writer task cannot drain the queue meanwhile.
    accepted = [a.manager.send(b.key, TINY_QUEUE.id, bytes([i])) for i in range(10)]
    assert accepted == [True] * TINY_QUEUE.queue_capacity + [False] * 8
    (status,) = [s for s in a.manager.status() if s.public_key == b.key]
    assert status.dropped == 8
    await wait_until(
        lambda: b.payloads(TINY_QUEUE.id) == [bytes([0]), bytes([1])],
        "b got the messages that fitted",
    )


async def test_close_is_idempotent_and_stops_everything() -> None:
    nodes = await start_mesh([1, 2], MEMBERS)
    await close_all(nodes)
    await close_all(nodes)
    assert all(not n.manager.connected() for n in nodes)


async def test_a_stuck_handler_delays_only_its_own_channel() -> None:
    release = asyncio.Event()
    a = make_node(1, allowed=MEMBERS)
    await a.manager.start()
    b = make_node(2, dial=[address_of(a)], allowed=MEMBERS, hold={TINY_QUEUE.id: release})
    await b.manager.start()
    nodes = [a, b]
    try:
        await wait_for_mesh(nodes)
        # One message in the stuck handler, TINY_QUEUE's capacity waiting, the rest dropped.
        sent = TINY_QUEUE.queue_capacity + 4
        for i in range(sent):
            await send_and_wait_written(a, b.key, bytes([i]))
        dropped = sent - 1 - TINY_QUEUE.queue_capacity
        await wait_until(
            lambda: inbound_dropped(b, a.key)[TINY_QUEUE.id] == dropped, "b dropped the excess"
        )
        assert inbound_dropped(b, a.key) == {CONSENSUS.id: 0, TXS.id: 0, TINY_QUEUE.id: dropped}

        # The other channel's handler is still stuck, yet consensus gets through.
        assert a.manager.send(b.key, CONSENSUS.id, b"vote")
        await wait_until(lambda: b.payloads(CONSENSUS.id) == [b"vote"], "consensus got through")
        assert b.payloads(TINY_QUEUE.id) == []  # still stuck
        assert b.key in a.manager.connected()

        release.set()
        delivered = [bytes([i]) for i in range(TINY_QUEUE.queue_capacity + 1)]
        await wait_until(lambda: b.payloads(TINY_QUEUE.id) == delivered, "the held ones arrive")
    finally:
        release.set()
        await close_all(nodes)


async def send_and_wait_written(node: Node, peer: bytes, payload: bytes) -> None:
    """One message at a time, so the sender's own small queue never refuses one."""
    written = frames_out(node, peer)
    assert node.manager.send(peer, TINY_QUEUE.id, payload)
    await wait_until(lambda: frames_out(node, peer) > written, f"{payload!r} written")


def frames_out(node: Node, peer: bytes) -> int:
    (status,) = [s for s in node.manager.status() if s.public_key == peer]
    return status.frames_out


def inbound_dropped(node: Node, peer: bytes) -> dict[int, int]:
    (status,) = [s for s in node.manager.status() if s.public_key == peer]
    return dict(status.inbound_dropped)


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


async def test_a_peer_name_that_does_not_resolve_is_told_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A mistyped host in the peer list was an INFO line 'outbound handshake with … failed:
    connect to … failed: [Errno -2] Name or service not known' at every redial, every few
    seconds for ever, among the lines of peers merely down. (No name is looked up: the
    test's resolver refuses it.)"""
    caplog.set_level(logging.DEBUG, logger="p2p")
    tries: list[str] = []

    async def unresolved(host: str, *args: object, **kwargs: object) -> None:
        tries.append(host)
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    async def no_addresses(hosts: object) -> set[str]:
        return set()

    monkeypatch.setattr(asyncio, "open_connection", unresolved)
    monkeypatch.setattr(connection, "resolve_hosts", no_addresses)
    node = make_node(1, dial=[("peer.invalid", 9100)], allowed=MEMBERS)
    await node.manager.start()
    try:
        await wait_until(lambda: len(tries) >= 4, "the node dialled the name four times")
    finally:
        await node.manager.close()
    said = [r for r in caplog.records if "peer.invalid" in r.getMessage()]
    assert [(r.levelno, r.getMessage()) for r in said] == [(
        logging.WARNING, "peer address peer.invalid:9100: peer.invalid does not resolve: Name "
        "or service not known; check the host name in this node's peers (it keeps trying, "
        "and says so again every 10 min while it fails)")]


async def test_a_peer_down_is_told_once_then_every_ten_minutes(
    caplog: pytest.LogCaptureFixture
) -> None:
    """Each redial of a peer down (every few seconds, for as long as it is down) was a
    line: ~700 an hour for each."""
    caplog.set_level(logging.DEBUG, logger="p2p")
    with socket.socket() as closed:  # a port bound and not listening: refused at once
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        node = make_node(1, dial=[("127.0.0.1", port)], allowed=MEMBERS)
        now = [1_000.0]
        node.manager._clock = lambda: now[0]
        dialled = node.manager._dial_failures
        await node.manager.start()
        try:
            await wait_until(lambda: ("127.0.0.1", port) in dialled
                             and dialled["127.0.0.1", port].count >= 3, "three more dials")
            now[0] += 600
            await wait_until(lambda: dialled["127.0.0.1", port].told_at == now[0],
                             "the line ten minutes on")
        finally:
            await node.manager.close()
    said = [r.getMessage() for r in caplog.records if f":{port}" in r.getMessage()]
    assert len(said) == 2, said
    assert said[0].startswith(f"outbound handshake with 127.0.0.1:{port} failed: connect to")
    assert said[0].endswith("(it keeps trying, and says so again every 10 min while it fails)")
    assert re.match(rf"outbound handshake with 127.0.0.1:{port} failed \d+ more times in "
                    r"10 min, the latest: connect to", said[1]), said[1]


async def test_failed_inbound_handshakes_from_one_host_are_told_once_a_while(
    mesh: list[Node], caplog: pytest.LogCaptureFixture
) -> None:
    """A node of another genesis (or anything else) dialling this one every few seconds
    wrote a line here at each try."""
    caplog.set_level(logging.INFO, logger="p2p")
    target = mesh[0]
    now = [1_000.0]
    target.manager._clock = lambda: now[0]

    async def garbage() -> None:
        reader, writer = await asyncio.open_connection(*address_of(target))
        writer.write(b"GET / HTTP/1.1\r\n\r\n" + bytes(200))
        await reader.read()  # the target closes it
        writer.close()

    def told() -> list[str]:
        return [r.getMessage() for r in caplog.records
                if r.getMessage().startswith("inbound handshake with")]

    for _ in range(4):
        await garbage()
    await wait_until(lambda: len(told()) == 1 and sum(
        failing.count for failing in target.manager._inbound_failures.values()) == 3,
        "the four failures counted")
    assert told()[0].endswith("(more like it from that host are said once every 10 min)")
    now[0] += 600
    await garbage()
    await wait_until(lambda: len(told()) == 2, "the line ten minutes on")
    assert re.match(r"inbound handshake with 127\.0\.0\.1:\d+ failed, and 3 more like it "
                    r"from that host in 10 min: ", told()[1]), told()[1]
    await assert_mesh_exchanges(mesh, b"after garbage")
