"""Misbehaving peers against live PeerManagers: each is cut off, the others carry on."""

from __future__ import annotations

import asyncio
import logging
import os
import random
import struct
from collections.abc import AsyncIterator

import pytest

from p2p import connection as conn
from p2p.frames import FrameSealer
from p2p.handshake import Identity, Role
from tests.p2p.helpers import (
    CHAIN_ID,
    CONSENSUS,
    FAST_LIMITS,
    Node,
    address_of,
    close_all,
    public_key,
    read_until_eof,
    start_mesh,
    wait_until,
)
from tests.p2p.test_peers_live import assert_mesh_exchanges

pytestmark = pytest.mark.timeout(60)

ATTACKER = 9  # an allowed member gone rogue: it passes the handshake
MEMBERS = {public_key(n) for n in (1, 2, 3, ATTACKER)}


@pytest.fixture
async def mesh() -> AsyncIterator[list[Node]]:
    nodes = await start_mesh([1, 2, 3], MEMBERS)
    yield nodes
    await close_all(nodes)


async def rogue_session(
    target: Node,
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, conn.SecureConnection]:
    """A raw connection that completed a genuine handshake with `target`."""
    reader, writer = await asyncio.open_connection(*address_of(target))
    secured = await conn.secure_connection(
        reader,
        writer,
        identity=Identity.from_seed(bytes([ATTACKER]) * 32),
        chain_id=CHAIN_ID,
        role=Role.INITIATOR,
        is_allowed=lambda key: True,
    )
    await wait_until(lambda: public_key(ATTACKER) in target.manager.connected(), "rogue admitted")
    return reader, writer, secured


def logged(caplog: pytest.LogCaptureFixture, *fragments: str) -> bool:
    return any(all(f in r.getMessage() for f in fragments) for r in caplog.records)


@pytest.mark.parametrize(
    ("name", "wire", "reason"),
    [
        ("garbage", random.Random(7).randbytes(4096), "frame"),
        ("oversized", b"\xff\xff\xff\xff", "maximum"),
        ("undersized", struct.pack(">I", 3) + b"abc", "shorter than its tag"),
    ],
)
async def test_bad_bytes_after_handshake_disconnect_only_that_peer(
    mesh: list[Node], caplog: pytest.LogCaptureFixture, name: str, wire: bytes, reason: str
) -> None:
    caplog.set_level(logging.INFO, logger="p2p")
    target = mesh[0]
    reader, writer, _ = await rogue_session(target)
    writer.write(wire)
    await read_until_eof(reader)
    await wait_until(lambda: logged(caplog, public_key(ATTACKER).hex()[:16], reason), name)
    assert public_key(ATTACKER) not in target.manager.connected()
    assert not any(peer == public_key(ATTACKER) for peer, _, _ in target.received)
    writer.close()
    await assert_mesh_exchanges(mesh, name.encode())


async def test_replayed_frame_disconnects(
    mesh: list[Node], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="p2p")
    target = mesh[0]
    reader, writer, secured = await rogue_session(target)
    sealer = FrameSealer(secured.session.send_key, FAST_LIMITS.max_frame_bytes)
    frame = sealer.seal(CONSENSUS.id, b"vote once")
    writer.write(frame + frame)
    await read_until_eof(reader)
    await wait_until(lambda: logged(caplog, "failed authentication"), "replay logged")
    from_rogue = [p for peer, _, p in target.received if peer == public_key(ATTACKER)]
    assert from_rogue == [b"vote once"]
    writer.close()
    await assert_mesh_exchanges(mesh, b"after replay")


async def test_undeclared_channel_and_oversized_message_disconnect(mesh: list[Node]) -> None:
    target = mesh[0]
    for channel, payload in [(77, b"x"), (CONSENSUS.id, bytes(CONSENSUS.max_message_bytes + 1))]:
        reader, writer, secured = await rogue_session(target)
        secured.write([(channel, payload)])
        await secured.drain()
        await read_until_eof(reader)
        writer.close()
    await assert_mesh_exchanges(mesh, b"after channel abuse")


async def test_garbage_before_handshake_is_refused(
    mesh: list[Node], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="p2p")
    reader, writer = await asyncio.open_connection(*address_of(mesh[0]))
    writer.write(b"GET / HTTP/1.1\r\n\r\n" + os.urandom(200))
    await read_until_eof(reader)
    writer.close()
    await wait_until(lambda: logged(caplog, "handshake", "magic"), "bad HELLO logged")
    await assert_mesh_exchanges(mesh, b"after garbage")


async def test_a_flood_of_junk_connections_is_one_line(
    mesh: list[Node], caplog: pytest.LogCaptureFixture
) -> None:
    # Each junk connection was a line of its own: as much log as anyone cared to make.
    caplog.set_level(logging.INFO, logger="p2p")
    for _ in range(20):
        reader, writer = await asyncio.open_connection(*address_of(mesh[0]))
        writer.write(os.urandom(100))
        await read_until_eof(reader)
        writer.close()
    await wait_until(lambda: logged(caplog, "handshake", "magic"), "bad HELLO logged")
    await assert_mesh_exchanges(mesh, b"after a flood of junk")
    lines = [r for r in caplog.records if "handshake" in r.getMessage()
             and "inbound" in r.getMessage()]
    assert len(lines) == 1, [r.getMessage() for r in lines]


async def test_set_allowed_drops_a_removed_member(mesh: list[Node]) -> None:
    a, b, c = mesh
    a.manager.set_allowed({a.key, b.key})
    await wait_until(lambda: c.key not in a.manager.connected(), "a dropped c")
    await wait_until(lambda: a.key not in c.manager.connected(), "c saw the drop")
    # a and b still talk, and b (which still allows c) still talks to c.
    assert a.manager.send(b.key, CONSENSUS.id, b"a to b")
    assert b.manager.broadcast(CONSENSUS.id, b"b to all") == 2
    await wait_until(lambda: b"a to b" in b.payloads(CONSENSUS.id), "b got a's message")
    await wait_until(lambda: b"b to all" in a.payloads(CONSENSUS.id), "a got b's message")
    await wait_until(lambda: b"b to all" in c.payloads(CONSENSUS.id), "c got b's message")
    assert not a.manager.send(c.key, CONSENSUS.id, b"a to c")
    assert c.key not in a.manager.connected()  # c's redials are refused at the handshake
