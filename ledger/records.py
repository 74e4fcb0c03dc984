"""What the ledger state holds, its keys, and the canonical encoding of each record.

Keys are short prefixes plus fixed-size ids. Values are msgpack arrays. Only
ids, hashes, roots, heights, times and statuses are stored: never a field value
of a credential.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from ledger.codec import decode, encode
from ledger.errors import MalformedInput
from ledger.identity import MEMBER_ID_BYTES, MemberId
from ledger.payloads import SUSPENSION_REASONS

PREFIX_MEMBER = b"m:"
PREFIX_ACCREDITATION = b"a:"
PREFIX_BATCH = b"b:"
PREFIX_REVOCATION = b"r:"
PREFIX_ANCHOR = b"d:"
PREFIX_EMPLOYMENT_END = b"e:"
MAX_GRANTS_PER_ISSUER = 64


# The calendar's ends, in ms: a payload's time is any 64-bit count a signer chose
CALENDAR_FIRST_MS = -62_135_596_800_000  # 0001-01-01T00:00:00Z
CALENDAR_LAST_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z


def utc_time(time_ms: int) -> datetime:
    """`time_ms` as a UTC datetime, held to the calendar's ends: a time past them (an
    accreditation a ministry signed to end in year 146,140,482) raised ValueError from
    the ledger's rules while they worded a refusal, and stopped every validator."""
    return datetime.fromtimestamp(min(max(time_ms, CALENDAR_FIRST_MS), CALENDAR_LAST_MS)
                                  / 1000, tz=UTC)


def day(time_ms: int) -> str:
    """The UTC calendar day of a block time, as accreditation periods are given.
    (isoformat, not strftime: that wrote year 1 as "1".)"""
    return utc_time(time_ms).date().isoformat()


def grant_time(time_ms: int) -> str:
    """An accreditation's start or end as the members list says it ("2026-09-01 00:00:00
    UTC"), held to the calendar's ends as `day` is: a ministry chose it."""
    return utc_time(time_ms).isoformat(sep=" ")[:19] + " UTC"


def member_key(member: bytes) -> bytes:
    return PREFIX_MEMBER + member


def accreditation_key(member: bytes) -> bytes:
    return PREFIX_ACCREDITATION + member


def batch_key(issuer: bytes, root: bytes) -> bytes:
    """Keyed by issuer AND root: a root is public once submitted, so keyed by the root
    alone, any issuer could take another's root first (front-running it) and its
    graduates' documents would then name the wrong issuer. Each issuer has its own
    namespace of roots; a document names its issuer, so verification looks there."""
    return PREFIX_BATCH + issuer + root


def revocation_key(issuer: bytes, batch_root: bytes, target_hash: bytes) -> bytes:
    """Keyed by the issuer's batch AND the credential: a target hash is public (every
    verifier sees it), so another issuer could put it in a batch of its own; revoking
    that copy must not touch the genuine one."""
    return PREFIX_REVOCATION + issuer + batch_root + target_hash


def employment_end_key(issuer: bytes, batch_root: bytes, target_hash: bytes) -> bytes:
    """Keyed like a revocation: by the issuer's batch and the credential."""
    return PREFIX_EMPLOYMENT_END + issuer + batch_root + target_hash


def anchor_key(document_hash: bytes) -> bytes:
    return PREFIX_ANCHOR + document_hash


def _array(data: bytes, length: int, what: str) -> list[Any]:
    value = decode(data)
    if not isinstance(value, list) or len(value) != length:
        raise MalformedInput(f"stored {what} record has the wrong shape")
    return value


