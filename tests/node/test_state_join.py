"""State sync over real P2P in one process: an empty store joins from two peers, one of
them lying, through the channels, size limits and off-loop serving the daemon uses."""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path

import pytest

from ledger.chain import Chain
from ledger.chain_layout import STATE_PREFIX
from ledger.codec import decode, encode
from ledger.identity import KeyPair
from ledger.payloads import AnchorPayload
from node.channels import CH_STATE_REQUEST, CH_STATE_RESPONSE
from node.config import Address, NodeConfig
from node.network import Network
from node.state_join import join_by_state_sync, needs_join, wipe_partial_state
from node.state_serve import StateSnapshots
from node.state_wire import ASK_NODES, NOT_HELD
from node.validators import ValidatorSets
from storage.kv import MemoryStore
from tests.e2e.harness import free_port
from tests.node.conftest import Consortium, commit, make_tx

JOIN_TIMEOUT_S = 60.0
FLOODED_JOIN_TIMEOUT_S = 30.0  # a few seconds unflooded; each question dropped costs 5 s


def config_for(name: str, port: int, peers: list[int]) -> NodeConfig:
    nowhere = Path("/nonexistent")
    return NodeConfig(name=name, key_file=nowhere, genesis_file=nowhere, data_dir=nowhere,
                      api=Address("127.0.0.1", 0), p2p=Address("127.0.0.1", port),
                      peers=tuple(Address("127.0.0.1", p) for p in peers), observers=(),
                      max_block_txs=100, view_timeout_ms=1_000, mempool_max_txs=10,
                      mempool_max_bytes=1 << 20, mempool_max_per_sender=10,
                      log_level="info", log_format="text")


def lying(snapshots: StateSnapshots) -> StateSnapshots:
    """Answers like `snapshots`, but with one tree node changed in every nodes answer."""
    class Liar(StateSnapshots):
        def answer(self, payload: bytes) -> bytes | None:
            answer = snapshots.answer(payload)
            decoded = decode(answer) if answer is not None else None
            if isinstance(decoded, list) and decoded[0] == ASK_NODES and decoded[2]:
                record = decoded[2][0]
                decoded[2][0] = record[:1] + bytes([record[1] ^ 1]) + record[2:]
                return encode(decoded)
            return answer
    return Liar(MemoryStore(), lambda certificate, height, block_hash: False)  # holds nothing


def anchored_snapshots(net: Consortium, blocks: int, anchors: int
                       ) -> tuple[Chain, StateSnapshots]:
    """A source chain of `blocks` blocks of `anchors` anchors each, and its snapshots."""
    source = Chain(MemoryStore(), net.genesis)
    for _ in range(blocks):
        commit(source, [make_tx(net.university, AnchorPayload(os.urandom(32)))
                        for _ in range(anchors)])
    return source, StateSnapshots(source.kv, ValidatorSets.for_chain(source).certifies)


async def employer_joins(net: Consortium, kv: MemoryStore, port: int, peers: list[int],
                         timeout_s: float) -> bool:
    """The employer joins into `kv` by state sync from `peers`, within `timeout_s`."""
    config = config_for("joiner", port, peers)
    return await asyncio.wait_for(
        join_by_state_sync(config, net.genesis, net.employer, kv, asyncio.Event()), timeout_s)


async def serving(net: Consortium, keys: KeyPair, port: int, snapshots: StateSnapshots
                  ) -> Network:
    network = Network(config_for(keys.public_key.hex()[:8], port, []), net.genesis, keys)
    network.route(CH_STATE_REQUEST, network.serve_state_from(snapshots))
    await network.start()
    return network


