"""Key rotation and stolen-key reports: which key a member signed with at which height.

A member's id is derived from its first key and stays its id for good. A rotation
(a `rotate_key` transaction signed by the current key, or, for a member that lost its
key or had it stolen, governance's `replace_key`) puts a new key in the member
record and closes the old key's period in the member's key history. Nothing signed
earlier loses its meaning: a
batch record names the key that signed it, and a credential is judged against
that key's period.

A stolen key is reported by the member with its new key (`report_compromise`),
naming the first height from which the old key's signatures are not trusted (at
most the height of the rotation away from it; earlier if the theft was earlier).
Later reports only move that height earlier. Governance's `replace_key` may name such a
height too: every key of the member that could still sign at it is distrusted from it
exactly, whatever was reported of that key before (a thief's report included).

Layout, under the state root (so a Merkle proof shows which key a member used
when):
- `k:` + member id -> the key history, stored from the member's first rotation on;
  before that the history is implied by the member record (one open period);
- `o:` + public key -> the member that took the key on by rotation, so no key is
  ever held by two members (a first key is found through the id derived from it).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from ledger.codec import decode, encode
from ledger.errors import MalformedInput, TxRejected
from ledger.identity import KeyPair, MemberId, member_id_of, signing_bytes, verify_signature
from ledger.payloads import ReportCompromisePayload, RotateKeyPayload
from ledger.records import Member, member_key
from ledger.validator_sets import (
    MAX_VALIDATOR_SET_CHANGES,
    StateReader,
    StateWriter,
    ValidatorSetRecord,
    set_change_heights,
    validator_set_at,
    write_validator_set,
)

PREFIX_KEY_HISTORY = b"k:"
PREFIX_KEY_OWNER = b"o:"
# Periods kept per member; a member rotating more often than this is misusing rotation.
MAX_KEY_PERIODS = 64
# A validator's new key certifies blocks from this many blocks after its rotation on:
# the set of the next block was fixed when that block was proposed.
VALIDATOR_KEY_CHANGE_DELAY_BLOCKS = 2
POSSESSION_DOMAIN = b"key-possession"
# A replacement's proof signs under a domain of its own: one a rotation could carry let a
# thief holding the current key copy it out of the open proposal and rotate the member
# onto the requested key first, so that the vote was refused and nothing distrusted.
REPLACEMENT_DOMAIN = b"key-replacement"
# From rules version 7 (`KEY_REPLACEMENT_FROM`) a member's own rotations stop this many
# keys short of MAX_KEY_PERIODS: kept for governance's replacements, which a thief
# rotating the member again and again could otherwise use up for good.
PERIODS_KEPT_FOR_GOVERNANCE = 8
# From rules version 8 (`REPORTS_UNDONE_FROM`) each report of a stolen key is kept with the
# height it was made at, so that a replacement can undo those made with a key it
# distrusts (a thief holding the current key reported an older, honest key stolen from
# block 1, and every grant and batch of that key stayed doubted for good). Reports only
# move a key's height earlier; past this many the member asks governance instead.
MAX_REPORTS_PER_KEY = 8


def key_history_key(member: bytes) -> bytes:
    return PREFIX_KEY_HISTORY + member


def key_owner_key(public_key: bytes) -> bytes:
    return PREFIX_KEY_OWNER + public_key


@dataclass(frozen=True)
class KeyPeriod:
    """One key of a member: it may sign in blocks `from_height` to `until_height`
    (inclusive: the block that rotated away from it holds transactions signed before
    the rotation), or for good when `until_height` is None (the current key). Its
    signatures at or after `compromised_from` are not trusted. `reports` (from rules
    version 8): what set it, as (height reported at, height distrusted from); one reported
    at 0 stands for what was set otherwise (before version 8, or by a replacement) and is
    never undone."""

    public_key: bytes
    from_height: int
    until_height: int | None
    compromised_from: int | None = None
    reports: tuple[tuple[int, int], ...] = ()

    def to_array(self) -> list[Any]:
        fields = [self.public_key, self.from_height, self.until_height, self.compromised_from]
        if self.reports:  # a period with none encodes as before version 8
            fields.append([list(report) for report in self.reports])
        return fields

    @classmethod
    def from_array(cls, value: Any) -> KeyPeriod:
        if not isinstance(value, list) or len(value) not in (4, 5):
            raise MalformedInput("stored key period has the wrong shape")
        public_key, from_height, until_height, compromised_from = value[:4]
        reports = value[4] if len(value) == 5 else []
        if (not isinstance(public_key, bytes) or len(public_key) != 32
                or not isinstance(from_height, int)
                or not (until_height is None or isinstance(until_height, int))
                or not (compromised_from is None or isinstance(compromised_from, int))
                or not isinstance(reports, list) or len(reports) > MAX_REPORTS_PER_KEY
                or not all(isinstance(r, list) and len(r) == 2
                           and all(isinstance(h, int) for h in r) for r in reports)):
            raise MalformedInput("stored key period is malformed")
        return cls(public_key, from_height, until_height, compromised_from,
                   tuple((r[0], r[1]) for r in reports))

    def reported(self, reported_at: int, from_height: int) -> KeyPeriod:
        """This period distrusted from `from_height` by a report made at `reported_at`,
        kept with those before it. TxRejected past MAX_REPORTS_PER_KEY."""
        earlier = self.reports or (
            ((0, self.compromised_from),) if self.compromised_from is not None else ())
        if len(earlier) >= MAX_REPORTS_PER_KEY:
            raise TxRejected("too_many_reports", f"this key was reported "
                             f"{MAX_REPORTS_PER_KEY} times: ask the ministries to replace "
                             "the member's key instead", limit=MAX_REPORTS_PER_KEY)
        return replace(self, compromised_from=from_height,
                       reports=(*earlier, (reported_at, from_height)))

    def without_reports_from(self, height: int) -> KeyPeriod:
        """This period with the reports made at `height` or later undone (signed with a
        key a replacement distrusts from `height`); what was reported before stands."""
        if not self.reports:
            return self
        kept = tuple(r for r in self.reports if r[0] < height)
        return replace(self, compromised_from=min((r[1] for r in kept), default=None),
                       reports=kept)

    def trusted_at(self, height: int) -> bool:
        return self.compromised_from is None or height < self.compromised_from


@dataclass(frozen=True)
class KeyHistory:
    """A member's keys, oldest first; the last is the current one."""

    periods: tuple[KeyPeriod, ...]

    @property
    def current(self) -> KeyPeriod:
        return self.periods[-1]

    def period_of(self, public_key: bytes) -> KeyPeriod | None:
        return next((p for p in self.periods if p.public_key == public_key), None)

    def signer_of(self, signer_key: bytes | None) -> KeyPeriod | None:
        """The period of the key a batch names; a batch recorded before keys could rotate
        names none and was signed with the first key."""
        return self.periods[0] if signer_key is None else self.period_of(signer_key)

    def encode(self) -> bytes:
        return encode([p.to_array() for p in self.periods])

    @classmethod
    def decode(cls, data: bytes) -> KeyHistory:
        value = decode(data)
        if not isinstance(value, list) or not 0 < len(value) <= MAX_KEY_PERIODS:
            raise MalformedInput("stored key history has the wrong shape")
        return cls(tuple(KeyPeriod.from_array(item) for item in value))


