"""The heights `senim governance propose` suggests and refuses, against the real engine.

A lone validator's engine on its thread, its clock moved on past a minute between
transactions (an operator's pause): the first block after the pause is an empty one,
so a proposal for the head + 3 (what the CLI once called the earliest) misses its own
voting window, and the heights of cli/proposal_heights.py are met with a vote sent
after a pause of its own.
"""

from __future__ import annotations

import time

from cli.proposal_heights import ProposalHeights
from ledger.bft_time import REFRESH_AFTER_MS
from ledger.genesis import GenesisMember, current_rules_genesis
from ledger.governance import load_proposal
from ledger.identity import KeyPair
from ledger.payloads import ACTION_RETIRE_MEMBER, MemberAction, ProposePayload, VotePayload
from ledger.transactions import Transaction
from node.service import NodeCore
from storage.kv import MemoryStore
from tests.node.api_server import api_core
from tests.node.conftest import CHAIN_ID, GENESIS_TIME_MS, keys_from, make_tx
from tests.node.engine_node import running_engine

PAUSE_MS = REFRESH_AFTER_MS + 60_000
WAIT_S = 20.0


class _Clock:
    """Wall clock plus the pauses the test pretends to have waited."""

    def __init__(self) -> None:
        self.paused_ms = 0

    def __call__(self) -> int:
        return int(time.time() * 1000) + self.paused_ms


async def _landed(core: NodeCore, tx: Transaction) -> tuple[str, int | None, str | None]:
    [(_, refusal)] = await core.submit([tx.encode()])
    assert refusal is None, refusal
    status = await core.wait_for(tx.tx_id, WAIT_S)
    return status.status, status.height, status.code


async def test_after_a_pause_the_suggested_heights_hold_and_head_plus_3_does_not() -> None:
    ministries = [keys_from(n) for n in ("ministry", "ministry2", "ministry3")]
    universities = [keys_from(f"university{i}") for i in (1, 2)]
    genesis = current_rules_genesis(CHAIN_ID, GENESIS_TIME_MS, (
        GenesisMember("Ministry of Science", "ministry", ministries[0].public_key, True),
        *(GenesisMember(f"Ministry {i}", "ministry", k.public_key, False)
          for i, k in enumerate(ministries[1:])),
        *(GenesisMember(f"University {i}", "university", k.public_key, False)
          for i, k in enumerate(universities))))
    core, clock = api_core(ministries[0], genesis, MemoryStore()), _Clock()

    def retire(who: KeyPair, effective: int, expiry: int) -> Transaction:
        return make_tx(ministries[0], ProposePayload(
            MemberAction(ACTION_RETIRE_MEMBER, who.member_id), effective, expiry))

    async with running_engine(core, clock=clock):
        head = core.chain.height
        clock.paused_ms += PAUSE_MS
        missed = await _landed(core, retire(universities[0], head + 3, head + 1))
        assert missed[0] == "rejected" and missed[2] == "proposal_expiry_passed", missed
        assert core.chain.height == head + 1  # the empty block, and nothing after it

        heights = ProposalHeights(core.chain.height, threshold=2)
        clock.paused_ms += PAUSE_MS
        proposal = retire(universities[1], heights.roomy, heights.roomy - 2)
        assert await _landed(core, proposal) == ("committed", heights.landing, None)
        clock.paused_ms += PAUSE_MS
        voted = await _landed(core, make_tx(ministries[1], VotePayload(proposal.tx_id)))
        assert voted == ("committed", heights.roomy - 2, None)  # the last block it may
        stored = load_proposal(core.chain.state, proposal.tx_id)
        assert stored is not None and stored.approved_height == heights.roomy - 2
