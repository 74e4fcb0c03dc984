"""Commit certificates as the node stores them (stand-in until PBFT provides its own)."""

from __future__ import annotations

from node.codec import encode
from node.identity import KeyPair


def make_certificate(keys: KeyPair, chain_id: str, height: int, view: int,
                     block_hash: bytes) -> bytes:
    message = encode([height, view, block_hash])
    signature = keys.sign(b"commit", chain_id, message)
    return encode([height, view, block_hash, [[keys.member_id, signature]]])
