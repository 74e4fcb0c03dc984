"""A relay's height question, open beside the questions for blocks (node.sync), is timed
by the relay's answer, not by how long this node spends applying other peers' answers:
the relay's answer, come meanwhile, waits in the engine's inbox behind that work (and
behind the tick the engine thread runs first after a long step)."""

from __future__ import annotations

from typing import Any

import pytest

from ledger.chain import Chain
from ledger.codec import decode, encode
from node.channels import CH_SYNC_REQUEST
from node.sync import RESPONSE_TIMEOUT_MS, serve_blocks
from storage.kv import MemoryStore
from tests.node.conftest import Consortium, commit
from tests.node.test_key_rotation import rotate
from tests.node.test_relay_heights import FEW, Node, signed


async def test_a_long_apply_does_not_time_out_a_relay_ahead_of_this_node(
        net: Consortium, monkeypatch: pytest.MonkeyPatch) -> None:
    """This node, at 3, asks the relay (at 10, the sender's key rotated at block 7) its
    height, then blocks 4-6 of a peer that holds no more; applying them takes longer
    than RESPONSE_TIMEOUT_MS. The relay's answer, made at once, is taken after them:
    this node catches up with the relay and does not mute it."""
    relay_chain = Chain(MemoryStore(), net.genesis)
    for _ in range(3):
        commit(relay_chain, [])
    node = Node(net, relay_chain)
    honest = net.ministry.public_key
    peers = [node.relay, honest]
    try:
        assert node.core.chain.height == 3
        for _ in range(3):
            commit(relay_chain, [])
        behind = decode(serve_blocks(relay_chain, encode([4, 3])) or b"")[1]
        rotated = rotate(relay_chain, net.employer)
        for _ in range(3):
            commit(relay_chain, [])
        node.engine.tick(peers)
        await node.relays([signed(rotated, FEW) for _ in range(4)])
        relay, channel, height_question = node.out.frames[-1]
        assert (relay, channel) == (node.relay, CH_SYNC_REQUEST)
        node.engine.sync.want(6, honest)  # as a certified announcement says
        node.engine.tick(peers)
        assert node.out.frames[-1][:2] == (honest, CH_SYNC_REQUEST)

        apply = node.engine._apply_in_runs

        def slowly(*args: Any) -> bool:  # as long as 64 full blocks can take
            node.clock.now_ms += RESPONSE_TIMEOUT_MS
            return apply(*args)
        monkeypatch.setattr(node.engine, "_apply_in_runs", slowly)
        node.engine.sync_answer(honest, encode([6, behind]))
        monkeypatch.setattr(node.engine, "_apply_in_runs", apply)
        assert node.core.chain.height == 6
        node.engine.tick(peers)  # the engine thread ticks first after a long step
        node.engine.sync_answer(node.relay, serve_blocks(relay_chain, height_question) or b"")
        assert node.core.chain.height == 10
        assert not await node.muted_after_settling()
    finally:
        node.close()

