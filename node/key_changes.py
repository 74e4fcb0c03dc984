"""How a key became its member's key: by the member's own rotation, or by the ministries'
replacement (`replace_key`), as the API says beside each set validator (`GET
/v1/governance`) and each member (`GET /v1/members`) as `key_change`, and as a node signing
with the old key logs it (`node.engine_sets`).

A validator-set record holds keys only, and a replacement writes the same set records, key
history and key owner as a rotation (`key_events.rotate_member_key`): `senim governance
list` said every key change as a "key rotation", a replacement by the ministries of a key a
thief held included. What tells them apart is governance's: from rules version 8 each
approved replacement records its height (`g:replaced:` + member id, the last one only), and
the recent proposals (at most MAX_RECENT_PROPOSALS) show the approved ones with the key
they gave and the height they distrusted the earlier keys from. A key change no record
left says is "unknown": one that might be a replacement approved under version 7, or one
followed by a later replacement of the same member, once that proposal could have left the
recent list.
"""

from __future__ import annotations

from ledger.governance import (
    MAX_RECENT_PROPOSALS,
    last_replaced_height,
    load_proposal,
    load_recent_ids,
)
from ledger.identity import MemberId
from ledger.key_events import key_history_of
from ledger.payloads import ReplaceKeyAction
from ledger.rules import StateReader, load_member
from ledger.rules_version import KEY_REPLACEMENT_FROM, REPLACED_SINCE_REFUSED_FROM, rules_version_at

ROTATION, REPLACEMENT, UNKNOWN = "rotation", "replacement", "unknown"

KeyChange = dict[str, int | str | None]


def key_change(state: StateReader, member_id: MemberId, public_key: bytes
               ) -> KeyChange | None:
    """How `public_key` became the member's key: None for its first key (or a key the
    member never held); else `height` (the block that changed it), `by` (ROTATION,
    REPLACEMENT or UNKNOWN) and, for a replacement whose proposal is still listed,
    `distrusted_from` (the height from which it distrusted the earlier keys, None when it
    distrusted none) and `proposal_id`."""
    member = load_member(state, member_id)
    if member is None:
        return None
    periods = key_history_of(state, member_id, member).periods
    index = next((i for i, p in enumerate(periods) if p.public_key == public_key), 0)
    if index == 0:
        return None
    height = periods[index].from_height
    said: KeyChange = {"height": height, "by": UNKNOWN, "distrusted_from": None,
                       "proposal_id": None}
    version, last = rules_version_at(state, height), last_replaced_height(state, member_id)
    if version < KEY_REPLACEMENT_FROM or (version >= REPLACED_SINCE_REFUSED_FROM
                                          and (last is None or last < height)):
        # no replacement existed then; or every one since version 8 is recorded, and the
        # last one recorded came before this change: the recent proposals need no reading
        said["by"] = ROTATION
        return said
    recent = load_recent_ids(state)
    found = _approved_replacement(state, recent, member_id, public_key, height)
    if found is not None:
        said.update(by=REPLACEMENT, distrusted_from=found[0], proposal_id=found[1])
    elif last == height:
        said["by"] = REPLACEMENT  # its proposal is no longer listed
    elif len(recent) < MAX_RECENT_PROPOSALS:
        said["by"] = ROTATION  # no proposal ever left the list: none replaced it then
    return said


def _approved_replacement(state: StateReader, recent: list[bytes], member_id: MemberId,
                          public_key: bytes, height: int) -> tuple[int | None, str] | None:
    """The replacement among the `recent` proposals that gave the member `public_key` at
    `height`: the height it distrusted the earlier keys from, and its proposal id."""
    for proposal_id in recent:
        proposal = load_proposal(state, proposal_id)
        if (proposal is not None and isinstance(proposal.action, ReplaceKeyAction)
                and proposal.action.member == member_id
                and proposal.action.new_public_key == public_key
                and proposal.approved_height == height):
            return proposal.action.compromised_from, proposal_id.hex()
    return None
