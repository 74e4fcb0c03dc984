"""A light client: follow the validator set from genesis through every certified change.

A verifier trusts the genesis file and nothing else. The set that certifies a
block changes at block boundaries (`ledger.validator_sets`), so to check a
block's certificate it must know the set in force at that block's height. It
learns it from *set-change proofs*: for the change that takes effect at height
H, the header of block H - 1, that block's commit certificate, and Merkle
proofs against its state root of `v:index` and of the record for H.

Block H - 1 is the one to prove from: it is still certified by the old set, the
one the walk already trusts, and no block after it can alter the record for H
(a change must be scheduled above the block that schedules it). The walk takes
the proofs in order and refuses any gap (a change in the index the proofs
skipped), a proof against another root, a certificate that the set in force
does not sign, and a header whose validator-set hash is not that set's.

The limit of any light client holds here too: a quorum of an *old* set can
sign a made-up chain that never mentions the change that retired it, and a
verifier shown only that chain cannot tell. Shown the real change, it refuses
every later certificate of the old set.

Certificates belong to consensus: the caller brings the check, as a function
of the public keys to check against (`node.validators.certifies_by_keys`).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ledger.blocks import Header
from ledger.codec import decode, encode
from ledger.errors import MalformedInput, SenimError
from ledger.genesis import Genesis
from ledger.validator_sets import (
    FIRST_BLOCK_HEIGHT,
    MAX_VALIDATOR_SET_CHANGES,
    VALIDATOR_SET_INDEX_KEY,
    ValidatorSetRecord,
    validator_set_key,
)
from storage.errors import MalformedProofError
from storage.state_tree import (
    StateOverlay,
    StateProof,
    decode_state_proof,
    encode_state_proof,
    state_proof_from_json,
    state_proof_to_json,
    verify_state_proof,
)

# (public keys of the set, certificate bytes, height, block hash) -> does a quorum of
# that set sign this block's commit?
SetCertificateCheck = Callable[[Sequence[bytes], bytes, int, bytes], bool]
# Where a chain keeps the proofs it made (outside the state: derived, checked by readers).
SET_CHANGE_PROOF_PREFIX = b"L"
MAX_SET_CHANGE_PROOFS = MAX_VALIDATOR_SET_CHANGES


class UnprovenValidatorSet(SenimError):
    """The proofs do not lead from genesis to the validator set a block needs."""


def decode_index(raw: bytes | None) -> list[int]:
    """`v:index` as proven: ascending, distinct heights."""
    try:
        heights = decode(raw) if raw is not None else None
    except MalformedInput as exc:
        raise UnprovenValidatorSet("the proven validator-set index does not decode") from exc
    if (not isinstance(heights, list) or not heights or len(heights) > MAX_SET_CHANGE_PROOFS
            or not all(isinstance(h, int) and not isinstance(h, bool) for h in heights)
            or heights != sorted(set(heights)) or heights[0] != FIRST_BLOCK_HEIGHT):
        raise UnprovenValidatorSet("the proven validator-set index is malformed")
    return heights


@dataclass(frozen=True)
class ProvenEntry:
    value: bytes | None
    proof: StateProof

    def to_json(self) -> dict[str, Any]:
        return {"value": None if self.value is None else self.value.hex(),
                "proof": state_proof_to_json(self.proof)}

    @classmethod
    def from_json(cls, raw: Any) -> ProvenEntry:
        try:
            value = None if raw["value"] is None else bytes.fromhex(raw["value"])
            return cls(value, state_proof_from_json(raw["proof"]))
        except (KeyError, TypeError, ValueError, MalformedProofError) as exc:
            raise UnprovenValidatorSet(f"a proven entry is malformed: {exc}") from exc

    def check(self, state_root: bytes, key: bytes, what: str) -> bytes | None:
        if not verify_state_proof(state_root, key, self.value, self.proof):
            raise UnprovenValidatorSet(f"the Merkle proof of {what} does not match the "
                                       "certified block's state root")
        return self.value


@dataclass(frozen=True)
class SetChangeProof:
    """Block `from_height - 1` with its certificate, proving the set in force from
    `from_height`."""

    header: Header
    certificate: bytes
    index: ProvenEntry
    record: ProvenEntry

    @property
    def from_height(self) -> int:
        return self.header.height + 1

    def to_json(self) -> dict[str, Any]:
        return {"from_height": self.from_height, "header": self.header.encode().hex(),
                "certificate": self.certificate.hex(), "index": self.index.to_json(),
                "record": self.record.to_json()}

    @classmethod
    def from_json(cls, raw: Any) -> SetChangeProof:
        try:
            header = Header.decode(bytes.fromhex(raw["header"]))
            certificate = bytes.fromhex(raw["certificate"])
            index, record = raw["index"], raw["record"]
        except (KeyError, TypeError, ValueError, MalformedInput) as exc:
            raise UnprovenValidatorSet(f"a validator-set change proof is malformed: {exc}") \
                from exc
        return cls(header, certificate, ProvenEntry.from_json(index),
                   ProvenEntry.from_json(record))


@dataclass(frozen=True)
class ValidatorSetHistory:
    """The sets followed from genesis, each from its first height to the next one's."""

    chain_id: str
    records: tuple[ValidatorSetRecord, ...]

    def set_at(self, height: int) -> ValidatorSetRecord:
        heights = [r.from_height for r in self.records]
        return self.records[max(0, bisect_right(heights, height) - 1)]

    def check_block(self, header: Header, certificate: bytes, certified: SetCertificateCheck,
                    index_at_block: bytes | None = None) -> ValidatorSetRecord:
        """The set that certifies `header`, once its certificate checks against that set.

        `index_at_block` is `v:index` as the block's own state holds it (already
        proven against its root): a change the walk skipped is then a refusal."""
        if header.chain_id != self.chain_id:
            raise UnprovenValidatorSet(f"block {header.height} is of network "
                                       f"{header.chain_id!r}, not {self.chain_id!r}")
        in_force = self.set_at(header.height)
        if header.validator_set_hash != in_force.set_hash:
            raise UnprovenValidatorSet(
                f"block {header.height} names another validator set than the one in force "
                f"at its height (followed from genesis, in force from block "
                f"{in_force.from_height})")
        if not certified(in_force.public_keys, certificate, header.height, header.block_hash):
            raise UnprovenValidatorSet(
                f"block {header.height} has no valid commit certificate from the validator "
                f"set in force at its height (from block {in_force.from_height})")
        if index_at_block is not None:
            self.check_index(header.height, index_at_block)
        return in_force

    def check_index(self, height: int, index_at_block: bytes | None) -> None:
        """`index_at_block` is `v:index` as block `height`'s state holds it, proven
        against its root: a change at or below `height` the walk skipped is hidden.

        Genesis writes the index (`ledger.validator_sets.genesis_validator_set_state`), so
        every state of a Senim chain holds it. A state proven to lack it is one a retired
        set signed after leaving it out, so that no change would show as skipped: that
        set could then certify a made-up head as if still in force."""
        if index_at_block is None:
            raise UnprovenValidatorSet(
                f"block {height}'s state holds no validator-set index, which every Senim "
                "chain holds from genesis on: it is not a block of this chain")
        known = {r.from_height for r in self.records}
        skipped = [h for h in decode_index(index_at_block) if h <= height and h not in known]
        if skipped:
            raise UnprovenValidatorSet(
                f"block {height}'s state holds a validator-set change at block "
                f"{skipped[0]} that the proofs skipped")


