"""The node's side of P2P: who is who, a router from channels to handlers, tx gossip.

P2P names peers by public key; here they become consortium members (or
allowed observers). Transactions are gossiped in batches so a registrar's burst
costs a few frames, not one per transaction; each node checks a transaction's
signature once, when it first admits it. Block-sync and state-sync questions are
answered by node.sync_serving.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import logging
import random
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from ledger.chain import Chain
from ledger.codec import encode
from ledger.errors import BadSignature, MalformedInput
from ledger.genesis import Genesis
from ledger.identity import KeyPair
from ledger.rules import load_member
from ledger.transactions import tx_id_of_encoded
from node.block_serve import reads_busy as blocks_read_busy
from node.block_serve import serve_blocks
from node.channels import (
    CH_STATE_RESPONSE,
    CH_SYNC_RESPONSE,
    CH_TXS,
    GOSSIP_BATCH_BYTES,
    channels_for,
)
from node.config import NodeConfig
from node.fault_log import FaultLog
from node.loop_steps import LOOP_STEP_ITEMS
from node.peer_penalty import (
    GOSSIP_MUTED_S,
    JUNK_PER_WINDOW_MAX,
    JUNK_WINDOW_S,
    GossipPenalties,
    RelayHeights,
    Suspect,
)
from node.public_work import CommittedView, ForgedSubmission
from node.service import NodeCore
from node.state_serve import StateSnapshots
from node.state_wire import reads_busy as state_read_busy
from node.submission_body import ByteStrings
from node.sync_serving import STATE_SERVES_MAX, SYNC_SERVES_MAX, ServedKind, SyncServing
from p2p import Limits, PeerManager
from p2p.connection import shown

log = logging.getLogger("senim.network")

# Gossip leaves at most one frame of single submissions this often: the first after a
# quiet spell leaves at once (a lone transaction's way to the primary took ~0.7 ms
# longer waiting out the timer), the ones admitted within this time of it are gathered.
GOSSIP_FLUSH_S = 0.001
# A call that hands this many transactions at once (a submission of many) is a batch
# already: it leaves now. The GOSSIP_FLUSH_S wait only gathers single submissions into
# one frame, and cost a batch of 50 a median 1.8 ms on its way to the primary (with 4
# validators at 50 transactions every 100 ms: BENCHMARKS.md, session 26).
GOSSIP_AT_ONCE_TXS = 16
# A gossip frame's ids looked up together (NodeCore.unknown, one lock for all) from this
# many on: 0.85 against 1.07 us an item at 256 (measured), where a frame of one paid
# 0.6 us more (building the lists) than looking it up alone.
FILTER_BATCH_MIN = 8

Handler = Callable[[bytes, bytes], Awaitable[None]]


class Network:
    """PeerManager plus member names, a channel router and the tx gossip batcher."""

    def __init__(self, config: NodeConfig, genesis: Genesis, keys: KeyPair,
                 validator_count: int | None = None) -> None:
        """`validator_count`: the largest validator set to size consensus frames for
        (a NewView carries one block per validator); the genesis set's by default."""
        self.genesis = genesis
        self.names = {m.public_key: m.name for m in genesis.members}
        self.validator_keys = frozenset(m.public_key for m in genesis.validators)
        allowed = {m.public_key for m in genesis.members} | set(config.observers)
        allowed.discard(keys.public_key)
        self._handlers: dict[int, Handler] = {}
        channels = channels_for(validator_count or len(genesis.validators))
        self.peers = PeerManager(
            keys.seed, genesis.network_id,
            listen=(config.p2p.host, config.p2p.port),
            dial=[(a.host, a.port) for a in config.peers],
            allowed=allowed, channels=channels, on_message=self._route,
            rng=random.Random(), describe=self.describe_key, refusal_hint=self.refusal_hint,
            limits=Limits(max_frame_bytes=max(c.max_message_bytes for c in channels) + 1024))
        self._outgoing: list[bytes] = []
        self._outgoing_bytes = 0
        # The timer for the frame due GOSSIP_FLUSH_S after the last; a frame that leaves
        # sooner (a batch) cancels it, else it would send the next single one early and
        # stay beside the next timer, one more for every such batch.
        self._flush_timer: asyncio.TimerHandle | None = None
        self._flushed_at = float("-inf")  # the event loop's time of the last gossip frame
        # Sync questions answered (node.sync_serving): sent through `self.peers` as it is
        # when sending, which tests replace
        self.sync_serving = SyncServing(lambda key, channel, payload: self.peers.send(
            key, channel, payload), self.name_of, self._is_validator)
        self._peer_fault = FaultLog(log, self.name_of)
        self.gossip_penalties = GossipPenalties()

    def _is_validator(self, key: bytes) -> bool:
        return key in self.validator_keys

    def route(self, channel: int, handler: Handler) -> None:
        self._handlers[channel] = handler

    async def start(self) -> None:
        await self.peers.start()

    async def close(self) -> None:
        await self.peers.close()

    def name_of(self, key: bytes) -> str:
        return self.names.get(key, "observer " + key.hex()[:12])

    def describe_key(self, key: bytes) -> str:
        """A peer key as p2p's log lines give it: a member's name with the key's start
        (an operator matches either), else the key alone (not every key is allowed)."""
        name = self.names.get(key)
        return key.hex()[:16] if name is None else f"{name} ({key.hex()[:8]})"

    def refusal_hint(self) -> str:
        """What p2p's line refusing a key adds when no validator this node's chain names is
        connected. Its chain may then be behind theirs, and the keys they rotated to since
        its last block (every key, on a new node that knows only the genesis ones) unknown
        to it: refused, they cannot hand it the blocks that would make them known. Those
        keys are members' keys, so listing them as observers lets in no stranger."""
        others = self.validator_keys - {self.peers.public_key}
        if not others or others & self.peers.connected():
            return ""
        return ("; no validator this node's chain names is connected: if the consortium's "
                "validators rotated their keys since this node's last block (a new node "
                "knows only the genesis keys), list their current keys (senim members on an "
                "up-to-date member's node shows them) under [p2p] observers in this node's "
                "config and restart it, until it has caught up")

    async def _route(self, peer_key: bytes, channel: int, payload: bytes) -> None:
        handler = self._handlers.get(channel)
        if handler is None:
            log.debug("no handler for channel %d from %s", channel, self.name_of(peer_key))
            return
        await handler(peer_key, payload)

    # ---- block sync and state sync, serving side --------------------------------------
    def serve_sync_from(self, chain: Chain) -> Handler:
        """Answer block-sync questions from `chain`, off the loop (node.sync_serving)."""
        return self.sync_serving.handler(ServedKind(
            "blocks", CH_SYNC_RESPONSE, SYNC_SERVES_MAX, functools.partial(serve_blocks, chain),
            blocks_read_busy, "malformed sync request from %s"))

    def serve_state_from(self, snapshots: StateSnapshots) -> Handler:
        """Answer joining nodes' state-sync questions from held snapshots, off the loop."""
        return self.sync_serving.handler(ServedKind(
            "state", CH_STATE_RESPONSE, STATE_SERVES_MAX, snapshots.answer, state_read_busy,
            "malformed state-sync question from %s"))

    # ---- transaction gossip ------------------------------------------------------------
    def gossip_transactions(self, items: list[bytes]) -> None:
        """Queue freshly admitted transactions for the validators, flushed in batches:
        at once when `items` are many (GOSSIP_AT_ONCE_TXS) or the last frame left at
        least GOSSIP_FLUSH_S ago, else GOSSIP_FLUSH_S after it."""
        for data in items:
            self._outgoing.append(data)
            self._outgoing_bytes += len(data)
            if self._outgoing_bytes >= GOSSIP_BATCH_BYTES:
                self._flush()
        if len(items) >= GOSSIP_AT_ONCE_TXS:
            self._flush()
        if self._outgoing and self._flush_timer is None:
            loop = asyncio.get_running_loop()
            due = self._flushed_at + GOSSIP_FLUSH_S
            if loop.time() >= due:
                self._flush()
            else:
                self._flush_timer = loop.call_at(due, self._flush)

    def _flush(self) -> None:
        if self._flush_timer is not None:
            self._flush_timer.cancel()  # harmless when it is the timer running this
            self._flush_timer = None
        if not self._outgoing:
            return
        self._flushed_at = asyncio.get_running_loop().time()
        payload = encode(self._outgoing)
        self._outgoing, self._outgoing_bytes = [], 0
        for key in self.peers.connected():
            if key in self.validator_keys and not self.peers.send(key, CH_TXS, payload):
                log.warning("transaction gossip to %s dropped: its queue is full",
                            self.name_of(key))

    def receive_gossip_into(self, core: NodeCore, heights: RelayHeights | None = None
                            ) -> Handler:
        """`heights`: what block sync learns of peers' heights (None, in tests of other
        things: every relay is taken to be no further than this node).

        A node relays only what it admitted, signatures checked, but against the keys
        its own state holds. A bad signature here is junk only when that relay would have
        found it bad too: no relay behind this node could have (the sender never rotated,
        or none of its earlier keys a relay behind could hold signed it, node.earlier_keys)
        and this node is not behind the relay (else it may hold the sender's next
        rotation, not yet here). Being behind is not always known here, so each is a
        suspicion first, judged again FORGED_SETTLE_S later, once this node holds the
        height the relay showed after relaying it (`_settle_suspicions`; why a relay
        cannot put its penalty off by lying about its height: node.peer_penalty)."""
        def suspect(peer_key: bytes, suspects: Iterable[Suspect]) -> None:
            if heights is None:
                self.gossip_penalties.suspect(peer_key, suspects)
            elif self.gossip_penalties.suspect(peer_key, suspects, heights.questions()):
                heights.ask(peer_key)  # its answer is in when the suspicion is due

        async def receive(peer_key: bytes, payload: bytes) -> None:
            self._settle_suspicions(core, heights)
            if self.gossip_penalties.muted(peer_key):
                return
            fresh: list[bytes] = []
            ids: list[bytes | None] = []
            try:  # on the event loop: nothing built but the items, a step at a time
                frame = ByteStrings(payload)
                while not frame.done:
                    part = frame.take(LOOP_STEP_ITEMS)  # ids hashed once: decoding takes them
                    if len(part) < FILTER_BATCH_MIN:
                        for data in part:
                            tx_id = tx_id_of_encoded(data)
                            if not core.knows_id(tx_id):
                                fresh.append(data)
                                ids.append(tx_id)
                    else:
                        part_ids = list(map(tx_id_of_encoded, part))
                        keep = core.unknown(part_ids)
                        fresh += itertools.compress(part, keep)
                        ids += itertools.compress(part_ids, keep)
                    if not frame.done:
                        await asyncio.sleep(0)  # the loop is free between steps
            except MalformedInput as exc:  # nothing admitted: the frame is refused whole
                self._peer_fault(peer_key, "malformed transaction gossip from %s: %s", exc)
                self._junk(peer_key, 1)
                return
            if not fresh:
                return
            try:
                results = await core.submit(fresh, gossip=False, ids=ids)
            except ForgedSubmission as exc:
                self._peer_fault(peer_key, "transaction gossip from %s refused: %s",
                                 exc.message)
                suspect(peer_key, exc.suspects)
                return
            malformed = 0
            forged: list[Suspect] = []
            unrecognised: str | None = None
            relay = peer_key not in self.validator_keys
            admitted: list[bytes] = []
            for start in range(0, len(results), LOOP_STEP_ITEMS):
                if start:
                    await asyncio.sleep(0)  # the loop is free between steps
                step = results[start:start + LOOP_STEP_ITEMS]
                for _, refusal in step:
                    if refusal is None:
                        continue
                    if refusal.code == "malformed":
                        malformed += 1
                    elif refusal.code == "unrecognised" and unrecognised is None:
                        unrecognised = refusal.message
                    elif isinstance(refusal, BadSignature) and refusal.bad_for_nodes_behind:
                        forged.append((refusal.sender, refusal.key))
                if relay:  # an observer's submissions reach us first: to the validators
                    admitted += [data for data, (_, refusal) in
                                 zip(fresh[start:start + LOOP_STEP_ITEMS], step, strict=True)
                                 if refusal is None]
            if malformed:  # neither call does anything with none (a frame's usual case)
                self._junk(peer_key, malformed)
            if forged:
                suspect(peer_key, forged)
            if unrecognised is not None:
                # What a later release defines: a rolling upgrade's newer peers send it,
                # so it is no junk. Dropped at a malformed one's cost (a bounded decode,
                # no state read or signature check); said once a while per peer.
                self._peer_fault(peer_key, "transactions from %s that this release cannot "
                                 "judge (a later release's?) dropped: %s", unrecognised)
            if admitted:
                self.gossip_transactions(admitted)
        return receive

    def _settle_suspicions(self, core: NodeCore, heights: RelayHeights | None) -> None:
        """Count as junk the forged signatures suspected FORGED_SETTLE_S ago whose senders
        still hold the key they were found bad under, once this node holds the height
        their relay showed in an answer to a question asked after them (until then they
        wait, and the relay is asked again). Whether others said this node is behind
        (`BlockSync.behind`) does not matter: only the relay's own height does, and an
        uncertified claim of a height, any peer's, would else put off every penalty."""
        overflow = self.gossip_penalties.take_overflow()
        due = self.gossip_penalties.due_suspicions()
        if not due and not overflow:
            return
        with CommittedView(core.chain) as view:
            for peer_key, counts in overflow.items():  # past the bounds: judged now
                self._junk(peer_key, _still_forged(view, counts))
            for peer_key, (questions, suspects) in due.items():
                if heights is not None and not _not_ahead(heights.shown(peer_key), questions,
                                                          view.height):
                    self.gossip_penalties.wait_again(peer_key, (questions, suspects))
                    heights.ask(peer_key)
                    continue
                self._junk(peer_key, _still_forged(view, suspects))

    def _junk(self, peer_key: bytes, items: int) -> None:
        dropped = self.gossip_penalties.junk(peer_key, items)
        if dropped is not None:  # at most one line per peer per GOSSIP_MUTED_S
            log.warning("dropping transaction gossip from %s for %.0f s: %d or more malformed "
                        "frames or transactions, or forged signatures, within %.0f s%s",
                        self.name_of(peer_key), GOSSIP_MUTED_S, JUNK_PER_WINDOW_MAX, JUNK_WINDOW_S,
                        f" ({dropped} frames dropped the last time)" if dropped else "")

    # ---- status ------------------------------------------------------------------------
    def status(self) -> list[dict[str, Any]]:
        now = time.time()
        rows = []
        for peer in self.peers.status():
            key = peer.public_key
            rows.append({
                "member": self.name_of(key) if key else "(handshake in progress)",
                "public_key": key.hex() if key else None,
                "address": shown(peer.address),
                "direction": str(peer.direction), "authenticated": peer.authenticated,
                "validator": key in self.validator_keys if key else False,
                "connected_s": round(now - peer.connected_since, 1),
                "frames_in": peer.frames_in, "frames_out": peer.frames_out,
                "dropped": peer.dropped,
                "inbound_dropped": dict(peer.inbound_dropped),
            })
        return rows


def _still_forged(view: CommittedView, suspects: dict[Suspect, int]) -> int:
    """The forged signatures whose senders here still hold the key they were bad under."""
    return sum(count for (sender, key), count in suspects.items()
               if (member := load_member(view.state, sender)) is not None
               and member.public_key == key)


def _not_ahead(shown: tuple[int, int] | None, questions: int, height: int) -> bool:
    """Whether a relay's answer to a question asked after its suspicions (more than
    `questions` had been asked) showed a height this node's `height` reaches."""
    return shown is not None and shown[0] > questions and shown[1] <= height
