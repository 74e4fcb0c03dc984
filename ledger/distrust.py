"""Whether what a member recorded at a height may have been signed with a stolen key.

A batch names the key that signed it (`Batch.signer_key`), so its verdict reads that
key's period. The other records a member makes (an accreditation it grants, a
revocation, an anchor) name only the member and the height: the key is whichever the
member held then. At the height of a rotation the member held two (the block holds
what the old key signed before the rotation and what the new one signed after), and
the order within the block is not recorded; so a record is doubted when any key the
member held at its height was distrusted there (`KeyPeriod.trusted_at`): a thief's
record in the block of the replacement that stopped it is not let through, at the cost
of the member's own records in that one block: a grant can be made again; a revocation,
an anchor or an admission (rules version 9) stays in doubt, since nothing doubted is
written over.

A member whose key never rotated has no key reported stolen: a report and a
replacement both need the key rotated away first.
"""

from __future__ import annotations

from typing import Protocol

from ledger.errors import MalformedInput
from ledger.key_events import KeyHistory, KeyPeriod, key_history_of
from ledger.records import Accreditation, Batch, Grant, Member, member_key
from ledger.validator_sets import StateReader


class KeyFacts(Protocol):
    def member(self, member: bytes) -> Member | None: ...
    def key_history(self, member: bytes) -> KeyHistory | None: ...


class GrantFacts(KeyFacts, Protocol):
    def accreditation(self, member: bytes) -> Accreditation: ...


def member_key_history(facts: KeyFacts, member_id: bytes) -> KeyHistory | None:
    """The member's keys as the chain records them (None for no such member): implied by
    its record while it never rotated, else its stored history, which must end at its
    current key (MalformedInput if not)."""
    member = facts.member(member_id)
    if member is None:
        return None
    if member.key_rotated_height is None:  # never rotated: no history is stored
        return KeyHistory((KeyPeriod(member.public_key, member.added_height, None),))
    history = facts.key_history(member_id)
    if history is None or history.current.public_key != member.public_key:
        raise MalformedInput("the member's key history does not match its record")
    return history


def stolen_key_at(facts: KeyFacts, member_id: bytes, height: int) -> KeyPeriod | None:
    """A key `member_id` held at `height` that was distrusted there (reported stolen from
    that height or before), or None. MalformedInput if the member's keys cannot be read."""
    return _distrusted_at(member_key_history(facts, member_id), height)


def stolen_admission(facts: KeyFacts, member: Member) -> tuple[bytes, KeyPeriod] | None:
    """The ministry that admitted `member` by its own `add_member` with a key distrusted
    at that height, and that key, or None (rules version 9 records who admitted it; a
    member admitted before, at genesis or by the consortium's vote names none). A thief
    holding a ministry's key could admit a member of its own, whose records, made with a
    key never stolen, stood for good. None once the consortium confirmed the admission
    (`confirm_admission`, rules version 10). MalformedInput if the ministry's keys cannot
    be read."""
    if member.added_by is None or member.admission_confirmed is not None:
        return None
    stolen = stolen_key_at(facts, member.added_by, member.added_height)
    return None if stolen is None else (member.added_by, stolen)


def stolen_key_in_state(state: StateReader, member_id: bytes, height: int
                        ) -> KeyPeriod | None:
    """`stolen_key_at`, read from the ledger's own state (for its rules)."""
    data = state.get(member_key(member_id))
    if data is None:
        return None
    return _distrusted_at(key_history_of(state, member_id, Member.decode(data)), height)


def stolen_admission_in_state(state: StateReader, member: Member) -> KeyPeriod | None:
    """`stolen_admission`'s key, read from the ledger's own state (for its rules)."""
    if member.added_by is None or member.admission_confirmed is not None:
        return None
    return stolen_key_in_state(state, member.added_by, member.added_height)


def _distrusted_at(history: KeyHistory | None, height: int) -> KeyPeriod | None:
    for period in history.periods if history is not None else ():
        held = period.from_height <= height and (period.until_height is None
                                                 or height <= period.until_height)
        if held and not period.trusted_at(height):
            return period
    return None


def trusted_grant(facts: GrantFacts, batch: Batch
                  ) -> tuple[Grant | None, tuple[Grant, int] | None]:
    """The first grant covering the batch that its ministry made with a key trusted then,
    and, if there is none, a covering grant made with a key reported stolen and the height
    that key is distrusted from (a thief holding a ministry's key could accredit a member
    of its own, whose credentials verified after the key was replaced)."""
    doubted: tuple[Grant, int] | None = None
    for grant in facts.accreditation(batch.issuer).grants:
        if not grant.covers(batch.credential_type, batch.height, batch.time_ms):
            continue
        stolen = stolen_key_at(facts, grant.granted_by, grant.granted_height)
        if stolen is None:
            return grant, None
        if doubted is None:  # a distrusted period always names its height
            doubted = (grant, stolen.compromised_from or grant.granted_height)
    return None, doubted
