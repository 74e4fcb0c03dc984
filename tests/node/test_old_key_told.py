"""What a node signing with a key its member no longer holds logs, once: a node that does
not validate was told "peers stop admitting this node once that key certifies no more
blocks", though its peers had dropped it in the very block that changed the key (and would
never admit it again); and a key the ministries replaced read as the member's own doing."""

from __future__ import annotations

import logging

import pytest

from ledger.chain import Chain
from ledger.identity import KeyPair
from ledger.key_events import prove_replacement
from ledger.payloads import ProposePayload, ReplaceKeyAction, VotePayload
from ledger.rules_version import MAX_KNOWN_RULES_VERSION
from node.engine import Engine
from node.engine_types import EngineConfig
from node.mempool import Mempool, MempoolLimits
from node.validators import ValidatorSets
from storage.kv import MemoryStore
from tests.node.conftest import Consortium, commit, make_tx
from tests.node.test_engine import Recorder
from tests.node.test_governance import make_council
from tests.node.test_key_rotation import rotate


def _engine(keys: KeyPair, chain: Chain) -> Engine:
    return Engine(keys, chain, Mempool(MempoolLimits(100, 1 << 20, 100)),
                  ValidatorSets.for_chain(chain), EngineConfig(1_000, 100), lambda: 0,
                  Recorder())


def test_a_non_validators_node_is_told_to_restart_now(
        chain: Chain, net: Consortium, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="senim.engine"):
        running = _engine(net.university, chain)
        new = rotate(chain, net.university)
        running._follow_sets()  # as after the rotation's commit
    told = [r.getMessage() for r in caplog.records]
    assert told == [f"member {net.university.member_id.hex()} signs with key "
                    f"{new.public_key.hex()[:16]}… since block 1 (its member rotated it), "
                    f"not with this node's key {net.university.public_key.hex()[:16]}…: its "
                    "peers no longer admit this node (they dropped it at block 1); restart "
                    "it now with the member's current key file ([node] key)"]


def test_a_key_the_ministries_replaced_is_said_so(caplog: pytest.LogCaptureFixture) -> None:
    council = make_council(rules_version=MAX_KNOWN_RULES_VERSION)
    chain = Chain(MemoryStore(), council.genesis)
    new = KeyPair.generate()
    member = council.university.member_id
    action = ReplaceKeyAction(member, new.public_key,
                              prove_replacement(new, chain.chain_id, member), None)
    propose = make_tx(council.ministry2, ProposePayload(action, 10, 8))
    commit(chain, [propose])
    with caplog.at_level(logging.ERROR, logger="senim.engine"):
        running = _engine(council.university, chain)
        commit(chain, [make_tx(council.ministry3, VotePayload(propose.tx_id))])
        running._follow_sets()
    told = [r.getMessage() for r in caplog.records]
    assert len(told) == 1 and ("since block 2 (the ministries replaced it by governance), "
                               "not with this node's key") in told[0], told
    assert "(they dropped it at block 2); restart it now" in told[0], told
