"""The PBFT replica: one object, one entry point, `step(event) -> list[Action]`.

Sections: construction and restore; dispatch; normal-case ordering; view
change; catch-up; small helpers. Pure checks live in `viewchange.py`, the
bounded message log in `log.py`, the persisted state in `safety.py`.
"""

from enum import Enum

from consensus.actions import (
    Action,
    Broadcast,
    CommitBlock,
    ExecuteBlock,
    Persist,
    ProposeBlock,
    Rejected,
    ReportEvidence,
    RequestSync,
    Send,
    ViewChanged,
)
from consensus.certificate import (
    CommitCertificate,
    Signer,
    Verifier,
    make_certificate,
    verify_certificate,
)
from consensus.config import ReplicaConfig
from consensus.errors import CorruptSafetyState, MalformedMessage
from consensus.events import (
    BlockExecuted,
    BlockProposed,
    BlockSynced,
    Event,
    MessageReceived,
    Tick,
    WorkAvailable,
)
from consensus.log import MessageLog, position
from consensus.membership import Membership
from consensus.messages import (
    Commit,
    CommitProof,
    Message,
    NewView,
    Prepare,
    PreparedCertificate,
    PrePrepare,
    SignedMessage,
    ViewChange,
    decode_signed,
    encode_signed,
    message_signing_bytes,
)
from consensus.safety import SafetyState, Vote, decode_safety_state, encode_safety_state
from consensus.throttle import HintLimiter, SyncThrottle
from consensus.types import Height, ValidatorId, View
from consensus.viewchange import check_new_view, check_view_change, highest_prepared

_MAX_BACKOFF_SHIFT = 32


class Phase(Enum):
    IDLE = "idle"  # view active, no proposal accepted yet
    EXECUTING = "executing"  # proposal accepted, the node is executing it
    PREPARING = "preparing"  # proposal valid and voted for; collecting prepares
    COMMITTING = "committing"  # prepared and commit sent; collecting commits
    VIEW_CHANGE = "view-change"  # left the old view; waiting for NewView(view)


