"""One member a name, as read (rules version 14). Pure rules over the state.

A verdict says "issued by KazNU" from the issuer's member record. Before version 14 the
ledger took any name for a new member: a ministry signing its own `add_member`, or a
governance vote, admitted a second "KazNU", or "KаzNU" with a Cyrillic "а", and what that
member issued was said to be KazNU's. `senim add-member` refused such a name, but a
ministry need not use it. From `MEMBER_NAMES_UNIQUE_FROM` the ledger refuses every
admission whose name reads (`ledger.member_names_read.as_read`) as a member's, retired
members' included: their credentials stay genuine, and verdicts still name them.

The member table has no size limit, so the check reads one key, not every member: the
index `n:` + a tagged SHA-256 of the name as read -> the id of the member holding it,
written by every admission under the version. A chain whose genesis states the version
holds it from genesis (`Genesis.initial_state`, and `ledger.genesis` refuses two members
of one name read so). A chain that reaches the version by governance's
`set_rules_version` holds members admitted before it with no index: the first block under
the version writes it for all of them before its transactions (`index_at_upgrade`, once
per chain: a read of the member table). Twins admitted before the version stay (they are
history); the index names the one admitted first (the lowest `added_height`, and of
those the lowest member id), and refuses a third.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from ledger.codec import tagged_hash
from ledger.errors import TxRejected
from ledger.identity import MemberId
from ledger.member_names_read import as_read
from ledger.records import PREFIX_MEMBER, Member, member_key
from ledger.rules_version import MEMBER_NAMES_UNIQUE_FROM, rules_version_at
from storage.state_tree import StateOverlay, StateTree

PREFIX_MEMBER_NAME = b"n:"
MEMBER_NAME_TAG = b"senim/member-name/v1"


class StateReader(Protocol):
    def get(self, key: bytes) -> bytes | None: ...


class StateWriter(StateReader, Protocol):
    def set(self, key: bytes, value: bytes) -> None: ...


def member_name_key(name: str) -> bytes:
    # surrogatepass: a name is valid text wherever it comes from, but a key must never raise
    read = as_read(name).encode("utf-8", "surrogatepass")
    return PREFIX_MEMBER_NAME + tagged_hash(MEMBER_NAME_TAG, read)


def name_holder(state: StateReader, name: str) -> MemberId | None:
    """The member whose name reads as `name`, as the index holds it."""
    raw = state.get(member_name_key(name))
    return MemberId(raw) if raw is not None else None


def check_name_free(state: StateReader, name: str, rules_version: int) -> None:
    """From MEMBER_NAMES_UNIQUE_FROM, refuse a new member named as a member is, as read."""
    if rules_version < MEMBER_NAMES_UNIQUE_FROM:
        return
    holder = name_holder(state, name)
    if holder is None:
        return
    raw = state.get(member_key(holder))
    held = Member.decode(raw).name if raw is not None else holder.hex()
    raise TxRejected("member_name_taken", f"the name {name!r} reads as the name of member "
                     f"{held} ({holder.hex()}): a verifier could not tell the two apart; "
                     "give the new member a name of its own", name=name, member=held,
                     member_id=holder.hex())


def record_name(state: StateWriter, name: str, member_id: MemberId, rules_version: int
                ) -> None:
    """An admission's entry in the index, from MEMBER_NAMES_UNIQUE_FROM (before it none, so
    that the state roots of blocks under earlier versions stay what they were)."""
    if rules_version >= MEMBER_NAMES_UNIQUE_FROM:
        state.set(member_name_key(name), member_id)


def name_index(members: Iterable[tuple[MemberId, Member]]) -> dict[bytes, bytes]:
    """The index of these members: each name as read held by the one admitted first, and
    of those admitted at one height by the lowest id."""
    first: dict[bytes, tuple[int, MemberId]] = {}
    for member_id, member in members:
        key = member_name_key(member.name)
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
    Each member is read through `overlay`, so checked against the state root."""
    if (rules_version < MEMBER_NAMES_UNIQUE_FROM
            or rules_version_at(committed, height - 1) >= MEMBER_NAMES_UNIQUE_FROM):
        return
    assert overlay.keys_changed() == 0, "the first block under a version starts its overlay"
    ids = [MemberId(key[len(PREFIX_MEMBER):])
           for key, _ in committed.items_with_prefix(PREFIX_MEMBER)]
    members = []
    for member_id in ids:
        raw = overlay.get(member_key(member_id))
        if raw is not None:  # else damage, which the block's root reports
            members.append((member_id, Member.decode(raw)))
    for key, value in sorted(name_index(members).items()):
        overlay.set(key, value)
