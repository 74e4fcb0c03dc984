"""Blocks: a header that commits to everything, the transactions and the last commit.

The block hash is the hash of the header alone; the header commits to the
transactions (RFC 6962 root of their full encodings, signatures included), to
the state after them and to the previous block's commit certificate the block
carries (its "last commit", from which its time is derived: ledger/bft_time.py),
so a header plus a commit certificate is enough for a light client.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from ledger.codec import decode, encode, tagged_hash
from ledger.errors import MalformedInput
from ledger.identity import MEMBER_ID_BYTES, MemberId
from ledger.transactions import Transaction, decode_transaction
from storage.batch_tree import tree_root

BLOCK_VERSION = 2  # 2: the header commits to the last commit (BFT time)
MAX_BLOCK_BYTES = 2 * 1024 * 1024
MAX_BLOCK_TXS = 20_000
# A block is [header, [transactions as bytes], last commit as bytes]: three arrays, so a
# proposal of 2 MiB of empty arrays is refused at the fourth, not after two million.
BLOCK_ARRAYS = 3
ZERO_HASH = b"\x00" * 32


@dataclass(frozen=True)
class Header:
    chain_id: str
    height: int
    previous_hash: bytes
    time_ms: int
    proposer: MemberId
    view: int
    txs_root: bytes
    state_root: bytes
    validator_set_hash: bytes
    last_commit_hash: bytes

    def to_array(self) -> list[Any]:
        return [BLOCK_VERSION, self.chain_id, self.height, self.previous_hash, self.time_ms,
                self.proposer, self.view, self.txs_root, self.state_root,
                self.validator_set_hash, self.last_commit_hash]

    def encode(self) -> bytes:
        return encode(self.to_array())

    @cached_property
    def block_hash(self) -> bytes:
        """Computed once a header: each `Execution.block` is a new Block around the same
        header, and a commit's reports ask for the hash several times."""
        return tagged_hash(b"senim/block-header/v1", self.encode())

    @classmethod
    def from_array(cls, value: Any) -> Header:
        if not isinstance(value, list) or len(value) != 11 or value[0] != BLOCK_VERSION:
            raise MalformedInput(f"block header must be an array of 11 items, version "
                                 f"{BLOCK_VERSION}")
        (_, chain_id, height, previous, time_ms, proposer, view, txs_root, state_root,
         vset, last_commit) = value
        ints_ok = all(isinstance(v, int) and not isinstance(v, bool) and v >= 0
                      for v in (height, time_ms, view))
        hashes_ok = all(isinstance(v, bytes) and len(v) == 32
                        for v in (previous, txs_root, state_root, vset, last_commit))
        if not (isinstance(chain_id, str) and ints_ok and hashes_ok and
                isinstance(proposer, bytes) and len(proposer) == MEMBER_ID_BYTES):
            raise MalformedInput("block header fields have the wrong types")
        return cls(chain_id, height, previous, time_ms, MemberId(proposer), view, txs_root,
                   state_root, vset, last_commit)

    @classmethod
    def decode(cls, data: bytes) -> Header:
        return cls.from_array(decode(data))


@dataclass(frozen=True)
class Block:
    header: Header
    transactions: tuple[Transaction, ...]
    last_commit: bytes = b""
    """The previous block's commit certificate as its proposer collected it (b"" for
    block 1): the canonical one, since the header commits to it."""

    @cached_property
    def block_hash(self) -> bytes:
        """Computed once: sync and consensus ask for it several times per block (the
        certificate check, a run's link to the next block, the replica's events)."""
        return self.header.block_hash

    def encode(self) -> bytes:
        return encode([self.header.to_array(), [tx.encoded for tx in self.transactions],
                       self.last_commit])

    @cached_property
    def transactions_root(self) -> bytes:
        """The root over this block's transactions, computed once: decoding checks
        it against the header and validation asks again (the block is immutable)."""
        return transactions_root(self.transactions)

    @cached_property
    def last_commit_hash(self) -> bytes:
        """The hash the header must commit to, computed once: decoding and validation
        both check it."""
        return last_commit_hash(self.last_commit)


def last_commit_hash(last_commit: bytes) -> bytes:
    return tagged_hash(b"senim/last-commit/v1", last_commit)


def transactions_root(transactions: tuple[Transaction, ...] | list[Transaction]) -> bytes:
    """Commits to each transaction's full encoding, signature included: a block hash
    (and so a certificate) must not survive a swapped signature."""
    return tree_root([tx.encoded for tx in transactions])


def decode_block(data: bytes,
                 held: Callable[[list[bytes]], list[Transaction | None]] | None = None
                 ) -> Block:
    """Decode a block and check that its header commits to its transactions.

    `held(encodings)` may give, for each encoded transaction, an already decoded one
    whose canonical encoding is exactly those bytes (a node's mempool holds most of a
    proposal's transactions): it is used as it is, not decoded again."""
    if len(data) > MAX_BLOCK_BYTES:
        raise MalformedInput(f"block of {len(data)} bytes exceeds {MAX_BLOCK_BYTES}")
    value = decode(data, max_arrays=BLOCK_ARRAYS, max_items=MAX_BLOCK_TXS)
    if (not isinstance(value, list) or len(value) != 3 or not isinstance(value[1], list)
            or not isinstance(value[2], bytes)):
        raise MalformedInput("block must be [header, [transactions], last commit]")
    if len(value[1]) > MAX_BLOCK_TXS:
        raise MalformedInput(f"block holds more than {MAX_BLOCK_TXS} transactions")
    header = Header.from_array(value[0])
    encodings: list[bytes] = value[1]
    # Checked with no call a transaction (a generator's is resumed once an item): msgpack
    # gives byte strings as bytes itself, never a subclass.
    if not {bytes}.issuperset(map(type, encodings)):
        raise MalformedInput("block transactions must be byte strings")
    known = held(encodings) if held is not None else [None] * len(encodings)
    txs = [decode_transaction(raw) if tx is None else tx
           for raw, tx in zip(encodings, known, strict=True)]
    block = Block(header, tuple(txs), value[2])
    if block.transactions_root != header.txs_root:
        raise MalformedInput("transactions do not match the header's transactions root")
    if block.last_commit_hash != header.last_commit_hash:
        raise MalformedInput("the last commit does not match the header's last commit hash")
    return block
