"""Where the chain keeps what in its key-value store, and the records a state-synced
store starts from.

Blocks and certificates are keyed by height, the transaction index by id; the
state tree's nodes live under their own prefix; a few `meta:` keys hold the
head, the genesis id and, for a store that joined by state sync, its base.
"""

from __future__ import annotations

import struct

from ledger.blocks import Block
from ledger.codec import decode, encode
from ledger.errors import MalformedInput
from ledger.genesis import Genesis
from storage.errors import CorruptStateError
from storage.kv import KeyValueReader

STATE_PREFIX = b"s/"
BLOCK_PREFIX = b"B"
CERT_PREFIX = b"C"
TX_INDEX_PREFIX = b"T"
HEAD_KEY = b"meta:head"
GENESIS_KEY = b"meta:genesis"
# The lowest block the store holds: absent (0) unless the node joined by state sync,
# which starts the store at a certified block's state and holds nothing below it.
BASE_KEY = b"meta:base"
# The header and certificate of block H - 1, which proves the validator-set change at H,
# for a store that joined by state sync above that block (it holds no such block).
SET_CHANGE_BLOCK_PREFIX = b"H"


# encode(index) for the indexes a block has held so far (no more than the transactions
# ledger.blocks.MAX_BLOCK_BYTES lets a block hold), replaced whole when a bigger block
# comes: another thread's chain reads the old tuple or the new one, both right.
_index_bytes: tuple[bytes, ...] = ()


def index_encodings(count: int) -> tuple[bytes, ...]:
    """encode(index) for each index of a block's `count` transactions, as the
    transaction index's entries hold them (the tuple may hold more: zip it)."""
    global _index_bytes
    known = _index_bytes
    if len(known) < count:
        known = known + tuple(encode(index) for index in range(len(known), count))
        _index_bytes = known
    return known


def height_key(prefix: bytes, height: int) -> bytes:
    return prefix + struct.pack(">Q", height)


def block_key(height: int) -> bytes:
    return height_key(BLOCK_PREFIX, height)


def certificate_key(height: int) -> bytes:
    return height_key(CERT_PREFIX, height)


def set_change_block_key(from_height: int) -> bytes:
    return height_key(SET_CHANGE_BLOCK_PREFIX, from_height)


def load_base(kv: KeyValueReader) -> int:
    stored = kv.get(BASE_KEY)
    if stored is None:
        return 0
    try:
        base = decode(stored)
    except MalformedInput as exc:
        raise CorruptStateError("the base record is damaged") from exc
    if not isinstance(base, int) or isinstance(base, bool) or base < 1:
        raise CorruptStateError("the base record is damaged")
    return base


def joined_writes(genesis: Genesis, block: Block, certificate: bytes
                  ) -> dict[bytes, bytes | None]:
    """What makes a store that holds the state tree of a certified block (copied by state
    sync) a chain whose head and lowest held block is that block. The caller writes
    these with the tree's root pointer in one batch.

    The transaction index then covers only blocks from this one up: a transaction
    committed below it and not yet expired is not known to this node as committed
    (blocks it fetches are certified, so a quorum checked them for replays)."""
    height = block.header.height
    writes: dict[bytes, bytes | None] = {
        height_key(BLOCK_PREFIX, height): block.encode(),
        height_key(CERT_PREFIX, height): certificate,
        HEAD_KEY: encode([height, block.block_hash]), BASE_KEY: encode(height),
        GENESIS_KEY: genesis.genesis_hash}
    for index, tx in enumerate(block.transactions):
        writes[TX_INDEX_PREFIX + tx.tx_id] = encode([height, index])
    return writes
