"""A lone validator's own commit certificate (quorum of one), in consensus's format."""

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
    """`time_ms`: the vote's clock reading (the next block's time under BFT time)."""
    message = commit_signing_bytes(chain_id.encode(), Height(height), View(view),
                                   Digest(block_hash), time_ms)
    signature = keys.sign_raw(message)
    cert = make_consensus_certificate(Height(height), View(view), Digest(block_hash),
                                      {ValidatorId(keys.member_id): (time_ms, signature)})
    return encode_certificate(cert)
