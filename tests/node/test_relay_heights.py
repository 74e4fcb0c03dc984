"""A relay's forged-looking signatures count only once this node holds the height the
relay showed after relaying them (node.peer_penalty, node.sync): a node behind an honest
relay for longer than FORGED_SETTLE_S, without knowing it, does not mute it, however long
its catching up takes; a relay that forges is muted whatever it says of its height."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest

import node.block_serve as block_serve
import node.sync as node_sync
from ledger.chain import Chain
from ledger.codec import decode, encode
from ledger.identity import KeyPair
from ledger.payloads import AnchorPayload
from node.block_serve import serve_blocks
from node.channels import CH_SYNC_REQUEST
from node.engine import Engine
from node.engine_types import EngineConfig
from node.network import Network
from node.peer_penalty import FORGED_SETTLE_S, JUNK_PER_WINDOW_MAX, GossipPenalties
from node.sync import RESPONSE_TIMEOUT_MS, BlockSync
from node.sync_heights import SyncHeights
from node.validators import ValidatorSets
from storage.kv import MemoryStore
from tests.e2e.harness import free_port
from tests.node.api_server import api_core
from tests.node.certificates import make_certificate
from tests.node.conftest import Consortium, bft_basis, commit, make_tx
from tests.node.test_engine import Clock, Recorder
from tests.node.test_key_rotation import rotate
from tests.node.test_state_join import config_for

FEW = JUNK_PER_WINDOW_MAX // 4  # signatures a frame, checked item by item; four frames mute

# The relay's answer to a block-sync question (None: it does not answer).
Serve = Callable[[bytes], bytes | None]


def signed(keys: KeyPair, count: int) -> list[bytes]:
    return [make_tx(keys, AnchorPayload(os.urandom(32))).encode() for _ in range(count)]


def forged(keys: KeyPair, count: int) -> list[bytes]:
    return [data[:-64] + bytes(64) for data in signed(keys, count)]


def serving(chain: Chain) -> Serve:
    return lambda request: serve_blocks(chain, request)


class Node:
    """This node as the daemon wires it: a follower's engine and the gossip receiver over
    one chain, block sync's heights between them, and one peer, the relay. Neither clock
    moves unless a test moves it. Its first poll is answered by the relay from
    `relay_chain`."""

    def __init__(self, net: Consortium, relay_chain: Chain) -> None:
        self.net = net
        self.relay = net.university.public_key
        keys = net.university2
        self.core = api_core(keys, net.genesis, MemoryStore())
        chain = self.core.chain
        self.out = Recorder()
        self.clock = Clock(net.genesis.genesis_time_ms)
        self.engine = Engine(keys, chain, self.core.mempool, ValidatorSets.for_chain(chain),
                             EngineConfig(1_000, 100), self.clock, self.out)
        self.network = Network(config_for("gossip", free_port(), []), net.genesis, keys)
        self.now = [1000.0]
        self.network.gossip_penalties = GossipPenalties(clock=lambda: self.now[0])
        self.receive = self.network.receive_gossip_into(
            self.core, SyncHeights(self.engine.sync, self.engine.ask_height))
        self._answered = 0
        self.engine.tick([self.relay])
        self.answer(serving(relay_chain))

    def answer(self, serve: Serve) -> None:
        """The relay answers the questions put to it since the last call."""
        frames, self._answered = self.out.frames[self._answered:], len(self.out.frames)
        for peer, channel, request in frames:
            if channel == CH_SYNC_REQUEST and peer == self.relay:
                answer = serve(request)
                if answer is not None:
                    self.engine.sync_answer(peer, answer)

    async def relays(self, frames: list[list[bytes]]) -> None:
        for frame in frames:
            await self.receive(self.relay, encode(frame))

    async def muted_after_settling(self) -> bool:
        """Whether the relay's gossip is dropped once what it relayed is due to be judged."""
        self.now[0] += FORGED_SETTLE_S
        honest = make_tx(self.net.university, AnchorPayload(os.urandom(32)))
        await self.receive(self.relay, encode([honest.encode()]))
        return honest.tx_id not in self.core.mempool

    def close(self) -> None:
        self.core.worker.shutdown(wait=True)


