"""A block's state while its transactions are executed, with the records they share.

Every transaction of a block reads its sender's member record and, to issue, the
issuer's accreditation: a block of thousands from one registrar read and decoded the
same two records thousands of times, six Python calls each through the overlay.
`BlockState` keeps each decoded once per block. Any write to a record's key through it
drops that record, so a transaction sees every change made earlier in its block (a
rotated key, a grant added or suspended) exactly as a read of the overlay would.
"""

from __future__ import annotations

from ledger.records import PREFIX_ACCREDITATION, PREFIX_MEMBER, Accreditation, Member
from storage.state_tree import StateOverlay


class BlockState:
    """The overlay a block is executed on, read and written as the rules read and write
    any state (`get`, `set`); every write of the block must go through it, or a record
    kept here would be stale. Made anew for each block: nothing is kept across blocks."""

    __slots__ = ("_accreditations", "_members", "_set_on_overlay", "get")

    def __init__(self, overlay: StateOverlay) -> None:
        # The overlay's own bound method: a read that is not kept here costs no more
        # than it did on the overlay.
        self.get = overlay.get
        self._set_on_overlay = overlay.set
        self._members: dict[bytes, Member] = {}  # by state key
        self._accreditations: dict[bytes, Accreditation] = {}  # by state key

    def set(self, key: bytes, value: bytes) -> None:
        self._set_on_overlay(key, value)
        self._members.pop(key, None)
        self._accreditations.pop(key, None)

    def member(self, member: bytes) -> Member | None:
        """`rules.load_member(self, member)`, its record decoded once a block."""
        key = PREFIX_MEMBER + member
        record = self._members.get(key)
        if record is None:
            data = self.get(key)
            if data is None:
                return None  # not kept: rare, and a later admission may add it
            record = self._members[key] = Member.decode(data)
        return record

    def accreditation(self, member: bytes) -> Accreditation:
        """`rules.load_accreditation(self, member)`, its record decoded once a block."""
        key = PREFIX_ACCREDITATION + member
        record = self._accreditations.get(key)
        if record is None:
            data = self.get(key)
            if data is None:
                return Accreditation(())  # not kept, as `member` keeps no absence
            record = self._accreditations[key] = Accreditation.decode(data)
        return record
