"""The set-change proofs a store keeps, read back checked, whether or not it holds the
blocks they prove from.

A chain keeps, when it commits block H - 1 and a validator-set change takes effect at
H, the Merkle proofs of that change against the block's state
(`ledger.light_client.stored_proof_value`, under `stored_proof_key(H)`); the header and
certificate come from the block itself. A store that joined by state sync holds no
block below its base, so it keeps the header and certificate of each change it was
shown (and checked) while joining in a record of their own
(`ledger.chain_layout.set_change_block_key`), written in the batch that installs the
snapshot. Readers take the block when it is held and that record otherwise, and check
every proof they hand out: its Merkle proofs against the header's state root, and,
given the check, its certificate against the set in force at its height. A damaged
record is a CorruptStateError, never an answer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ledger.blocks import Header, decode_block
from ledger.chain_layout import block_key, certificate_key, set_change_block_key
from ledger.codec import decode, encode
from ledger.errors import MalformedInput
from ledger.light_client import (
    SetChangeProof,
    UnprovenValidatorSet,
    check_proof_entries,
    proof_from_stored,
    stored_proof_key,
)
from storage.errors import CorruptStateError
from storage.kv import KeyValueReader

# (certificate, height, block hash) -> whether the validators certify that block;
# `node.validators.ValidatorSets.certifies`, since certificates belong to consensus.
CertificateCheck = Callable[[bytes, int, bytes], bool]
# A proof as it travels and is kept: [header, certificate, stored proof], encoded.
ProofPieces = Sequence[bytes]


def kept_proof_writes(pieces: Sequence[ProofPieces], base: int
                      ) -> dict[bytes, bytes | None]:
    """The records a store joining at block `base` keeps of the (already followed) proofs:
    the stored proof of each, and the header and certificate of those below `base`."""
    writes: dict[bytes, bytes | None] = {}
    for header, certificate, stored in pieces:
        from_height = Header.decode(header).height + 1
        writes[stored_proof_key(from_height)] = stored
        if from_height - 1 < base:
            writes[set_change_block_key(from_height)] = encode([header, certificate])
    return writes


def kept_block(kv: KeyValueReader, from_height: int) -> tuple[Header, bytes] | None:
    """The header and certificate kept for the change at `from_height` by a store that
    joined above it; None if there is no such record."""
    raw = kv.get(set_change_block_key(from_height))
    if raw is None:
        return None
    try:
        header_bytes, certificate = decode(raw)
        if not isinstance(header_bytes, bytes) or not isinstance(certificate, bytes):
            raise MalformedInput("not two byte strings")
        header = Header.decode(header_bytes)
    except (MalformedInput, TypeError, ValueError) as exc:
        raise CorruptStateError(f"the kept header of the validator-set change at block "
                                f"{from_height} is damaged: {exc}") from exc
    return header, certificate


def held_block(kv: KeyValueReader, from_height: int) -> tuple[Header, bytes] | None:
    """The header and certificate of block `from_height - 1` from the store's own blocks,
    unchecked (the caller checks the proof they make); None if not held."""
    block = kv.get(block_key(from_height - 1))
    certificate = kv.get(certificate_key(from_height - 1))
    if block is None or certificate is None:
        return None
    try:
        return decode_block(block).header, certificate
    except MalformedInput as exc:
        raise CorruptStateError(f"stored block {from_height - 1} is damaged: {exc}") from exc


def checked_proof(from_height: int, header: Header, certificate: bytes, stored: bytes,
                  certifies: CertificateCheck | None) -> SetChangeProof:
    """The proof of the change at `from_height` from what a store keeps, once its Merkle
    proofs match the header and (with `certifies`) a quorum of the set in force signs
    the header's block. CorruptStateError otherwise."""
    try:
        proof = proof_from_stored(header, certificate, stored)
        if proof.from_height != from_height:
            raise UnprovenValidatorSet(f"it proves block {proof.from_height}'s set instead")
        check_proof_entries(proof)
    except (MalformedInput, UnprovenValidatorSet) as exc:
        raise CorruptStateError(f"the kept proof of the validator-set change at block "
                                f"{from_height} is damaged: {exc}") from exc
    if certifies is not None and not certifies(certificate, header.height, header.block_hash):
        raise CorruptStateError(f"the kept certificate of block {header.height}, which proves "
                                f"the validator-set change at block {from_height}, does not "
                                "verify")
    return proof
