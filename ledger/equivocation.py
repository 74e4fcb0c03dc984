"""Evidence of an equivocating validator, on chain: every member sees the same proof.

A `submit_evidence` transaction carries two signed consensus messages of one
validator for the same (height, view, kind) with different content. The ledger
cannot read consensus messages (consensus is not its to import), so the caller
brings the check (`EvidenceCheck`, in the node `node.evidence.check_equivocation`),
as offline proofs bring their certificate check. The check is pure (decoding and
Ed25519 over the messages), and the key it checks against comes from the
validator-set record in the state for the messages' height, so every node
reaches the same answer.

The state keeps one record per (validator, kind, height, view), at most
MAX_EVIDENCE_RECORDS in all; the messages themselves stay in the block, found
by the record's transaction id. What to do about the validator is governance's
decision.

From rules version 11 (`EVIDENCE_BOUNDED_FROM`) evidence is of a height the chain has
reached (and no round is held at height 0), at most MAX_EVIDENCE_PER_VALIDATOR records
accuse one validator key and MAX_EVIDENCE_PER_MEMBER one member (whose rotations give it
new keys), and the cap on all of them counts the records written under version 11 only.
Before it, one validator (or a thief holding its key) signed conflicting messages at any
height and view it liked, filled every place for evidence with its own, and the chain
refused the evidence against every other validator from then on; a chain so filled takes
evidence again once it runs version 11.

From rules version 13 (`EVIDENCE_KINDS_KEPT_FROM`) the first record of each kind in
KINDS_KEPT_PAST_THE_CAPS against a member is taken past those two caps (not past the cap
on all): before it, a validator that filled its member's places with conflicting prepares of its own
choosing kept the evidence of its conflicting pre-prepares or commits off the chain.
Anyone holding the member's key may still choose which record of a kind comes first; but
then that record proves the member's key signed two messages of that kind.

Layout: `x:` + validator id + height (8 bytes) + view (8 bytes) + kind -> record;
`x#count` -> the number of records; from version 11, `x#bounded` -> the number of records
written under it, `x#count:` + validator id and `x#member:` + member id -> those accusing
that validator key, and that member; from version 13, `x#kind:` + member id + kind ->
present once a record of that kind accuses the member (a member accused before it reads as
accused of none: one more record of each kind, once).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass

from ledger.codec import decode, encode
from ledger.errors import MalformedInput, TxRejected
from ledger.key_events import validator_member
from ledger.payloads import SubmitEvidencePayload
from ledger.validator_sets import StateReader, StateWriter, validator_set_at

PREFIX_EVIDENCE = b"x:"
EVIDENCE_COUNT_KEY = b"x#count"
# Each record is under 200 bytes; a cap keeps a flood of valid evidence (one Byzantine
# validator equivocating at every height) from growing every node's state for ever.
MAX_EVIDENCE_RECORDS = 4_096
BOUNDED_COUNT_KEY = b"x#bounded"
PREFIX_MEMBER_COUNT = b"x#member:"
# Records accusing one validator key (rules version 11 on): a few prove what it did, and
# governance acts on them; more would only take the places of the evidence against others.
MAX_EVIDENCE_PER_VALIDATOR = 16
# And one member, over all its keys: each rotation gives a member a new validator key, and
# the cap per key alone let one member's rotations take 56 times its places. Four keys'
# worth, so that a thief holding an old key cannot take all of a member's places.
MAX_EVIDENCE_PER_MEMBER = 4 * MAX_EVIDENCE_PER_VALIDATOR
PREFIX_MEMBER_KIND = b"x#kind:"
# The kinds the check proves (`node.evidence.EQUIVOCATION_KINDS`), whose first record
# against a member is taken past its caps (version 13 on): so at most three records more.
KINDS_KEPT_PAST_THE_CAPS = frozenset({"conflicting-pre-prepare", "conflicting-prepare",
                                      "conflicting-commit"})


@dataclass(frozen=True)
class Equivocation:
    """What two conflicting messages prove: `validator` (its consensus id) signed two
    different `kind` messages for one `height` and `view`."""

    validator: bytes
    kind: str
    height: int
    view: int


# (validator id, height) -> the public key that validator certified with at that height
ValidatorKeyAt = Callable[[bytes, int], bytes | None]
# (chain id, first, second, key of a validator) -> the equivocation the two signed
# messages prove, or None if they prove none (malformed, unsigned, not conflicting).
EvidenceCheck = Callable[[str, bytes, bytes, ValidatorKeyAt], Equivocation | None]


def evidence_key(validator: bytes, kind: str, height: int, view: int) -> bytes:
    return PREFIX_EVIDENCE + validator + struct.pack(">QQ", height, view) + kind.encode()


def _accused_count_key(validator: bytes) -> bytes:
    return EVIDENCE_COUNT_KEY + b":" + validator


@dataclass(frozen=True)
class EvidenceRecord:
    validator_key: bytes
    kind: str
    height: int
    view: int
    tx_id: bytes
    submitted_by: bytes
    submitted_height: int

    def encode(self) -> bytes:
        return encode([self.validator_key, self.kind, self.height, self.view, self.tx_id,
                       self.submitted_by, self.submitted_height])

    @classmethod
    def decode(cls, data: bytes) -> EvidenceRecord:
        value = decode(data)
        if not isinstance(value, list) or len(value) != 7:
            raise MalformedInput("stored evidence record has the wrong shape")
        return cls(*value)


def evidence_count(state: StateReader, validator: bytes | None = None) -> int:
    """The records on chain; of one validator key, those written from rules version 11 on."""
    return _count(state, EVIDENCE_COUNT_KEY if validator is None
                  else _accused_count_key(validator))


def _count(state: StateReader, key: bytes) -> int:
    raw = state.get(key)
    count = 0 if raw is None else decode(raw)
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise MalformedInput("stored evidence count is malformed")
    return count


def _validator_key_at(state: StateReader) -> ValidatorKeyAt:
    def key_of(validator: bytes, height: int) -> bytes | None:
        try:
            record = validator_set_at(state, height)
        except MalformedInput:
            return None
        return next((v.public_key for v in record.validators if v.member_id == validator),
                    None)
    return key_of


def apply_submit_evidence(state: StateWriter, payload: SubmitEvidencePayload, sender: bytes,
                          tx_id: bytes, chain_id: str, height: int,
                          check: EvidenceCheck | None, bounded: bool = False,
                          kinds_kept: bool = False) -> None:
    """The `submit_evidence` rule. Checks everything, then writes. `bounded`: rules
    version 11 or later; `kinds_kept`: 13 or later (module docstring)."""
    if check is None:
        raise TxRejected("evidence_unchecked", "this ledger was not given a check for "
                         "consensus messages")
    key_of = _validator_key_at(state)
    proven = check(chain_id, payload.first, payload.second, key_of)
    if proven is None:
        raise TxRejected("invalid_evidence", "the two messages are not conflicting messages "
                         "signed by one validator for the same height, view and kind")
    if bounded and proven.height > height:
        # no validator set is in force there yet: the one of the head stood in for it
        raise TxRejected("evidence_ahead", f"the messages are of height {proven.height}, "
                         f"which the chain has not reached (this block is {height})",
                         height=proven.height, head=height)
    if bounded and proven.height < 1:
        raise TxRejected("evidence_height_zero", "the messages are of height 0, at which no "
                         "round is held: no fault of a round they can show")
    validator_key = key_of(proven.validator, proven.height)
    assert validator_key is not None, "the check verified the messages against this key"
    key = evidence_key(proven.validator, proven.kind, proven.height, proven.view)
    if state.get(key) is not None:
        raise TxRejected("duplicate_evidence", f"evidence of {proven.kind} by this validator "
                         f"at height {proven.height}, view {proven.view} is already on chain")
    count = evidence_count(state)
    # from version 11 the cap counts its own records: a chain filled before takes evidence
    held = _count(state, BOUNDED_COUNT_KEY) if bounded else count
    if held >= MAX_EVIDENCE_RECORDS:
        raise TxRejected("evidence_full", f"the chain already holds {MAX_EVIDENCE_RECORDS} "
                         "pieces of evidence", limit=MAX_EVIDENCE_RECORDS)
    # the records against this validator key and against its member, and where each count
    # is kept (version 11 on)
    counts: dict[bytes, int] = {}
    kind_held: bytes | None = None
    if bounded:
        member = validator_member(state, validator_key)
        of_key = _accused_count_key(proven.validator)
        of_member = PREFIX_MEMBER_COUNT + member
        counts = {of_key: evidence_count(state, proven.validator),
                  of_member: _count(state, of_member)}
        limit = (MAX_EVIDENCE_PER_VALIDATOR if counts[of_key] >= MAX_EVIDENCE_PER_VALIDATOR
                 else MAX_EVIDENCE_PER_MEMBER if counts[of_member] >= MAX_EVIDENCE_PER_MEMBER
                 else None)
        if kinds_kept and proven.kind in KINDS_KEPT_PAST_THE_CAPS:
            kind_held = PREFIX_MEMBER_KIND + member + proven.kind.encode()
            if state.get(kind_held) is None:
                limit = None  # the first of its kind against the member
        if limit is not None:
            raise TxRejected("evidence_enough", f"the chain already holds {limit} pieces of "
                             "evidence against this validator, which prove what it did",
                             limit=limit)
    record = EvidenceRecord(validator_key, proven.kind, proven.height, proven.view, tx_id,
                            sender, height)
    state.set(key, record.encode())
    state.set(EVIDENCE_COUNT_KEY, encode(count + 1))
    if bounded:
        state.set(BOUNDED_COUNT_KEY, encode(held + 1))
        for count_key, held_before in counts.items():
            state.set(count_key, encode(held_before + 1))
    if kind_held is not None:
        state.set(kind_held, encode(True))
