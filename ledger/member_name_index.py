"""One member a name, as read (rules version 14). Pure rules over the state.

A verdict says "issued by KazNU" from the issuer's member record. Before version 14 the
ledger took any name for a new member: a ministry signing its own `add_member`, or a
governance vote, admitted a second "KazNU", or "KаzNU" with a Cyrillic "а", and what that
member issued was said to be KazNU's. `senim add-member` refused such a name, but a
ministry need not use it. From `MEMBER_NAMES_UNIQUE_FROM` the ledger refuses every
admission whose name reads (`ledger.member_names_read.readings`) as a member's, retired
members' included: their credentials stay genuine, and verdicts still name them. It refuses
a name holding an invisible character too (`member_name_invisible`): "Kaz\u200bNU" reads as
"KazNU" but is another text, so no reading of it would match; and a name holding a
character unassigned in Unicode 3.2 (`member_name_character`: an emoji, a letter added
since), which nodes of other Pythons would read otherwise (`ledger.member_names_read`).

The member table has no size limit, so the check reads a key a reading, not every member:
the index `n:` + a tagged SHA-256 of a reading -> the id of the member holding it, one
entry a reading of each member's name (two, or one when both readings are one text),
written by every admission under the version. A chain whose genesis states the version
holds it from genesis (`Genesis.initial_state`, and `ledger.genesis` refuses two members
of one name read so). A chain that reaches the version by governance's
`set_rules_version` holds members admitted before it with no index: the first block under
the version writes it for all of them before its transactions (`index_at_upgrade`, once
per chain: a read of the member table). Twins admitted before the version stay (they are
history); the index names the one admitted first, and refuses a third. "First" is the
lowest `added_height` (for governance's admissions that is the action's effective height,
not the height of its approving vote), and of members added at one height the lowest
member id; each reading is decided on its own.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from ledger.codec import tagged_hash
from ledger.errors import TxRejected
from ledger.identity import MemberId
from ledger.member_names_read import invisible_marks, readings, unassigned_marks
from ledger.records import PREFIX_MEMBER, Member, member_key
from ledger.rules_version import MEMBER_NAMES_UNIQUE_FROM, rules_version_at
from storage.errors import CorruptStateError
from storage.state_tree import StateOverlay, StateTree

PREFIX_MEMBER_NAME = b"n:"
MEMBER_NAME_TAG = b"senim/member-name/v1"


class StateReader(Protocol):
    def get(self, key: bytes) -> bytes | None: ...


class StateWriter(StateReader, Protocol):
    def set(self, key: bytes, value: bytes) -> None: ...


def reading_key(reading: str) -> bytes:
    """The index key of one reading (`ledger.member_names_read.readings`)."""
    # surrogatepass: a name is valid text wherever it comes from, but a key must never raise
    return PREFIX_MEMBER_NAME + tagged_hash(MEMBER_NAME_TAG,
                                            reading.encode("utf-8", "surrogatepass"))


def member_name_keys(name: str) -> tuple[bytes, ...]:
    """The index keys of `name`: one a reading."""
    return tuple(reading_key(reading) for reading in readings(name))


def name_holder(state: StateReader, name: str) -> MemberId | None:
    """The member holding a reading of `name`, as the index holds it (of two, the one
    holding the first reading: `spaced`, the name letter for letter)."""
    for key in member_name_keys(name):
        raw = state.get(key)
        if raw is not None:
            return MemberId(raw)
    return None


def check_name_free(state: StateReader, name: str, rules_version: int) -> None:
    """From MEMBER_NAMES_UNIQUE_FROM, refuse a new member's name holding an invisible
    character or one unassigned in Unicode 3.2, or read as a member's name is."""
    if rules_version < MEMBER_NAMES_UNIQUE_FROM:
        return
    marks = invisible_marks(name)
    if marks:
        raise TxRejected("member_name_invisible", f"the name {name!r} holds an invisible "
                         f"character ({marks}): it reads as a name it is not; type the name "
                         "again", name=name, marks=marks)
    marks = unassigned_marks(name)
    if marks:
        raise TxRejected("member_name_character", f"the name {name!r} holds a character "
                         f"not every node compares alike ({marks}: an emoji, or a character "
                         "added to Unicode after 2002); write the name in letters, digits and "
                         "ordinary punctuation", name=name, marks=marks)
    holder = name_holder(state, name)
    if holder is None:
        return
    raw = state.get(member_key(holder))
    member = Member.decode(raw) if raw is not None else None
    held = member.name if member is not None else holder.hex()
    said = (f"the name {name!r} reads as the name of member {held} ({holder.hex()})"
            ": a verifier could not tell the two apart; give the new member a name of its own")
    if member is None or member.retired_height is None:
        raise TxRejected("member_name_taken", said, name=name, member=held,
                         member_id=holder.hex())
    # A retired member's name stays taken: its credentials still name it. An organisation
    # that lost its key keeps its member by governance's replace_key, not by re-admission.
    raise TxRejected("member_name_taken", f"the name {name!r} reads as the name of member "
                     f"{held} ({holder.hex()}), retired from height {member.retired_height}: "
                     "a retired member's name stays taken, since its credentials still bear "
                     "it; give the new member a name of its own (a member that lost its key "
                     "keeps it, and its name, by governance's replace_key before it is "
                     "retired)", name=name, member=held, member_id=holder.hex(),
                     retired=member.retired_height)


