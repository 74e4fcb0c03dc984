"""What the lab-only attacks (bench.attack.run.LAB_ONLY) send is what they claim, checked
in a second or two: their runs against a consortium are scripts/attack's, not CI's."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import msgpack

from bench.attack.crowd_attacks import blank_node_bomb_vc, empty_arrays_body, many_values_vc
from bench.attack.gossip_junk import GOSSIP_BOMB_BYTES
from bench.attack.run import ATTACKS, LAB_ONLY
from ledger.vc.verify import verify_vc
from node.channels import GOSSIP_BATCH_BYTES


def test_every_lab_only_attack_is_in_the_lab() -> None:
    assert set(ATTACKS) >= LAB_ONLY


def test_an_empty_array_body_is_its_size_of_empty_arrays() -> None:
    body = empty_arrays_body(4096)
    assert len(body) == 4096
    assert msgpack.unpackb(body) == [[]] * (4096 - 5)
    assert GOSSIP_BOMB_BYTES <= 2 * GOSSIP_BATCH_BYTES  # fits the gossip channel's frame


def test_the_vc_crowd_documents_are_costly_but_within_the_bounds() -> None:
    started = time.process_time()
    verdict = verify_vc(blank_node_bomb_vc(8), datetime.now(tz=UTC))
    assert not verdict.valid and "indistinguishable blank nodes" in verdict.reason
    assert time.process_time() - started < 5.0  # the bound holds, as the node relies on
    assert verify_vc(many_values_vc(50), datetime.now(tz=UTC)).valid
