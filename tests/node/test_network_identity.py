"""Nodes of one chain id but different genesis files (a copied or regenerated genesis)
never connect: the P2P handshake binds the genesis hash, not the chain id alone."""

from __future__ import annotations

import asyncio
import dataclasses
import logging

import pytest

from node.network import Network
from tests.e2e.harness import free_port
from tests.node.conftest import Consortium
from tests.node.test_state_join import config_for

DEADLINE_S = 20.0


async def first_handshake_outcome(dialer: Network, caplog: pytest.LogCaptureFixture) -> str:
    deadline = asyncio.get_running_loop().time() + DEADLINE_S
    while asyncio.get_running_loop().time() < deadline:
        if dialer.peers.connected():
            return "connected"
        if any("handshake" in r.getMessage() and "failed" in r.getMessage()
               for r in caplog.records):
            return "refused"
        await asyncio.sleep(0.02)
    raise AssertionError(f"neither connected nor refused within {DEADLINE_S} s")


@pytest.mark.parametrize("same_genesis", [True, False])
async def test_a_node_of_another_genesis_with_the_same_chain_id_is_refused(
        net: Consortium, caplog: pytest.LogCaptureFixture, same_genesis: bool) -> None:
    caplog.set_level(logging.INFO, logger="p2p")
    other = (net.genesis if same_genesis else dataclasses.replace(
        net.genesis, genesis_time_ms=net.genesis.genesis_time_ms + 1))
    assert other.chain_id == net.genesis.chain_id
    listen_port, dial_port = free_port(), free_port()
    listener = Network(config_for("listener", listen_port, []), net.genesis, net.ministry)
    dialer = Network(config_for("dialer", dial_port, [listen_port]), other, net.university)
    await listener.start()
    await dialer.start()
    try:
        outcome = await first_handshake_outcome(dialer, caplog)
    finally:
        await dialer.close()
        await listener.close()
    assert outcome == ("connected" if same_genesis else "refused")
    if not same_genesis:
        # the chain ids are the same: the words send the operator to the genesis files
        assert any("another network" in r.getMessage() and "another genesis file" in
                   r.getMessage() and "chain id bound" not in r.getMessage()
                   for r in caplog.records)
