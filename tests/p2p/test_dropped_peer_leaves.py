"""A peer dropped because it is no longer allowed (`PeerManager.set_allowed`) first gets
what was queued for it before the drop: the node of a member whose key a block rotated away
had that block's announcement queued and discarded, and never learnt of the block. Nothing
new is queued for it, nothing it sends is heard, and one that does not read is closed once
`LEAVING_WRITE_S` has passed."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest

import p2p.peer
from tests.p2p.helpers import CONSENSUS, TXS, Node, close_all, start_mesh, wait_until
from tests.p2p.test_attacks_live import MEMBERS, rogue_session

pytestmark = pytest.mark.timeout(60)

# More than the writer takes in one batch (1 MiB): most of it still queued at the drop
BURST = [i.to_bytes(4, "big") + bytes(60 * 1024) for i in range(200)]


@pytest.fixture
async def mesh() -> AsyncIterator[list[Node]]:
    nodes = await start_mesh([1, 2, 3], MEMBERS)
    yield nodes
    await close_all(nodes)


async def test_a_dropped_peer_gets_what_was_queued_for_it_first(mesh: list[Node]) -> None:
    a, b, c = mesh
    assert all(a.manager.send(c.key, CONSENSUS.id, message) for message in BURST)
    a.manager.set_allowed({a.key, b.key})
    listed = c.key in a.manager.connected()
    queued_after = a.manager.send(c.key, CONSENSUS.id, b"queued after the drop")
    assert c.manager.send(a.key, TXS.id, b"c, after its drop")
    # the code before closed at once: 72 of the 200 reached c, on a loopback run
    await wait_until(lambda: len(c.payloads(CONSENSUS.id)) == len(BURST), "c got the burst")
    await wait_until(lambda: a.key not in c.manager.connected(), "c saw the drop")
    assert c.payloads(CONSENSUS.id) == BURST  # in order, and nothing queued after the drop
    assert not queued_after
    assert not listed  # at once, though its bytes were still going out
    assert b"c, after its drop" not in a.payloads(TXS.id)


async def test_a_dropped_peer_that_does_not_read_is_closed_in_time(
        mesh: list[Node], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(p2p.peer, "LEAVING_WRITE_S", 0.5)
    target = mesh[0]
    _, writer, _ = await rogue_session(target)  # it reads nothing from here on
    try:
        rogue = next(key for key in target.manager.connected()
                     if key not in {node.key for node in mesh})
        queued = sum(target.manager.send(rogue, CONSENSUS.id, m) for m in BURST)
        assert queued == len(BURST)
        started = time.monotonic()
        target.manager.set_allowed({node.key for node in mesh})
        await wait_until(lambda: all(peer.public_key != rogue
                                     for peer in target.manager.status()), "rogue closed")
        assert time.monotonic() - started < 0.5 + 2.0  # the deadline, and the close's own
    finally:
        writer.close()
