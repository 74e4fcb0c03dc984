"""Transaction gossip leaves in batches (node.network): a submission of many at once; a
single one at once after a quiet spell, else GOSSIP_FLUSH_S after the last frame,
gathered with the others admitted meanwhile."""

from __future__ import annotations

import asyncio

import pytest

from ledger.codec import decode
from node.channels import CH_TXS
from node.network import GOSSIP_AT_ONCE_TXS, GOSSIP_FLUSH_S, Network
from tests.e2e.harness import free_port
from tests.node.conftest import Consortium
from tests.node.test_state_join import config_for


@pytest.fixture
def sent(net: Consortium, monkeypatch: pytest.MonkeyPatch
         ) -> tuple[Network, list[tuple[bytes, int, list[bytes]]]]:
    network = Network(config_for("gossip", free_port(), []), net.genesis, net.ministry)
    frames: list[tuple[bytes, int, list[bytes]]] = []

    def send(key: bytes, channel: int, payload: bytes) -> bool:
        frames.append((key, channel, decode(payload)))
        return True
    validator = next(iter(network.validator_keys))
    monkeypatch.setattr(network.peers, "connected", lambda: [validator])
    monkeypatch.setattr(network.peers, "send", send)
    return network, frames


async def test_a_submission_of_many_is_gossiped_at_once(
        sent: tuple[Network, list[tuple[bytes, int, list[bytes]]]]) -> None:
    network, frames = sent
    network.gossip_transactions([b"first"])  # after a quiet spell: leaves at once
    single = [b"single"]
    many = [b"tx-%d" % i for i in range(GOSSIP_AT_ONCE_TXS)]
    network.gossip_transactions(single)
    assert len(frames) == 1  # a single one right after a frame waits for others to join it
    network.gossip_transactions(many)
    assert [(channel, items) for _, channel, items in frames] == [
        (CH_TXS, [b"first"]), (CH_TXS, single + many)]
    await asyncio.sleep(2 * GOSSIP_FLUSH_S)
    assert len(frames) == 2  # the timer found nothing left


async def test_single_submissions_are_gathered_into_one_frame(
        sent: tuple[Network, list[tuple[bytes, int, list[bytes]]]]) -> None:
    network, frames = sent
    few = [b"tx-%d" % i for i in range(GOSSIP_AT_ONCE_TXS - 1)]
    for data in few:
        network.gossip_transactions([data])
    assert [items for _, _, items in frames] == [few[:1]]
    await asyncio.sleep(2 * GOSSIP_FLUSH_S)
    assert [items for _, _, items in frames] == [few[:1], few[1:]]


async def test_a_single_submission_after_a_quiet_spell_leaves_at_once(
        sent: tuple[Network, list[tuple[bytes, int, list[bytes]]]]) -> None:
    network, frames = sent
    for round_ in range(3):
        network.gossip_transactions([b"lone-%d" % round_])
        assert len(frames) == round_ + 1  # no timer waited out
        await asyncio.sleep(2 * GOSSIP_FLUSH_S)
    assert [items for _, _, items in frames] == [[b"lone-0"], [b"lone-1"], [b"lone-2"]]
