"""A proposal's votes, with the height and key each was cast with: which of them count.
Pure rules over the state.

From rules version 10 (`STOLEN_VOTES_SET_ASIDE_FROM`) a proposal keeps, beside its voters,
the height of the block that holds each vote and the key that signed it (`CastVote`; the
proposer's is the proposal's own). A vote is set aside when that key is distrusted at that
height (`ledger.key_events.KeyPeriod.trusted_at`: reported stolen from that height or
before, or distrusted by a governance replacement): it does not count toward the
threshold, and its ministry may cast it again with the key it holds now. Before, a thief
holding a ministry's key proposed a member of its own, and once the ministry rotated and
reported the key the proposal still held its vote: one honest vote more admitted the
thief's member.

A vote recorded before version 10 has no height and no key, and counts as it always did,
except the proposer's: it was cast at the proposal's height, so it is set aside when a key
the proposer held there is distrusted there (`ledger.distrust.stolen_key_in_state`: at a
rotation's height that is either key, since the order within the block is not kept).

Nothing on chain tells a thief's vote from its ministry's: a ministry that reports its own
key stolen from before a vote takes that vote back, as it puts in doubt everything else it
signed with that key from there. A vote set aside may count again (a replacement undoing
a report), so a vote of a ministry whose vote counts already is refused as
`already_voted` only while the votes counted are short of those needed: else it is the
approving vote. At the approval only the votes that counted are kept, so that an approved
proposal names those who carried it; one of them set aside later stays listed as such
(`node.governance_view`), and the approval stands. The proposals a thief made keep their
places in the ministry's share of the open ones (`governance.open_places_share`) until they
expire: a ministry freeing places by reporting its own key could hold more than its share.

On a `confirm_admission` the vote of the ministry that admitted the member does not count
(`excluded_voter`), whichever key cast it, unless it is the only voter; the others' threshold
is then at most their number (`votes_needed`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ledger.distrust import stolen_key_in_state
from ledger.errors import MalformedInput, TxRejected
from ledger.governance_policy import load_voters
from ledger.identity import PUBLIC_KEY_BYTES, MemberId
from ledger.key_events import KeyPeriod, key_history_of
from ledger.payloads import ConfirmAdmissionAction, GovernanceAction
from ledger.records import Member, member_key
from ledger.rules_version import STOLEN_VOTES_SET_ASIDE_FROM
from ledger.validator_sets import StateReader


@dataclass(frozen=True)
class CastVote:
    height: int  # the block that holds the vote
    public_key: bytes  # the key that signed it

    def to_array(self) -> list[int | bytes]:
        return [self.height, self.public_key]

    @classmethod
    def from_array(cls, value: object) -> CastVote:
        if (not isinstance(value, list) or len(value) != 2
                or not isinstance(value[0], int) or isinstance(value[0], bool)
                or not isinstance(value[1], bytes) or len(value[1]) != PUBLIC_KEY_BYTES):
            raise MalformedInput("stored vote is malformed")
        return cls(value[0], value[1])


Casts = tuple[CastVote | None, ...]  # in the voters' order; None: cast before version 10


@dataclass(frozen=True)
class Ballot:
    """A proposal's votes: its voters (the proposer first while it is open), how each was
    cast (None for a proposal with no vote cast from version 10), its proposer and
    height, and the voter whose vote does not count on it, if any."""

    voters: tuple[MemberId, ...]
    casts: Casts | None
    proposer: MemberId
    proposed_height: int
    excluded: MemberId | None = None  # a voter whose vote does not count here (`excluded_voter`)

    def cast_of(self, index: int) -> CastVote | None:
        return None if self.casts is None else self.casts[index]


@dataclass(frozen=True)
class SetAsideVote:
    voter: MemberId
    cast_at: int  # the height of the block that holds the vote
    distrusted_from: int  # the height the key it was cast with is distrusted from


def set_aside_votes(state: StateReader, ballot: Ballot, rules_version: int
                    ) -> list[SetAsideVote]:
    """The votes cast with a key distrusted at their height, in the voters' order (none
    before version 10). MalformedInput if a voter's keys cannot be read."""
    if rules_version < STOLEN_VOTES_SET_ASIDE_FROM:
        return []
    found = []
    for index, voter in enumerate(ballot.voters):
        aside = _set_aside(state, ballot, index, voter)
        if aside is not None:
            found.append(aside)
    return found