def load_key_history(state: StateReader, member: bytes) -> KeyHistory | None:
    """The stored history (None for a member that never rotated)."""
    data = state.get(key_history_key(member))
    return KeyHistory.decode(data) if data is not None else None


def key_history_of(state: StateReader, member_id: bytes, member: Member) -> KeyHistory:
    """The member's key history, stored or (never rotated) implied by its record."""
    if member.key_rotated_height is None:
        return KeyHistory((KeyPeriod(member.public_key, member.added_height, None),))
    stored = load_key_history(state, member_id)
    if stored is None or stored.current.public_key != member.public_key:
        raise MalformedInput("the member's key history does not match its record")
    return stored


def key_holder(state: StateReader, public_key: bytes) -> MemberId | None:
    """The member that holds or held `public_key` (as its first key or by rotation)."""
    derived = member_id_of(public_key)
    if state.get(member_key(derived)) is not None:
        return derived
    owner = state.get(key_owner_key(public_key))
    return MemberId(owner) if owner is not None else None


def validator_member(state: StateReader, public_key: bytes) -> MemberId:
    """The member a validator-set key belongs to. A record names each validator by the id
    its key derives (`ValidatorKey.member_id`, what consensus orders by), which after a
    rotation is no member's id: callers that name or match members ask this instead."""
    return key_holder(state, public_key) or member_id_of(public_key)


