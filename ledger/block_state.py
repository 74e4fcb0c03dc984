"""A block's state while its transactions are executed, with the records they share.

Every transaction of a block reads its sender's member record and, to issue, the
issuer's accreditation: a block of thousands from one registrar read and decoded the
same two records thousands of times, six Python calls each through the overlay, and
looked for the grant that covers the issuance in each. `BlockState` reads and decodes
a sender's record once a block, and finds an issuer's grant for a type once. Any write
to a member's key through it drops that member's record, and any write to an
accreditation every grant found, so a transaction sees every change made earlier in its
block (a rotated key, a grant added or suspended) exactly as a read of the overlay would.

Admission tries each transaction of a submission on its own scratch state over one
committed snapshot, which no one writes: there `KeptRecords` holds what every trial's
`BlockState` reads of the snapshot, so that a submission's transactions from one issuer
decode its records once between them. A trial shares them only until its first write,
after which what it reads may be its own write, which no other trial may see.
"""

from __future__ import annotations

from typing import Protocol

from ledger.records import PREFIX_ACCREDITATION, PREFIX_MEMBER, Accreditation, Member


class ReadWrite(Protocol):
    """`ledger.rules.StateAccess`'s shape, repeated: rules imports this module."""

    def get(self, key: bytes) -> bytes | None: ...
    def set(self, key: bytes, value: bytes) -> None: ...


class KeptRecords:
    """Member records (by state key) and covering grants (`BlockState.may_issue`'s
    issuances) read from a state that nothing writes while these are kept."""

    __slots__ = ("covered", "members")

    def __init__(self) -> None:
        self.members: dict[bytes, Member] = {}
        self.covered: set[tuple[bytes, str, int, int]] = set()


class BlockState:
    """The overlay a block is executed on, read and written as the rules read and write
    any state (`get`, `set`); every write of the block must go through it, or a record
    kept here would be stale. Made anew for each block: nothing is kept across blocks.

    `kept`: records of the state under `overlay`, which nothing else writes, to read and
    add to until this state's first write (a trial over a committed snapshot)."""

    __slots__ = ("_covered", "_members", "_set_on_overlay", "_sharing", "get")

    def __init__(self, overlay: ReadWrite, kept: KeptRecords | None = None) -> None:
        # The overlay's own bound method: a read that is not kept here costs no more
        # than it did on the overlay.
        self.get = overlay.get
        self._set_on_overlay = overlay.set
        self._sharing = kept is not None
        if kept is None:
            self._members: dict[bytes, Member] = {}  # by state key
            # (accreditation's state key, credential type, height, time) a grant covers
            self._covered: set[tuple[bytes, str, int, int]] = set()
        else:
            self._members, self._covered = kept.members, kept.covered

    def set(self, key: bytes, value: bytes) -> None:
        self._set_on_overlay(key, value)
        if self._sharing:
            # From now on a read may return this write: keep it from the shared records.
            self._sharing = False
            self._members, self._covered = {}, set()
            return
        self._members.pop(key, None)
        if key.startswith(PREFIX_ACCREDITATION):  # rare: any grant may have changed
            self._covered.clear()

    def member(self, member: bytes) -> Member | None:
        """`rules.load_member(self, member)`, its record decoded once a block."""
        key = PREFIX_MEMBER + member
        record = self._members.get(key)
        if record is None:
            data = self.get(key)
            if data is None:
                return None  # nothing to keep for a member the state does not hold
            record = self._members[key] = Member.decode(data)
        return record

    def may_issue(self, member: bytes, credential_type: str, height: int, time_ms: int
                  ) -> bool:
        """Whether a grant of the member's accreditation covers an issuance of the type at
        the height and time (`Accreditation.grant_covering`), found once a block. False
        is not kept (a refusal is rare, and the rules then read the record for why)."""
        key = PREFIX_ACCREDITATION + member
        issuance = (key, credential_type, height, time_ms)
        if issuance in self._covered:
            return True
        data = self.get(key)
        if data is None or Accreditation.decode(data).grant_covering(
                credential_type, height, time_ms) is None:
            return False
        self._covered.add(issuance)
        return True
