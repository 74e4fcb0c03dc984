"""The sync flood asks as a node of this release asks (bench.attack.sync_flood), so that a
node that cannot afford its questions tells it busy rather than leaving them unanswered:
the busy path is what the flood is to exercise. No lab: the questions are read by the
functions a node reads them with (node.network hands them to node.sync_serving)."""

from __future__ import annotations

import pytest

from bench.attack.sync_flood import MODES, flood_question
from ledger.codec import decode
from node import block_serve, state_wire
from node.channels import CH_STATE_REQUEST, CH_SYNC_REQUEST
from node.sync import MAX_BLOCKS_PER_RESPONSE, block_question
from node.sync_busy import BUSY_READ_BIT


@pytest.mark.parametrize("mode", ["blocks", "head"])
def test_a_block_flood_question_says_it_reads_busy_answers(mode: str) -> None:
    channel, payload = flood_question(mode, None)
    assert channel == CH_SYNC_REQUEST
    assert block_serve.reads_busy(payload)
    start, count = decode(payload)
    assert payload == block_question(start)  # the node's own question, for its start
    assert count % BUSY_READ_BIT == MAX_BLOCKS_PER_RESPONSE


def test_the_blocks_mode_asks_from_block_1_and_the_head_mode_past_any_head() -> None:
    assert decode(flood_question("blocks", None)[1])[0] == 1
    assert decode(flood_question("head", None)[1])[0] >= 2**62


@pytest.mark.parametrize("marking", [False, True])
@pytest.mark.parametrize("offered", [None, 7])
def test_a_state_flood_question_is_marked_as_a_joiner_marks_its_own(
        monkeypatch: pytest.MonkeyPatch, marking: bool, offered: int | None) -> None:
    monkeypatch.setattr(state_wire, "MARK_STATE_QUESTIONS", marking)
    channel, payload = flood_question("state", offered)
    assert channel == CH_STATE_REQUEST
    assert state_wire.reads_busy(payload) is marking
    read = state_wire.read_question(payload)
    assert read is not None
    question, _marked = read
    if offered is None:
        assert question == [state_wire.ASK_OFFER]
    else:
        assert question[:3] == [state_wire.ASK_VALUES, offered, b""]


def test_every_mode_has_a_question() -> None:
    assert {mode: flood_question(mode, 1)[0] for mode in MODES} == {
        "blocks": CH_SYNC_REQUEST, "head": CH_SYNC_REQUEST, "state": CH_STATE_REQUEST}