async def test_a_node_behind_an_honest_relay_for_long_does_not_mute_it(
        net: Consortium) -> None:
    """The relay holds the sender's key rotation at block 65 of 70; this node, at 0 and
    told by no one that it is behind, finds the signatures made with the new key forged
    for as long as it lacks block 65: past FORGED_SETTLE_S (where the relay used to be
    muted), and past it again while it holds 64 of the 70 blocks the relay showed."""
    relay_chain = Chain(MemoryStore(), net.genesis)
    node = Node(net, relay_chain)  # the relay had nothing beyond block 0 then
    try:
        for _ in range(64):
            commit(relay_chain, [])
        rotated = rotate(relay_chain, net.employer)
        for _ in range(5):
            commit(relay_chain, [])
        await node.relays([signed(rotated, FEW) for _ in range(4)])
        assert node.engine.sync.behind(node.core.chain.height) == 0
        assert not await node.muted_after_settling()  # asked, but the answer is not in
        node.answer(serving(relay_chain))  # blocks 1-64, and the relay holds 70
        assert node.core.chain.height == 64
        assert not await node.muted_after_settling()  # the sender's old key here still
        node.answer(serving(relay_chain))
        assert node.core.chain.height == 70
        assert not await node.muted_after_settling()  # judged: the key here is the new one
        node.now[0] += FORGED_SETTLE_S
        assert node.network.gossip_penalties.due_suspicions() == {}
    finally:
        node.close()


def _bad_block_after(chain: Chain, signer: KeyPair) -> bytes:
    """The block after `chain`'s head with a certificate by a member that validates
    nothing, as an answer claiming a far greater height."""
    last_commit, when = bft_basis(chain)
    block = chain.build([], signer.member_id, 0, when, last_commit=last_commit).block
    cert = make_certificate(signer, chain.chain_id, block.header.height, 0, block.block_hash)
    return encode([10**6, [[block.encode(), cert]]])


ANSWERS: dict[str, Callable[[Chain, Consortium], Serve]] = {
    "its true height": lambda chain, _: serving(chain),
    "a greater height, without blocks": lambda chain, _: lambda _: encode([10**6, []]),
    "a greater height, with blocks this node holds": lambda chain, _: lambda request: encode(
        [10**6, decode(serving(chain)(encode([1, 3])) or b"")[1]]),
    "a greater height, with a block that is not certified": lambda chain, net: lambda _:
        _bad_block_after(chain, net.university),
    "nothing": lambda chain, _: lambda _: None,
    "something that is no answer": lambda chain, _: lambda _: encode(["not", "blocks"]),
}

# Blocks that start below the height asked for are taken for a late answer to an earlier
# question, and ignored (node.sync): the question stays open.
UNANSWERED = ("nothing", "a greater height, with blocks this node holds")


def beside_a_relay_at_three(net: Consortium) -> tuple[Chain, Node]:
    """A relay's chain at height 3, and a node holding the same three blocks; the caller
    closes the node."""
    relay_chain = Chain(MemoryStore(), net.genesis)
    for _ in range(3):
        commit(relay_chain, [])
    return relay_chain, Node(net, relay_chain)


@pytest.mark.parametrize("answer", ANSWERS)
async def test_a_relay_that_forges_is_muted_whatever_it_says_of_its_height(
        net: Consortium, answer: str) -> None:
    """A height stands only as far as the relay backs it with certified blocks that
    extend this node's head; an answer that does not, or none, shows nothing."""
    _, node = beside_a_relay_at_three(net)
    try:
        assert node.core.chain.height == 3
        await node.relays([forged(net.employer, FEW) for _ in range(4)])
        node.answer(ANSWERS[answer](node.core.chain, net))
        if answer in UNANSWERED:  # the question is passed over only when it times out
            node.clock.now_ms += RESPONSE_TIMEOUT_MS
            node.engine.tick([node.relay])
        assert node.core.chain.height == 3
        assert await node.muted_after_settling()
    finally:
        node.close()


def _one_block_claiming_more(chain: Chain) -> Serve:
    """A relay ahead by a block or more that answers each question with the first block
    asked for only, claiming a far greater height: what it shows must be what it backs."""
    def serve(request: bytes) -> bytes:
        start, _ = decode(request)
        answer = serve_blocks(chain, encode([start, 1]))
        assert answer is not None
        return encode([10**6, decode(answer)[1]])
    return serve


