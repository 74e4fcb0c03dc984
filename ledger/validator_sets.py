"""Which validators are in force at each height, kept in the state under its root.

A validator-set change takes effect at a block boundary: the record for
`from_height` says who certifies blocks `from_height`, `from_height + 1`, ...
until the next record. Every record stays in the state for good, so a Merkle
proof can show "this key was a validator from height A to B", and a light
client can follow the set from genesis through every certified change.

Layout:
- `v:index` holds the sorted list of every `from_height` that has a record;
- `v:` + 8-byte big-endian `from_height` holds that record.

Genesis writes the record for height 1. The rule that schedules a change
(governance) must give a `from_height` above the block being executed, so no
block's certifiers change after the block was proposed.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Protocol

from ledger.codec import decode, encode, tagged_hash
from ledger.errors import MalformedInput
from ledger.identity import MemberId, member_id_of

PREFIX_VALIDATOR_SET = b"v:"
VALIDATOR_SET_INDEX_KEY = b"v:index"
MAX_VALIDATORS = 64
MAX_VALIDATOR_SET_CHANGES = 10_000
# Records decoded, kept by their bytes: each block's validation reads the set in force
# (one record for many blocks), and decoding derives every member id again.
RECORDS_DECODED_KEPT = 64
FIRST_BLOCK_HEIGHT = 1


class StateReader(Protocol):
    def get(self, key: bytes) -> bytes | None: ...


class StateWriter(StateReader, Protocol):
    def set(self, key: bytes, value: bytes) -> None: ...


def validator_set_hash(public_keys: list[bytes]) -> bytes:
    """The header's commitment to its certifiers: order-free, keys only."""
    return tagged_hash(b"senim/validator-set/v1", encode(sorted(public_keys)))


def validator_set_key(from_height: int) -> bytes:
    return PREFIX_VALIDATOR_SET + from_height.to_bytes(8, "big")


@dataclass(frozen=True)
class ValidatorKey:
    member_id: MemberId
    public_key: bytes


@dataclass(frozen=True)
class ValidatorSetRecord:
    from_height: int
    validators: tuple[ValidatorKey, ...]

    @classmethod
    def of(cls, from_height: int, public_keys: list[bytes]) -> ValidatorSetRecord:
        """Ordered by member id, the order every node agrees on for primaries."""
        keys = sorted((ValidatorKey(member_id_of(k), k) for k in public_keys),
                      key=lambda v: v.member_id)
        return cls(from_height, tuple(keys))

    @property
    def public_keys(self) -> list[bytes]:
        return [v.public_key for v in self.validators]

    @cached_property
    def set_hash(self) -> bytes:
        return validator_set_hash(self.public_keys)

    def encode(self) -> bytes:
        return encode([self.from_height, [v.public_key for v in self.validators]])

    @classmethod
    def decode(cls, data: bytes) -> ValidatorSetRecord:
        """Decode a stored record (immutable, so one decoded copy serves every reader)."""
        return _decode_record(data)


@lru_cache(maxsize=RECORDS_DECODED_KEPT)
def _decode_record(data: bytes) -> ValidatorSetRecord:
    value = decode(data)
    if not isinstance(value, list) or len(value) != 2:
        raise MalformedInput("stored validator-set record has the wrong shape")
    from_height, keys = value
    if (not isinstance(from_height, int) or from_height < FIRST_BLOCK_HEIGHT
            or not isinstance(keys, list) or not 0 < len(keys) <= MAX_VALIDATORS
            or not all(isinstance(k, bytes) and len(k) == 32 for k in keys)):
        raise MalformedInput("stored validator-set record is malformed")
    return ValidatorSetRecord.of(from_height, keys)


def _read_index(state: StateReader) -> list[int]:
    raw = state.get(VALIDATOR_SET_INDEX_KEY)
    if raw is None:
        return []
    heights = decode(raw)
    if (not isinstance(heights, list) or not all(isinstance(h, int) for h in heights)
            or heights != sorted(set(heights))):
        raise MalformedInput("stored validator-set index is malformed")
    return heights


def set_change_heights(state: StateReader) -> list[int]:
    """Every height at which a validator set took (or will take) effect, ascending."""
    return _read_index(state)


def validator_set_at(state: StateReader, height: int) -> ValidatorSetRecord:
    """The set that certifies the block at `height` (scheduled changes included)."""
    heights = _read_index(state)
    position = bisect_right(heights, max(height, FIRST_BLOCK_HEIGHT))
    if position == 0:
        raise MalformedInput("the state holds no validator set for that height")
    raw = state.get(validator_set_key(heights[position - 1]))
    if raw is None:
        raise MalformedInput("the validator-set index names a record the state lacks")
    return ValidatorSetRecord.decode(raw)


def write_validator_set(state: StateWriter, record: ValidatorSetRecord) -> None:
    """Record a set. The caller (a ledger rule) has checked who may change it and that
    `from_height` lies after the block being executed; this only keeps the layout."""
    heights = _read_index(state)
    if record.from_height in heights:
        heights.remove(record.from_height)
    elif len(heights) >= MAX_VALIDATOR_SET_CHANGES:
        raise MalformedInput("the validator set has changed too many times")
    heights.append(record.from_height)
    heights.sort()
    state.set(validator_set_key(record.from_height), record.encode())
    state.set(VALIDATOR_SET_INDEX_KEY, encode(heights))


def genesis_validator_set_state(public_keys: list[bytes]) -> dict[bytes, bytes]:
    """The state entries genesis writes: the set that certifies block 1 onwards."""
    record = ValidatorSetRecord.of(FIRST_BLOCK_HEIGHT, public_keys)
    return {validator_set_key(FIRST_BLOCK_HEIGHT): record.encode(),
            VALIDATOR_SET_INDEX_KEY: encode([FIRST_BLOCK_HEIGHT])}