def possession_message(chain_id: str, member: bytes, new_public_key: bytes) -> bytes:
    """What the new key signs to show its holder takes it on for `member` on this chain."""
    return signing_bytes(POSSESSION_DOMAIN, chain_id, encode([member, new_public_key]))


def prove_possession(new_keys: KeyPair, chain_id: str, member: bytes) -> bytes:
    return new_keys.sign_raw(possession_message(chain_id, member, new_keys.public_key))


def replacement_message(chain_id: str, member: bytes, new_public_key: bytes) -> bytes:
    """What a replacement's new key signs (governance's `replace_key`): as a rotation's
    proof, under another domain, so neither serves as the other."""
    return signing_bytes(REPLACEMENT_DOMAIN, chain_id, encode([member, new_public_key]))


def prove_replacement(new_keys: KeyPair, chain_id: str, member: bytes) -> bytes:
    return new_keys.sign_raw(replacement_message(chain_id, member, new_keys.public_key))


def _load_member(state: StateReader, member_id: bytes) -> Member:
    data = state.get(member_key(member_id))
    if data is None:
        raise TxRejected("unknown_member", f"{member_id.hex()} is not a consortium member",
                         member_id=member_id.hex())
    return Member.decode(data)


def _validator_sets_after_rotation(state: StateReader, old_key: bytes, new_key: bytes,
                                   height: int) -> list[ValidatorSetRecord]:
    """The set records to write so `new_key` certifies in place of `old_key` from
    VALIDATOR_KEY_CHANGE_DELAY_BLOCKS after `height`, in every set from then on."""
    heights = set_change_heights(state)
    if not heights:
        return []
    effective = height + VALIDATOR_KEY_CHANGE_DELAY_BLOCKS

    def swapped(record: ValidatorSetRecord, from_height: int) -> ValidatorSetRecord:
        keys = [new_key if k == old_key else k for k in record.public_keys]
        return ValidatorSetRecord.of(from_height, keys)

    records = []
    in_force = validator_set_at(state, effective)
    if old_key in in_force.public_keys:
        records.append(swapped(in_force, effective))
    for later in heights:
        if later > effective:
            record = validator_set_at(state, later)
            if old_key in record.public_keys:
                records.append(swapped(record, later))
    new_heights = {r.from_height for r in records} - set(heights)
    if len(heights) + len(new_heights) > MAX_VALIDATOR_SET_CHANGES:
        raise TxRejected("too_many_set_changes", "the validator set has changed too many "
                         "times to schedule this key change")
    return records


def _checked_rotation(state: StateReader, member_id: MemberId, new_public_key: bytes,
                      height: int, periods_max: int = MAX_KEY_PERIODS
                      ) -> tuple[Member, KeyHistory, list[ValidatorSetRecord]]:
    """What rotating the member onto `new_public_key` in block `height` writes from, or
    TxRejected: a key serves one member, once, and a member has at most `periods_max`."""
    member = _load_member(state, member_id)
    holder = key_holder(state, new_public_key)
    if holder is not None:
        whose = "yours" if holder == member_id else f"member {holder.hex()}'s"
        raise TxRejected("key_in_use", f"the new key is already {whose}: a key serves one "
                         "member, once")
    history = key_history_of(state, member_id, member)
    if len(history.periods) >= periods_max:
        raise TxRejected("too_many_rotations", f"the member has had {periods_max} keys",
                         limit=periods_max)
    validator_sets = _validator_sets_after_rotation(state, member.public_key, new_public_key,
                                                    height)
    return member, history, validator_sets


def rotate_member_key(state: StateWriter, member_id: MemberId, new_public_key: bytes,
                      height: int, periods_max: int = MAX_KEY_PERIODS) -> None:
    """Make `new_public_key` the member's key in the block at `height`, keeping its id.

    For the `rotate_key` rule and governance's `replace_key`. Checks everything, then
    writes; raises TxRejected having written nothing."""
    member, history, validator_sets = _checked_rotation(state, member_id, new_public_key,
                                                        height, periods_max)
    closed = replace(history.current, until_height=height)
    periods = (*history.periods[:-1], closed, KeyPeriod(new_public_key, height, None))
    state.set(key_history_key(member_id), KeyHistory(periods).encode())
    state.set(key_owner_key(new_public_key), member_id)
    state.set(member_key(member_id), replace(member, public_key=new_public_key,
                                             key_rotated_height=height).encode())
    for record in validator_sets:
        write_validator_set(state, record)


