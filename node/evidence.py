"""Evidence of validator misbehaviour: kept locally, shown to operators.

Consensus reports provable faults (two signed votes for one height and view, a
forged view change); the node stores the signed messages as received so an
operator can act on them; `check_equivocation` is the check the ledger's
`submit_evidence` rule is given, so the same proof can go on chain for governance.

Bounded, because the reporter is by definition misbehaving and may resend:
- at most one record per (validator, kind, height, view), read from the signed
  message `first` (messages that do not decode share one "unknown" slot);
- at most EVIDENCE_PER_VALIDATOR_MAX records per validator and EVIDENCE_MAX in
  all. When full, the OLDEST records are kept and new ones are dropped (and
  counted): the first proof of a fault is as good as any later one, and one
  validator cannot push out the evidence against another. Past its own cap, a
  validator's first record of each kind in FAULT_KINDS is still kept (so at most
  len(FAULT_KINDS) more): before, a validator that filled its places with faults of one
  kind, conflicting prepares at views never held, kept its first conflicting
  pre-prepare or commit (the attack itself) from being recorded, and so from being
  submitted on chain (`node.evidence_submit` hands on only what is recorded new);
- a message longer than EVIDENCE_MESSAGE_BYTES_MAX is kept as its SHA-256 only.

Layout (prefix E): `Er` + validator + height + view + kind -> record;
`Es` + sequence -> record key (sequences are dense, so a page is a run of gets,
never a scan); `Ec` + validator -> its record count; `Ek` + validator + kind ->
present once a record of that kind is kept (a store from before it reads as holding
none: one more of each kind, once); `Em` -> [count, next sequence, dropped].
"""

from __future__ import annotations

import hashlib
import struct
import time
from typing import Any

from consensus.errors import ConsensusError
from consensus.messages import (
    Commit,
    CommitProof,
    Prepare,
    PrePrepare,
    ViewChange,
    decode_signed,
    message_signing_bytes,
)
from ledger.codec import decode, encode
from ledger.equivocation import PREFIX_EVIDENCE, Equivocation, EvidenceRecord, ValidatorKeyAt
from ledger.errors import MalformedInput
from ledger.identity import MEMBER_ID_BYTES, verify_signature
from ledger.key_events import key_history_of, key_owner_key
from ledger.records import Member, member_key
from ledger.rules import load_member
from ledger.validator_sets import StateReader
from storage.errors import CorruptStateError
from storage.kv import KeyValueStore
from storage.state_tree import StateTree

EVIDENCE_PREFIX = b"E"
_RECORD = EVIDENCE_PREFIX + b"r"
_SEQUENCE = EVIDENCE_PREFIX + b"s"
_PER_VALIDATOR = EVIDENCE_PREFIX + b"c"
_META = EVIDENCE_PREFIX + b"m"
_KIND_HELD = EVIDENCE_PREFIX + b"k"
# The conflicts a pair of votes proves by itself, named as the replica reports them.
EQUIVOCATION_KINDS: dict[type, str] = {PrePrepare: "conflicting-pre-prepare",
                                       Prepare: "conflicting-prepare",
                                       Commit: "conflicting-commit"}
# Every kind of fault the replica reports (`consensus.ReportEvidence.kind`).
FAULT_KINDS = frozenset({*EQUIVOCATION_KINDS.values(), "invalid-commit-proof",
                         "invalid-view-change", "invalid-new-view"})
EVIDENCE_MAX = 1_024
EVIDENCE_PER_VALIDATOR_MAX = 128
EVIDENCE_MESSAGE_BYTES_MAX = 64 * 1024
EVIDENCE_PAGE_MAX = 100
UNKNOWN = 2**64 - 1  # height and view of a message that does not decode


def message_height_and_view(signed: bytes) -> tuple[int, int]:
    try:
        message = decode_signed(signed).message
    except (ConsensusError, MalformedInput, ValueError, TypeError):
        return UNKNOWN, UNKNOWN
    if isinstance(message, CommitProof):
        return message.certificate.height, message.certificate.view
    if isinstance(message, ViewChange):
        return message.height, message.new_view
    return message.height, message.view