async def test_a_relay_cannot_put_its_penalty_off_with_one_new_block_a_question(
        net: Consortium) -> None:
    """Handing over one certified block this node lacked, as a relay a block ahead can
    each time it is asked on a busy chain, backs that block's height, not the height the
    relay claims beside it: this node holds that block, so the forgeries count."""
    relay_chain, node = beside_a_relay_at_three(net)
    try:
        await node.relays([forged(net.employer, FEW) for _ in range(4)])
        commit(relay_chain, [])
        node.answer(_one_block_claiming_more(relay_chain))
        assert node.core.chain.height == 4
        assert await node.muted_after_settling()
    finally:
        node.close()


async def _asking_a_relay_three_blocks_ahead(net: Consortium
                                             ) -> tuple[Chain, Node, bytes, list[bytes]]:
    """A node at height 3 beside an honest validator, whose relay (at 6) relayed a forged
    signature: the relay has just been asked its height. The caller closes the node."""
    relay_chain, node = beside_a_relay_at_three(net)
    honest = net.ministry.public_key
    peers = [node.relay, honest]
    try:
        for _ in range(3):
            commit(relay_chain, [])
        node.engine.tick(peers)
        await node.relays([forged(net.employer, 1)])
        assert node.out.frames[-1][:2] == (node.relay, CH_SYNC_REQUEST)
    except BaseException:
        node.close()
        raise
    return relay_chain, node, honest, peers


async def test_height_questions_never_take_the_turn_of_blocks_this_node_lacks(
        net: Consortium) -> None:
    """A relay that forges a signature of a new suspect just before each height question
    to it times out, and answers none, is asked only when block sync has nothing of its
    own to ask: blocks a certified message said exist are asked for at the next turn."""
    _, node, honest, peers = await _asking_a_relay_three_blocks_ahead(net)
    try:
        asked = len(node.out.frames)
        node.engine.sync.want(6, honest)  # as a certified announcement says
        node.engine.tick(peers)
        for _ in range(3):
            node.now[0] += FORGED_SETTLE_S  # the last suspect settles: it is new again
            await node.relays([forged(net.employer, 1)])
            node.clock.now_ms += RESPONSE_TIMEOUT_MS
            node.engine.tick(peers)
        assert next(peer for peer, channel, _ in node.out.frames[asked:]
                    if channel == CH_SYNC_REQUEST) == honest
    finally:
        node.close()


async def test_an_open_height_question_does_not_keep_wanted_blocks_waiting(
        net: Consortium) -> None:
    """Blocks a certified message says exist are asked for at once, though a height
    question to a relay that has not answered is open; the relay's question stays open
    beside it, and its answer counts when it comes."""
    relay_chain, node, honest, peers = await _asking_a_relay_three_blocks_ahead(net)
    try:
        height_question = node.out.frames[-1][2]
        node.engine.sync.want(6, honest)  # as a certified announcement says
        node.engine.tick(peers)
        peer, channel, request = node.out.frames[-1]
        assert (peer, channel) == (honest, CH_SYNC_REQUEST)
        answer = serve_blocks(relay_chain, request)
        assert answer is not None
        node.engine.sync_answer(honest, answer)
        assert node.core.chain.height == 6
        node.engine.sync_answer(node.relay, serving(relay_chain)(height_question) or b"")
        assert node.engine.sync.shown(node.relay) == (2, 6)
    finally:
        node.close()


async def test_a_due_poll_does_not_wait_for_an_open_height_question(net: Consortium) -> None:
    """A follower's poll goes out when it is due, though the relay asked its height has
    not answered: it used to wait up to RESPONSE_TIMEOUT_MS for it."""
    relay_chain, node, honest, peers = await _asking_a_relay_three_blocks_ahead(net)
    try:
        node.clock.now_ms += EngineConfig(1_000, 100).follower_poll_ms
        node.engine.tick(peers)
        peer, channel, request = node.out.frames[-1]
        assert (peer, channel) == (honest, CH_SYNC_REQUEST)
        node.engine.sync_answer(honest, serving(relay_chain)(request) or b"")
        assert node.core.chain.height == 6
    finally:
        node.close()