@dataclass(frozen=True)
class Member:
    """`public_key` is the member's current key; `key_rotated_height` the height of its
    last rotation (None if it still has its first key; then no key history is stored).
    `is_validator`: a validator at genesis (the set in force at a height is in
    `ledger.validator_sets`). `added_height`: the first block it may sign in.
    `retired_height`: set by governance, the first block it may no longer sign in.
    `added_by`: the ministry whose own `add_member` admitted it (from rules version 9;
    None for genesis members, those admitted by the consortium's vote, and any before),
    so that a member a thief admitted with a ministry's stolen key can be told.
    `admission_confirmed`: the height at which the consortium's vote confirmed such an
    admission that was in doubt (`confirm_admission`, from rules version 10)."""

    name: str
    role: str
    public_key: bytes
    is_validator: bool
    added_height: int
    key_rotated_height: int | None = None
    retired_height: int | None = None
    added_by: MemberId | None = None
    admission_confirmed: int | None = None

    def encode(self) -> bytes:
        fields = [self.name, self.role, self.public_key, self.is_validator, self.added_height]
        # A member that never rotated nor retired keeps the record it always had (and
        # the state root its value, genesis included).
        if (self.key_rotated_height is not None or self.retired_height is not None
                or self.added_by is not None):
            fields += [self.key_rotated_height, self.retired_height]
        if self.added_by is not None:
            fields.append(self.added_by)
            if self.admission_confirmed is not None:  # only an admission by a ministry
                fields.append(self.admission_confirmed)
        return encode(fields)

    @classmethod
    def decode(cls, data: bytes) -> Member:
        return _decode_member(data)


@dataclass(frozen=True)
class Grant:
    """One accreditation: which credential types, for which period, by whom."""

    types: tuple[str, ...]
    not_before_ms: int
    not_after_ms: int
    granted_by: MemberId
    granted_height: int
    suspended_height: int | None = None
    suspended_time_ms: int | None = None
    suspend_reason: str | None = None

    def to_array(self) -> list[Any]:
        return [list(self.types), self.not_before_ms, self.not_after_ms, self.granted_by,
                self.granted_height, self.suspended_height, self.suspended_time_ms,
                self.suspend_reason]

    @classmethod
    def from_array(cls, value: list[Any]) -> Grant:
        if not isinstance(value, list) or len(value) != 8:
            raise MalformedInput("stored grant has the wrong shape")
        return cls(tuple(value[0]), value[1], value[2], MemberId(value[3]), value[4],
                   value[5], value[6], value[7])

    def suspended(self, height: int, time_ms: int, reason: str) -> Grant:
        return replace(self, suspended_height=height, suspended_time_ms=time_ms,
                       suspend_reason=reason)

    def covers(self, credential_type: str, height: int, time_ms: int) -> bool:
        """Was an issuance of this type at (height, time) inside this grant?"""
        if credential_type not in self.types or self.granted_height > height:
            return False
        if not self.not_before_ms <= time_ms < self.not_after_ms:
            return False
        return self.suspended_height is None or height < self.suspended_height


