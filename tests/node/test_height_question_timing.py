"""A relay's height question, open beside the questions for blocks (node.sync), is timed
by the relay's answer, not by how long this node spends applying other peers' answers:
the relay's answer, come meanwhile, waits in the engine's inbox behind that work (and
behind the tick the engine thread runs first after a long step)."""

from __future__ import annotations

from typing import Any

import pytest

import node.block_serve as block_serve
import node.sync as node_sync
from ledger.codec import decode, encode
from node.block_serve import serve_blocks
from node.channels import CH_SYNC_REQUEST
from node.network import _not_ahead
from node.sync import RESPONSE_TIMEOUT_MS, BlockSync
from tests.node.conftest import Consortium, commit
from tests.node.test_key_rotation import rotate
from tests.node.test_relay_heights import FEW, beside_a_relay_at_three, forged, signed


async def test_a_long_apply_does_not_time_out_a_relay_ahead_of_this_node(
        net: Consortium, monkeypatch: pytest.MonkeyPatch) -> None:
    """This node, at 3, asks the relay (at 10, the sender's key rotated at block 7) its
    height, then blocks 4-6 of a peer that holds no more; applying them takes longer
    than RESPONSE_TIMEOUT_MS. The relay's answer, made at once, is taken after them:
    this node catches up with the relay and does not mute it."""
    relay_chain, node = beside_a_relay_at_three(net)
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


async def test_a_relay_not_ahead_cannot_put_its_penalty_off_by_answering_late(
        net: Consortium, monkeypatch: pytest.MonkeyPatch) -> None:
    """A relay at this node's height forges; asked its height, it holds its answer until
    this node has committed, from the validators' announcements, as many blocks as fill
    an answer (two here; 64, or 1 MiB of blocks, in a chain: one full block), then hands
    those back claiming a far greater height. It was never ahead of this node: what it
    relayed must count, as when it answers at once. (Failed while held blocks backed a
    full answer, between 2c61645 and the change that made only an answer starting right
    after the head back a height beyond it.)"""
    relay_chain, node = beside_a_relay_at_three(net)
    monkeypatch.setattr(node_sync, "MAX_BLOCKS_PER_RESPONSE", 2)  # answers fill at 2
    monkeypatch.setattr(block_serve, "MAX_BLOCKS_PER_RESPONSE", 2)  # and are served so
    try:
        assert node.core.chain.height == 3
        await node.relays([forged(net.employer, FEW) for _ in range(4)])
        relay, channel, height_question = node.out.frames[-1]
        assert (relay, channel) == (node.relay, CH_SYNC_REQUEST)
        for _ in range(2):
            commit(relay_chain, [])
            height = relay_chain.height
            node.engine.block_announced(net.ministry.public_key, encode(
                [relay_chain.get_block_bytes(height), relay_chain.get_certificate(height)]))
        assert node.core.chain.height == 5
        node.clock.now_ms += RESPONSE_TIMEOUT_MS - 1
        late = decode(serve_blocks(relay_chain, height_question) or b"")[1]
        node.engine.sync_answer(node.relay, encode([10**6, late]))
        assert await node.muted_after_settling()
    finally:
        node.close()


def test_with_the_relay_alone_blocks_wanted_take_its_height_question_as_it_was() -> None:
    """The relay is the only peer, its height question open (question 1, asked at 3),
    when blocks are wanted: they are asked of it. Its answer to question 1, made at 3,
    then a frame it relayed after committing block 4 (suspected when one question had
    been asked), then the question for blocks: that answer is an answer to question 1,
    not to a question asked after the frame, so the frame does not count by it
    (node.network's `_not_ahead`)."""
    sync = BlockSync(None)
    relay = b"r" * 32
    sync.ask_height(relay)
    assert sync.next_request(0, 3, [relay]) is not None
    suspected_at = sync.questions  # when the relay's frame arrives
    sync.want(5, relay)  # as the relay's announcement of block 5 says
    sync.next_request(10, 3, [relay])
    sync.accept(relay, encode([3, []]), 3, 10)  # made when question 1 came
    shown = sync.shown(relay)
    assert shown is not None and not _not_ahead(shown, suspected_at, 3)
