"""A peer's transaction gossip is handled on the event loop a step of LOOP_STEP_ITEMS at
a time, so what else the loop has to do (a consensus frame from any peer) waits for one
step, not for the whole frame: a frame of 5,000 held the loop 6.7 ms before its checks
and as long after them, one of 20,000 27 ms each."""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import struct

import pytest

from ledger.codec import encode
from ledger.payloads import AnchorPayload
from ledger.transactions import tx_id_of_encoded
from node.loop_steps import LOOP_STEP_ITEMS
from node.network import Network
from node.service import NodeCore
from node.submission_body import MAX_TXS_PER_REQUEST
from tests.e2e.harness import free_port
from tests.node.conftest import Consortium, make_tx
from tests.node.test_state_join import config_for


async def test_other_work_waits_for_one_step_of_a_gossip_frame_not_for_all_of_it(
        net: Consortium, core: NodeCore, monkeypatch: pytest.MonkeyPatch) -> None:
    """A task standing for the consensus channel's consumer gets the loop between every
    two steps of a large frame's handling: before its checks (items read, ids hashed and
    looked up) and after them (admitted to the mempool), each step at most
    LOOP_STEP_ITEMS items further on. asyncio runs ready callbacks in the order they
    became ready, so this holds on any machine at any speed."""
    network = Network(config_for("gossip", free_port(), []), net.genesis, net.ministry)
    receive = network.receive_gossip_into(core)
    count = 4 * LOOP_STEP_ITEMS + 3
    frame = encode([make_tx(net.university, AnchorPayload(os.urandom(32))).encode()
                    for _ in range(count)])
    looked_up = [0]
    unknown, knows_id = core.unknown, core.knows_id

    def counting(tx_ids: list[bytes | None]) -> list[bool]:
        looked_up[0] += len(tx_ids)
        return unknown(tx_ids)

    def counting_one(tx_id: bytes | None) -> bool:  # a step of a few (the frame's last)
        looked_up[0] += 1
        return knows_id(tx_id)

    monkeypatch.setattr(core, "unknown", counting)
    monkeypatch.setattr(core, "knows_id", counting_one)
    seen: list[tuple[int, int]] = []  # (ids looked up, transactions pending) at each turn
    handled = asyncio.Event()

    async def consensus_consumer() -> None:
        while not handled.is_set():  # ends with the frame's handling, which the test awaits
            seen.append((looked_up[0], len(core.mempool)))
            await asyncio.sleep(0)

    consumer = asyncio.create_task(consensus_consumer())
    await asyncio.sleep(0)  # its first turn: before the frame
    await receive(net.university.public_key, frame)
    handled.set()
    await consumer
    seen.append((looked_up[0], len(core.mempool)))
    assert seen[0] == (0, 0) and seen[-1] == (count, count)
    for (ids_before, pending_before), (ids_after, pending_after) in itertools.pairwise(seen):
        assert ids_after - ids_before <= LOOP_STEP_ITEMS
        assert pending_after - pending_before <= LOOP_STEP_ITEMS
    # Turns came while ids were being looked up, and while transactions were admitted.
    assert len({ids for ids, pending in seen if pending == 0}) >= count // LOOP_STEP_ITEMS
    assert len({pending for ids, pending in seen}) >= count // LOOP_STEP_ITEMS


async def test_a_frame_malformed_after_its_first_steps_admits_nothing(
        net: Consortium, core: NodeCore, caplog: pytest.LogCaptureFixture) -> None:
    """Read a step at a time, a frame is still refused whole: one whose last item is no
    byte string, or that declares more than MAX_TXS_PER_REQUEST items, admits none of
    the transactions before it, and is said as malformed gossip is."""
    network = Network(config_for("gossip", free_port(), []), net.genesis, net.ministry)
    receive = network.receive_gossip_into(core)
    txs = [make_tx(net.university, AnchorPayload(os.urandom(32))).encode()
           for _ in range(2 * LOOP_STEP_ITEMS + 1)]
    over = b"\xdd" + struct.pack(">I", MAX_TXS_PER_REQUEST + 1) + b"".join(
        encode(tx) for tx in txs)
    for frame in (encode([*txs, 7]), encode(txs) + b"\x00", over):
        caplog.clear()
        await receive(net.university.public_key, frame)
        assert len(core.mempool) == 0
        assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING
                and "malformed transaction gossip" in r.getMessage()], frame[-8:]
        network = Network(config_for("gossip", free_port(), []), net.genesis, net.ministry)
        receive = network.receive_gossip_into(core)  # a new one: each says its first fault
    assert core.unknown([tx_id_of_encoded(tx) for tx in txs]) == [True] * len(txs)
    await receive(net.university.public_key, encode(txs))
    assert len(core.mempool) == len(txs)
