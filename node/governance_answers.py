"""`GET /v1/governance`'s body, worked out again only for what may have changed.

With 32 open `revoke_credentials` proposals of 256 credentials each, working the answer
out (`node.governance_view.governance_json`) and encoding its 1.5 MB takes about 90 ms of
CPU (bench/governance_view.py), in the API's verification pool, whose threads hold the
GIL against the node's engine thread. Nearly all of it is the proposals': each revocation
proposal reads and checks its 256 credentials (`why_cannot_apply`). So the answer is kept
in pieces: the frame (policy, rules, voters, validator sets: small, worked out again
whenever anything changed) and one fragment a proposal considered (its JSON), each with the
state keys it read and their values' hashes. A block that touches none of them (an anchor)
costs the comparison of those hashes (`StateView.value_hash`: read from the tree, no
value read); a vote costs its proposal's fragment and the frame; a new proposal its own;
a vote approving a revocation its own and those of the open proposals naming a credential
it revoked.
The body is the frame's and the fragments' bytes joined as `json.dumps` joins them, so it
is the same bytes as the answer worked out in full.

A fragment, or the whole body, is used again for the next block when:

- every state key it read holds the same value (compared by hash). One family is not
  compared: the batches and revocations of an issuer retired by the next block (a cohort's
  8,192 of them cost about 35 ms to compare). A retired member signs nothing, so its
  batches (each made once, by its issuer) are never written again, and only a governance
  revocation can write its revocations, by the vote that approves it (or, with a threshold
  of one, its proposal): that proposal leaves `g:open`, or is new in `g:recent`. When either
  changed, the proposals that left `g:open` and those new in `g:recent` are read
  (`_written`), and the revocation keys each approved one wrote are the ones that changed in
  that family. A proposal that came and went unseen (the newest one `g:recent` held pushed
  out of it by MAX_RECENT_PROPOSALS newer ones since) cannot be told: then everything is
  worked out afresh;
- the next block's height is at least the one it was worked out for, and below the first at
  which it may be shown otherwise with no write at all (`governance_view.shown_until`,
  `rules_shown_until`): an expiry passed, an approved change in force, an issuer's
  retirement reached, a scheduled rules version in force. An answer asked for an older
  block is worked out in full.

The height of the head, the one member that changes every block, is sent apart from the
rest (`GovernanceAnswer.head`), so the rest is bytes objects (the frame's and the
fragments', never joined) that every connection sending it shares
(`node.answer_pieces.send_in_pieces`). What is kept (the fragments of the proposals
considered, at most MAX_KEPT_FRAGMENTS, and the keys each read: about the body's size)
lives in this process only: after a restart the first answer is worked out afresh. One
answer is worked out at a time: the requests that arrive together after a block wait for
the first one's. One whose view is older than what is kept (taken before a block another
request then worked the answer out for) takes a fresh view if its caller gives one (the
API does: answered as of that newer head, whose height the answer gives), rather than work
out its older block's answer (about 80 ms with the proposals above) under the lock others
wait on; without one it is worked out for its block, and never kept in the newer's place.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass

from ledger.errors import TxRejected
from ledger.governance import (
    MAX_OPEN_PROPOSALS,
    MAX_RECENT_PROPOSALS,
    OPEN_PROPOSALS_KEY,
    RECENT_PROPOSALS_KEY,
    Proposal,
    load_open_ids,
    load_policy,
    load_proposal,
    load_recent_ids,
    proposal_key,
    why_cannot_apply,
)
from ledger.governance_revocation import revoked_credentials
from ledger.identity import MEMBER_ID_BYTES
from ledger.payloads import RevokeCredentialAction, RevokeCredentialsAction
from ledger.records import PREFIX_BATCH, PREFIX_REVOCATION, Member, member_key, revocation_key
from ledger.rules import StateReader, load_member
from node import governance_view
from node.public_work import CommittedView
from storage.proofs import value_hash
from storage.state_tree import StateView

_SETTLED_PREFIXES = (PREFIX_REVOCATION, PREFIX_BATCH)
# The answer considers the recent proposals and the open ones older than those: one
# fragment each is kept, no more.
MAX_KEPT_FRAGMENTS = MAX_RECENT_PROPOSALS + MAX_OPEN_PROPOSALS


@dataclass(frozen=True)
class GovernanceAnswer:
    """The JSON body: `head` (its opening and the head's height), then the parts of
    `rest`, the same object for every block while what it shows holds (the frame, then each
    proposal's fragment: never joined, so a vote copies none of the others)."""

    head: bytes
    rest: tuple[bytes, ...]

    @property
    def size(self) -> int:
        return len(self.head) + sum(len(part) for part in self.rest)

    @property
    def parts(self) -> tuple[bytes, ...]:
        return self.head, *self.rest

    def body(self) -> bytes:
        return b"".join(self.parts)


@dataclass(frozen=True)
class _Check:
    """Why an open proposal's approving vote would be refused (`why_cannot_apply`: its
    code, message and parameters, or None), as of `first`; a vote changes the proposal,
    not this."""

    refusal: tuple[str, str, dict[str, str | int]] | None
    hashes: dict[bytes, bytes]
    settled: frozenset[bytes]
    first: int
    until: int | None  # the issuer's retirement, for a revocation refused before it

    def holds(self, next_height: int, changed: set[bytes], written: set[bytes]) -> bool:
        return (self.first <= next_height
                and (self.until is None or next_height < self.until)
                and changed.isdisjoint(self.hashes) and written.isdisjoint(self.settled))


@dataclass(frozen=True)
class _Fragment:
    """One proposal considered, as of `first`: its JSON after b", " (b"" if none is
    stored: the separator is carried with it, so the body needs no part of its own for
    one), and whether it is open (an older open one is listed only while it is)."""

    text: bytes
    open: bool
    hashes: dict[bytes, bytes]  # each key it rests on -> its value's hash (b"": none)
    settled: frozenset[bytes]  # the keys of the family not compared (see the module's doc)
    first: int  # the next block's height it was worked out for
    until: int | None  # the first next-block height it may not hold at, whatever is written
    check: _Check | None  # for an open proposal

    def holds(self, next_height: int, changed: set[bytes], written: set[bytes]) -> bool:
        return (self.first <= next_height
                and (self.until is None or next_height < self.until)
                and changed.isdisjoint(self.hashes) and written.isdisjoint(self.settled))


@dataclass
class _Kept:
    rest: tuple[bytes, ...]
    hashes: dict[bytes, bytes]  # every key the frame and the fragments rest on
    fragments: dict[bytes, _Fragment]  # by proposal id
    open_ids: list[bytes]  # `g:open` and `g:recent` as read
    recent_ids: list[bytes]
    first: int
    until: int | None
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


_kept: _Kept | None = None
_lock = threading.Lock()  # worked out on the API's pool threads
# One answer worked out at a time: the requests that arrive together after a block wait
# for the first one's, then send it, rather than each working the same out.
_work = threading.Lock()
# Counts, for tests and benchmarks: answers worked out with no fragment kept, and
# proposals' fragments worked out.
worked_out = 0
fragments_worked_out = 0


def governance_answer(state: StateReader, state_root: bytes, head_height: int,
                      renew: Callable[[], CommittedView] | None = None) -> GovernanceAnswer:
    """The answer as of the committed block `head_height` whose state root is
    `state_root`, `state` being that block's state; or, given `renew` (a fresh view of the
    same chain) and finding what is kept newer than `head_height`, as of the fresh view's
    block (see the module's doc)."""
    seen = (state_root, head_height)
    with _lock:
        kept = _kept
    if kept is None or kept.seen != seen:
        with _work:
            with _lock:
                kept = _kept
            if kept is not None and kept.seen[1] > head_height and renew is not None:
                with renew() as view:
                    return _answer(view.state, view.state.root, view.height, kept)
            return _answer(state, state_root, head_height, kept)
    return GovernanceAnswer(b'{"height": %d, ' % head_height, kept.rest)


def _answer(state: StateReader, state_root: bytes, head_height: int, kept: _Kept | None
            ) -> GovernanceAnswer:
    """The answer as of `head_height`, `kept` being what is kept (held under `_work`).
    What is worked out is kept unless it is for an older block than `kept` is: a request
    whose view is behind never takes the place of a newer answer."""
    global _kept
    seen = (state_root, head_height)
    if kept is None or kept.seen != seen:
        behind = kept is not None and head_height < kept.seen[1]
        found = _for(state, head_height, kept)
        if not behind:
            found.seen = seen
            with _lock:
                _kept = found
        kept = found
    return GovernanceAnswer(b'{"height": %d, ' % head_height, kept.rest)


def _for(state: StateReader, head_height: int, kept: _Kept | None) -> _Kept:
    """What is kept, found to hold for the block `head_height` or worked out for it."""
    if kept is None or head_height + 1 < kept.first:
        return _assemble(state, head_height, None, set())
    changed = {key for key, held in kept.hashes.items() if _value_hash(state, key) != held}
    if changed or (kept.until is not None and head_height + 1 >= kept.until):
        return _assemble(state, head_height, kept, changed)
    return kept


def forget() -> None:
    """Drop what is kept (tests)."""
    global _kept
    with _lock:
        _kept = None


def _assemble(state: StateReader, head_height: int, kept: _Kept | None, changed: set[bytes]
              ) -> _Kept:
    """The answer, from the fragments of `kept` that still hold (`changed`: the keys whose
    values changed since) and the others worked out afresh."""
    global worked_out
    next_height = head_height + 1
    reads = _Reads(state)
    frame = json.dumps(governance_view.frame_json(reads, head_height))
    recent, older = governance_view.considered_ids(reads)
    threshold = load_policy(reads).threshold
    loaded: dict[bytes, Proposal | None] = {}
    written: set[bytes] = set()
    if kept is not None and not changed.isdisjoint((OPEN_PROPOSALS_KEY, RECENT_PROPOSALS_KEY)):
        found = _written(reads, kept, loaded)
        if found is None:
            kept = None
        else:
            written = found
    if kept is None:
        worked_out += 1
    fragments: dict[bytes, _Fragment] = {}
    texts = [frame[1:-1].encode() + b', "proposals": [']
    hashes = _hashes(reads)
    untils = [governance_view.rules_shown_until(reads, next_height)]
    listing = [(pid, True) for pid in recent] + [(pid, False) for pid in older]
    for pid, recently in listing:
        fragment = kept.fragments.get(pid) if kept is not None else None
        if fragment is None or not fragment.holds(next_height, changed, written):
            check = fragment.check if fragment is not None else None
            fragment = _fragment(state, pid, loaded, next_height, threshold,
                                 check if check is not None
                                 and check.holds(next_height, changed, written) else None)
        if len(fragments) < MAX_KEPT_FRAGMENTS:  # one each: no more are considered
            fragments[pid] = fragment
        hashes.update(fragment.hashes)
        untils.append(fragment.until)
        if fragment.text and (recently or fragment.open):
            texts.append(fragment.text)
    if len(texts) > 1:
        texts[1] = texts[1][len(b", "):]  # the first has none (a copy of one fragment)
    texts.append(b"]}")
    return _Kept(tuple(texts), hashes, fragments, load_open_ids(reads), load_recent_ids(reads),
                 next_height, min((u for u in untils if u is not None), default=None),
                 (b"", -1))


def _written(reads: _Reads, kept: _Kept, loaded: dict[bytes, Proposal | None]
             ) -> set[bytes] | None:
    """The revocation keys written by governance since `kept` was worked out (see the
    module's doc), or None if that cannot be told."""
    recent = load_recent_ids(reads)
    if not kept.recent_ids:
        if len(recent) >= MAX_RECENT_PROPOSALS:
            return None
        new = recent
    elif kept.recent_ids[-1] in recent:
        new = recent[recent.index(kept.recent_ids[-1]) + 1:]
    else:
        return None
    still_open = set(load_open_ids(reads))
    written: set[bytes] = set()
    for pid in [pid for pid in kept.open_ids if pid not in still_open] + new:
        proposal = _load(reads, pid, loaded)
        if proposal is None or proposal.approved_height is None:
            continue
        action = proposal.action
        if isinstance(action, RevokeCredentialAction | RevokeCredentialsAction):
            written.update(revocation_key(action.issuer, ref.batch_root, ref.target_hash)
                           for ref in revoked_credentials(action))
    return written


def _load(state: StateReader, pid: bytes, loaded: dict[bytes, Proposal | None]
          ) -> Proposal | None:
    """The proposal, decoded once a request (up to 62 KiB)."""
    if pid not in loaded:
        loaded[pid] = load_proposal(state, pid)
    return loaded[pid]


def _fragment(state: StateReader, pid: bytes, loaded: dict[bytes, Proposal | None],
              next_height: int, threshold: int, check: _Check | None) -> _Fragment:
    """The proposal's fragment; `check` is its refusal kept from before, if it holds."""
    global fragments_worked_out
    fragments_worked_out += 1
    reads = _Reads(state)
    proposal = _load(reads, pid, loaded)
    reads.get(proposal_key(pid))  # noted even if decoded before, by another reader
    if proposal is None:
        return _Fragment(b"", False, _hashes(reads), frozenset(), next_height, None, None)
    load_policy(reads)  # the threshold, which the frame read too
    checked: list[_Check] = []

    def why(_: StateReader, proposal: Proposal, height: int) -> TxRejected | None:
        found = check if check is not None else _check(state, proposal, height)
        checked.append(found)
        return None if found.refusal is None else TxRejected(
            found.refusal[0], found.refusal[1], **found.refusal[2])

    text = json.dumps(governance_view.proposal_json(reads, proposal, next_height, threshold,
                                                    why))
    settled, hashes = _split(reads, next_height)
    kept = checked[0] if checked else None
    if kept is not None:
        settled = settled | kept.settled if settled else kept.settled  # one set, not two
        hashes.update(kept.hashes)
    return _Fragment(b", " + text.encode(), proposal.status(next_height) == "open", hashes,
                     settled, next_height,
                     governance_view.shown_until(reads, proposal, next_height), kept)


def _check(state: StateReader, proposal: Proposal, next_height: int) -> _Check:
    reads = _Reads(state)
    refusal = why_cannot_apply(reads, proposal, next_height)
    settled, hashes = _split(reads, next_height)
    retired = None
    if isinstance(proposal.action, RevokeCredentialAction | RevokeCredentialsAction):
        issuer = load_member(reads, proposal.action.issuer)
        retired = issuer.retired_height if issuer is not None else None
    return _Check(None if refusal is None else (refusal.code, refusal.message,
                                                dict(refusal.params)),
                  hashes, settled, next_height,
                  retired if retired is not None and retired > next_height else None)


def _split(reads: _Reads, next_height: int) -> tuple[frozenset[bytes], dict[bytes, bytes]]:
    """The keys read of the family not compared, and the hashes of the others."""
    retired: dict[bytes, bool] = {}
    settled = frozenset(key for key in reads.values
                        if _settled(key, reads, next_height, retired))
    return settled, {key: hash_ for key, hash_ in _hashes(reads).items()
                     if key not in settled}


def _hashes(reads: _Reads) -> dict[bytes, bytes]:
    return {key: value_hash(value) if value is not None else b""
            for key, value in reads.values.items()}


def _settled(key: bytes, reads: _Reads, next_height: int, retired: dict[bytes, bool]) -> bool:
    """Whether `key` is a batch or revocation of an issuer retired by the next block,
    whose record the fragment read (see the module's doc)."""
    if not key.startswith(_SETTLED_PREFIXES):
        return False
    prefix = PREFIX_BATCH if key.startswith(PREFIX_BATCH) else PREFIX_REVOCATION
    issuer = key[len(prefix):len(prefix) + MEMBER_ID_BYTES]
    if issuer not in retired:
        raw = reads.values.get(member_key(issuer))
        height = Member.decode(raw).retired_height if raw is not None else None
        retired[issuer] = height is not None and height <= next_height
    return retired[issuer]


def _value_hash(state: StateReader, key: bytes) -> bytes:
    if isinstance(state, StateView):
        return state.value_hash(key)
    value = state.get(key)
    return value_hash(value) if value is not None else b""