def genesis_history(genesis: Genesis) -> ValidatorSetHistory:
    first = ValidatorSetRecord.of(FIRST_BLOCK_HEIGHT, [m.public_key for m in genesis.validators])
    return ValidatorSetHistory(genesis.chain_id, (first,))


def follow_validator_sets(genesis: Genesis, proofs: Sequence[SetChangeProof],
                          certified: SetCertificateCheck) -> ValidatorSetHistory:
    """Walk from the genesis set through `proofs` (in order of height), checking each
    against the set the walk says is in force. Raises UnprovenValidatorSet."""
    return extend_validator_sets(genesis_history(genesis), proofs, certified)


def extend_validator_sets(history: ValidatorSetHistory, proofs: Sequence[SetChangeProof],
                          certified: SetCertificateCheck) -> ValidatorSetHistory:
    """Carry a walk on through `proofs`, the next changes after its last set (proofs
    that come a page at a time are checked as they come)."""
    if len(history.records) - 1 + len(proofs) > MAX_SET_CHANGE_PROOFS:
        raise UnprovenValidatorSet(f"more than {MAX_SET_CHANGE_PROOFS} set-change proofs")
    for proof in proofs:
        current = history.records[-1]
        header = proof.header
        if header.height < current.from_height:
            raise UnprovenValidatorSet(
                f"the proof from block {header.height} comes before the set in force from "
                f"block {current.from_height}: proofs must follow each other in order")
        history.check_block(header, proof.certificate, certified)
        index = proven_index(proof)
        if current.from_height not in index:
            raise UnprovenValidatorSet(f"block {header.height}'s validator-set index lacks "
                                       f"the set in force from block {current.from_height}")
        later = [h for h in index if h > current.from_height]
        if not later or later[0] > proof.from_height:
            raise UnprovenValidatorSet(
                f"block {header.height} schedules no validator-set change at block "
                f"{proof.from_height}: a proof for a change must come from the block "
                "right before it")
        if later[0] < proof.from_height:
            raise UnprovenValidatorSet(
                f"the proofs skip the validator-set change at block {later[0]}")
        history = ValidatorSetHistory(history.chain_id, (*history.records, proven_record(proof)))
    return history


