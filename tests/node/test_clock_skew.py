"""A validator whose clock is far off is told so by the other validators' commit votes
(node/clock_skew.py). Before, a validator a day ahead refused each proposal holding
transactions as 'block time is stale: after an idle spell the primary must propose an
empty block first', which sent its operator to look at the primary."""

from __future__ import annotations

import dataclasses
import logging

import pytest

from consensus import Commit, Digest, Height, ValidatorId, View, encode_signed, sign_message
from ledger.chain import Chain
from ledger.identity import KeyPair, member_id_of
from node.clock_skew import CLOCK_SKEW_RETOLD_MS, OFFSET_HEIGHTS_KEPT, ClockSkew
from node.engine import Engine
from node.engine_types import EngineConfig
from node.mempool import Mempool, MempoolLimits
from node.validators import ValidatorSets
from storage.kv import MemoryStore
from tests.node.conftest import Consortium
from tests.node.test_engine import Clock, Recorder

DAY_MS = 86_400_000
NOW_MS = 1_800_000_000_000
AHEAD = "this node's clock is 24 h 0 min ahead of the other validators'"


def vote(net: Consortium, keys: KeyPair, height: int, time_ms: int,
         sender: KeyPair | None = None) -> tuple[ValidatorId, bytes]:
    """`keys`'s commit vote for `height` stamped `time_ms`, as the frame that brings it,
    and the validator its connection is (`sender`, when another relays it)."""
    signer = ValidatorId(member_id_of(keys.public_key))
    signed = sign_message(net.genesis.chain_id.encode(), signer,
                          Commit(View(0), Height(height), Digest(bytes(32)), time_ms),
                          keys.sign_raw)
    return ValidatorId(member_id_of((sender or keys).public_key)), encode_signed(signed)


def others(net: Consortium) -> list[KeyPair]:
    return [net.university, net.university2, net.employer]


def warnings_in(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


def test_a_clock_a_day_ahead_is_told_once_a_while(
        net: Consortium, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="senim.engine")
    skew = ClockSkew()
    for keys in others(net):
        skew.heard(*vote(net, keys, 5, NOW_MS - DAY_MS), 5, NOW_MS)
    said = warnings_in(caplog)
    assert len(said) == 1 and said[0].startswith(AHEAD), said
    assert "by the commit votes of 2 of the 2 heard, for block 5" in said[0], said
    assert said[0].endswith("it refuses the others' proposals holding transactions as stale")
    skew.heard(*vote(net, net.university, 6, NOW_MS + 1_000 - DAY_MS), 6, NOW_MS + 1_000)
    assert len(warnings_in(caplog)) == 1  # not at every vote
    later = NOW_MS + CLOCK_SKEW_RETOLD_MS
    skew.heard(*vote(net, net.university, 7, later - DAY_MS), 7, later)
    assert len(warnings_in(caplog)) == 2
    for keys in others(net):  # its clock set right
        skew.heard(*vote(net, keys, 8, NOW_MS - DAY_MS + 5), 8, NOW_MS - DAY_MS + 10)
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.INFO] == [
        "this node's clock agrees with most other validators' again"]


def test_a_byzantine_validator_tipping_the_majority_each_block_is_not_a_line_a_block(
        net: Consortium, caplog: pytest.LogCaptureFixture) -> None:
    """This node's clock and university's are 70 s ahead of university2's; employer,
    Byzantine, stamps its votes alternately as one and as the other. Each block was a
    warning, then 'agrees again', then a warning: 100 lines for 100 blocks."""
    caplog.set_level(logging.INFO, logger="senim.engine")
    skew = ClockSkew()
    ahead_ms = 70_000
    for height in range(1, 101):
        now = NOW_MS + height * 1_000
        skew.heard(*vote(net, net.university, height, now), height, now)
        skew.heard(*vote(net, net.university2, height, now - ahead_ms), height, now)
        tipped = now - ahead_ms if height % 2 else now
        skew.heard(*vote(net, net.employer, height, tipped), height, now)
    said = [(r.levelno, r.getMessage()[:40]) for r in caplog.records]
    assert said == [(logging.WARNING, "this node's clock is 1 min 10 s ahead of"),
                    (logging.INFO, "this node's clock agrees with most other")], said


def test_a_validator_no_longer_heard_counts_no_more(
        net: Consortium, caplog: pytest.LogCaptureFixture) -> None:
    """Employer's last vote, a day off (Byzantine, then removed from the set), counted for
    good: with university2's clock two minutes behind, two of three blamed this node."""
    caplog.set_level(logging.INFO, logger="senim.engine")
    skew = ClockSkew()
    skew.heard(*vote(net, net.employer, 5, NOW_MS - DAY_MS), 5, NOW_MS)
    later = 5 + OFFSET_HEIGHTS_KEPT
    skew.heard(*vote(net, net.university, later, NOW_MS - 30), later, NOW_MS)
    skew.heard(*vote(net, net.university2, later, NOW_MS - 120_000), later, NOW_MS)
    assert caplog.records == []


def test_a_clock_behind_is_told_too(net: Consortium, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="senim.engine")
    skew = ClockSkew()
    for keys in others(net):
        skew.heard(*vote(net, keys, 5, NOW_MS + 10 * 60_000), 5, NOW_MS)
    said = warnings_in(caplog)
    assert len(said) == 1 and said[0].startswith(
        "this node's clock is 10 min 0 s behind the other validators'"), said
    assert said[0].endswith("until then its commit votes carry that wrong time")


@pytest.mark.parametrize("first", [True, False])
def test_another_validators_wrong_clock_is_not_blamed_on_this_one(
        net: Consortium, caplog: pytest.LogCaptureFixture, first: bool) -> None:
    caplog.set_level(logging.INFO, logger="senim.engine")
    skew = ClockSkew()
    heard = [(net.employer, NOW_MS - DAY_MS), (net.university, NOW_MS - 40),
             (net.university2, NOW_MS - 15)]
    for keys, time_ms in heard if first else heard[::-1]:
        skew.heard(*vote(net, keys, 5, time_ms), 5, NOW_MS)
    assert caplog.records == []


def test_votes_of_another_height_or_relayed_read_nothing(
        net: Consortium, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="senim.engine")
    skew = ClockSkew()
    for keys in others(net):
        skew.heard(*vote(net, keys, 4, NOW_MS - DAY_MS), 5, NOW_MS)  # a height decided
        skew.heard(*vote(net, keys, 5, NOW_MS - DAY_MS, sender=net.ministry), 5, NOW_MS)
        skew.heard(ValidatorId(member_id_of(keys.public_key)), b"\x93junk", 5, NOW_MS)
    assert caplog.records == []


def test_the_engine_reads_the_votes_it_is_sent(
        net: Consortium, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="senim.engine")
    members = tuple(dataclasses.replace(member, validator=True)
                    for member in net.genesis.members)
    chain = Chain(MemoryStore(), dataclasses.replace(net.genesis, members=members))
    engine = Engine(net.ministry, chain, Mempool(MempoolLimits(100, 1 << 20, 100)),
                    ValidatorSets.for_chain(chain), EngineConfig(1_000, 100),
                    Clock(NOW_MS), Recorder())
    for keys in others(net):
        _, frame = vote(net, keys, 1, NOW_MS - DAY_MS)
        engine.consensus_frame(keys.public_key, frame)
    assert any(said.startswith(AHEAD) for said in warnings_in(caplog)), warnings_in(caplog)
