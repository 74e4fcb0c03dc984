"""A relayed bad signature by a sender that rotated is tried against the earlier keys a
relay behind this node could have held, only when it failed, and at a bounded cost per
submission."""

from __future__ import annotations

import os

import pytest

from ledger.chain import Chain
from ledger.codec import encode
from ledger.errors import BadSignature
from ledger.identity import KeyPair, verify_signature
from ledger.key_events import KeyHistory, KeyPeriod
from ledger.payloads import AnchorPayload
from ledger.rules import MAX_TX_TTL_BLOCKS
from node.earlier_keys import keys_in_reach
from node.network import Network
from node.public_work import ForgedSubmission
from storage.kv import MemoryStore
from tests.e2e.harness import free_port
from tests.node.api_server import api_core
from tests.node.conftest import Consortium, make_tx
from tests.node.test_key_rotation import rotate
from tests.node.test_state_join import config_for


def test_only_keys_a_node_could_have_admitted_the_transaction_under_are_in_reach() -> None:
    """A node at height h holds the key whose period has from_height <= h < until_height,
    and admits a transaction only if it expires by h + 1 + MAX_TX_TTL_BLOCKS."""
    k0, k1, k2 = (bytes([i]) * 32 for i in range(3))
    history = KeyHistory((KeyPeriod(k0, 0, 10), KeyPeriod(k1, 10, 500_000),
                          KeyPeriod(k2, 500_000, None)))
    # A node at height 9 (the last to hold k0) admits up to 9 + 1 + MAX_TX_TTL_BLOCKS.
    assert keys_in_reach(history, 10 + MAX_TX_TTL_BLOCKS) == [k1, k0]
    assert keys_in_reach(history, 11 + MAX_TX_TTL_BLOCKS) == [k1]
    assert keys_in_reach(history, 500_000 + MAX_TX_TTL_BLOCKS) == [k1]
    assert keys_in_reach(history, 500_001 + MAX_TX_TTL_BLOCKS) == []
    assert keys_in_reach(KeyHistory((KeyPeriod(k0, 0, None),)), 5) == []


def _rotated(chain: Chain, keys: KeyPair, times: int) -> list[KeyPair]:
    """The member's keys, oldest first, after rotating `times` times."""
    held = [keys]
    for _ in range(times):
        held.append(rotate(chain, held[-1]))
    return held


async def test_earlier_keys_are_tried_only_for_a_relay_s_bad_signatures_and_boundedly(
        net: Consortium, monkeypatch: pytest.MonkeyPatch) -> None:
    tried: list[bytes] = []

    def counted(key: bytes, message: bytes, signature: bytes) -> bool:
        tried.append(key)
        return verify_signature(key, message, signature)

    monkeypatch.setattr("node.earlier_keys.verify_signature", counted)
    network = Network(config_for("gossip", free_port(), []), net.genesis, net.ministry)
    core = api_core(net.ministry, net.genesis, MemoryStore())
    receive = network.receive_gossip_into(core)
    try:
        many = 40  # earlier keys: more than half of what one submission may try
        held = _rotated(core.chain, net.employer, many)
        current = held[-1]
        good = [make_tx(current, AnchorPayload(os.urandom(32))) for _ in range(50)]
        await receive(net.university.public_key, encode([tx.encode() for tx in good]))
        assert all(tx.tx_id in core.mempool for tx in good) and tried == []

        forged = [make_tx(current, AnchorPayload(os.urandom(32))).encode()[:-64] + bytes(64)
                  for _ in range(100)]
        await receive(net.university.public_key, encode(forged))
        assert len(tried) == many  # one signature's keys; the next ones' did not fit

        tried.clear()  # an API client's bad signatures prove no relay faulty: none tried
        with pytest.raises(ForgedSubmission):
            await core.submit(forged)
        assert tried == []

        # Each submission has its own allowance, and a match stops the trials: newest
        # first, as a relay behind is most often a block or two behind.
        tried.clear()
        previous = [make_tx(held[-2], AnchorPayload(os.urandom(32))).encode()]
        outcomes, _ = await core.public_work.run(core._check_many, previous + forged[:2],
                                                 True)
        assert tried == [held[-2].public_key] + [k.public_key for k in reversed(held[:-1])]
        assert [o.earlier_keys_ruled_out for o in outcomes if isinstance(o, BadSignature)
                ] == [False, True, False]
    finally:
        core.worker.shutdown(wait=True)
