"""The chain on disk: blocks, certificates, the transaction index and the state.

One LevelDB holds everything; a committed block, its certificate, its state
change, the transaction index entries and the new head are written in ONE
atomic batch, so kill -9 at any instant leaves the chain at a block boundary.
Start-up reads the head and the state root; nothing is replayed.
"""

from __future__ import annotations

import hashlib
import logging
import struct
from collections.abc import Callable
from dataclasses import dataclass, field

from ledger.blocks import ZERO_HASH, Block, Header, decode_block, transactions_root
from ledger.codec import decode, encode
from ledger.errors import ConfigError, MalformedInput, TxRejected
from ledger.genesis import Genesis
from ledger.identity import MemberId
from ledger.rules import BlockContext, apply_transaction, check_envelope
from ledger.transactions import Transaction
from storage.errors import CorruptStateError
from storage.kv import KeyValueStore
from storage.state_tree import EMPTY_ROOT, StateOverlay, StateTree

log = logging.getLogger("senim.chain")

STATE_PREFIX = b"s/"
BLOCK_PREFIX = b"B"
CERT_PREFIX = b"C"
TX_INDEX_PREFIX = b"T"
HEAD_KEY = b"meta:head"
GENESIS_KEY = b"meta:genesis"


# A fresh proposal's time must be near the validator's own clock. Honest blocks carry
# their proposer's "now"; a re-proposal after view changes may be older. Anything
# older than MAX_CLOCK_BEHIND_MS is a primary back-dating (e.g. to issue under an
# accreditation that has since ended).
MAX_CLOCK_AHEAD_MS = 30_000
MAX_CLOCK_BEHIND_MS = 5 * 60_000

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

# (certificate, height, block hash) -> whether the validators certify that block;
# `node.validators.ValidatorSet.certifies`, since certificates belong to consensus.
CertificateCheck = Callable[[bytes, int, bytes], bool]


@dataclass(frozen=True)
class ProposalRules:
    """What a block proposed for a vote must satisfy on top of the ledger rules.

    A block fetched with its commit certificate was already judged by a quorum
    when it was proposed, so sync checks only the ledger rules."""

    proposer: MemberId  # the primary of the block's view, as consensus computes it
    max_view: int  # the view the block was proposed in
    now_ms: int  # the validator's clock


def _height_key(prefix: bytes, height: int) -> bytes:
    return prefix + struct.pack(">Q", height)


@dataclass
class Execution:
    """The outcome of executing transactions on top of the head, not yet committed."""

    header: Header
    overlay: StateOverlay
    accepted: list[Transaction]
    rejected: list[tuple[Transaction, TxRejected]] = field(default_factory=list)

    @property
    def block(self) -> Block:
        return Block(self.header, tuple(self.accepted))


