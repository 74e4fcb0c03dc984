"""Reading the chain back: blocks, certificates and the transaction index.

Every block, certificate and state value handed out is checked against what
vouches for it (the head, the next block's link, the certificate, the state
root); a mismatch raises CorruptStateError instead of a wrong answer. `Chain`
(ledger/chain.py) adds building, validating and committing blocks on top.
"""

from __future__ import annotations

import hashlib
import logging
from typing import TYPE_CHECKING

from ledger.blocks import (
    MAX_BLOCK_BYTES,
    ZERO_HASH,
    Block,
    Header,
    decode_block,
    last_commit_hash,
)
from ledger.chain_layout import (
    BLOCK_PREFIX,
    CERT_PREFIX,
    HEAD_KEY,
    TX_INDEX_PREFIX,
    height_key,
)
from ledger.codec import decode, encode
from ledger.errors import MalformedInput
from ledger.genesis import Genesis
from ledger.light_client import (
    MAX_SET_CHANGE_PROOFS,
    SetChangeProof,
    proof_from_stored,
    stored_proof_key,
)
from ledger.set_change_records import CertificateCheck as CertificateCheck  # for ledger.chain
from ledger.set_change_records import checked_proof, kept_block
from ledger.transactions import tx_id_of_encoded
from ledger.validator_sets import set_change_heights, validator_set_at
from storage.batch_tree import tree_root
from storage.errors import CorruptStateError
from storage.key_filter import KeyFilter
from storage.kv import KeyValueStore
from storage.state_tree import StateTree

if TYPE_CHECKING:
    import threading

log = logging.getLogger("senim.chain")

# Start-up re-reads this many blocks below the head (and the daemon checks their
# certificates), so a store that lost or damaged its recent blocks is refused
# before it serves them; walking the whole chain is `senim fsck`'s job.
STARTUP_CHECKED_BLOCKS = 64
# Blocks (and their certificates) already checked, remembered so that serving
# them again costs a hash, not a decode and the signature checks.
CERTIFIED_REMEMBERED_MAX = 4096
# The transaction ids of the last blocks a location was checked in: waiters on a
# block's transactions all ask about the same block, which is decoded once.
TX_IDS_REMEMBERED_BLOCKS = 16


