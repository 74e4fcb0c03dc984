"""View change: leave a view whose primary makes no progress, and install the next.

A layer of `Replica`: it shares the replica's fields (replica_state.py) and hands
back to the normal case (replica.py) through the three methods declared below.
The pure checks of ViewChange and NewView messages live in view_change_checks.py.
"""

from consensus.actions import Action, Broadcast, Rejected, ReportEvidence, ViewChanged
from consensus.messages import NewView, PrePrepare, SignedMessage, ViewChange, encode_signed
from consensus.replica_state import Phase, ReplicaState
from consensus.safety import Vote
from consensus.types import View
from consensus.view_change_checks import check_new_view, check_view_change, highest_prepared


class ViewChangeHandling(ReplicaState):
    """Start, restate, join and install view changes; not used on its own, only as `Replica`."""

    # Normal-case steps a view change hands over to; `Replica` defines them.

    def _accept_proposal(self, signed: SignedMessage, out: list[Action],
                         forced: bool = False) -> None:
        raise NotImplementedError

    def _maybe_propose(self, out: list[Action]) -> None:
        raise NotImplementedError

    def _replay_early(self, out: list[Action]) -> None:
        raise NotImplementedError

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
        weak_quorum = self._members.weak_quorum
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
        if new_view.pre_prepare is not None:  # the block its proofs require (checked)
            self._accept_proposal(new_view.pre_prepare, out, forced=True)
        self._arm_progress_timer()
        self._maybe_propose(out)
        self._replay_early(out)