def _kept(message: bytes) -> bytes | str:
    if len(message) <= EVIDENCE_MESSAGE_BYTES_MAX:
        return message
    return "sha256:" + hashlib.sha256(message).hexdigest()


def _meta(kv: KeyValueStore) -> tuple[int, int, int]:
    """The count of records, the next sequence number and the count dropped at the caps.
    Records are never deleted, so the next sequence is the count: a counter beyond the
    cap is damage, refused (a page walked down from 10**9, a read at a time, held the
    event loop and every peer for minutes)."""
    raw = kv.get(_META)
    if raw is None:
        return 0, 0, 0
    try:
        count, next_sequence, dropped = decode(raw)
    except (MalformedInput, ValueError, TypeError) as exc:
        raise CorruptStateError(f"the node's evidence counter does not decode: {exc}") from exc
    if not (all(isinstance(n, int) and not isinstance(n, bool) and n >= 0
                for n in (count, next_sequence, dropped))
            and count <= next_sequence <= EVIDENCE_MAX):
        raise CorruptStateError(f"the node's evidence counter is damaged: {count} records, "
                                f"next {next_sequence} (at most {EVIDENCE_MAX} are kept)")
    return count, next_sequence, dropped


def record_evidence(kv: KeyValueStore, kind: str, validator: bytes, first: bytes,
                    second: bytes) -> bool:
    """Store one fault unless its slot is taken or a cap is reached; True if stored."""
    height, view = message_height_and_view(first)
    key = (_RECORD + validator + struct.pack(">QQ", height, view)
           + kind.encode("utf-8", "replace"))
    if kv.get(key) is not None:
        return False
    count, next_sequence, dropped = _meta(kv)
    per_validator_raw = kv.get(_PER_VALIDATOR + validator)
    per_validator = 0 if per_validator_raw is None else int.from_bytes(per_validator_raw, "big")
    kind_held = _KIND_HELD + validator + kind.encode("utf-8", "replace")
    first_of_kind = kind in FAULT_KINDS and kv.get(kind_held) is None
    if count >= EVIDENCE_MAX or (per_validator >= EVIDENCE_PER_VALIDATOR_MAX
                                 and not first_of_kind):
        kv.write({_META: encode([count, next_sequence, dropped + 1])}, sync=False)
        return False
    record = encode([kind, validator, height, view, time.time_ns(), _kept(first), _kept(second)])
    kv.write({key: record, _SEQUENCE + struct.pack(">Q", next_sequence): key,
              _PER_VALIDATOR + validator: (per_validator + 1).to_bytes(4, "big"),
              kind_held: b"\x01",
              _META: encode([count + 1, next_sequence + 1, dropped])}, sync=False)
    return True


def check_equivocation(chain_id: str, first: bytes, second: bytes,
                       key_of: ValidatorKeyAt) -> Equivocation | None:
    """`ledger.equivocation.EvidenceCheck`: do two signed messages show one validator
    voting two ways (same kind, height and view; different block)? Pure and
    deterministic: decoding and Ed25519 only, against the key the ledger gives."""
    try:
        one, other = decode_signed(first), decode_signed(second)
    except (ConsensusError, MalformedInput, ValueError, TypeError):
        return None
    a, b = one.message, other.message
    kind = EQUIVOCATION_KINDS.get(type(a))
    if kind is None or type(b) is not type(a) or one.sender != other.sender:
        return None
    assert isinstance(a, PrePrepare | Prepare | Commit)
    assert isinstance(b, PrePrepare | Prepare | Commit)
    if (a.height, a.view) != (b.height, b.view) or a.digest == b.digest:
        return None
    public_key = key_of(bytes(one.sender), a.height)
    if public_key is None:
        return None
    chain = chain_id.encode()
    if not (verify_signature(public_key, message_signing_bytes(chain, a), one.signature)
            and verify_signature(public_key, message_signing_bytes(chain, b), other.signature)):
        return None
    return Equivocation(bytes(one.sender), kind, a.height, a.view)


