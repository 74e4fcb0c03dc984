"""The replica's message log for the current height, bounded by the validator count.

Per validator it keeps at most: one prepare in the current round, one commit
(its latest view), one view change (its highest view) and, for each message
kind, one message that arrived early (a later view, or the next height).
"""

from dataclasses import dataclass, field

from consensus.messages import Commit, NewView, Prepare, PrePrepare, SignedMessage, ViewChange
from consensus.types import Digest, Height, ValidatorId, View


@dataclass
class Round:
    """What happened in one view at the current height."""

    view: View
    pre_prepare: SignedMessage | None = None
    executed: bool = False
    """The node executed the accepted proposal and found it valid."""
    prepares: dict[ValidatorId, SignedMessage] = field(default_factory=dict)

    @property
    def proposal(self) -> PrePrepare | None:
        if self.pre_prepare is None:
            return None
        message = self.pre_prepare.message
        assert isinstance(message, PrePrepare)
        return message


@dataclass(frozen=True)
class CommitQuorum:
    view: View
    digest: Digest
    votes: dict[ValidatorId, tuple[int, bytes]]
    """validator -> (its vote's time_ms, its signature)"""


def position(signed: SignedMessage) -> tuple[Height, View]:
    """Where a message belongs: (height, view) it is about."""
    message = signed.message
    if isinstance(message, ViewChange):
        return message.height, message.new_view
    if isinstance(message, PrePrepare | Prepare | Commit | NewView):
        return message.height, message.view
    raise AssertionError(f"{type(message).__name__} has no position")


class MessageLog:
    def __init__(self, view: View) -> None:
        self.round = Round(view)
        self._commits: dict[ValidatorId, SignedMessage] = {}
        self._view_changes: dict[ValidatorId, SignedMessage] = {}
        self._early: dict[tuple[ValidatorId, type], SignedMessage] = {}

    def new_round(self, view: View) -> None:
        self.round = Round(view)

    def new_height(self, view: View) -> None:
        """Forget the finished height; early messages stay for the caller to replay."""
        self.round = Round(view)
        self._commits.clear()
        self._view_changes.clear()

    # -- prepares and commits: each returns the earlier conflicting message, if any ----------

    def add_prepare(self, signed: SignedMessage) -> SignedMessage | None:
        earlier = self.round.prepares.get(signed.sender)
        if earlier is None:
            self.round.prepares[signed.sender] = signed
            return None
        return earlier if _digest(earlier) != _digest(signed) else None

    def prepare_voters(self, digest: Digest) -> list[SignedMessage]:
        voters = [p for p in self.round.prepares.values() if _digest(p) == digest]
        return sorted(voters, key=lambda signed: signed.sender)

    def add_commit(self, signed: SignedMessage) -> SignedMessage | None:
        earlier = self._commits.get(signed.sender)
        if earlier is None or position(earlier)[1] < position(signed)[1]:
            self._commits[signed.sender] = signed
            return None
        same_view = position(earlier)[1] == position(signed)[1]
        return earlier if same_view and _digest(earlier) != _digest(signed) else None

    def commit_quorum(self, quorum: int) -> CommitQuorum | None:
        tally: dict[tuple[View, Digest], dict[ValidatorId, tuple[int, bytes]]] = {}
        for sender, signed in self._commits.items():
            commit = signed.message
            assert isinstance(commit, Commit)
            key = (commit.view, commit.digest)
            tally.setdefault(key, {})[sender] = (commit.time_ms, signed.signature)
        for (view, digest), votes in sorted(tally.items()):
            if len(votes) >= quorum:
                return CommitQuorum(view, digest, votes)
        return None

    # -- view changes ---------------------------------------------------------------------

    def is_newer_view_change(self, signed: SignedMessage) -> bool:
        earlier = self._view_changes.get(signed.sender)
        return earlier is None or position(earlier)[1] < position(signed)[1]

    def add_view_change(self, signed: SignedMessage) -> None:
        """Keep the sender's highest view change."""
        if self.is_newer_view_change(signed):
            self._view_changes[signed.sender] = signed

    def view_change_views(self, exclude: ValidatorId) -> list[View]:
        """Each other validator's highest requested view, highest first."""
        views = [position(s)[1] for v, s in self._view_changes.items() if v != exclude]
        return sorted(views, reverse=True)

    def view_changes_for(self, view: View) -> list[SignedMessage]:
        changes = [s for s in self._view_changes.values() if position(s)[1] == view]
        return sorted(changes, key=lambda signed: signed.sender)

    def count_view_changes_from(self, view: View) -> int:
        return sum(1 for s in self._view_changes.values() if position(s)[1] >= view)

    # -- early messages ---------------------------------------------------------------------

    def keep_early(self, signed: SignedMessage) -> None:
        key = (signed.sender, type(signed.message))
        earlier = self._early.get(key)
        if earlier is None or position(earlier) < position(signed):
            self._early[key] = signed

    def take_early(self) -> list[SignedMessage]:
        early = sorted(self._early.values(), key=lambda s: (position(s), s.sender))
        self._early.clear()
        return early


def _digest(signed: SignedMessage) -> Digest:
    message = signed.message
    assert isinstance(message, Prepare | Commit | PrePrepare)
    return message.digest