class Chain:
    """The chain over one key-value store.

    Every block, certificate and state value it hands out is checked against
    what vouches for it (the head, the next block's link, the certificate, the
    state root); a mismatch raises CorruptStateError instead of a wrong answer.
    """

    def __init__(self, kv: KeyValueStore, genesis: Genesis) -> None:
        self.kv = kv
        self.genesis = genesis
        self.chain_id = genesis.chain_id
        self.state = StateTree(kv, STATE_PREFIX)
        self._certifies: CertificateCheck | None = None
        self._certified: dict[int, tuple[bytes, bytes]] = {}  # height -> (hash, certificate)
        self._tx_ids: dict[int, tuple[bytes, ...]] = {}
        self._checked_digests: dict[int, bytes] = {}  # height -> SHA-256 of checked bytes
        stored_genesis = kv.get(GENESIS_KEY)
        genesis_id = genesis.genesis_hash
        if stored_genesis is None:
            if (kv.get(HEAD_KEY) is not None or self.state.root != EMPTY_ROOT
                    or kv.get(_height_key(BLOCK_PREFIX, 0)) is not None):
                raise CorruptStateError("the store holds a chain but has lost its genesis "
                                        "record; refusing to start a new chain over it")
            self._write_genesis(genesis_id)
        elif stored_genesis != genesis_id:
            raise ConfigError("node.data_dir", "this data directory holds the chain of another "
                              "genesis file; point data_dir elsewhere or use that genesis")
        head = kv.get(HEAD_KEY)
        if head is None:
            raise CorruptStateError("data directory has no head record")
        try:
            height, head_hash = decode(head)
        except (MalformedInput, TypeError, ValueError) as exc:
            raise CorruptStateError("the head record is damaged") from exc
        if not (isinstance(height, int) and height >= 0 and isinstance(head_hash, bytes)):
            raise CorruptStateError("the head record is damaged")
        self.head_header = self._check_recent_blocks(height, head_hash)
        if self.head_header.state_root != self.state.root:
            raise CorruptStateError(
                f"state root on disk {self.state.root.hex()} does not match block {height}")
        log.info("chain loaded: height %d head %s state %s", height, head_hash.hex()[:16],
                 self.state.root.hex()[:16])

    def _check_recent_blocks(self, height: int, head_hash: bytes) -> Header:
        """The head's header, after checking the blocks below it link up to it."""
        expected, head = head_hash, None
        for below in range(height, max(-1, height - STARTUP_CHECKED_BLOCKS), -1):
            block = self._read_block(below)
            if block is None:
                raise CorruptStateError(f"block {below} is missing below the head {height}")
            if block.block_hash != expected:
                named_by = "the head record" if below == height else f"block {below + 1}"
                raise CorruptStateError(f"block {below} does not hash to what {named_by} names")
            head = head or block.header
            expected = block.header.previous_hash
        if height < STARTUP_CHECKED_BLOCKS and expected != ZERO_HASH:
            raise CorruptStateError("block 0 does not start the chain")
        assert head is not None
        return head

    def check_certificates(self, certifies: CertificateCheck) -> None:
        """From now on serve only certificates that `certifies` accepts, and check the
        recent blocks' certificates now (CorruptStateError if one does not verify)."""
        self._certifies = certifies
        head = self.head_header
        for height in range(head.height, max(0, head.height - STARTUP_CHECKED_BLOCKS), -1):
            self.get_certificate(height)

    def _write_genesis(self, genesis_id: bytes) -> None:
        overlay = self.state.overlay()
        for key, value in self.genesis.initial_state().items():
            overlay.set(key, value)
        header = Header(self.chain_id, 0, ZERO_HASH, self.genesis.genesis_time_ms,
                        MemberId(b"\x00" * 20), 0, transactions_root([]), overlay.root(),
                        self.genesis.validator_set_hash)
        writes = self.state.commit(overlay)
        writes.update(self._block_writes(Block(header, ()), b""))
        writes[GENESIS_KEY] = genesis_id
        self.kv.write(writes, sync=True)
        self.state.committed(overlay)

    # ---- reads -------------------------------------------------------------------------
    @property
    def height(self) -> int:
        return self.head_header.height

    @property
    def head_hash(self) -> bytes:
        return self.head_header.block_hash

    def _load_header(self, height: int) -> Header:
        block = self.get_block(height)
        if block is None:
            raise CorruptStateError(f"block {height} missing from the store")
        return block.header

    def _read_block(self, height: int) -> Block | None:
        """The stored block at `height`, decoded (its transactions root checked), unlinked."""
        data = self.kv.get(_height_key(BLOCK_PREFIX, height))
        return None if data is None else self._decode_block(height, data)

    def _decode_block(self, height: int, data: bytes) -> Block:
        try:
            block = decode_block(data)
        except MalformedInput as exc:
            raise CorruptStateError(f"stored block {height} does not decode: {exc}") from exc
        if block.header.height != height or block.header.chain_id != self.chain_id:
            raise CorruptStateError(f"stored block {height} is not this chain's block {height}")
        return block

    def _checked_block(self, height: int) -> tuple[bytes, Block] | None:
        """The stored block at `height` and its bytes, after checking its hash against
        what vouches for it: the head, its certificate, or the next block's link."""
        head = self.head_header  # one read: a commit may move the head meanwhile
        head_height, head_hash = head.height, head.block_hash
        if height > head_height:
            # A reader on another thread (a store snapshot) may already see the block
            # a commit is writing, before this object's head moves: the stored head
            # record vouches for it then.
            stored = self.kv.get(HEAD_KEY)
            try:
                head_height, head_hash = decode(stored) if stored is not None else (0, b"")
            except (MalformedInput, TypeError, ValueError):
                return None
            if height != head_height:
                return None
        data = self.kv.get(_height_key(BLOCK_PREFIX, height))
        if data is None:
            raise CorruptStateError(f"block {height} is missing below the head {head_height}")
        block = self._decode_block(height, data)
        block_hash = block.block_hash
        if height == head_height:
            vouched, by = block_hash == head_hash, "the head record"
        elif self._certifies is not None and height > 0:
            certificate = self.kv.get(_height_key(CERT_PREFIX, height))
            vouched = certificate is not None and self._vouched(height, block_hash, certificate)
            by = "its certificate (one of the two is damaged)"
        else:
            above = self._read_block(height + 1)
            vouched = above is not None and above.header.previous_hash == block_hash
            by = f"block {height + 1}"
        if not vouched:
            raise CorruptStateError(f"stored block {height} is not the block named by {by}")
        if len(self._checked_digests) >= CERTIFIED_REMEMBERED_MAX:
            self._checked_digests.clear()
        self._checked_digests[height] = hashlib.sha256(data).digest()
        return data, block

    def _vouched(self, height: int, block_hash: bytes, certificate: bytes) -> bool:
        if self._certified.get(height) == (block_hash, certificate):
            return True
        assert self._certifies is not None
        if not self._certifies(certificate, height, block_hash):
            return False
        if len(self._certified) >= CERTIFIED_REMEMBERED_MAX:
            self._certified.clear()
        self._certified[height] = (block_hash, certificate)
        return True

    def get_block_bytes(self, height: int) -> bytes | None:
        if height <= self.head_header.height:
            # Sync serves the same recent blocks to every peer: bytes already checked
            # cost a hash, not a decode (a full block decodes in a good part of a second).
            data = self.kv.get(_height_key(BLOCK_PREFIX, height))
            remembered = self._checked_digests.get(height)
            if data is not None and remembered == hashlib.sha256(data).digest():
                return data
        checked = self._checked_block(height)
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
        return None if checked is None else checked[1]

    def get_certificate(self, height: int) -> bytes | None:
        """The commit certificate of block `height`; checked once `check_certificates`
        has given the validators' check."""
        certificate = self.kv.get(_height_key(CERT_PREFIX, height))
        head = self.head_header
        if self._certifies is None or height == 0 or height > head.height:
            return certificate
        remembered = self._certified.get(height)
        if certificate is not None and remembered is not None and remembered[1] == certificate:
            return certificate
        if height == head.height:
            block_hash = head.block_hash
        else:
            checked = self._checked_block(height)
            assert checked is not None
            block_hash = checked[1].block_hash
        if certificate is None or not self._vouched(height, block_hash, certificate):
            raise CorruptStateError(f"the stored certificate of block {height} does not verify")
        return certificate

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
        if tx_ids is None:
            block = self.get_block(height)
            assert block is not None, "a height at or below the head has a block or raises"
            tx_ids = tuple(tx.tx_id for tx in block.transactions)
            if len(self._tx_ids) >= TX_IDS_REMEMBERED_BLOCKS:
                self._tx_ids.clear()
            self._tx_ids[height] = tx_ids
        if index >= len(tx_ids) or tx_ids[index] != tx_id:
            raise CorruptStateError(f"the index entry of transaction {tx_id.hex()} points at "
                                    f"block {height}, which does not hold it there")
        return height, index

    def is_committed(self, tx_id: bytes) -> bool:
        return self.kv.get(TX_INDEX_PREFIX + tx_id) is not None

    # ---- execution ---------------------------------------------------------------------
    def build(self, txs: list[Transaction], proposer: MemberId, view: int, time_ms: int,
              verified: set[bytes] | frozenset[bytes] = frozenset()) -> Execution:
        """Execute candidate transactions on the head, dropping the ones refused."""
        time_ms = max(time_ms, self.head_header.time_ms)
        ctx = BlockContext(self.chain_id, self.height + 1, time_ms)
        overlay = self.state.overlay()
        accepted: list[Transaction] = []
        rejected: list[tuple[Transaction, TxRejected]] = []
        seen: set[bytes] = set()
        for tx in txs:
            try:
                self._execute_one(overlay, tx, ctx, seen, tx.tx_id in verified)
            except TxRejected as exc:
                rejected.append((tx, exc))
                continue
            accepted.append(tx)
        header = Header(self.chain_id, ctx.height, self.head_hash, time_ms, proposer, view,
                        transactions_root(accepted), overlay.root(),
                        self.genesis.validator_set_hash)
        return Execution(header, overlay, accepted, rejected)

    def validate(self, block: Block,
                 verified: set[bytes] | frozenset[bytes] = frozenset(),
                 proposal: ProposalRules | None = None) -> Execution:
        """Whether a block is valid, in one place: it extends the head, its roots match,
        every transaction passes the ledger rules and, for a proposal, it comes from
        the right primary at a plausible time. Raises MalformedInput if not."""
        header = block.header
        if proposal is not None:
            _check_proposal(header, proposal)
        expected = (self.chain_id, self.height + 1, self.head_hash,
                    self.genesis.validator_set_hash)
        actual = (header.chain_id, header.height, header.previous_hash,
                  header.validator_set_hash)
        if actual != expected:
            raise MalformedInput(f"block does not extend the head at height {self.height}")
        if header.time_ms < self.head_header.time_ms:
            raise MalformedInput("block time goes backwards")
        if block.transactions_root != header.txs_root:  # computed once per block
            raise MalformedInput("transactions do not match the header's transactions root")
        ctx = BlockContext(self.chain_id, header.height, header.time_ms)
        overlay = self.state.overlay()
        seen: set[bytes] = set()
        for tx in block.transactions:
            try:
                self._execute_one(overlay, tx, ctx, seen, tx.tx_id in verified)
            except TxRejected as exc:
                raise MalformedInput(f"block holds a refused transaction: {exc.message}") from exc
        if overlay.root() != header.state_root:
            raise MalformedInput("state root in the header does not match execution")
        return Execution(header, overlay, list(block.transactions))

    def check_pending(self, tx: Transaction, time_ms: int, signature_ok: bool = True) -> None:
        """Would `tx` pass the ledger rules in the next block? Raises TxRejected if not.

        Writes only to a throw-away overlay of the committed state."""
        ctx = BlockContext(self.chain_id, self.height + 1, max(time_ms, self.head_header.time_ms))
        overlay = self.state.overlay()
        sender = check_envelope(overlay, tx, ctx, self.is_committed, signature_ok)
        apply_transaction(overlay, tx, sender, ctx)

    def _execute_one(self, overlay: StateOverlay, tx: Transaction, ctx: BlockContext,
                     seen: set[bytes], signature_ok: bool) -> None:
        tx_id = tx.tx_id
        if tx_id in seen:
            raise TxRejected("replayed", "transaction appears twice")
        sender = check_envelope(overlay, tx, ctx, self.is_committed, signature_ok)
        apply_transaction(overlay, tx, sender, ctx)
        seen.add(tx_id)

    # ---- commit ------------------------------------------------------------------------
    def _block_writes(self, block: Block, certificate: bytes) -> dict[bytes, bytes | None]:
        height = block.header.height
        block_hash = block.block_hash
        writes: dict[bytes, bytes | None] = {
            _height_key(BLOCK_PREFIX, height): block.encode(),
            _height_key(CERT_PREFIX, height): certificate,
            HEAD_KEY: encode([height, block_hash]),
        }
        for index, tx in enumerate(block.transactions):
            writes[TX_INDEX_PREFIX + tx.tx_id] = encode([height, index])
        return writes

    def commit(self, execution: Execution, certificate: bytes,
               also_write: dict[bytes, bytes | None] | None = None, sync: bool = True) -> None:
        """Make a block durable with its certificate, state change, transaction index,
        new head and `also_write` (the replica's safety state), in one atomic batch.

        `sync=False` leaves the batch in the OS (it survives the process being
        killed, not a power cut) until the next synced write flushes LevelDB's log."""
        block = execution.block
        assert block.header.height == self.height + 1, "commit must extend the head"
        assert block.header.previous_hash == self.head_hash, "commit must extend the head"
        writes = self.state.commit(execution.overlay)
        writes.update(self._block_writes(block, certificate))
        if also_write:
            writes.update(also_write)
        self.kv.write(writes, sync=sync)
        self.state.committed(execution.overlay)
        self.head_header = block.header
        # Waiters ask where the block's transactions are as soon as it is reported:
        # remember its ids now rather than decode the block back from disk.
        if len(self._tx_ids) >= TX_IDS_REMEMBERED_BLOCKS:
            self._tx_ids.clear()
        self._tx_ids[block.header.height] = tuple(tx.tx_id for tx in block.transactions)


def _check_proposal(header: Header, rules: ProposalRules) -> None:
    if header.view > rules.max_view or bytes(header.proposer) != rules.proposer:
        raise MalformedInput("block was not made by the primary of its view")
    if header.time_ms > rules.now_ms + MAX_CLOCK_AHEAD_MS:
        raise MalformedInput("block time is too far in the future")
    if header.time_ms < rules.now_ms - MAX_CLOCK_BEHIND_MS:
        raise MalformedInput("block time is too far in the past")