def excluded_voter(state: StateReader, action: GovernanceAction) -> MemberId | None:
    """The ministry whose vote does not count on `action`: the one that admitted the member
    whose admission `confirm_admission` confirms, unless it is the only voter. A thief
    holding that ministry's key (its current one, after rotating it onto a key of its own)
    could report the old key stolen, which puts its own mill's admission in doubt, then
    ask for the confirmation as that ministry: the request an admitting ministry would
    believably make."""
    if not isinstance(action, ConfirmAdmissionAction):
        return None
    raw = state.get(member_key(action.member))
    admitting = None if raw is None else Member.decode(raw).added_by
    if admitting is None or not [v for v in load_voters(state) if v != admitting]:
        return None
    return admitting


def votes_needed(state: StateReader, ballot: Ballot, threshold: int) -> int:
    """The votes that approve the ballot's proposal: the policy's threshold, or, with a
    voter excluded, as many of the others as there are up to it (of two ministries, the
    other one: it vouches alone, as it could approve anything with the excluded one's
    key in a thief's hands)."""
    if ballot.excluded is None:
        return threshold
    others = [v for v in load_voters(state) if v != ballot.excluded]
    return max(1, min(threshold, len(others)))


def counted_votes(state: StateReader, ballot: Ballot, rules_version: int) -> int:
    aside = {vote.voter for vote in set_aside_votes(state, ballot, rules_version)}
    return sum(1 for voter in ballot.voters if voter not in aside and voter != ballot.excluded)


def with_vote(state: StateReader, ballot: Ballot, voter: MemberId, public_key: bytes,
              height: int, needed: int, rules_version: int) -> Ballot:
    """The ballot once `voter`, holding `public_key`, votes in block `height`: added; from
    version 10 its vote set aside cast again, or left as it is when the votes counted
    already reach the `needed` (this vote approves). TxRejected `already_voted` else."""
    cast = CastVote(height, public_key)
    versioned = rules_version >= STOLEN_VOTES_SET_ASIDE_FROM
    if voter == ballot.excluded:  # its proposal is let in, counted for nothing
        raise TxRejected("vote_not_counted", "your vote does not count on the confirmation "
                         "of an admission you made: the other ministries vouch for it")
    if voter not in ballot.voters:
        if not versioned:
            return replace(ballot, voters=(*ballot.voters, voter))
        casts = ballot.casts or (None,) * len(ballot.voters)
        return replace(ballot, voters=(*ballot.voters, voter), casts=(*casts, cast))
    if versioned:
        index = ballot.voters.index(voter)
        if _set_aside(state, ballot, index, voter) is not None:
            casts = ballot.casts or (None,) * len(ballot.voters)
            return replace(ballot, casts=(*casts[:index], cast, *casts[index + 1:]))
        if counted_votes(state, ballot, rules_version) >= needed:
            return ballot
    raise TxRejected("already_voted", "you already voted for this proposal")


def counted_only(state: StateReader, ballot: Ballot, rules_version: int) -> Ballot:
    """The ballot without its votes set aside, nor the excluded one: what an approval
    keeps."""
    aside = {vote.voter for vote in set_aside_votes(state, ballot, rules_version)}
    if ballot.excluded is not None:
        aside.add(ballot.excluded)
    if aside.isdisjoint(ballot.voters):
        return ballot
    kept = [i for i, voter in enumerate(ballot.voters) if voter not in aside]
    return replace(ballot, voters=tuple(ballot.voters[i] for i in kept),
                   casts=None if ballot.casts is None else tuple(ballot.casts[i] for i in kept))


def _set_aside(state: StateReader, ballot: Ballot, index: int, voter: MemberId
               ) -> SetAsideVote | None:
    cast = ballot.cast_of(index)
    if cast is None:
        # Cast before version 10 at a height not kept, but for the proposal's own vote (an
        # approval may have dropped it: the first voter is not always the proposer).
        if voter != ballot.proposer:
            return None
        stolen = stolen_key_in_state(state, voter, ballot.proposed_height)
        return None if stolen is None else _aside(voter, ballot.proposed_height, stolen)
    period = _period_of(state, voter, cast.public_key)
    if period is None or period.trusted_at(cast.height):
        return None
    return _aside(voter, cast.height, period)


def _aside(voter: MemberId, cast_at: int, period: KeyPeriod) -> SetAsideVote:
    # a period distrusted at a height names the height that begins at
    return SetAsideVote(voter, cast_at, period.compromised_from or cast_at)


def _period_of(state: StateReader, voter: MemberId, public_key: bytes) -> KeyPeriod | None:
    raw = state.get(member_key(voter))
    if raw is None:
        return None
    history = key_history_of(state, voter, Member.decode(raw))
    period = history.period_of(public_key)
    if period is None:  # every key a member held stays in its history
        raise MalformedInput("a vote's key is not in its voter's key history")
    return period

