"""The replica's state and the primitives every handler uses.

`Replica` (replica.py) is built in two layers on this one: `ViewChangeHandling`
(view_change.py) and the normal case with dispatch and catch-up (replica.py).
View change reads and writes nearly every field (view, phase, vote, log,
timers), so the layers share one object's fields, defined and restored here,
rather than pass them between separate objects.
"""

from enum import Enum

from consensus.actions import Action, Persist, RequestSync, Send
from consensus.certificate import Clock, CommitCertificate, Signer, Verifier, verify_certificate
from consensus.codec import MAX_UINT
from consensus.config import ReplicaConfig, check_validators
from consensus.errors import CorruptSafetyState
from consensus.log import MessageLog
from consensus.membership import Membership
from consensus.messages import (
    CommitProof,
    Message,
    PreparedCertificate,
    SignedMessage,
    ViewChange,
    encode_signed,
    sign_message,
)
from consensus.safety import SafetyState, Vote, decode_safety_state, encode_safety_state
from consensus.throttle import HintLimiter, SyncThrottle
from consensus.types import Height, ValidatorId, View

_MAX_BACKOFF_SHIFT = 32


class Phase(Enum):
    IDLE = "idle"  # view active, no proposal accepted yet
    EXECUTING = "executing"  # proposal accepted, the node is executing it
    PREPARING = "preparing"  # proposal valid and voted for; collecting prepares
    COMMITTING = "committing"  # prepared and commit sent; collecting commits
    VIEW_CHANGE = "view-change"  # left the old view; waiting for NewView(view)


class ReplicaState:
    """Fields, construction, restore, read-only properties and shared primitives."""

    def __init__(
        self,
        config: ReplicaConfig,
        signer: Signer,
        verifier: Verifier,
        committed_height: int,
        persisted: bytes | None,
        last_certificate: CommitCertificate | None = None,
        *,
        clock_ms: Clock,
    ) -> None:
        assert committed_height >= 0
        self._config = config
        self._signer = signer
        self._clock_ms = clock_ms
        self._members = Membership(config.chain_id, config.validators, verifier)
        # The set of the next height, once the driver has said it (ValidatorsKnown).
        self._next_members: tuple[Height, Membership] | None = None
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
    def primary(self) -> ValidatorId:
        return self._members.primary(self._view, self._height)

    @property
    def phase(self) -> Phase:
        return self._phase

    @property
    def timer_armed(self) -> bool:
        """Whether a tick can fire anything: with no timer armed, a tick only moves the
        clock on (the driver may then tick less often and give the ticks that passed)."""
        return self._deadline is not None

    # -- timers ------------------------------------------------------------------------------

    def _timeout_ticks(self) -> int:
        backoff = self._config.base_timeout_ticks << min(self._failed_views, _MAX_BACKOFF_SHIFT)
        return min(backoff, self._config.max_timeout_ticks)

    def _arm_progress_timer(self) -> None:
        """The progress timer runs only while there is something to agree on."""
        busy = self._work_pending or self._log.round.pre_prepare is not None
        if busy and self._deadline is None and self._phase is not Phase.VIEW_CHANGE:
            self._deadline = self._now + self._timeout_ticks()

    # -- helping peers that lag ----------------------------------------------------------------

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

    # -- the validator set of each height ----------------------------------------------------

    def _members_for(self, height: Height) -> Membership:
        """Who may sign for `height`: this height's set, or the next one's once known."""
        upcoming = self._next_members
        if upcoming is not None and upcoming[0] == height:
            return upcoming[1]
        return self._members

    def _learn_validators(self, height: Height, validators: tuple[ValidatorId, ...]) -> None:
        check_validators(validators)
        members = Membership(self._config.chain_id, validators, self._members.verifier)
        if height == self._height + 1:
            self._next_members = (height, members)
        elif height == self._height and validators != self._members.validators:
            # Told late (the driver should say it before the height starts): what was
            # collected for this height was counted against the old set, so drop it.
            self._members = members
            self._log.new_height(self._view)

    def _enter_members_of(self, height: Height) -> None:
        upcoming = self._next_members
        if upcoming is not None and upcoming[0] == height:
            self._members = upcoming[1]
        if upcoming is not None and upcoming[0] <= height:
            self._next_members = None

    # -- helpers ---------------------------------------------------------------------------

    def _verify(self, certificate: CommitCertificate) -> bool:
        members = self._members_for(certificate.height)
        return verify_certificate(certificate, self._config.chain_id, members.validators,
                                  members.verifier)

    def _vote_time(self) -> int:
        """The driver's clock, kept within what a commit vote can encode."""
        return min(max(0, self._clock_ms()), MAX_UINT)

    def _may_vote(self, digest: bytes) -> bool:
        """False if we already voted for a different block in this view at this height."""
        return self._vote is None or self._vote.view != self._view or self._vote.digest == digest

    def _sign(self, message: Message) -> SignedMessage:
        return sign_message(self._config.chain_id, self._id, message, self._signer)

    def _persist(self, out: list[Action]) -> None:
        state = SafetyState(self._height, self._view, self._phase is not Phase.VIEW_CHANGE,
                            self._vote, self._prepared)
        out.append(Persist(encode_safety_state(state)))