def check_key_replacement(state: StateReader, member_id: MemberId, new_public_key: bytes,
                          compromised_from: int | None, height: int) -> None:
    """Whether governance may replace the member's key in block `height` (read only):
    as a rotation may, and a height to distrust its earlier keys from that this block
    has reached (a later one would leave the thief the blocks before it)."""
    _checked_rotation(state, member_id, new_public_key, height)
    if compromised_from is not None and compromised_from > height:
        raise TxRejected("compromise_after_now", f"the keys can be distrusted from a height "
                         f"between 1 and this block's, {height}", height=height)


def replace_member_key(state: StateWriter, member_id: MemberId, new_public_key: bytes,
                       compromised_from: int | None, height: int,
                       undo_reports: bool = False) -> None:
    """Governance's `replace_key`, in block `height`: the member's key becomes
    `new_public_key`, and with `compromised_from` every earlier key of the member that
    could still sign at that height (the one replaced now, and any a thief rotated the
    member onto meanwhile) is distrusted from there: from that height exactly, whatever
    was reported of it before (a thief holding the current key could report an honest
    key stolen from block 1, and a member's report only moves earlier). With
    `undo_reports` (rules version 8), the reports made from that height on, on the keys
    before it, are undone: they were signed with a key distrusted from there."""
    rotate_member_key(state, member_id, new_public_key, height)
    if compromised_from is None:
        return
    history = key_history_of(state, member_id, _load_member(state, member_id))
    periods = tuple(
        replace(p, compromised_from=compromised_from, reports=())
        if p.until_height is not None and p.until_height >= compromised_from
        else p.without_reports_from(compromised_from) if undo_reports else p
        for p in history.periods)
    state.set(key_history_key(member_id), KeyHistory(periods).encode())


def set_compromised_from(state: StateWriter, member_id: MemberId, public_key: bytes,
                         from_height: int | None, reported_at: int | None = None) -> None:
    """Distrust the signatures of the member's earlier key `public_key` from `from_height`
    on (None: trust them again). For `report_compromise`, which only moves it earlier;
    `reported_at`: the report's height, kept with it (rules version 8). The key must no
    longer be the member's current one."""
    member = _load_member(state, member_id)
    history = key_history_of(state, member_id, member)
    period = history.period_of(public_key)
    if period is None:
        raise TxRejected("unknown_key", "the member never held this key")
    if period.until_height is None:
        raise TxRejected("key_in_use", "this is the member's current key: rotate away from "
                         "it first, then report it")
    if from_height is not None and not 1 <= from_height <= period.until_height:
        raise TxRejected("after_rotation", f"the key was replaced at height "
                         f"{period.until_height}: its signatures can be distrusted from a "
                         f"height between 1 and {period.until_height}",
                         height=period.until_height)
    marked = (period.reported(reported_at, from_height)
              if reported_at is not None and from_height is not None
              else replace(period, compromised_from=from_height))
    periods = tuple(marked if p is period else p for p in history.periods)
    state.set(key_history_key(member_id), KeyHistory(periods).encode())


def apply_rotate_key(state: StateWriter, payload: RotateKeyPayload, sender: MemberId,
                     chain_id: str, height: int, periods_max: int = MAX_KEY_PERIODS) -> None:
    """The `rotate_key` rule (the envelope already checked the current key's signature);
    `periods_max`: the keys a member may have by its own rotations under the block's
    rules version."""
    message = possession_message(chain_id, sender, payload.new_public_key)
    if not verify_signature(payload.new_public_key, message, payload.possession_proof):
        raise TxRejected("bad_possession_proof", "the proof of possession is not the new "
                         "key's signature over this chain, member and key")
    rotate_member_key(state, sender, payload.new_public_key, height, periods_max)


def apply_report_compromise(state: StateWriter, payload: ReportCompromisePayload,
                            sender: MemberId, height: int, keep_reports: bool) -> None:
    """The `report_compromise` rule, in block `height`: only ever moves the height earlier
    (no transaction moves it later); `keep_reports` from rules version 8."""
    member = _load_member(state, sender)
    period = key_history_of(state, sender, member).period_of(payload.public_key)
    if period is not None and period.compromised_from is not None \
            and payload.from_height >= period.compromised_from:
        raise TxRejected("already_reported", f"the key is already distrusted from height "
                         f"{period.compromised_from}", height=period.compromised_from)
    set_compromised_from(state, sender, payload.public_key, payload.from_height,
                         height if keep_reports else None)
