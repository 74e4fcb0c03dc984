"""The line refusing a peer's key says what to do when the node hears no validator: its
chain may be behind, and the key one a validator rotated to since (a new node knows only
the genesis keys; the e2e case: tests/e2e/test_join_after_rotation.py). A node that hears
a validator, or is the only one, says no more than before."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest

from ledger.identity import KeyPair
from node.network import Network
from tests.e2e.harness import free_port
from tests.node.conftest import Consortium
from tests.node.test_state_join import config_for

DEADLINE_S = 20.0
HINT = "; no validator this node's chain names is connected: if the consortium's validators"


async def _refusal_of(stranger: KeyPair, port: int, net: Consortium,
                      caplog: pytest.LogCaptureFixture) -> str:
    """The line refusing `stranger`, which dials the node listening on `port`."""
    dialer = Network(config_for("stranger", free_port(), [port]), net.genesis, stranger)
    await dialer.start()
    try:
        deadline = asyncio.get_running_loop().time() + DEADLINE_S
        while asyncio.get_running_loop().time() < deadline:
            said = [r.getMessage() for r in caplog.records
                    if f"key {stranger.public_key.hex()} is not an allowed member"
                    in r.getMessage()]
            if said:
                return said[0]
            await asyncio.sleep(0.02)
    finally:
        await dialer.close()
    raise AssertionError(f"no refusal of the stranger within {DEADLINE_S} s")


@pytest.fixture
async def university(net: Consortium) -> AsyncIterator[Network]:
    node = Network(config_for("university", free_port(), []), net.genesis, net.university)
    await node.start()
    yield node
    await node.close()


async def test_a_node_hearing_no_validator_says_to_list_their_keys_as_observers(
        net: Consortium, university: Network, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="p2p")
    assert university.peers.listen_address is not None
    port = university.peers.listen_address[1]
    told = await _refusal_of(net.outsider, port, net, caplog)
    assert HINT in told and "under [p2p] observers in this node's config" in told, told

    # Once it hears the validator its chain names, a stranger is only refused.
    ministry = Network(config_for("ministry", free_port(), [port]), net.genesis, net.ministry)
    await ministry.start()
    try:
        deadline = asyncio.get_running_loop().time() + DEADLINE_S
        while net.ministry.public_key not in university.peers.connected():
            assert asyncio.get_running_loop().time() < deadline, "the ministry never connected"
            await asyncio.sleep(0.02)
        told = await _refusal_of(KeyPair.generate(), port, net, caplog)
        assert told.endswith("is not an allowed member"), told

        # The only validator has no other to hear: it is never behind them.
        assert ministry.peers.listen_address is not None
        told = await _refusal_of(KeyPair.generate(), ministry.peers.listen_address[1], net,
                                 caplog)
        assert told.endswith("is not an allowed member"), told
    finally:
        await ministry.close()