@dataclass(frozen=True)
class Accreditation:
    grants: tuple[Grant, ...]

    def encode(self) -> bytes:
        return encode([g.to_array() for g in self.grants])

    @classmethod
    def decode(cls, data: bytes) -> Accreditation:
        return _decode_accreditation(data)

    def grant_covering(self, credential_type: str, height: int, time_ms: int) -> Grant | None:
        for grant in self.grants:
            if grant.covers(credential_type, height, time_ms):
                return grant
        return None

    def _lapse(self, credential_type: str, height: int, time_ms: int) -> str:
        """Why no grant of a type covers this block: suspended, not begun, or ended."""
        of_type = [g for g in self.grants if credential_type in g.types
                   and g.granted_height <= height]
        if any(g.suspended_height is not None and g.suspended_height <= height
               for g in of_type):
            return "suspended"
        return "not begun" if any(time_ms < g.not_before_ms for g in of_type) else "ended"

    def why_not(self, credential_type: str, height: int, time_ms: int) -> tuple[str, str]:
        """(refusal code, sentence) for an issuance no grant covers: the exact cause.

        A suspension outweighs a period not yet started, which outweighs one that ended:
        the first is what the issuer must take up with its ministry."""
        known = [g for g in self.grants if g.granted_height <= height]
        if not known:
            return "not_accredited", "not accredited by any ministry"
        of_type = [g for g in known if credential_type in g.types]
        if not of_type:
            types = sorted({t for g in known for t in g.types})
            # A type no grant covers at this block is named apart, with why, so that a
            # suspended or ended one is not read as leave to issue it.
            lapsed: dict[str, list[str]] = {}
            for t in types:
                if not any(g.covers(t, height, time_ms) for g in known):
                    lapsed.setdefault(self._lapse(t, height, time_ms), []).append(t)
            covered = [t for t in types if not any(t in named for named in lapsed.values())]
            said = [", ".join(covered)] if covered else []
            said += [f"{why}: {', '.join(named)}" for why, named in lapsed.items()]
            return "type_not_accredited", (f"not accredited for this type (accredited for: "
                                           f"{'; '.join(said)})")
        suspended = [g for g in of_type if g.suspended_height is not None
                     and g.suspended_height <= height and time_ms < g.not_after_ms]
        if suspended:
            first = min(suspended, key=lambda g: g.suspended_height or 0)
            words = SUSPENSION_REASONS.get(first.suspend_reason or "", first.suspend_reason)
            return "issuer_suspended", (f"suspended since height {first.suspended_height} "
                                        f"({words})")
        upcoming = [g for g in of_type if time_ms < g.not_before_ms]
        if upcoming:
            start = min(g.not_before_ms for g in upcoming)
            return "accreditation_not_started", f"accreditation starts on {day(start)}"
        end = max(g.not_after_ms for g in of_type)
        return "accreditation_ended", f"accreditation ended on {day(end)}"


@dataclass(frozen=True)
class Batch:
    """`signer_key` is the issuer's key that signed the batch: a rotation in the same
    block leaves the height alone ambiguous. None in records written before keys could
    rotate, which were all signed with the issuer's first key."""

    issuer: MemberId
    credential_type: str
    count: int
    height: int
    time_ms: int
    tx_id: bytes
    signer_key: bytes | None = None

    def encode(self) -> bytes:
        return batch_record(self.issuer, self.credential_type, self.count, self.height,
                            self.time_ms, self.tx_id, self.signer_key)

    @classmethod
    def decode(cls, data: bytes) -> Batch:
        value = decode(data)
        if not isinstance(value, list) or len(value) not in (6, 7):
            raise MalformedInput("stored batch record has the wrong shape")
        issuer, ctype, count, height, time_ms, tx_id = value[:6]
        signer_key = value[6] if len(value) == 7 else None
        if signer_key is not None and (not isinstance(signer_key, bytes)
                                       or len(signer_key) != 32):
            raise MalformedInput("stored batch record has a malformed signer key")
        return cls(MemberId(issuer), ctype, count, height, time_ms, tx_id, signer_key)


def batch_record(issuer: MemberId, credential_type: str, count: int, height: int,
                 time_ms: int, tx_id: bytes, signer_key: bytes | None) -> bytes:
    """`Batch(...).encode()` without the Batch: an issuance writes one at admission and
    again at execution, and a frozen record of seven fields costs more to build than
    to encode."""
    fields = [issuer, credential_type, count, height, time_ms, tx_id]
    if signer_key is not None:
        fields.append(signer_key)
    return encode(fields)


