"""The simulator's toy blocks: msgpack [height, parent digest, view, txs]; digest = SHA-256."""

import hashlib

import msgpack

from consensus import Digest

GENESIS_DIGEST = Digest(bytes(32))


def build_block(height: int, parent: Digest, view: int, txs: list[bytes]) -> tuple[bytes, Digest]:
    block: bytes = msgpack.packb([height, parent, view, txs], use_bin_type=True)
    return block, Digest(hashlib.sha256(block).digest())


def block_digest(block: bytes) -> Digest:
    return Digest(hashlib.sha256(block).digest())


def parse_block(block: bytes) -> tuple[int, bytes, list[bytes]] | None:
    """(height, parent, txs), or None if `block` is not a well-formed toy block."""
    try:
        fields = msgpack.unpackb(block, raw=False)
    except Exception:
        return None
    if not isinstance(fields, list) or len(fields) != 4:
        return None
    height, parent, _view, txs = fields
    if not isinstance(height, int) or not isinstance(parent, bytes) or not isinstance(txs, list):
        return None
    if not all(isinstance(tx, bytes) for tx in txs):
        return None
    return height, parent, txs
