"""Commit certificates in consensus's format, signed by test keys."""

from __future__ import annotations

from consensus import (
    Digest,
    Height,
    ValidatorId,
    View,
    commit_signing_bytes,
    encode_certificate,
)
from consensus.certificate import make_certificate as make_consensus_certificate
from ledger.identity import KeyPair


def make_certificate(keys: KeyPair, chain_id: str, height: int, view: int,
                     block_hash: bytes, time_ms: int = 0) -> bytes:
    """A lone validator's own certificate (a quorum of one). `time_ms`: the vote's
    clock reading (the next block's time under BFT time)."""
    return make_quorum_certificate([keys], chain_id, height, view, block_hash, time_ms)


def make_quorum_certificate(signers: list[KeyPair], chain_id: str, height: int, view: int,
                            block_hash: bytes, time_ms: int = 0) -> bytes:
    message = commit_signing_bytes(chain_id.encode(), Height(height), View(view),
                                   Digest(block_hash), time_ms)
    cert = make_consensus_certificate(Height(height), View(view), Digest(block_hash),
                                      {ValidatorId(k.member_id): (time_ms, k.sign_raw(message))
                                       for k in signers})
    return encode_certificate(cert)


def forged_certificate(claimed: list[KeyPair], signer: KeyPair, chain_id: str, height: int,
                       view: int, block_hash: bytes, time_ms: int = 0) -> bytes:
    """A certificate of the `claimed` validators' votes, well formed, each signed by
    `signer`: a quorum but for its signatures."""
    message = commit_signing_bytes(chain_id.encode(), Height(height), View(view),
                                   Digest(block_hash), time_ms)
    forged = signer.sign_raw(message)
    cert = make_consensus_certificate(Height(height), View(view), Digest(block_hash),
                                      {ValidatorId(k.member_id): (time_ms, forged)
                                       for k in claimed})
    return encode_certificate(cert)