@dataclass(frozen=True)
class Revocation:
    """`reason` is a code of `ledger.payloads_credentials.REVOCATION_REASONS`; `note_hash`
    the salted hash of the issuer's off-chain note; `replaced_by` the (batch root, target
    hash) of the credential that supersedes this one, in the same issuer's batches.

    `proposal_id`: set when the consortium revoked it by governance (the issuer was
    retired and could sign nothing); `revoked_by` is then the ministry that proposed it.
    An issuer's own revocation keeps its record of seven fields (and the state root its
    value); one by governance has an eighth, which a release that does not know it
    refuses to decode rather than read as an issuer's revocation it would not count."""

    batch_root: bytes
    reason: str
    height: int
    time_ms: int
    revoked_by: MemberId
    note_hash: bytes | None = None
    replaced_by: tuple[bytes, bytes] | None = None
    proposal_id: bytes | None = None

    def encode(self) -> bytes:
        fields = [self.batch_root, self.reason, self.height, self.time_ms, self.revoked_by,
                  self.note_hash, None if self.replaced_by is None else list(self.replaced_by)]
        if self.proposal_id is not None:
            fields.append(self.proposal_id)
        return encode(fields)

    @classmethod
    def decode(cls, data: bytes) -> Revocation:
        value = decode(data)
        if not isinstance(value, list) or len(value) not in (7, 8):
            raise MalformedInput("stored revocation record has the wrong shape")
        batch_root, reason, height, time_ms, revoked_by, note, replaced = value[:7]
        proposal_id = value[7] if len(value) == 8 else None
        if replaced is not None and (not isinstance(replaced, list) or len(replaced) != 2):
            raise MalformedInput("stored revocation has a malformed replacement")
        if len(value) == 8 and (not isinstance(proposal_id, bytes) or len(proposal_id) != 32):
            raise MalformedInput("stored revocation names a malformed proposal")
        return cls(batch_root, reason, height, time_ms, MemberId(revoked_by), note,
                   None if replaced is None else (replaced[0], replaced[1]), proposal_id)

    @property
    def by_consortium(self) -> bool:
        return self.proposal_id is not None


@dataclass(frozen=True)
class EmploymentEnd:
    """The end of an employment record: day numbers (days since 1970-01-01) of its
    start and end, and when and by whom the end was recorded."""

    start_day: int
    end_day: int
    height: int
    time_ms: int
    ended_by: MemberId

    def encode(self) -> bytes:
        return encode([self.start_day, self.end_day, self.height, self.time_ms, self.ended_by])

    @classmethod
    def decode(cls, data: bytes) -> EmploymentEnd:
        start_day, end_day, height, time_ms, ended_by = _array(data, 5, "employment end")
        return cls(start_day, end_day, height, time_ms, MemberId(ended_by))


@dataclass(frozen=True)
class Anchor:
    member: MemberId
    height: int
    time_ms: int
    tx_id: bytes

    def encode(self) -> bytes:
        return encode([self.member, self.height, self.time_ms, self.tx_id])

    @classmethod
    def decode(cls, data: bytes) -> Anchor:
        member, height, time_ms, tx_id = _array(data, 4, "anchor")
        return cls(MemberId(member), height, time_ms, tx_id)


# Every transaction of a block looks up its sender and, for issuance, the
# issuer's accreditation: the same few records thousands of times. Records are
# immutable values keyed by their exact bytes, so caching the decode is safe.
@lru_cache(maxsize=4096)
def _decode_member(data: bytes) -> Member:
    value = decode(data)
    if not isinstance(value, list) or len(value) not in (5, 7, 8, 9):
        raise MalformedInput("stored member record has the wrong shape")
    name, role, public_key, is_validator, added_height = value[:5]
    rotated, retired = value[5:7] if len(value) >= 7 else (None, None)
    added_by = value[7] if len(value) >= 8 else None
    confirmed = value[8] if len(value) == 9 else None
    for extra in (rotated, retired):
        if extra is not None and not isinstance(extra, int):
            raise MalformedInput("stored member record has the wrong shape")
    if len(value) >= 8 and not (isinstance(added_by, bytes)
                                and len(added_by) == MEMBER_ID_BYTES):
        raise MalformedInput("stored member record has the wrong shape")
    if len(value) == 9 and (not isinstance(confirmed, int) or isinstance(confirmed, bool)):
        raise MalformedInput("stored member record has the wrong shape")
    return Member(name, role, public_key, bool(is_validator), added_height, rotated, retired,
                  None if added_by is None else MemberId(added_by), confirmed)


@lru_cache(maxsize=4096)
def _decode_accreditation(data: bytes) -> Accreditation:
    value = decode(data)
    if not isinstance(value, list):
        raise MalformedInput("stored accreditation has the wrong shape")
    return Accreditation(tuple(Grant.from_array(item) for item in value))
