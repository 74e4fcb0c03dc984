"""A listed peer (not a validator) asking for block or state sync as fast as it is answered.

The lab's outsider (`Lab.outsider`, a member whose node never runs) connects to every
validator and keeps QUESTIONS_OPEN questions open at each, sending the next as each
answer arrives, bounded in time and count:
- "blocks": blocks 1-64 again and again (the largest answers an old chain gives);
- "head": what follows the head again and again (the smallest, so the most of them);
- "state": the first state values of the newest snapshot again and again.
Found in session 57: unbounded, each took the honest p50 from 54 ms to 133-232 ms. The
nodes should pace the peer (node.serve_budget) so honest commits go on as before.
Its questions say that it reads busy answers, as a node's own do (`flood_question`; state
questions only once node.state_wire.MARK_STATE_QUESTIONS is set, as a joiner's), so a
node that cannot afford one tells it busy (node.sync_busy) as it would tell a node,
where an unmarked question is left unanswered. Told busy, it asks again once the time
told has passed, as a node does: a question asked sooner is left unanswered
(node.sync_serving), and the flood, which asks only as answers come, would ask that node
nothing more. Alone, with QUESTIONS_OPEN questions open, it is seldom told busy: its debt
stays within what a node waits out (node.serve_budget.WAIT_MAX_S) and it holds one of a
node's readers at a time; its table row counts the busy answers it got.
"""

from __future__ import annotations

import asyncio
import random
import time

from bench.attack.base import Attack, Check
from bench.attack.lab import Lab, PhaseResult
from ledger.codec import decode, encode
from node.channels import (
    CH_STATE_REQUEST,
    CH_STATE_RESPONSE,
    CH_SYNC_REQUEST,
    CH_SYNC_RESPONSE,
    channels_for,
)
from node.files import load_genesis
from node.state_wire import ASK_OFFER, ASK_VALUES, VALUES_PER_QUESTION, marked
from node.sync import block_question
from node.sync_busy import read_busy
from p2p import Limits, PeerManager

MODES = ("blocks", "head", "state")
QUESTIONS_OPEN = 2  # a follower asking ahead keeps two open
MAX_QUESTIONS = 2_000_000
PAST_ANY_HEAD = 2**62  # "head": a start above any chain's height


def flood_question(mode: str, offered: int | None) -> tuple[int, bytes]:
    """The channel and payload of the flood's next question in `mode`, marked as a node
    of this release marks its own (node.sync.block_question, node.state_wire.marked);
    `offered`: the snapshot height the peer offered, None before its offer."""
    if mode == "blocks":
        return CH_SYNC_REQUEST, block_question(1)
    if mode == "head":
        return CH_SYNC_REQUEST, block_question(PAST_ANY_HEAD)
    if offered is None:
        return CH_STATE_REQUEST, encode(marked([ASK_OFFER]))
    return CH_STATE_REQUEST, encode(marked([ASK_VALUES, offered, b"", VALUES_PER_QUESTION]))


class SyncFlood(Attack):
    def __init__(self, short: bool, mode: str) -> None:
        super().__init__(short)
        assert mode in MODES
        self.mode = mode
        self.name = f"sync-flood-{mode}"
        self.answers = 0
        self.busy_answers = 0  # "busy, ask again later" (node.sync_busy), not in `answers`
        self.answer_bytes = 0
        self.seconds = 0.0

    def start(self, lab: Lab, until: float) -> None:
        self.spawn(lambda end: asyncio.run(self._ask(lab, end)), until)

    async def _ask(self, lab: Lab, until: float) -> None:
        genesis = load_genesis(lab.root / "genesis.json")
        targets = lab.validators
        channels = channels_for(len(targets))
        asked = [0]
        snapshot: dict[bytes, int] = {}  # peer -> the snapshot height it offered

        def ask(peer: bytes) -> None:
            if self.running(until) and asked[0] < MAX_QUESTIONS:
                channel, payload = flood_question(self.mode, snapshot.get(peer))
                asked[0] += 1
                if not peers.send(peer, channel, payload):
                    self.count("queue full")

        async def answered(peer: bytes, channel: int, payload: bytes) -> None:
            if channel not in (CH_SYNC_RESPONSE, CH_STATE_RESPONSE):
                return
            wait_ms = read_busy(payload)
            if wait_ms is not None:
                self.busy_answers += 1
                asyncio.get_running_loop().call_later(wait_ms / 1000, ask, peer)
                return
            self.answers += 1
            self.answer_bytes += len(payload)
            if channel == CH_STATE_RESPONSE and peer not in snapshot:
                offer = decode(payload)
                if isinstance(offer, list) and len(offer) > 1 and offer[0] == ASK_OFFER:
                    snapshot[peer] = offer[1]
            ask(peer)

        peers = PeerManager(
            lab.outsider.keys.seed, genesis.network_id, listen=None,
            dial=[("127.0.0.1", v.p2p_port) for v in targets],
            allowed={v.keys.public_key for v in targets}, channels=channels,
            on_message=answered, rng=random.Random(),
            limits=Limits(max_frame_bytes=max(c.max_message_bytes for c in channels) + 1024))
        await peers.start()
        started = time.monotonic()
        started_at: set[bytes] = set()
        try:
            while self.running(until):
                for key in peers.connected():
                    if key not in started_at:
                        started_at.add(key)
                        for _ in range(QUESTIONS_OPEN):
                            ask(key)
                await asyncio.sleep(0.05)
        finally:
            self.seconds = time.monotonic() - started
            await peers.close()

    def checks(self, base: PhaseResult, hit: PhaseResult) -> list[Check]:
        rate = self.answers / self.seconds if self.seconds else 0.0
        mb_s = self.answer_bytes / 1e6 / self.seconds if self.seconds else 0.0
        return [Check(self.name, "answers", "-",
                      f"{self.answers:,} ({rate:,.0f}/s), {self.answer_bytes / 1e6:,.0f} MB "
                      f"({mb_s:,.1f} MB/s), {self.busy_answers:,} busy", "(reported)", True,
                      False)]
