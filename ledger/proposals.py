"""Governance proposals as the state keeps them: the record, its votes and status, and
the lists of open and recent ones. Pure reads and encodings over the state; what may be
proposed and what a vote does is `ledger.governance`.

State keys (under the Merkle root): `g:open`, `g:recent`, `g:p:` + proposal id (see
`ledger.governance`).
"""

from __future__ import annotations

from dataclasses import dataclass

from ledger.codec import decode, encode
from ledger.errors import MalformedInput
from ledger.governance_votes import Ballot, Casts, CastVote, excluded_voter
from ledger.identity import MemberId
from ledger.payloads import (
    ConfirmAdmissionAction,
    GovernanceAction,
    ReplaceKeyAction,
    RevokeCredentialAction,
    RevokeCredentialsAction,
    action_from_array,
)
from ledger.validator_sets import StateReader

OPEN_PROPOSALS_KEY = b"g:open"
RECENT_PROPOSALS_KEY = b"g:recent"
PREFIX_PROPOSAL = b"g:p:"


@dataclass(frozen=True)
class Proposal:
    proposal_id: bytes
    proposer: MemberId
    action: GovernanceAction
    effective_height: int
    expiry_height: int
    proposed_height: int
    voters: tuple[MemberId, ...]
    approved_height: int | None = None
    # From rules version 10, the height and key of each vote (`ledger.governance_votes`).
    votes_cast: Casts | None = None

    def ballot(self, state: StateReader) -> Ballot:
        return Ballot(self.voters, self.votes_cast, self.proposer, self.proposed_height,
                      excluded_voter(state, self.action))

    def encode(self) -> bytes:
        fields = [self.proposer, self.action.to_array(), self.effective_height,
                  self.expiry_height, self.proposed_height, list(self.voters),
                  self.approved_height]
        if self.votes_cast is not None:  # one without encodes as before version 10
            fields.append([None if c is None else c.to_array() for c in self.votes_cast])
        return encode(fields)

    @classmethod
    def decode(cls, proposal_id: bytes, data: bytes) -> Proposal:
        value = decode(data)
        if (not isinstance(value, list) or len(value) not in (7, 8)
                or not isinstance(value[5], list)):
            raise MalformedInput("stored proposal is malformed")
        proposer, action, effective, expiry, proposed, voters, approved = value[:7]
        casts = value[7] if len(value) == 8 else None
        if casts is not None and (not isinstance(casts, list) or len(casts) != len(voters)):
            raise MalformedInput("stored proposal's votes are malformed")
        return cls(proposal_id, MemberId(proposer), action_from_array(action), effective,
                   expiry, proposed, tuple(MemberId(v) for v in voters), approved,
                   None if casts is None else tuple(
                       None if c is None else CastVote.from_array(c) for c in casts))

    def status(self, height: int) -> str:
        """At the block `height`: open, expired, approved (pending) or in force."""
        if self.approved_height is None:
            return "open" if height <= self.expiry_height else "expired"
        if isinstance(self.action, RevokeCredentialAction | RevokeCredentialsAction
                      | ReplaceKeyAction | ConfirmAdmissionAction):
            # written at its approval
            return "in_force"
        return "approved" if height < self.effective_height else "in_force"


def proposal_key(proposal_id: bytes) -> bytes:
    return PREFIX_PROPOSAL + proposal_id


def load_open_ids(state: StateReader) -> list[bytes]:
    raw = state.get(OPEN_PROPOSALS_KEY)
    return list(decode(raw)) if raw is not None else []


def load_recent_ids(state: StateReader) -> list[bytes]:
    raw = state.get(RECENT_PROPOSALS_KEY)
    return list(decode(raw)) if raw is not None else []


def load_proposal(state: StateReader, proposal_id: bytes) -> Proposal | None:
    raw = state.get(proposal_key(proposal_id))
    return Proposal.decode(proposal_id, raw) if raw is not None else None


def open_proposals(state: StateReader, height: int) -> list[Proposal]:
    """The proposals still collecting votes at block `height`, oldest first."""
    found = (load_proposal(state, pid) for pid in load_open_ids(state))
    return [p for p in found if p is not None and p.status(height) == "open"]
