"""The node's engine: consensus, block sync and the one commit path, without IO.

Every input is a method call — a tick, a consensus frame, a sync answer, an
announced block, new work — and runs to completion before the next, on one
thread. The engine owns the replica (on a validator), the sync state and the
chain; what it says to the world goes through `Outbox`. The daemon runs it on
its own thread (`node.engine_thread`); the simulator in tests/sim calls it
directly over an in-memory store with a simulated clock and network.

Committing: consensus (`CommitBlock`) and sync (a certified block fetched or
announced) both end in `_commit_run`, the only code that writes blocks: one block
at a time, or a sync answer's blocks in runs of one batch (`ledger.chain_run.ChainRun`).

Persistence, per the contract in consensus/__init__.py: the replica's safety
state is written at most once per replica step, before any frame of that step
leaves (the outbox only queues frames; nothing is sent before the write), and
when the step commits a block it goes into that block's atomic batch.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Collection, Mapping

from consensus import (
    Action,
    BlockExecuted,
    BlockProposed,
    Broadcast,
    CommitBlock,
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
    ValidatorsKnown,
    View,
    ViewChanged,
    WorkAvailable,
    encode_certificate,
    primary_for,
)
from consensus.errors import CorruptSafetyState
from ledger.bft_time import REFRESH_AFTER_MS
from ledger.blocks import MAX_BLOCK_BYTES, Block, decode_block
from ledger.chain import Chain, ProposalRules
from ledger.chain_run import Execution
from ledger.codec import encode
from ledger.errors import MalformedInput
from ledger.identity import KeyPair, MemberId, member_id_of
from ledger.transactions import Transaction
from node.channels import CH_BLOCK, CH_CONSENSUS
from node.clock_skew import ClockSkew
from node.engine_forwarding import ForwardsStalledWork
from node.engine_pending import SettlesPendingWork
from node.engine_quiet import TICK_MS, SkipsQuietTicks
from node.engine_sets import FollowsValidatorSets
from node.engine_signed import REPLICA_STATE_KEY, KeepsSigningMark
from node.engine_status import EngineStatus
from node.engine_sync import AppliesSyncedBlocks, PreparedAnswer
from node.engine_types import CommitReport, EngineConfig, Outbox, Role
from node.evidence import record_evidence
from node.fault_log import FaultLog
from node.mempool import Mempool
from node.own_votes import OwnVotes
from node.signature_checks import transactions_checked_ahead
from node.signature_workers import CheckSignatures, check_in_turn
from node.signed_mark import SignedMark
from node.sync import BlockSync
from node.validators import ValidatorSets
from storage.errors import CorruptStateError

log = logging.getLogger("senim.engine")

BLOCK_SPACE_BYTES = MAX_BLOCK_BYTES - 64 * 1024  # room for the header, last commit, framing
EXECUTIONS_KEPT_MAX = 64  # executed proposals awaiting commit (one per view at most)
_DURABLE = Persist | CommitBlock  # actions after which the step's state is on disk
_SENT = Broadcast | Send  # actions whose frames leave only once that state is durable

class Engine(EngineStatus, FollowsValidatorSets, AppliesSyncedBlocks, ForwardsStalledWork,
             SettlesPendingWork, SkipsQuietTicks, KeepsSigningMark):
    def __init__(self, keys: KeyPair, chain: Chain, mempool: Mempool,
                 validator_sets: ValidatorSets, config: EngineConfig,
                 clock_ms: Callable[[], int], outbox: Outbox,
                 names: Mapping[bytes, str] | None = None,
                 check_signatures: CheckSignatures = check_in_turn,
                 signed_mark: SignedMark | None = None) -> None:
        self.keys = keys
        self.chain = chain
        self.signed_mark = signed_mark
        self.mempool = mempool
        self.validator_sets = validator_sets
        self.config = config
        self._clock_ms = clock_ms
        self.outbox = outbox
        self._names = dict(names or {})
        self._peer_fault = FaultLog(log, self.name_of)
        self.check_signatures = check_signatures  # sync answers' (in parts), proposals'
        # Wired by the daemon (node/evidence_submit.py): evidence recorded for the first
        # time here goes on chain. Called on the engine thread, so it must only hand over.
        self.on_new_evidence: Callable[[ReportEvidence], None] | None = None
        # Wired by the daemon (node.engine_thread.EngineThread.waiting_answer): the first
        # block-sync answer waiting in the engine's inbox, whose signatures the workers
        # may check before its turn (node.engine_sync).
        self.next_sync_answer: Callable[[], tuple[bytes, bytes] | None] = lambda: None
        self._prepared: PreparedAnswer | None = None
        # Consensus knows a validator by its key (a rotated member validates under its
        # new key's id, as the validator-set record names it), not by its member id.
        self.me = ValidatorId(member_id_of(keys.public_key))
        self.own_votes = OwnVotes(self.me, chain.height)
        self.clock_skew = ClockSkew()
        self._follow_sets()
        self.role = Role.VALIDATOR if self.me in self.validators.public_keys else Role.FOLLOWER
        self._executions: dict[bytes, Execution] = {}
        self._connected: list[bytes] = []  # validators first, for sync to ask
        self._connected_given: Collection[bytes] = ()
        poll = (config.validator_poll_ms if self.role is Role.VALIDATOR
                else config.follower_poll_ms)
        self.sync = BlockSync(poll)
        self.replica = (self._make_replica()
                        if self.role is Role.VALIDATOR and not self._holding_back() else None)

    def _follow_role(self) -> None:
        """After a set change: a removed validator follows, an added one starts validating
        (and one that last signed at a height its chain has not reached, once it has)."""
        validating = self.me in self.validators.public_keys
        if not validating and self.replica is None and self.role is Role.VALIDATOR:
            self._held_at = None  # removed from the set while it waited to sign again
        elif validating == (self.replica is not None):
            return
        if validating and self._holding_back():
            return
        if (Role.VALIDATOR if validating else Role.FOLLOWER) is not self.role:
            log.warning("validator set of height %d: this node is now a %s",
                        self.chain.height + 1, "validator" if validating else "follower")
        self._executions.clear()
        self.role = Role.VALIDATOR if validating else Role.FOLLOWER
        self.replica = self._make_replica() if validating else None
        if self.replica is not None:
            self._run(*self._validators_known())
            self.work_available()

    def _make_replica(self) -> Replica:
        chain = self.chain
        last_cert = None
        if chain.height > 0:
            last_cert = self.validator_sets.certificate_for(
                chain.get_certificate(chain.height) or b"", chain.height, chain.head_hash)
        base_ticks = max(1, self.config.view_timeout_ms // TICK_MS)
        config = ReplicaConfig(self.validators.chain_id, self.validators.ids, self.me,
                               base_timeout_ticks=base_ticks, max_timeout_ticks=base_ticks * 32,
                               max_block_bytes=MAX_BLOCK_BYTES)
        try:
            replica = Replica(config, self._sign, self._verify, chain.height,
                              self._persisted_state(), last_cert, clock_ms=self._clock_ms)
        except CorruptSafetyState as exc:  # a disk's damage: one line, exit 3, as any other
            raise CorruptStateError(f"the replica's safety state is damaged: {exc}") from exc
        replica.step(ValidatorsKnown(Height(chain.height + 2), self.next_validators.ids))
        return replica

    # ---- inputs ------------------------------------------------------------------------
    def tick(self, connected: Collection[bytes], ticks: int = 1) -> None:
        """About every TICK_MS, or `ticks` of them at once after a quiet wait
        (`node.engine_quiet`). `connected`: the authenticated peers' public keys."""
        if connected != self._connected_given:
            self._connected_given = connected
            self._connected = sorted(connected,
                                     key=lambda k: (k not in self._validator_keys, k))
        if self.replica is not None:
            for _ in range(ticks):
                self._run(Tick())
            self._forward_stalled_work()
        self._pump_sync()

    def work_available(self) -> None:
        if self.replica is not None and len(self.mempool):
            self._run(WorkAvailable())

    def consensus_frame(self, peer_key: bytes, payload: bytes) -> None:
        sender = self._validator_keys.get(peer_key)
        if self.replica is None or sender is None:
            return  # only validators take part in consensus
        self.clock_skew.heard(sender, payload, self.chain.height + 1, self._clock_ms())
        self._run(MessageReceived(sender, payload))
        self._pump_sync()

    # ---- consensus ---------------------------------------------------------------------
    def _run(self, *first: Event) -> None:
        """Step the replica with `first` and with every answer it leads to."""
        assert self.replica is not None
        events: deque[Event] = deque(first)
        while events:
            actions = self.replica.step(events.popleft())
            self._perform(actions, events)
        self._follow_role()

    def _perform(self, actions: list[Action], events: deque[Event]) -> None:
        # One look through the step's actions before any is done: the last safety state,
        # the first commit, and whether anything is sent. (A loop, not three generator
        # scans: this runs for every input a validator takes.)
        persist: bytes | None = None
        commit: CommitBlock | None = None
        sends = False
        for action in actions:
            if isinstance(action, Persist):
                persist = action.data
            elif isinstance(action, CommitBlock):
                if commit is None:
                    commit = action
            elif isinstance(action, _SENT):
                sends = True
        durable = False
        for action in actions:
            if isinstance(action, _DURABLE):
                if not durable:  # everything durable at the first of them, in one write
                    durable = True
                    if commit is not None:
                        self._commit_decided(commit, persist, events, sync=sends)
                    elif persist is not None:
                        self.chain.kv.write({REPLICA_STATE_KEY: persist}, sync=True)
                    self._save_mark(persist)  # before anything it signed leaves
            elif isinstance(action, Broadcast):
                self.own_votes.sent(action.data)
                for key in self._validator_keys:
                    if key != self.keys.public_key:
                        self.outbox.send(key, CH_CONSENSUS, action.data)
            elif isinstance(action, Send):
                target = self.validators.public_keys.get(action.to)
                if target is not None:
                    self.outbox.send(target, CH_CONSENSUS, action.data)
            elif isinstance(action, ProposeBlock):
                self._propose(action, events)
            elif isinstance(action, ExecuteBlock):
                self._execute(action, events)
            elif isinstance(action, RequestSync):
                self.sync.want(action.target_height,
                               self.validators.public_keys.get(action.from_validator))
            elif isinstance(action, ReportEvidence):
                new = record_evidence(self.chain.kv, action.kind, action.validator,
                                      action.first, action.second)
                if new:  # a line a record: resent conflicting votes were 70 lines a second
                    log.warning("EVIDENCE of %s by validator %s", action.kind,
                                self.name_of_member(action.validator))
                if new and self.on_new_evidence is not None:
                    self.on_new_evidence(action)  # hands it on; never blocks this thread
            elif isinstance(action, Rejected):
                log.debug("dropped consensus input from %s: %s",
                          action.peer.hex()[:12] if action.peer else "?", action.reason)
            elif isinstance(action, ViewChanged):
                log.info("view %d: primary is %s", action.view, self.primary_name())

    def _propose(self, action: ProposeBlock, events: deque[Event]) -> None:
        if action.height != self.chain.height + 1:
            return  # stale request: the head moved on
        try:  # block time is BFT time: what the head's certificate gives, not our clock
            last_commit, time_ms = self.chain.next_block_basis(self._commit_times)
        except MalformedInput as exc:
            log.error("cannot propose block %d: %s", action.height, exc)
            return
        txs: list[Transaction] = []
        if self._clock_ms() - time_ms <= REFRESH_AFTER_MS:  # else an empty block refreshes it
            txs = self.mempool.take(self.config.max_block_txs, BLOCK_SPACE_BYTES)
        # Every pending transaction had its signature checked at admission.
        execution = self.chain.build(txs, MemberId(self.me), action.view, time_ms,
                                     frozenset(tx.tx_id for tx in txs), last_commit)
        if execution.rejected:
            self.mempool.remove([tx.tx_id for tx, _ in execution.rejected])
            self.outbox.refused(execution.rejected)
        block = execution.block
        self._keep_execution(block.block_hash, execution)
        events.append(BlockProposed(action.height, action.view, Digest(block.block_hash),
                                    block.encode()))

    def _execute(self, action: ExecuteBlock, events: deque[Event]) -> None:
        self._progress_seen()
        valid = False
        try:
            block = decode_block(action.block, self.mempool.held_encodings)
            if block.block_hash != action.digest or block.header.height != action.height:
                raise MalformedInput("block does not hash to the proposed digest")
            primary = primary_for(View(block.header.view), action.height,
                                  self.validator_sets.at(action.height).ids)
            rules = ProposalRules(MemberId(primary), action.view, self._clock_ms(),
                                  action.forced)
            self.chain.check_extends(block, rules)  # before its signatures are checked
            execution = self.chain.validate(block, self._verified(block), rules,
                                            commit_times=self._commit_times)
            self._keep_execution(block.block_hash, execution)
            valid = True
        except MalformedInput as exc:
            log.warning("refusing proposal for height %d view %d: %s", action.height,
                        action.view, exc)
        events.append(BlockExecuted(action.height, action.view, action.digest, valid))

    def _verified(self, block: Block) -> frozenset[bytes]:
        """Ids of the block's transactions whose signature is known good: checked at
        admission here, or now, in one batch in the signature workers."""
        admitted = self.mempool.already_verified(block.transactions)
        others = [tx for tx in block.transactions if tx.tx_id not in admitted]
        if not others:
            return admitted
        return admitted | transactions_checked_ahead(others, self.chain,
                                                     self.check_signatures)

    def _commit_times(self, certificate: bytes, height: int, block_hash: bytes
                      ) -> tuple[int, ...] | None:
        """A last commit's vote times, checked against the validators (BFT time)."""
        cert = self.validator_sets.certificate_for(certificate, height, block_hash)
        if cert is None:
            return None
        self.own_votes.check(cert)
        return cert.vote_times

    def _keep_execution(self, block_hash: bytes, execution: Execution) -> None:
        if len(self._executions) >= EXECUTIONS_KEPT_MAX:
            self._executions.clear()  # a commit re-executes whatever it cannot find here
        self._executions[block_hash] = execution

    def _commit_decided(self, action: CommitBlock, persist: bytes | None,
                        events: deque[Event], sync: bool) -> None:
        """Consensus decided a block: commit it with the safety state in one batch.

        `sync`: whether consensus's actions of the step hold a `Broadcast` or `Send`,
        which must not leave before the state behind it is on disk. A step without
        (a commit quorum reached on others' votes) leaves its batch in the OS, where a
        killed process does not lose it, and the next synced write, which every vote's
        step makes, flushes it. A power cut before then loses the safety state of a
        height at which the node has sent nothing, and a certified block: fetched again
        from a peer, or, if every validator lost it, committed again after a view
        change, since a quorum synced its prepared certificate, which holds the block,
        before voting to commit it. The block's announcements to followers carry its
        certificate, so they need no sync either."""
        safety: dict[bytes, bytes | None] = ({REPLICA_STATE_KEY: persist} if persist is not None
                                            else {})
        execution = self._executions.get(action.digest)
        if execution is None or execution.header.previous_hash != self.chain.head_hash:
            try:
                block = decode_block(action.block, self.mempool.held_encodings)
                execution = self.chain.validate(block, self._verified(block),
                                                commit_times=self._commit_times)
            except MalformedInput as exc:
                # A quorum certified a block we cannot execute: never crash over it;
                # sync fetches a certified copy that we can.
                log.error("certified block %d does not execute here: %s", action.height, exc)
                if safety:
                    self.chain.kv.write(safety, sync=True)
                self.sync.want(action.height)
                return
        self._commit(execution, encode_certificate(action.certificate), safety, "consensus",
                     sync)
        events.extend(self._validators_known())
        if len(self.mempool):
            events.append(WorkAvailable())

    # ---- the one commit path -----------------------------------------------------------
    def _commit(self, execution: Execution, certificate: bytes,
                also_write: dict[bytes, bytes | None], source: str, sync: bool = True) -> None:
        self._commit_run([(execution, certificate)], also_write, source, sync)

    def _commit_run(self, blocks: list[tuple[Execution, bytes]],
                    also_write: dict[bytes, bytes | None], source: str, sync: bool = True
                    ) -> None:
        """Blocks executed in turn (one, or a sync `ChainRun`) made durable in one batch;
        MalformedInput, nothing written, if the state is not the last header's."""
        self.chain.commit_run(blocks, also_write, sync)
        self._executions.clear()
        self._progress_seen()
        self._follow_sets()
        # Each block is announced before its report: the report hands the frames said so
        # far to the loop, and then its callback may drop peers the block no longer allows
        # (a member's node whose key it rotated away), which are to get that block first
        # (`p2p.peer.Peer.leave`): else they never learn why they were dropped.
        for execution, certificate in blocks[:-1]:
            self.mempool.remove([tx.tx_id for tx in execution.accepted])
            if self.role is Role.VALIDATOR:
                self._announce(execution.block.encode(), certificate)
            self.outbox.committed(CommitReport(execution, [], source))
        execution, certificate = blocks[-1]
        block = execution.block
        if self.role is Role.VALIDATOR:
            self._announce(block.encode(), certificate)
        self.outbox.committed(CommitReport(execution, self._settle_pending(execution), source))

    def _announce(self, block: bytes, certificate: bytes) -> None:
        """Push a committed block to followers, so they need not poll."""
        payload = encode([block, certificate])
        for key in self._connected:
            if key not in self._validator_keys:
                self.outbox.send(key, CH_BLOCK, payload)