def proven_index(proof: SetChangeProof) -> list[int]:
    """`v:index` of the proof's block, checked against its header's state root."""
    return decode_index(proof.index.check(proof.header.state_root, VALIDATOR_SET_INDEX_KEY,
                                          "the validator-set index"))


def proven_record(proof: SetChangeProof) -> ValidatorSetRecord:
    """The set in force from `proof.from_height`, checked against its header's state root."""
    raw_record = proof.record.check(proof.header.state_root,
                                    validator_set_key(proof.from_height),
                                    f"the validator set from block {proof.from_height}")
    if raw_record is None:
        raise UnprovenValidatorSet(f"block {proof.header.height} holds no validator set for "
                                   f"block {proof.from_height}")
    try:
        record = ValidatorSetRecord.decode(raw_record)
    except MalformedInput as exc:
        raise UnprovenValidatorSet(f"the proven validator set is malformed: {exc}") from exc
    if record.from_height != proof.from_height:
        raise UnprovenValidatorSet("the proven validator set names another height")
    return record


def check_proof_entries(proof: SetChangeProof) -> ValidatorSetRecord:
    """What a proof shows without the walk (what a store checks of the proofs it kept):
    its Merkle proofs match its header's state root, and the record is the set from its
    height. The index is not decoded (its cost grows with the number of changes) and
    the certificate is not checked."""
    proof.index.check(proof.header.state_root, VALIDATOR_SET_INDEX_KEY,
                      "the validator-set index")
    return proven_record(proof)


def stored_proof_value(overlay: StateOverlay, height: int) -> bytes | None:
    """What a chain keeps when it commits block `height` if a set change takes effect
    at `height + 1`: the proofs of `v:index` and of that record against the block's
    state. `overlay` holds the state after the block, not yet committed."""
    raw_index = overlay.get(VALIDATOR_SET_INDEX_KEY)
    if raw_index is None or height < FIRST_BLOCK_HEIGHT:
        return None
    try:
        index = decode_index(raw_index)
    except UnprovenValidatorSet:
        return None  # the rule that writes the index keeps it well-formed
    if height + 1 not in index:
        return None
    record_key = validator_set_key(height + 1)
    return encode([raw_index, encode_state_proof(overlay.prove(VALIDATOR_SET_INDEX_KEY)),
                   overlay.get(record_key), encode_state_proof(overlay.prove(record_key))])


def stored_proof_key(from_height: int) -> bytes:
    return SET_CHANGE_PROOF_PREFIX + from_height.to_bytes(8, "big")


def proof_from_stored(header: Header, certificate: bytes, stored: bytes) -> SetChangeProof:
    """A served proof from what `stored_proof_value` kept; MalformedInput if damaged."""
    try:
        raw_index, index_proof, raw_record, record_proof = decode(stored)
        return SetChangeProof(header, certificate,
                              ProvenEntry(raw_index, decode_state_proof(index_proof)),
                              ProvenEntry(raw_record, decode_state_proof(record_proof)))
    except (MalformedInput, TypeError, ValueError, MalformedProofError) as exc:
        raise MalformedInput(f"the stored set-change proof is damaged: {exc}") from exc