def record_name(state: StateWriter, name: str, member_id: MemberId, rules_version: int
                ) -> None:
    """An admission's entries in the index, from MEMBER_NAMES_UNIQUE_FROM (before it none,
    so that the state roots of blocks under earlier versions stay what they were)."""
    if rules_version >= MEMBER_NAMES_UNIQUE_FROM:
        for key in member_name_keys(name):
            state.set(key, member_id)


def name_index(members: Iterable[tuple[MemberId, Member]]) -> dict[bytes, bytes]:
    """The index of these members: each reading held by the one admitted first (the lowest
    `added_height`), and of those admitted at one height by the lowest id."""
    first: dict[bytes, tuple[int, MemberId]] = {}
    for member_id, member in members:
        for key in member_name_keys(member.name):
            if key not in first or (member.added_height, member_id) < first[key]:
                first[key] = (member.added_height, member_id)
    return {key: bytes(member_id) for key, (_, member_id) in first.items()}


def index_at_upgrade(overlay: StateOverlay, committed: StateTree, height: int,
                     rules_version: int) -> None:
    """Before block `height`'s transactions, if it is the first under
    MEMBER_NAMES_UNIQUE_FROM (by governance: a genesis stating the version wrote the
    index), write the index of every member. `overlay` must hold no write yet, so that
    the committed members are all of them: the caller executes the block first on its
    overlay (a sync run ends before a block under another version, `ChainRun.ended`).
    Each member listed is read through `overlay`, so checked against the state root: a
    damaged value, or one listed but gone, raises CorruptStateError. A member whose stored
    value is lost whole is not listed at all (values are listed from the store; the tree
    holds hashes only): the index then misses it, and the block's state root differs from
    the one the other nodes compute, so this node finds the block invalid."""
    if (rules_version < MEMBER_NAMES_UNIQUE_FROM
            or rules_version_at(committed, height - 1) >= MEMBER_NAMES_UNIQUE_FROM):
        return
    if overlay.keys_changed() != 0:  # not an assert: it must hold under `python -O` too
        raise RuntimeError(f"the index of member names is written first in block {height}, "
                           f"but its overlay holds {overlay.keys_changed()} writes already")
    ids = [MemberId(key[len(PREFIX_MEMBER):])
           for key, _ in committed.items_with_prefix(PREFIX_MEMBER)]
    members = []
    for member_id in ids:
        raw = overlay.get(member_key(member_id))
        if raw is None:
            raise CorruptStateError(f"member {member_id.hex()} is listed in the store but "
                                    "not in the state tree")
        members.append((member_id, Member.decode(raw)))
    for key, value in sorted(name_index(members).items()):
        overlay.set(key, value)