def _row(sequence: int, value: bytes) -> dict[str, Any] | None:
    try:
        kind, validator, height, view, recorded_ns, first, second = decode(value)
    except (MalformedInput, ValueError, TypeError):
        return None

    def shown(message: Any) -> str:
        return message.hex() if isinstance(message, bytes) else str(message)

    return {"sequence": sequence, "recorded_ns": recorded_ns, "kind": kind,
            "validator": validator.hex(),
            "height": None if height == UNKNOWN else height,
            "view": None if view == UNKNOWN else view,
            "first": shown(first), "second": shown(second)}


def evidence_page(kv: KeyValueStore, limit: int = EVIDENCE_PAGE_MAX,
                  before: int | None = None) -> dict[str, Any]:
    """Records newest first, at most `limit` (capped at EVIDENCE_PAGE_MAX), with sequence
    below `before` if given; `next` is the cursor for the following page or None."""
    count, next_sequence, dropped = _meta(kv)
    limit = max(1, min(limit, EVIDENCE_PAGE_MAX))
    sequence = next_sequence if before is None else min(before, next_sequence)
    rows: list[dict[str, Any]] = []
    while sequence > 0 and len(rows) < limit:
        sequence -= 1
        key = kv.get(_SEQUENCE + struct.pack(">Q", sequence))
        value = None if key is None else kv.get(key)
        row = None if value is None else _row(sequence, value)
        if row is not None:
            rows.append(row)
    return {"evidence": rows, "next": sequence if sequence > 0 else None,
            "total": count, "dropped": dropped}


def list_evidence(kv: KeyValueStore, limit: int = EVIDENCE_PAGE_MAX) -> list[dict[str, Any]]:
    """The newest records first, at most `limit`."""
    rows: list[dict[str, Any]] = evidence_page(kv, limit)["evidence"]
    return rows


def _member_name(state: StateReader, member_id: bytes) -> str | None:
    member = load_member(state, member_id)
    return member.name if member is not None else None


def _stolen_from(state: StateReader, member: bytes, record: EvidenceRecord) -> int | None:
    """The height from which the key that signed the messages is distrusted (reported
    stolen, or distrusted by a replacement), when it was by theirs: a thief's messages,
    made to put the member's name beside evidence. Looked up by the key itself: a key
    rotated away from still certifies the next block or two, a thief's favourite time.
    None otherwise, or when the member's keys cannot be read (the record is still listed)."""
    raw = state.get(member_key(member))
    try:
        period = (None if raw is None else
                  key_history_of(state, member, Member.decode(raw)).period_of(
                      record.validator_key))
    except MalformedInput:
        return None
    if period is None or period.trusted_at(record.height):
        return None
    return period.compromised_from


def chain_evidence_page(state: StateTree, limit: int = EVIDENCE_PAGE_MAX,
                        after: bytes | None = None) -> dict[str, Any]:
    """Evidence on chain (`ledger.equivocation`), in key order (by validator, then height
    and view), at most `limit` (capped at EVIDENCE_PAGE_MAX) after the cursor `after`;
    `next` is the cursor of the following page or None. The state holds at most
    MAX_EVIDENCE_RECORDS, so skipping to the cursor reads at most that many values."""
    limit = max(1, min(limit, EVIDENCE_PAGE_MAX))
    rows: list[dict[str, Any]] = []
    more = False
    for key, value in state.items_with_prefix(PREFIX_EVIDENCE):
        if after is not None and key <= after:
            continue
        if len(rows) == limit:
            more = True
            break
        record = EvidenceRecord.decode(value)
        validator = key[len(PREFIX_EVIDENCE):len(PREFIX_EVIDENCE) + MEMBER_ID_BYTES]
        # A rotated member validates under its new key's id; the key names its member.
        member = state.get(key_owner_key(record.validator_key)) or validator
        rows.append({"cursor": key.hex(), "validator": validator.hex(),
                     "member_id": member.hex(), "name": _member_name(state, member),
                     "public_key": record.validator_key.hex(), "kind": record.kind,
                     "height": record.height, "view": record.view,
                     "transaction": record.tx_id.hex(),
                     "submitted_by": record.submitted_by.hex(),
                     "submitted_by_name": _member_name(state, record.submitted_by),
                     "submitted_height": record.submitted_height,
                     "key_compromised_from": _stolen_from(state, member, record)})
    return {"evidence": rows, "next": rows[-1]["cursor"] if more else None}