async def test_a_relay_silent_while_polls_go_on_is_passed_over_and_muted(
        net: Consortium) -> None:
    """Polls asked beside its height question do not keep that question open: it times
    out RESPONSE_TIMEOUT_MS after it was asked, and the relay's forgery counts."""
    relay_chain, node, honest, peers = await _asking_a_relay_three_blocks_ahead(net)
    try:
        await node.relays([forged(net.employer, FEW) for _ in range(4)])
        poll_ms = EngineConfig(1_000, 100).follower_poll_ms
        for _ in range(RESPONSE_TIMEOUT_MS // poll_ms):
            node.clock.now_ms += poll_ms
            node.engine.tick(peers)
            peer, _, request = node.out.frames[-1]
            if peer == honest:
                node.engine.sync_answer(honest, serving(relay_chain)(request) or b"")
        assert node.core.chain.height == 6
        assert node.engine.sync.shown(node.relay) == (2, 0)
        assert await node.muted_after_settling()
    finally:
        node.close()


async def test_a_height_answer_overtaken_by_a_poll_shows_no_more_than_the_head(
        net: Consortium, monkeypatch: pytest.MonkeyPatch) -> None:
    """The relay's answer comes after a poll's answer from another peer has brought the
    head past the height it was asked for: its blocks are ones this node now holds, the
    very same. It is no failure (the relay is not passed over), but it shows no more than
    the head, whatever it claims: a relay no further than this node could hand the same
    blocks back late (test_height_question_timing). An honest relay ahead is shown ahead by
    its next answer; meanwhile its suspicions count only if the sender's key here is still
    the one they were bad under, and the blocks taken from the other peer have moved it."""
    relay_chain, node, honest, peers = await _asking_a_relay_three_blocks_ahead(net)
    monkeypatch.setattr(node_sync, "MAX_BLOCKS_PER_RESPONSE", 2)  # answers fill at 2
    monkeypatch.setattr(block_serve, "MAX_BLOCKS_PER_RESPONSE", 2)  # and are served so
    try:
        height_question = node.out.frames[-1][2]
        node.clock.now_ms += EngineConfig(1_000, 100).follower_poll_ms
        node.engine.tick(peers)
        assert node.out.frames[-1][0] == honest
        node.engine.sync_answer(honest, serving(relay_chain)(node.out.frames[-1][2]) or b"")
        assert node.core.chain.height == 5
        node.engine.sync_answer(node.relay, serving(relay_chain)(height_question) or b"")
        assert node.engine.sync.shown(node.relay) == (2, 5)
    finally:
        node.close()


async def test_forged_frames_from_one_relay_hand_it_to_the_engine_once(
        net: Consortium) -> None:
    """Each frame holding a new suspect asks the relay's height (node.network); the
    daemon hands each ask to the engine thread, whose inbox they filled one a frame."""
    node = Node(net, Chain(MemoryStore(), net.genesis))
    try:
        handed: list[bytes] = []
        receive = node.network.receive_gossip_into(
            node.core, SyncHeights(node.engine.sync, handed.append))
        for keys in (net.employer, net.ministry, net.university2):
            await receive(node.relay, encode(forged(keys, 1)))
        assert handed == [node.relay]
    finally:
        node.close()


def test_a_relay_is_handed_over_again_once_a_question_has_been_asked() -> None:
    """Not while a hand-over made since the last question, or one the engine holds for
    the relay's turn, will be asked after now; again once neither is sure."""
    sync = BlockSync(None)
    handed: list[bytes] = []
    heights = SyncHeights(sync, handed.append)
    relay, other = b"r" * 32, b"o" * 32
    for _ in range(3):
        heights.ask(relay)
    assert handed == [relay]
    sync.want(5)
    assert sync.next_request(0, 0, [other]) is not None  # question 1: blocks, of `other`
    heights.ask(relay)  # the hand-over may have been dropped, or asked before question 1
    assert handed == [relay, relay]
    sync.ask_height(relay)  # the engine takes it: asked when no block is wanted
    assert sync.next_request(RESPONSE_TIMEOUT_MS, 0, [relay, other]) is not None
    for _ in range(3):
        heights.ask(relay)
    assert handed == [relay, relay]