def test_an_empty_store_joins_over_p2p_past_a_lying_validator(
        net: Consortium, caplog: pytest.LogCaptureFixture) -> None:
    source, honest = anchored_snapshots(net, blocks=3, anchors=300)
    kv = MemoryStore()
    kv.write({STATE_PREFIX + b"nleftover": b"from a join cut short"})  # wiped first
    liar_port, honest_port, joiner_port = free_port(), free_port(), free_port()

    async def scenario() -> bool:
        # The ministry is the validator, so the joiner asks it first: it lies.
        liar = await serving(net, net.ministry, liar_port, lying(honest))
        server = await serving(net, net.university, honest_port, honest)
        try:
            return await employer_joins(net, kv, joiner_port, [liar_port, honest_port],
                                        JOIN_TIMEOUT_S)
        finally:
            await liar.close()
            await server.close()

    assert needs_join(kv)
    with caplog.at_level(logging.INFO, logger="senim.state_sync"):
        assert asyncio.run(scenario())
    assert "Ministry of Science sent a wrong answer" in caplog.text
    assert "joined by state sync at block 3" in caplog.text
    assert not needs_join(kv)
    joined = Chain(kv, net.genesis)
    assert (joined.height, joined.base_height) == (source.height, source.height)
    assert joined.state.root == source.state.root
    assert joined.state.audit() == source.state.audit()


def test_a_stop_during_the_join_leaves_no_chain_and_the_next_start_wipes_it(
        net: Consortium) -> None:
    kv = MemoryStore()
    port = free_port()

    async def scenario() -> bool:
        stop = asyncio.Event()
        stop.set()  # stopped at once: nobody to ask anyway
        return await join_by_state_sync(config_for("joiner", port, [free_port()]),
                                        net.genesis, net.employer, kv, stop)

    assert not asyncio.run(scenario())
    assert needs_join(kv)
    kv.write({STATE_PREFIX + b"r": b"x" * 32, STATE_PREFIX + b"v" + b"k": b"v"})
    wipe_partial_state(kv)
    assert list(kv.iterate_prefix(STATE_PREFIX)) == [] and needs_join(kv)


def test_nodes_all_joining_at_once_find_no_snapshot_and_start_from_genesis(
        net: Consortium) -> None:
    first, second = free_port(), free_port()
    stores = [MemoryStore(), MemoryStore()]

    async def scenario() -> list[bool]:
        joins = [join_by_state_sync(config_for("a", first, [second]), net.genesis,
                                    net.ministry, stores[0], asyncio.Event()),
                 join_by_state_sync(config_for("b", second, [first]), net.genesis,
                                    net.employer, stores[1], asyncio.Event())]
        return list(await asyncio.wait_for(asyncio.gather(*joins), JOIN_TIMEOUT_S))

    assert asyncio.run(scenario()) == [False, False]
    assert all(needs_join(kv) for kv in stores)


def test_a_member_flooding_unasked_answers_does_not_stall_the_join(
        net: Consortium, caplog: pytest.LogCaptureFixture) -> None:
    """The joiner's queue of answers holds ANSWERS_QUEUED_MAX: a member sending answers
    nobody asked for, as fast as it can, kept it full, so that the asked peer's answers
    were dropped and each question timed out. They are dropped as they come now
    (node.answer_gate), and the join goes on."""
    source, honest = anchored_snapshots(net, blocks=2, anchors=50)
    kv = MemoryStore()
    honest_port, flooder_port, joiner_port = free_port(), free_port(), free_port()
    unasked = encode([NOT_HELD, 0])

    async def flood(flooder: Network, joined: asyncio.Event) -> None:
        deadline = asyncio.get_running_loop().time() + FLOODED_JOIN_TIMEOUT_S
        while not joined.is_set() and asyncio.get_running_loop().time() < deadline:
            flooder.peers.send(net.employer.public_key, CH_STATE_RESPONSE, unasked)
            await asyncio.sleep(0)

    async def scenario() -> bool:
        # The ministry, the validator, is asked first; the university floods.
        server = await serving(net, net.ministry, honest_port, honest)
        flooder = Network(config_for("flooder", flooder_port, []), net.genesis,
                          net.university)
        await flooder.start()
        joined = asyncio.Event()
        flooding = asyncio.create_task(flood(flooder, joined))
        try:
            return await employer_joins(net, kv, joiner_port, [honest_port, flooder_port],
                                        FLOODED_JOIN_TIMEOUT_S)
        finally:
            joined.set()
            await flooding
            await flooder.close()
            await server.close()

    with caplog.at_level(logging.INFO):
        assert asyncio.run(scenario())
    assert "joined by state sync at block 2" in caplog.text
    assert "state-sync answers from peers this node had not asked" in caplog.text
    assert Chain(kv, net.genesis).state.root == source.state.root
