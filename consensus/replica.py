"""The PBFT replica: one object, one entry point, `step(event) -> list[Action]`.

Sections: dispatch; timers and work; normal-case ordering; heights and
catch-up. The fields, restore and shared primitives live in `replica_state.py`,
view change in `view_change.py` (both layers of this one class), pure checks in
`view_change_checks.py`, the bounded message log in `log.py`, the persisted
state in `safety.py`.
"""

from consensus.actions import (
    Action,
    Broadcast,
    CommitBlock,
    ExecuteBlock,
    ProposeBlock,
    Rejected,
    ReportEvidence,
    ViewChanged,
)
from consensus.certificate import CommitCertificate, make_certificate
from consensus.errors import MalformedMessage
from consensus.events import (
    BlockExecuted,
    BlockProposed,
    BlockSynced,
    Event,
    MessageReceived,
    Tick,
    ValidatorsKnown,
    WorkAvailable,
)
from consensus.log import position
from consensus.messages import (
    Commit,
    CommitProof,
    NewView,
    Prepare,
    PreparedCertificate,
    PrePrepare,
    SignedMessage,
    ViewChange,
    decode_signed,
    encode_signed,
)
from consensus.replica_state import Phase
from consensus.safety import Vote
from consensus.types import Height, View
from consensus.view_change import ViewChangeHandling

__all__ = ["Phase", "Replica"]


class Replica(ViewChangeHandling):
    """A PBFT replica. Not thread-safe: one driver task calls `step`."""

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
            case ValidatorsKnown():
                self._learn_validators(event.height, event.validators)
        return out

    def _on_received(self, event: MessageReceived, out: list[Action]) -> None:
        try:
            signed = decode_signed(event.data, max_block_bytes=self._config.max_block_bytes)
        except MalformedMessage as exc:
            out.append(Rejected(f"malformed message: {exc}", event.sender_hint))
            return
        if signed.sender == self._id:
            return  # our own message echoed back by a relay: we already hold our votes
        height = (self._height if isinstance(signed.message, CommitProof)
                  else position(signed)[0])
        if not self._members_for(height).is_authentic(signed):
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

    def _accept_proposal(self, signed: SignedMessage, out: list[Action],
                         forced: bool = False) -> None:
        proposal = signed.message
        assert isinstance(proposal, PrePrepare)
        if not self._may_vote(proposal.digest):
            return  # before a restart we voted for another block in this view
        self._log.round.pre_prepare = signed
        self._phase = Phase.EXECUTING
        self._arm_progress_timer()
        out.append(ExecuteBlock(self._height, self._view, proposal.digest, proposal.block,
                                forced))

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
        signed = self._sign(Commit(self._view, self._height, proposal.digest, self._vote_time()))
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
        certificate = make_certificate(self._height, quorum.view, quorum.digest, quorum.votes)
        block = self._known_valid_block(quorum.digest)
        if block is None:  # committed elsewhere, but we lack the block or never validated it
            peers = [v for v in sorted(quorum.votes) if v != self._id]
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

    # -- heights and catch-up --------------------------------------------------------------

    def _enter_next_height(self, certificate: CommitCertificate, out: list[Action]) -> None:
        self._height = Height(certificate.height + 1)
        self._enter_members_of(self._height)
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
        verified = self._verify(certificate)
        if not verified and certificate.height > self._height + 1:
            # Perhaps certified by a set this replica does not know yet (sets change at
            # block boundaries): no evidence then; the node's periodic sync catches up.
            return
        if not verified:
            out.append(ReportEvidence("invalid-commit-proof", signed.sender,
                                      encode_signed(signed), b""))
            return
        self._request_sync(signed.sender, certificate.height, out)
