"""`GET /v1/governance`'s body, worked out again only when what it shows may have changed.

With 32 open `revoke_credentials` proposals of 256 credentials each, working the answer
out (`node.governance_view.governance_json`: every audit path checked again) and encoding
its 1.5 MB took about 110 ms of CPU (bench/governance_view.py), and it was done again for
every block, in the API's verification pool, even for a block that changed nothing it
shows. So what it read is kept with it, and a later block's answer is the same bytes when:

- every state key it read holds the same value (compared by the hash the snapshot's tree
  holds, `StateView.value_hash`: no value read). One family is not compared: the batches
  and revocations of an issuer retired by the next block (a cohort's 8,192 of them cost
 about 35 ms to compare). A retired member signs nothing, so only a governance revocation can
  write there, and its approving vote changes `g:open` (its proposal leaves it) or, with a
  threshold of one, its proposal changes `g:recent` (a new id): both are compared, and
  neither holds again a value it held once;
- the next block's height is below the first height at which the answer's statuses or
  rules version change with no write at all (`_changes_at`): an expiry passed, an approved
  change in force, an issuer's retirement reached, a scheduled rules version in force.

The height of the head, the one member that changes every block, is sent apart from the
rest (`GovernanceAnswer.head`), so the rest is one bytes object that every connection
sending it shares (`node.answer_pieces.send_in_pieces`). What is kept lives in this
process only: after a restart the first answer is worked out afresh.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any

from ledger.identity import MEMBER_ID_BYTES
from ledger.payloads import ACTION_REVOKE_CREDENTIAL, ACTION_REVOKE_CREDENTIALS
from ledger.records import PREFIX_BATCH, PREFIX_REVOCATION, Member, member_key
from ledger.rules import StateReader, load_member
from node import governance_view
from storage.proofs import value_hash
from storage.state_tree import StateView

_REVOCATIONS = (ACTION_REVOKE_CREDENTIAL, ACTION_REVOKE_CREDENTIALS)
_SETTLED_PREFIXES = (PREFIX_REVOCATION, PREFIX_BATCH)


@dataclass(frozen=True)
class GovernanceAnswer:
    """The JSON body: `head` (its opening and the head's height), then `rest`, the same
    object for every block while what it shows holds."""

    head: bytes
    rest: bytes

    @property
    def size(self) -> int:
        return len(self.head) + len(self.rest)

    @property
    def parts(self) -> tuple[bytes, bytes]:
        return self.head, self.rest

    def body(self) -> bytes:
        return self.head + self.rest


@dataclass
class _Worked:
    rest: bytes
    hashes: dict[bytes, bytes]  # each key it rests on -> its value's hash (b"": none)
    first: int  # the next block's height it was worked out for
    until: int | None  # the first next-block height it may not hold at, whatever is written
    seen: tuple[bytes, int]  # the last (state root, head height) it was found to hold for


class _Reads:
    """A state reader noting each key read and its value."""

    def __init__(self, state: StateReader) -> None:
        self._state = state
        self.values: dict[bytes, bytes | None] = {}

    def get(self, key: bytes) -> bytes | None:
        if key in self.values:
            return self.values[key]
        value = self.values[key] = self._state.get(key)
        return value


_worked: _Worked | None = None
_lock = threading.Lock()  # worked out on the API's pool threads
# Counts answers worked out in full, for tests and benchmarks.
worked_out = 0


def governance_answer(state: StateReader, state_root: bytes, head_height: int
                      ) -> GovernanceAnswer:
    """The answer as of the committed block `head_height` whose state root is
    `state_root`, `state` being that block's state."""
    global _worked
    with _lock:
        worked = _worked
    if worked is None or not _holds(worked, state, state_root, head_height):
        worked = _work_out(state, state_root, head_height)
        with _lock:
            _worked = worked
    return GovernanceAnswer(b'{"height": %d, ' % head_height, worked.rest)


def forget() -> None:
    """Drop what is kept (tests)."""
    global _worked
    with _lock:
        _worked = None


def _holds(worked: _Worked, state: StateReader, state_root: bytes, head_height: int) -> bool:
    if worked.seen == (state_root, head_height):
        return True
    next_height = head_height + 1
    if next_height < worked.first or (worked.until is not None and next_height >= worked.until):
        return False
    if any(_value_hash(state, key) != held for key, held in worked.hashes.items()):
        return False
    worked.seen = (state_root, head_height)
    return True


def _work_out(state: StateReader, state_root: bytes, head_height: int) -> _Worked:
    global worked_out
    reads = _Reads(state)
    answer = governance_view.governance_json(reads, head_height)
    rest = json.dumps({name: value for name, value in answer.items() if name != "height"})
    next_height = head_height + 1
    retired: dict[bytes, bool] = {}
    hashes = {key: value_hash(value) if value is not None else b""
              for key, value in reads.values.items()
              if not _settled(key, reads, next_height, retired)}
    worked_out += 1
    return _Worked(rest[1:].encode(), hashes, next_height,
                   _changes_at(answer, reads, next_height), (state_root, head_height))


def _settled(key: bytes, reads: _Reads, next_height: int, retired: dict[bytes, bool]) -> bool:
    """Whether `key` is a batch or revocation of an issuer retired by the next block,
    whose record the answer read (see the module's doc)."""
    if not key.startswith(_SETTLED_PREFIXES):
        return False
    prefix = PREFIX_BATCH if key.startswith(PREFIX_BATCH) else PREFIX_REVOCATION
    issuer = key[len(prefix):len(prefix) + MEMBER_ID_BYTES]
    if issuer not in retired:
        raw = reads.values.get(member_key(issuer))
        height = Member.decode(raw).retired_height if raw is not None else None
        retired[issuer] = height is not None and height <= next_height
    return retired[issuer]


def _changes_at(answer: dict[str, Any], state: StateReader, next_height: int) -> int | None:
    """The first next-block height above `next_height` at which the same state may be
    shown otherwise. The answer's members that follow the height (`governance_view`:
    `Proposal.status`, `why_cannot_apply`, `rules_json`, and which older open proposals
    are listed) change only there: an open proposal expires after its expiry height; an
    approved one is in force from its effective height; revoking a retired issuer's
    credentials is refused until its retirement height; a scheduled rules version is in
    force from its height (`scheduled` lists every one still to come)."""
    heights = [change["from_height"] for change in answer["rules"]["scheduled"]]
    for proposal in answer["proposals"]:
        if proposal["approved_height"] is None:
            heights.append(proposal["expiry_height"] + 1)
            if proposal["action"] in _REVOCATIONS:
                issuer = load_member(state, bytes.fromhex(proposal["member_id"]))
                if issuer is not None and issuer.retired_height is not None:
                    heights.append(issuer.retired_height)
        elif proposal["status"] == "approved":
            heights.append(proposal["effective_height"])
    return min((height for height in heights if height > next_height), default=None)


def _value_hash(state: StateReader, key: bytes) -> bytes:
    if isinstance(state, StateView):
        return state.value_hash(key)
    value = state.get(key)
    return value_hash(value) if value is not None else b""
