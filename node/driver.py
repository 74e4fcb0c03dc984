"""Drives the PBFT replica: one task owns it and performs its actions in order.

The ordering contract (consensus/__init__.py): a `Persist` is durable before
any later action of the same step is performed; `CommitBlock` writes block,
certificate and state in one batch. Proposals and executions run in the
ledger worker thread; their answers are fed back before any new input.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from typing import Any

from consensus import (
    Action,
    BlockExecuted,
    BlockProposed,
    BlockSynced,
    Broadcast,
    CommitBlock,
    CommitCertificate,
    Digest,
    Event,
    ExecuteBlock,
    Height,
    MessageReceived,
    Persist,
    ProposeBlock,
    Rejected,
    Replica,
    ReplicaConfig,
    ReportEvidence,
    RequestSync,
    Send,
    Tick,
    ValidatorId,
    View,
    ViewChanged,
    WorkAvailable,
    encode_certificate,
    primary_for,
)
from ledger.blocks import MAX_BLOCK_BYTES, decode_block
from ledger.chain import Execution
from ledger.codec import encode
from ledger.errors import MalformedInput
from ledger.identity import member_id_of
from node.evidence import record_evidence
from node.network import CH_BLOCK, CH_CONSENSUS, Network
from node.service import NodeCore
from node.sync import BlockSync
from node.validators import ValidatorSet

log = logging.getLogger("senim.consensus")
REPLICA_STATE_KEY = b"meta:replica"
TICK_S = 0.01
MAX_CLOCK_AHEAD_MS = 30_000
# Honest blocks carry their proposer's "now"; a re-proposal after view changes may
# be older. Anything older than this is a primary back-dating (e.g. to issue under
# an accreditation that has since ended).
MAX_CLOCK_BEHIND_MS = 5 * 60_000
NETWORK_EVENTS_MAX = 20_000


class ConsensusDriver:
    def __init__(self, core: NodeCore, network: Network, sync: BlockSync,
                 validators: ValidatorSet, view_timeout_ms: int, max_block_txs: int) -> None:
        self.core = core
        self.network = network
        self.sync = sync
        self.validators = validators
        self.max_block_txs = max_block_txs
        self.me = ValidatorId(core.keys.member_id)
        self.key_of = {vid: validators.public_keys[vid] for vid in validators.ids}
        chain = core.chain
        last_cert = None
        if chain.height > 0:
            last_cert = validators.certificate_for(chain.get_certificate(chain.height) or b"",
                                                   chain.height, chain.head_hash)
        base_ticks = max(1, view_timeout_ms // int(TICK_S * 1000))
        config = ReplicaConfig(validators.chain_id, validators.ids, self.me,
                               base_timeout_ticks=base_ticks, max_timeout_ticks=base_ticks * 32,
                               max_block_bytes=MAX_BLOCK_BYTES)
        self.replica = Replica(config, core.keys.sign_raw, validators.verify, chain.height,
                               core.chain.kv.get(REPLICA_STATE_KEY), last_cert)
        # Unbounded, but network input is capped by hand below, so that local events
        # (ticks, synced blocks, new work) are never the ones dropped.
        self.events: asyncio.Queue[Event] = asyncio.Queue()
        self._internal: collections.deque[Event] = collections.deque()
        self._executions: dict[bytes, Execution] = {}
        self._tick_pending = False
        self.dropped_messages = 0
        network.handlers[CH_CONSENSUS] = self._on_message
        core.on_work = self._on_work
        sync.on_applied = self._on_synced

    # ---- inputs ------------------------------------------------------------------------
    def _offer(self, event: Event) -> None:
        self.events.put_nowait(event)

    async def _on_message(self, peer_key: bytes, payload: bytes) -> None:
        if peer_key not in self.network.validator_keys:
            return  # only validators take part; others cannot fill our queue
        if self.events.qsize() >= NETWORK_EVENTS_MAX:
            self.dropped_messages += 1  # the protocol copes with loss
            return
        self._offer(MessageReceived(ValidatorId(member_id_of(peer_key)), payload))

    def _on_work(self) -> None:
        self._offer(WorkAvailable())

    def _on_synced(self, height: int, digest: bytes, cert: CommitCertificate) -> None:
        self._offer(BlockSynced(Height(height), Digest(digest), cert))
        if len(self.core.mempool):
            self._offer(WorkAvailable())

    async def _ticker(self) -> None:
        while True:
            await asyncio.sleep(TICK_S)
            if not self._tick_pending:  # ticks never pile up behind a long execution
                self._tick_pending = True
                self._offer(Tick())

    # ---- the loop ----------------------------------------------------------------------
    async def run(self) -> None:
        ticker = asyncio.create_task(self._ticker())
        if len(self.core.mempool):
            self._offer(WorkAvailable())
        try:
            while True:
                event = self._internal.popleft() if self._internal else await self.events.get()
                if isinstance(event, Tick):
                    self._tick_pending = False
                for action in self.replica.step(event):
                    await self._perform(action)
                self.core.metrics.view.set(self.replica.view)
        finally:
            ticker.cancel()

    async def _perform(self, action: Action) -> None:
        if log.isEnabledFor(logging.DEBUG):
            log.debug("action %s h=%s", type(action).__name__, getattr(action, "height", ""))
        if isinstance(action, Persist):
            await self.core.in_worker(self.core.chain.kv.write,
                                      {REPLICA_STATE_KEY: action.data}, True)
        elif isinstance(action, Broadcast):
            for vid, key in self.key_of.items():
                if vid != self.me:
                    self.network.peers.send(key, CH_CONSENSUS, action.data)
        elif isinstance(action, Send):
            target = self.key_of.get(action.to)
            if target is not None:
                self.network.peers.send(target, CH_CONSENSUS, action.data)
        elif isinstance(action, ProposeBlock):
            await self._propose(action.height, action.view)
        elif isinstance(action, ExecuteBlock):
            await self._execute(action)
        elif isinstance(action, CommitBlock):
            await self._commit(action)
        elif isinstance(action, RequestSync):
            self.sync.request(action.target_height, self.key_of.get(action.from_validator))
        elif isinstance(action, ReportEvidence):
            self._record_evidence(action)
        elif isinstance(action, Rejected):
            log.debug("dropped consensus input from %s: %s",
                      action.peer.hex()[:12] if action.peer else "?", action.reason)
        elif isinstance(action, ViewChanged):
            log.info("view %d: primary is %s", action.view, self._primary_name())

    # ---- actions -----------------------------------------------------------------------
    async def _propose(self, height: Height, view: View) -> None:
        core = self.core
        if height != core.chain.height + 1:
            return  # stale request: we moved on
        txs = core.mempool.take(self.max_block_txs, MAX_BLOCK_BYTES - 64 * 1024)
        execution = await core.in_worker(
            core.chain.build, txs, self.me, view, int(time.time() * 1000),
            frozenset(tx.tx_id for tx in txs))
        if execution.header.height != height:
            return  # block sync moved the head while we built: this proposal is stale
        for tx, reason in execution.rejected:
            core.remember_rejected(tx, reason)
        core.mempool.remove([tx.tx_id for tx, _ in execution.rejected])
        block = execution.block
        self._executions[block.block_hash] = execution
        self._internal.append(BlockProposed(height, view, Digest(block.block_hash),
                                            block.encode()))

    async def _execute(self, action: ExecuteBlock) -> None:
        valid = False
        try:
            block = decode_block(action.block)
            header = block.header
            expected_proposer = primary_for(View(header.view), action.height,
                                            self.validators.ids)
            if block.block_hash != action.digest or header.height != action.height:
                raise MalformedInput("block does not hash to the proposed digest")
            if header.view > action.view or bytes(header.proposer) != expected_proposer:
                raise MalformedInput("block was not made by the primary of its view")
            now_ms = time.time() * 1000
            if header.time_ms > now_ms + MAX_CLOCK_AHEAD_MS:
                raise MalformedInput("block time is too far in the future")
            if header.time_ms < now_ms - MAX_CLOCK_BEHIND_MS:
                raise MalformedInput("block time is too far in the past")
            verified = self.core.mempool.already_verified(block.transactions)
            execution = await self.core.in_worker(self.core.chain.validate, block, verified)
            self._executions[block.block_hash] = execution
            valid = True
        except MalformedInput as exc:
            if action.height <= self.core.chain.height:
                # Block sync committed this height while we executed the proposal: it is
                # not invalid, only moot, and BlockSynced moves the replica on. Reporting
                # it invalid would start a view change nobody else joins.
                log.info("proposal for height %d view %d overtaken by block sync",
                         action.height, action.view)
                return
            log.warning("refusing proposal for height %d view %d: %s", action.height,
                        action.view, exc)
        self._internal.append(BlockExecuted(action.height, action.view, action.digest, valid))

    async def _commit(self, action: CommitBlock) -> None:
        core = self.core
        if action.height <= core.chain.height:
            return
        started = time.monotonic()
        execution = self._executions.get(action.digest)
        if execution is None or execution.header.previous_hash != core.chain.head_hash:
            try:
                block = decode_block(action.block)
                execution = await core.in_worker(
                    core.chain.validate, block, core.mempool.already_verified(block.transactions))
            except MalformedInput as exc:
                if action.height > core.chain.height:
                    # A quorum certified a block we cannot execute: never crash the node
                    # over it; block sync will fetch a certified copy that we can.
                    log.error("certified block %d does not execute here: %s", action.height, exc)
                    self.sync.request(action.height)
                return
        certificate = encode_certificate(action.certificate)
        committed = await core.in_worker(core.chain.commit, execution, certificate)
        self._executions.clear()
        if not committed:
            return  # block sync got there first
        core.after_commit(execution, started)
        core.drop_expired()
        self._announce(action.block, certificate)
        if len(core.mempool):
            self._internal.append(WorkAvailable())

    def _announce(self, block: bytes, certificate: bytes) -> None:
        """Push the committed block to followers, so they need not poll."""
        payload = encode([block, certificate])
        for key in self.network.peers.connected():
            if key not in self.network.validator_keys:
                self.network.peers.send(key, CH_BLOCK, payload)

    def _record_evidence(self, action: ReportEvidence) -> None:
        log.warning("EVIDENCE of %s by validator %s", action.kind, action.validator.hex())
        record_evidence(self.core.chain.kv, action.kind, action.validator, action.first,
                        action.second)

    # ---- status ------------------------------------------------------------------------
    def _primary_name(self) -> str:
        member = self.core.genesis.member_by_id(self.replica.primary)
        return member.name if member else self.replica.primary.hex()

    def status(self) -> dict[str, Any]:
        n = len(self.validators.ids)
        return {"mode": "pbft", "validators": n, "max_faulty": (n - 1) // 3,
                "view": self.replica.view, "primary": self._primary_name(),
                "phase": self.replica.phase.value, "height": self.core.chain.height,
                "behind": self.sync.behind}