class Replica:
    """A PBFT replica. Not thread-safe: one driver task calls `step`."""

    def __init__(
        self,
        config: ReplicaConfig,
        signer: Signer,
        verifier: Verifier,
        committed_height: int,
        persisted: bytes | None,
        last_certificate: CommitCertificate | None = None,
    ) -> None:
        assert committed_height >= 0
        self._config = config
        self._signer = signer
        self._members = Membership(config.chain_id, config.validators, verifier)
        self._id = config.self_id
        self._height = Height(committed_height + 1)
        self._last_certificate = last_certificate
        self._view = View(0)
        self._phase = Phase.IDLE
        self._vote: Vote | None = None
        self._prepared: PreparedCertificate | None = None
        self._log = MessageLog(self._view)
        self._now = 0
        self._deadline: int | None = None
        self._failed_views = 0
        self._work_pending = False
        self._proposal_requested: tuple[Height, View] | None = None
        self._own_view_change: SignedMessage | None = None
        self._installed_new_view: bytes | None = None
        self._hints = HintLimiter(config.base_timeout_ticks)
        self._sync_throttle = SyncThrottle(config.base_timeout_ticks)
        if last_certificate is not None:
            assert last_certificate.height == committed_height
            self._view = last_certificate.view
        if persisted is not None:
            self._restore(decode_safety_state(persisted, config.max_block_bytes))
        self._log.new_round(self._view)

    def _restore(self, state: SafetyState) -> None:
        if state.height > self._height:
            raise CorruptSafetyState(
                f"safety state is for height {state.height} but only "
                f"{self._height - 1} blocks are committed"
            )
        self._view = max(self._view, state.view)
        if state.height == self._height:
            self._vote, self._prepared = state.vote, state.prepared
        carried_over = state.height < self._height and self._last_certificate is not None and (
            self._last_certificate.view >= state.view)
        if not state.view_active and self._view == state.view and not carried_over:
            # The NewView for this view was never installed: stay in the view change and
            # restate it on the first tick (the previous broadcast may have been lost).
            self._phase = Phase.VIEW_CHANGE
            self._failed_views = 1
            self._own_view_change = self._sign(ViewChange(self._view, self._height, self._prepared))
            self._log.add_view_change(self._own_view_change)
            self._deadline = 1

    # -- read-only state -------------------------------------------------------------------

    @property
    def view(self) -> View:
        return self._view

    @property
    def height(self) -> Height:
        """The height being agreed on (last committed + 1)."""
        return self._height

    @property
    def last_committed(self) -> Height:
        return Height(self._height - 1)

    @property
    def primary(self) -> ValidatorId:
        return self._members.primary(self._view, self._height)

    @property
    def phase(self) -> Phase:
        return self._phase

    # -- dispatch --------------------------------------------------------------------------

    def step(self, event: Event) -> list[Action]:
        """Advance the state machine by one event; the driver performs the actions in order."""
        out: list[Action] = []
        match event:
            case Tick():
                self._on_tick(out)
            case MessageReceived():
                self._on_received(event, out)
            case WorkAvailable():
                self._on_work_available(out)
            case BlockProposed():
                self._on_block_proposed(event, out)
            case BlockExecuted():
                self._on_block_executed(event, out)
            case BlockSynced():
                self._on_block_synced(event, out)
        return out

    def _on_received(self, event: MessageReceived, out: list[Action]) -> None:
        try:
            signed = decode_signed(event.data, max_block_bytes=self._config.max_block_bytes)
        except MalformedMessage as exc:
            out.append(Rejected(f"malformed message: {exc}", event.sender_hint))
            return
        if signed.sender == self._id:
            return  # our own message echoed back by a relay: we already hold our votes
        if not self._members.is_authentic(signed):
            out.append(Rejected("not signed by a validator of this chain", event.sender_hint))
            return
        self._dispatch(signed, out)

    def _dispatch(self, signed: SignedMessage, out: list[Action]) -> None:
        """Route an authenticated message, keeping early ones and helping peers that lag."""
        if isinstance(signed.message, CommitProof):
            self._on_commit_proof(signed, signed.message, out)
            return
        height, view = position(signed)
        if height < self._height:
            # Late prepares and commits are normal after a commit; a view change or a
            # proposal for a finished height means the sender is stuck behind.
            if isinstance(signed.message, ViewChange | NewView | PrePrepare):
                self._help_lagging_peer(signed.sender, out)
            return
        if height > self._height:
            if height == self._height + 1:
                self._log.keep_early(signed)
            return
        match signed.message:
            case Commit():
                self._on_commit(signed, out)
            case ViewChange():
                self._on_view_change(signed, out)
            case NewView():
                self._on_new_view(signed, signed.message, out)
            case _ if view < self._view:
                return  # a round we have left
            case _ if view > self._view or self._phase is Phase.VIEW_CHANGE:
                self._log.keep_early(signed)  # usable once we install that view
            case PrePrepare():
                self._on_pre_prepare(signed, signed.message, out)
            case Prepare():
                self._on_prepare(signed, out)

    def _replay_early(self, out: list[Action]) -> None:
        for signed in self._log.take_early():
            self._dispatch(signed, out)

    # -- timers and work ---------------------------------------------------------------------

    def _on_tick(self, out: list[Action]) -> None:
        self._now += 1
        if self._deadline is None or self._now < self._deadline:
            return
        self._deadline = None
        if self._phase is Phase.VIEW_CHANGE:
            self._on_view_change_timeout(out)
        else:
            self._start_view_change(View(self._view + 1), out)

    def _timeout_ticks(self) -> int:
        backoff = self._config.base_timeout_ticks << min(self._failed_views, _MAX_BACKOFF_SHIFT)
        return min(backoff, self._config.max_timeout_ticks)

    def _arm_progress_timer(self) -> None:
        """The progress timer runs only while there is something to agree on."""
        busy = self._work_pending or self._log.round.pre_prepare is not None
        if busy and self._deadline is None and self._phase is not Phase.VIEW_CHANGE:
            self._deadline = self._now + self._timeout_ticks()

    def _on_work_available(self, out: list[Action]) -> None:
        self._work_pending = True
        self._arm_progress_timer()
        self._maybe_propose(out)

    # -- normal case: propose, pre-prepare, prepare, commit -----------------------------------

    def _maybe_propose(self, out: list[Action]) -> None:
        slot = (self._height, self._view)
        if (
            self._work_pending
            and self._phase is Phase.IDLE
            and self.primary == self._id
            and self._log.round.pre_prepare is None
            and self._proposal_requested != slot
            and (self._vote is None or self._vote.view != self._view)
        ):
            self._proposal_requested = slot
            out.append(ProposeBlock(self._height, self._view))

    def _on_block_proposed(self, event: BlockProposed, out: list[Action]) -> None:
        stale = (event.height, event.view) != (self._height, self._view)
        if stale or self._phase is not Phase.IDLE or self.primary != self._id:
            return  # the view or height moved on while the node was building
        assert len(event.block) <= self._config.max_block_bytes, "node built an oversized block"
        if self._log.round.pre_prepare is not None or not self._may_vote(event.digest):
            return
        proposal = PrePrepare(self._view, self._height, event.digest, event.block)
        self._vote = Vote(self._view, event.digest)
        self._persist(out)
        signed = self._sign(proposal)
        out.append(Broadcast(encode_signed(signed)))
        self._log.round.pre_prepare = signed
        self._log.round.executed = True  # the node executed what it built
        self._phase = Phase.PREPARING
        self._arm_progress_timer()
        self._check_prepared(out)

    def _on_pre_prepare(self, signed: SignedMessage, proposal: PrePrepare,
                        out: list[Action]) -> None:
        if signed.sender != self.primary:
            out.append(Rejected("pre-prepare from a validator that is not the primary",
                                signed.sender))
            return
        accepted = self._log.round.pre_prepare
        if accepted is not None:
            if self._log.round.proposal != proposal:
                out.append(ReportEvidence("conflicting-pre-prepare", signed.sender,
                                          encode_signed(accepted), encode_signed(signed)))
            return
        self._accept_proposal(signed, out)

    def _accept_proposal(self, signed: SignedMessage, out: list[Action]) -> None:
        proposal = signed.message
        assert isinstance(proposal, PrePrepare)
        if not self._may_vote(proposal.digest):
            return  # before a restart we voted for another block in this view
        self._log.round.pre_prepare = signed
        self._phase = Phase.EXECUTING
        self._arm_progress_timer()
        out.append(ExecuteBlock(self._height, self._view, proposal.digest, proposal.block))

    def _on_block_executed(self, event: BlockExecuted, out: list[Action]) -> None:
        proposal = self._log.round.proposal
        if (
            self._phase is not Phase.EXECUTING
            or proposal is None
            or (event.height, event.view, event.digest)
            != (proposal.height, proposal.view, proposal.digest)
        ):
            return  # answer to a proposal we have since abandoned
        if not event.valid:
            out.append(Rejected("the primary proposed an invalid block", self.primary))
            self._start_view_change(View(self._view + 1), out)
            return
        self._log.round.executed = True
        self._phase = Phase.PREPARING
        if self.primary != self._id:  # the primary's pre-prepare is its prepare
            self._vote = Vote(self._view, proposal.digest)
            self._persist(out)
            signed = self._sign(Prepare(self._view, self._height, proposal.digest))
            out.append(Broadcast(encode_signed(signed)))
            self._log.add_prepare(signed)
        self._check_prepared(out)

    def _on_prepare(self, signed: SignedMessage, out: list[Action]) -> None:
        if signed.sender == self.primary:
            return  # the primary's vote is its pre-prepare; a prepare from it counts for nothing
        earlier = self._log.add_prepare(signed)
        if earlier is not None:
            out.append(ReportEvidence("conflicting-prepare", signed.sender,
                                      encode_signed(earlier), encode_signed(signed)))
        self._check_prepared(out)

    def _check_prepared(self, out: list[Action]) -> None:
        round_ = self._log.round
        proposal = round_.proposal
        if self._phase is not Phase.PREPARING or proposal is None or not round_.executed:
            return
        voters = [p for p in self._log.prepare_voters(proposal.digest) if p.sender != self.primary]
        if len(voters) + 1 < self._members.quorum:
            return
        assert round_.pre_prepare is not None
        certificate = PreparedCertificate(round_.pre_prepare,
                                          tuple(voters[: self._members.quorum - 1]))
        self._prepared = certificate
        self._persist(out)  # the prepared block must survive a crash: it may commit
        signed = self._sign(Commit(self._view, self._height, proposal.digest))
        out.append(Broadcast(encode_signed(signed)))
        self._phase = Phase.COMMITTING
        self._log.add_commit(signed)
        self._check_committed(out)

    def _on_commit(self, signed: SignedMessage, out: list[Action]) -> None:
        """Commits count in any view: a quorum for any view is a valid certificate."""
        earlier = self._log.add_commit(signed)
        if earlier is not None:
            out.append(ReportEvidence("conflicting-commit", signed.sender,
                                      encode_signed(earlier), encode_signed(signed)))
        self._check_committed(out)

    def _check_committed(self, out: list[Action]) -> None:
        quorum = self._log.commit_quorum(self._members.quorum)
        if quorum is None:
            return
        certificate = make_certificate(self._height, quorum.view, quorum.digest,
                                       quorum.signatures)
        block = self._known_valid_block(quorum.digest)
        if block is None:  # committed elsewhere, but we lack the block or never validated it
            peers = [v for v in sorted(quorum.signatures) if v != self._id]
            if peers:
                self._request_sync(peers[0], self._height, out)
            return
        out.append(CommitBlock(self._height, quorum.digest, block, certificate))
        self._enter_next_height(certificate, out)

    def _known_valid_block(self, digest: bytes) -> bytes | None:
        round_ = self._log.round
        proposal = round_.proposal
        if proposal is not None and round_.executed and proposal.digest == digest:
            return proposal.block
        if self._prepared is not None and self._prepared.proposal.digest == digest:
            return self._prepared.proposal.block
        return None

    # -- view change ---------------------------------------------------------------------------

    def _start_view_change(self, new_view: View, out: list[Action]) -> None:
        assert new_view > self._view or (
            new_view == self._view and self._phase is not Phase.VIEW_CHANGE)
        self._view = new_view
        self._phase = Phase.VIEW_CHANGE
        self._failed_views += 1
        self._log.new_round(new_view)
        self._proposal_requested = None
        self._installed_new_view = None
        self._persist(out)  # never return to an older view, even after a restart
        self._broadcast_view_change(out)
        self._check_new_view_quorum(out)

    def _broadcast_view_change(self, out: list[Action]) -> None:
        signed = self._sign(ViewChange(self._view, self._height, self._prepared))
        self._own_view_change = signed
        self._log.add_view_change(signed)
        out.append(Broadcast(encode_signed(signed)))
        self._deadline = self._now + self._timeout_ticks()

    def _on_view_change_timeout(self, out: list[Action]) -> None:
        self._check_new_view_quorum(out)
        if self._phase is not Phase.VIEW_CHANGE:
            return
        if self._log.count_view_changes_from(self._view) >= self._members.quorum:
            # A quorum left the old view, yet no NewView came: its primary is faulty too.
            self._start_view_change(View(self._view + 1), out)
            return
        # Too few replicas follow us yet: restate our view change (it may have been lost),
        # rather than run ahead into views nobody else is in.
        assert self._own_view_change is not None
        out.append(Broadcast(encode_signed(self._own_view_change)))
        self._deadline = self._now + self._timeout_ticks()

    def _on_view_change(self, signed: SignedMessage, out: list[Action]) -> None:
        if not self._log.is_newer_view_change(signed):
            return  # a retransmission, or older than what this sender already asked for
        reason = check_view_change(signed, self._height, self._members)
        if reason is not None:
            out.append(ReportEvidence("invalid-view-change", signed.sender,
                                      encode_signed(signed), b""))
            return
        change = signed.message
        assert isinstance(change, ViewChange)
        self._log.add_view_change(signed)
        if change.new_view <= self._view and self._phase is not Phase.VIEW_CHANGE:
            self._help_peer_behind_in_view(signed.sender, out)
        views = self._log.view_change_views(exclude=self._id)
        weak_quorum = self._config.max_faulty + 1
        if len(views) >= weak_quorum and views[weak_quorum - 1] > self._view:
            # At least one honest replica wants a later view: join it, or we may stall.
            self._start_view_change(views[weak_quorum - 1], out)
            return
        self._check_new_view_quorum(out)

    def _check_new_view_quorum(self, out: list[Action]) -> None:
        if self._phase is not Phase.VIEW_CHANGE or self.primary != self._id:
            return
        changes = self._log.view_changes_for(self._view)
        if len(changes) < self._members.quorum:
            return
        forced = highest_prepared(c.message for c in changes if isinstance(c.message, ViewChange))
        proposal: SignedMessage | None = None
        if forced is not None:
            if not self._may_vote(forced.proposal.digest):
                return  # cannot happen for a fresh view; never risk a double vote
            self._vote = Vote(self._view, forced.proposal.digest)
            self._persist(out)
            proposal = self._sign(PrePrepare(self._view, self._height, forced.proposal.digest,
                                             forced.proposal.block))
        signed = self._sign(NewView(self._view, self._height, tuple(changes), proposal))
        out.append(Broadcast(encode_signed(signed)))
        self._install_view(signed, out)

    def _on_new_view(self, signed: SignedMessage, new_view: NewView, out: list[Action]) -> None:
        if new_view.view < self._view:
            return
        if new_view.view == self._view and self._phase is not Phase.VIEW_CHANGE:
            return  # already operating in this view
        if signed.sender != self._members.primary(new_view.view, self._height):
            out.append(Rejected("new view from a validator that is not its primary",
                                signed.sender))
            return
        reason = check_new_view(signed, self._members)
        if reason is not None:
            out.append(ReportEvidence("invalid-new-view", signed.sender,
                                      encode_signed(signed), b""))
            return
        self._install_view(signed, out)

    def _install_view(self, signed: SignedMessage, out: list[Action]) -> None:
        new_view = signed.message
        assert isinstance(new_view, NewView)
        self._view = new_view.view
        self._phase = Phase.IDLE
        self._log.new_round(new_view.view)
        self._installed_new_view = encode_signed(signed)
        self._deadline = None
        self._persist(out)
        out.append(ViewChanged(self._view))
        if new_view.pre_prepare is not None:
            self._accept_proposal(new_view.pre_prepare, out)
        self._arm_progress_timer()
        self._maybe_propose(out)
        self._replay_early(out)

    # -- heights and catch-up --------------------------------------------------------------

    def _enter_next_height(self, certificate: CommitCertificate, out: list[Action]) -> None:
        self._height = Height(certificate.height + 1)
        self._last_certificate = certificate
        self._vote, self._prepared = None, None
        self._failed_views = 0
        self._work_pending = False  # the node re-announces work it still holds
        self._deadline = None
        self._proposal_requested = None
        self._installed_new_view = None
        self._log.new_height(self._view)
        if self._phase is Phase.VIEW_CHANGE and self._view > certificate.view:
            # A view change we started is still pending: a view is only installed by its
            # NewView, so restate the view change at the new height.
            self._failed_views = 1
            self._persist(out)
            self._broadcast_view_change(out)
        else:
            if certificate.view > self._view:
                self._view = certificate.view  # a quorum operates in it: follow them
                out.append(ViewChanged(self._view))
            self._phase = Phase.IDLE
            self._log.new_round(self._view)
            self._persist(out)
        self._replay_early(out)

    def _on_block_synced(self, event: BlockSynced, out: list[Action]) -> None:
        if event.height < self._height:
            return  # we committed it ourselves meanwhile
        assert event.certificate.height == event.height, "synced certificate for another height"
        assert event.certificate.digest == event.digest, "synced certificate for another block"
        self._enter_next_height(event.certificate, out)

    def _on_commit_proof(self, signed: SignedMessage, proof: CommitProof,
                         out: list[Action]) -> None:
        certificate = proof.certificate
        if certificate.height < self._height:
            return
        if not self._verify(certificate):
            out.append(ReportEvidence("invalid-commit-proof", signed.sender,
                                      encode_signed(signed), b""))
            return
        self._request_sync(signed.sender, certificate.height, out)

    def _request_sync(self, peer: ValidatorId, target: Height, out: list[Action]) -> None:
        if self._sync_throttle.allow(target, self._now):
            out.append(RequestSync(peer, target))

    def _help_lagging_peer(self, peer: ValidatorId, out: list[Action]) -> None:
        """A peer sent a message for a height we have committed: show it our certificate."""
        if self._last_certificate is None or not self._hints.allow("commit-proof", peer,
                                                                     self._now):
            return
        proof = self._sign(CommitProof(self._last_certificate))
        out.append(Send(peer, encode_signed(proof)))

    def _help_peer_behind_in_view(self, peer: ValidatorId, out: list[Action]) -> None:
        """A peer asks for a view we have already installed: forward the NewView."""
        if self._installed_new_view is not None and self._hints.allow("new-view", peer,
                                                                       self._now):
            out.append(Send(peer, self._installed_new_view))

    # -- helpers ---------------------------------------------------------------------------

    def _verify(self, certificate: CommitCertificate) -> bool:
        return verify_certificate(certificate, self._config.chain_id, self._members.validators,
                                  self._members.verifier)

    def _may_vote(self, digest: bytes) -> bool:
        """False if we already voted for a different block in this view at this height."""
        return self._vote is None or self._vote.view != self._view or self._vote.digest == digest

    def _sign(self, message: Message) -> SignedMessage:
        data = message_signing_bytes(self._config.chain_id, message)
        return SignedMessage(self._id, message, self._signer(data))

    def _persist(self, out: list[Action]) -> None:
        state = SafetyState(self._height, self._view, self._phase is not Phase.VIEW_CHANGE,
                            self._vote, self._prepared)
        out.append(Persist(encode_safety_state(state)))
