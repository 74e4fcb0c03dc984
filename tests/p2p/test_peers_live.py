"""Live PeerManagers over real loopback sockets."""

from __future__ import annotations

import asyncio
import logging
import re
import socket
from collections.abc import AsyncIterator

import pytest

from p2p import Direction, MessageTooLarge, UnknownChannel, connection
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


async def test_sends_to_a_peer_being_dropped_are_refused_not_counted_as_full(
        mesh: list[Node]) -> None:
    a, b, c = mesh
    a.manager.set_allowed({a.key, c.key})  # b is dropped: its queue is not full
    assert not a.manager.send(b.key, CONSENSUS.id, b"late")
    assert a.manager.broadcast(CONSENSUS.id, b"to the rest") == 1
    assert all(s.dropped == 0 for s in a.manager.status())


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
        dialled = node.manager._failures.dialled
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
        failing.count for failing in target.manager._failures.inbound.values()) == 3,
        "the four failures counted")
    assert told()[0].endswith("(more like it from that host are said once every 10 min)")
    now[0] += 600
    await garbage()
    await wait_until(lambda: len(told()) == 2, "the line ten minutes on")
    assert re.match(r"inbound handshake with 127\.0\.0\.1:\d+ failed, and 3 more like it "
                    r"from that host in 10 min: ", told()[1]), told()[1]
    await assert_mesh_exchanges(mesh, b"after garbage")