class ChainReads:
    """The read side of `ledger.chain.Chain`, whose constructor sets these fields."""

    kv: KeyValueStore
    genesis: Genesis
    chain_id: str
    state: StateTree
    committed_id_filter: KeyFilter  # the ids the transaction index holds, once filled
    head_header: Header
    base_height: int
    _certifies: CertificateCheck | None
    _certified: dict[int, tuple[bytes, bytes]]  # height -> (hash, certificate)
    _tx_ids: dict[int, tuple[bytes, ...]]
    _checked_digests: dict[int, bytes]  # height -> SHA-256 of checked bytes
    _checked_changes: dict[int, bytes]  # change height -> SHA-256 of its checked proof
    # The head and its hash, which a header does not keep (each block's execution and
    # commit asks for it several times). One tuple, so another thread reads a pair.
    _head_and_hash: tuple[Header, bytes] | None = None

    def _check_recent_blocks(self, height: int, head_hash: bytes) -> Header:
        """The head's header, after checking the blocks below it link up to it."""
        expected, head = head_hash, None
        if self.base_height > height:  # the range below would be empty, and no head read
            raise CorruptStateError(f"the base record names block {self.base_height}, above "
                                    f"the head {height}")
        lowest = max(self.base_height, height - STARTUP_CHECKED_BLOCKS + 1)
        for below in range(height, lowest - 1, -1):
            block = self._read_block(below)
            if block is None:
                raise CorruptStateError(f"block {below} is missing below the head {height}")
            if block.block_hash != expected:
                named_by = "the head record" if below == height else f"block {below + 1}"
                raise CorruptStateError(f"block {below} does not hash to what {named_by} names")
            head = head or block.header
            expected = block.header.previous_hash
        if self.base_height == 0 and height < STARTUP_CHECKED_BLOCKS and expected != ZERO_HASH:
            raise CorruptStateError("block 0 does not start the chain")
        assert head is not None
        return head

    def check_certificates(self, certifies: CertificateCheck) -> None:
        """From now on serve only certificates that `certifies` accepts, and check the
        recent blocks' certificates now (CorruptStateError if one does not verify)."""
        self._certifies = certifies
        head = self.head_header
        lowest = max(0, self.base_height - 1, head.height - STARTUP_CHECKED_BLOCKS)
        for height in range(head.height, lowest, -1):
            self.get_certificate(height)

    # ---- reads -------------------------------------------------------------------------
    @property
    def height(self) -> int:
        return self.head_header.height

    @property
    def head_hash(self) -> bytes:
        return self._hash_of(self.head_header)

    def _hash_of(self, head: Header) -> bytes:
        known = self._head_and_hash
        if known is None or known[0] is not head:
            known = self._head_and_hash = (head, head.block_hash)
        return known[1]

    def validator_set_hash_at(self, height: int) -> bytes:
        """What the header of the block at `height` commits to: the set that certifies it
        (fixed in the committed state by then, see `ledger.governance`)."""
        return validator_set_at(self.state, height).set_hash

    def _read_block(self, height: int) -> Block | None:
        """The stored block at `height`, decoded (its transactions root checked), unlinked."""
        data = self.kv.get(height_key(BLOCK_PREFIX, height))
        return None if data is None else self._decode_block(height, data)

    def _decode_block(self, height: int, data: bytes) -> Block:
        try:
            block = decode_block(data)
        except MalformedInput as exc:
            raise CorruptStateError(f"stored block {height} does not decode: {exc}") from exc
        if block.header.height != height or block.header.chain_id != self.chain_id:
            raise CorruptStateError(f"stored block {height} is not this chain's block {height}")
        return block

    def _whole_header(self, height: int, data: bytes) -> Header:
        """The header of stored block bytes, after checking that the bytes are that block
        whole, without decoding its transactions: the header commits to the root of their
        encodings as stored and to the last commit, so a damaged body shows here.
        Serving blocks to a syncing peer needs no more (a full decode costs several
        times this)."""
        header: Header | None = None
        try:
            if len(data) <= MAX_BLOCK_BYTES:
                value = decode(data)
                if (isinstance(value, list) and len(value) == 3 and isinstance(value[1], list)
                        and isinstance(value[2], bytes)
                        and all(isinstance(raw, bytes) for raw in value[1])):
                    header = Header.from_array(value[0])
                    if (tree_root(value[1]) != header.txs_root
                            or last_commit_hash(value[2]) != header.last_commit_hash):
                        header = None
        except MalformedInput:
            header = None
        if header is None:
            raise CorruptStateError(f"stored block {height} does not decode to a whole block")
        if header.height != height or header.chain_id != self.chain_id:
            raise CorruptStateError(f"stored block {height} is not this chain's block {height}")
        return header

    def _checked_block(self, height: int, whole: bool = True
                       ) -> tuple[bytes, Header, Block | None] | None:
        """The stored block at `height`, its bytes and header, after checking its hash
        against what vouches for it: the head, its certificate, or the next block's
        link. `whole=False` checks the bytes without decoding the transactions (the
        block is then None)."""
        if height < self.base_height:
            return None  # not held: this node joined by state sync above it
        head = self.head_header  # one read: a commit may move the head meanwhile
        head_height, head_hash = head.height, self._hash_of(head)
        if height > head_height:
            # A reader on another thread (a store snapshot) may already see the blocks
            # a commit is writing (a sync run writes several), before this object's head
            # moves: the stored head record vouches for the last, and those below it are
            # checked as any block below the head.
            stored = self.kv.get(HEAD_KEY)
            try:
                head_height, head_hash = decode(stored) if stored is not None else (0, b"")
            except (MalformedInput, TypeError, ValueError):
                return None
            if height > head_height:
                return None
        data = self.kv.get(height_key(BLOCK_PREFIX, height))
        if data is None:
            raise CorruptStateError(f"block {height} is missing below the head {head_height}")
        block = self._decode_block(height, data) if whole else None
        header = block.header if block is not None else self._whole_header(height, data)
        block_hash = header.block_hash
        if height == head_height:
            vouched, by = block_hash == head_hash, "the head record"
        elif self._certifies is not None and height > 0:
            certificate = self.kv.get(height_key(CERT_PREFIX, height))
            vouched = certificate is not None and self._vouched(height, block_hash, certificate)
            by = "its certificate (one of the two is damaged)"
        else:
            # The link needs only the header above (whose own check comes when it is read).
            above = self.kv.get(height_key(BLOCK_PREFIX, height + 1))
            vouched = (above is not None
                       and self._whole_header(height + 1, above).previous_hash == block_hash)
            by = f"block {height + 1}"
        if not vouched:
            raise CorruptStateError(f"stored block {height} is not the block named by {by}")
        self._remember_checked(height, data)
        return data, header, block

    def _vouched(self, height: int, block_hash: bytes, certificate: bytes) -> bool:
        if self._certified.get(height) == (block_hash, certificate):
            return True
        assert self._certifies is not None
        if not self._certifies(certificate, height, block_hash):
            return False
        self._remember_certified(height, block_hash, certificate)
        return True

    def _remember_certified(self, height: int, block_hash: bytes, certificate: bytes) -> None:
        if len(self._certified) >= CERTIFIED_REMEMBERED_MAX:
            self._certified.clear()
        self._certified[height] = (block_hash, certificate)

    def _remember_checked(self, height: int, data: bytes) -> None:
        if len(self._checked_digests) >= CERTIFIED_REMEMBERED_MAX:
            self._checked_digests.clear()
        self._checked_digests[height] = hashlib.sha256(data).digest()

    def get_block_bytes(self, height: int) -> bytes | None:
        if height <= self.head_header.height:
            # Sync serves the same recent blocks to every peer: bytes already checked
            # cost a hash, not a decode (a full block decodes in a good part of a second).
            data = self.kv.get(height_key(BLOCK_PREFIX, height))
            remembered = self._checked_digests.get(height)
            if data is not None and remembered == hashlib.sha256(data).digest():
                return data
        checked = self._checked_block(height, whole=False)
        return None if checked is None else checked[0]

    def _stored_head_height(self) -> int:
        """The head as stored: ahead of `head_header` while a commit is being made (a
        reader on another thread may already see that block's writes)."""
        stored = self.kv.get(HEAD_KEY)
        try:
            height, _ = decode(stored) if stored is not None else (0, b"")
        except (MalformedInput, TypeError, ValueError):
            return 0
        return height if isinstance(height, int) else 0

    def get_block(self, height: int) -> Block | None:
        checked = self._checked_block(height)
        return None if checked is None else checked[2]

    def block_time(self, height: int) -> int | None:
        """The time of committed block `height` (its header checked as a served block's
        is, its transactions not decoded), or None when this store does not hold it."""
        if not 1 <= height <= self.head_header.height:
            return None
        checked = self._checked_block(height, whole=False)
        return None if checked is None else checked[1].time_ms

    def get_certificate(self, height: int) -> bytes | None:
        """The commit certificate of block `height`; checked once `check_certificates`
        has given the validators' check."""
        if height < self.base_height:
            return None  # not held: this node joined by state sync above it
        # The head first: a commit writes its block's certificate before it moves the head,
        # so a head at `height` or above means the certificate read next is there. Read the
        # other way round, a block sync serving the block just committed read no
        # certificate, then the new head, and reported this store damaged.
        head = self.head_header
        certificate = self.kv.get(height_key(CERT_PREFIX, height))
        if self._certifies is None or height == 0 or height > head.height:
            return certificate
        remembered = self._certified.get(height)
        if certificate is not None and remembered is not None and remembered[1] == certificate:
            return certificate
        if height == head.height:
            block_hash = self._hash_of(head)
        else:
            checked = self._checked_block(height, whole=False)
            assert checked is not None
            block_hash = checked[1].block_hash
        if certificate is None or not self._vouched(height, block_hash, certificate):
            raise CorruptStateError(f"the stored certificate of block {height} does not verify")
        return certificate

    def set_change_proofs(self, after: int, limit: int) -> list[SetChangeProof]:
        """Proofs of the validator-set changes that take effect above block `after`, in
        order, as far as the head (a light client's walk from genesis), each checked
        (`ledger.set_change_records`). Those below a state-synced store's base come from
        the records it kept while joining. Stops before a change this node holds no proof
        of (a store that joined before they were kept): the client sees the gap."""
        head = self.head_header
        proofs: list[SetChangeProof] = []
        for from_height in set_change_heights(self.state):
            if from_height <= max(after, 1):
                continue
            if from_height - 1 > head.height or len(proofs) >= limit:
                break
            stored = self.kv.get(stored_proof_key(from_height))
            if from_height - 1 >= self.base_height:
                block = self.get_block(from_height - 1)
                certificate = self.get_certificate(from_height - 1)
                pieces = None if block is None or certificate is None else (
                    block.header, certificate)
                check = None  # get_certificate checked it, once it could
            else:
                pieces = kept_block(self.kv, from_height)
                check = self._certifies
            if stored is None or pieces is None:
                break
            proofs.append(self._checked_change(from_height, *pieces, stored, check))
        return proofs

    def _checked_change(self, from_height: int, header: Header, certificate: bytes,
                        stored: bytes, check: CertificateCheck | None) -> SetChangeProof:
        """A kept proof, checked once (Merkle proofs, a kept certificate's signatures):
        served again, it costs a hash, like a block."""
        digest = hashlib.sha256(encode([header.encode(), certificate, stored])).digest()
        if self._checked_changes.get(from_height) == digest:
            return proof_from_stored(header, certificate, stored)
        proof = checked_proof(from_height, header, certificate, stored, check)
        if len(self._checked_changes) >= MAX_SET_CHANGE_PROOFS:
            self._checked_changes.clear()
        self._checked_changes[from_height] = digest
        return proof

    def tx_location(self, tx_id: bytes) -> tuple[int, int] | None:
        data = self.kv.get(TX_INDEX_PREFIX + tx_id)
        if data is None:
            return None
        try:
            height, index = decode(data)
        except (MalformedInput, TypeError, ValueError) as exc:
            raise CorruptStateError(f"the index entry of transaction {tx_id.hex()} is "
                                    "damaged") from exc
        if not (isinstance(height, int) and isinstance(index, int) and height > 0
                and index >= 0):
            raise CorruptStateError(f"the index entry of transaction {tx_id.hex()} is damaged")
        if height > self.head_header.height and height > self._stored_head_height():
            raise CorruptStateError(f"the index entry of transaction {tx_id.hex()} is damaged")
        tx_ids = self._tx_ids.get(height)
        if tx_ids is not None:
            found = tx_ids[index] if index < len(tx_ids) else None
        else:
            # Only the one transaction's id is needed: the block's bytes are checked
            # whole (a hash, if served lately) and that one encoding is hashed. Decoding
            # a full block would hold an API caller for a good part of a second.
            data = self.get_block_bytes(height)
            if data is None:  # below the base of a store filled by state sync
                raise CorruptStateError(f"the index entry of transaction {tx_id.hex()} "
                                        f"points at block {height}, which this store "
                                        "does not hold")
            encodings = decode(data)[1]
            found = tx_id_of_encoded(encodings[index]) if index < len(encodings) else None
        if found != tx_id:
            raise CorruptStateError(f"the index entry of transaction {tx_id.hex()} points at "
                                    f"block {height}, which does not hold it there")
        return height, index

    def is_committed(self, tx_id: bytes) -> bool:
        return (self.committed_id_filter.may_hold(tx_id)
                and self.kv.get(TX_INDEX_PREFIX + tx_id) is not None)

    def fill_key_filters(self, stop: threading.Event | None = None, rest_s: float = 0.0
                         ) -> tuple[int, int] | None:
        """Give the state's key filter and `committed_id_filter` every key the store
        holds, so that they answer most reads of keys it does not hold
        (storage.key_filter): the state values' keys and the transaction index's ids, as
        (count, count); None if `stop` was set first. Any thread: a whole store's keys
        take a while, and until then the filters answer that every key may be there.
        `rest_s`: a pause after each chunk of keys, for the threads beside it."""
        values = self.state.key_filter.fill((key for key, _ in self.state.iterate_items()),
                                            stop, rest_s)
        start = len(TX_INDEX_PREFIX)
        ids = self.committed_id_filter.fill(
            (key[start:] for key, _ in self.kv.iterate_prefix(TX_INDEX_PREFIX)), stop, rest_s)
        return None if values is None or ids is None else (values, ids)
