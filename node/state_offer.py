"""A state-sync offer and the validator-set change proofs it brings, checked as a light
client checks them (`node.state_sync` drives the questions).

An offer names a snapshot's block and certificate and carries the proofs of the
changes from genesis up to it, as many as fit in one answer; when more are left it
says so, and its peer is asked for the rest a page at a time. Each page is followed
on from where the walk stands (`ledger.light_client.extend_validator_sets`), so a
forged, repeated or skipped proof is refused when it comes; a page that ends the
proofs early is found when the block is checked against the set they lead to. The
proofs, as sent, become part of the join (`Snapshot.set_changes`): the joined store
keeps them (`ledger.set_change_records`) and serves them in turn.
"""

from __future__ import annotations

from dataclasses import dataclass

from ledger.blocks import Block, Header, decode_block
from ledger.errors import MalformedInput
from ledger.genesis import Genesis
from ledger.light_client import (
    MAX_SET_CHANGE_PROOFS,
    SetCertificateCheck,
    SetChangeProof,
    UnprovenValidatorSet,
    ValidatorSetHistory,
    extend_validator_sets,
    follow_validator_sets,
    proof_from_stored,
)

ProofPieces = tuple[bytes, bytes, bytes]  # header, certificate, stored proof, as sent


@dataclass(frozen=True)
class Snapshot:
    height: int
    block: bytes
    certificate: bytes
    decoded: Block
    offered_by: bytes
    history: ValidatorSetHistory  # followed from genesis through the offer's proofs
    set_changes: tuple[ProofPieces, ...]  # those proofs, kept by the join


@dataclass
class Offer:
    """An offer whose block is not checked yet: its proofs may still be coming."""

    height: int
    block: bytes
    certificate: bytes
    decoded: Block
    peer: bytes
    history: ValidatorSetHistory  # followed so far
    set_changes: list[ProofPieces]

    @property
    def proven_up_to(self) -> int:
        """The height of the last change followed: the next page starts after it."""
        return self.history.records[-1].from_height

    def take_page(self, answer: list[object], certified: SetCertificateCheck) -> bool:
        """Follow a page `[kind, height, [proof...], more]`; whether more are to come.
        ValueError if it is malformed, for another snapshot or does not check."""
        if len(answer) != 4 or answer[1] != self.height or not isinstance(answer[3], bool):
            raise ValueError("malformed set changes, or for another snapshot")
        proofs, pieces = decode_set_changes(answer[2])
        more = answer[3]
        if not proofs and more:
            raise ValueError("an empty page of set changes that promises more")
        try:  # a page that repeats or skips a change is refused here
            self.history = extend_validator_sets(self.history, proofs, certified)
        except UnprovenValidatorSet as exc:
            raise ValueError(f"set-change proofs do not check: {exc}") from exc
        self.set_changes += pieces
        return more

    def snapshot(self, certified: SetCertificateCheck) -> Snapshot:
        """The snapshot, once its block is certified by the set the proofs lead to."""
        try:
            self.history.check_block(self.decoded.header, self.certificate, certified)
        except UnprovenValidatorSet as exc:
            raise ValueError(f"offered block is not certified: {exc}") from exc
        return Snapshot(self.height, self.block, self.certificate, self.decoded, self.peer,
                        self.history, tuple(self.set_changes))


def offer_from_answer(genesis: Genesis, certified: SetCertificateCheck, peer: bytes,
                      answer: list[object]) -> tuple[Offer, bool]:
    """An offer `[kind, height, block, certificate, [proof...], more]` with its proofs
    followed from genesis, and whether more proofs are to come. Four items: a peer from
    before offers carried proofs (genesis set only); five: from before they came by
    pages (all it had room for). ValueError if it is malformed or does not check."""
    if len(answer) not in (4, 5, 6) or not all(isinstance(item, bytes) for item in answer[2:4]):
        raise ValueError("malformed offer")
    height, block, certificate = answer[1], answer[2], answer[3]
    assert isinstance(height, int) and isinstance(block, bytes)
    assert isinstance(certificate, bytes)
    more = answer[5] if len(answer) == 6 else False
    if not isinstance(more, bool):
        raise ValueError("malformed offer")
    proofs, pieces = decode_set_changes(answer[4] if len(answer) >= 5 else [])
    try:
        decoded = decode_block(block)
    except MalformedInput as exc:
        raise ValueError("offered block does not decode") from exc
    header = decoded.header
    if header.height != height or header.chain_id != genesis.chain_id:
        raise ValueError("offered block is not this chain's")
    try:
        history = follow_validator_sets(genesis, proofs, certified)
    except UnprovenValidatorSet as exc:
        raise ValueError(f"offered set-change proofs do not check: {exc}") from exc
    return Offer(height, block, certificate, decoded, peer, history, pieces), more


def decode_set_changes(raw: object) -> tuple[list[SetChangeProof], list[ProofPieces]]:
    """The proofs of an answer, and each as sent, which a finished join keeps."""
    if not (isinstance(raw, list) and len(raw) <= MAX_SET_CHANGE_PROOFS and all(
            isinstance(item, list) and len(item) == 3
            and all(isinstance(part, bytes) for part in item) for item in raw)):
        raise ValueError("malformed set-change proofs")
    pieces = [(bytes(header), bytes(certificate), bytes(stored))
              for header, certificate, stored in raw]
    try:
        return [proof_from_stored(Header.decode(header), certificate, stored)
                for header, certificate, stored in pieces], pieces
    except MalformedInput as exc:
        raise ValueError(f"a set-change proof does not decode: {exc}") from exc
