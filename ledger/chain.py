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

from ledger.bft_time import MAX_STALE_MS, CommitTimes, next_block_time
from ledger.blocks import (
    ZERO_HASH,
    Block,
    Header,
    decode_block,
    last_commit_hash,
    transactions_root,
)
from ledger.codec import decode, encode
from ledger.equivocation import EvidenceCheck
from ledger.errors import ConfigError, MalformedInput, TxRejected
from ledger.genesis import Genesis
from ledger.identity import MemberId
from ledger.light_client import (
    SetChangeProof,
    proof_from_stored,
    stored_proof_key,
    stored_proof_value,
)
from ledger.rules import BlockContext, apply_transaction, check_envelope
from ledger.transactions import Transaction
from ledger.validator_sets import set_change_heights, validator_set_at
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
# The lowest block the store holds: absent (0) unless the node joined by state sync,
# which starts the store at a certified block's state and holds nothing below it.
BASE_KEY = b"meta:base"


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
    when it was proposed, so sync checks only the ledger rules. The block's time
    is no proposer's choice (ledger/bft_time.py); the clock only checks that a
    fresh proposal holding transactions does not carry an idle chain's old time."""

    proposer: MemberId  # the primary of the block's view, as consensus computes it
    max_view: int  # the view the block was proposed in
    now_ms: int  # the validator's clock


def _height_key(prefix: bytes, height: int) -> bytes:
    return prefix + struct.pack(">Q", height)


def block_key(height: int) -> bytes:
    return _height_key(BLOCK_PREFIX, height)


def certificate_key(height: int) -> bytes:
    return _height_key(CERT_PREFIX, height)


@dataclass
class Execution:
    """The outcome of executing transactions on top of the head, not yet committed."""

    header: Header
    overlay: StateOverlay
    accepted: list[Transaction]
    rejected: list[tuple[Transaction, TxRejected]] = field(default_factory=list)
    last_commit: bytes = b""

    @property
    def block(self) -> Block:
        return Block(self.header, tuple(self.accepted), self.last_commit)


class Chain:
    """The chain over one key-value store.

    Every block, certificate and state value it hands out is checked against
    what vouches for it (the head, the next block's link, the certificate, the
    state root); a mismatch raises CorruptStateError instead of a wrong answer.
    """

    def __init__(self, kv: KeyValueStore, genesis: Genesis,
                 evidence_check: EvidenceCheck | None = None) -> None:
        self.kv = kv
        self.genesis = genesis
        # Every node that executes blocks must be given the same check (the node gives
        # `node.evidence.check_equivocation`); without it evidence is refused.
        self.evidence_check = evidence_check
        self.chain_id = genesis.chain_id
        self.state = StateTree(kv, STATE_PREFIX)
        self._certifies: CertificateCheck | None = None
        self._certified: dict[int, tuple[bytes, bytes]] = {}  # height -> (hash, certificate)
        self._tx_ids: dict[int, tuple[bytes, ...]] = {}
        self._checked_digests: dict[int, bytes] = {}  # height -> SHA-256 of checked bytes
        self.base_height = _load_base(kv)
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

    def _write_genesis(self, genesis_id: bytes) -> None:
        overlay = self.state.overlay()
        for key, value in self.genesis.initial_state().items():
            overlay.set(key, value)
        header = Header(self.chain_id, 0, ZERO_HASH, self.genesis.genesis_time_ms,
                        MemberId(b"\x00" * 20), 0, transactions_root([]), overlay.root(),
                        self.genesis.validator_set_hash, last_commit_hash(b""))
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

    def validator_set_hash_at(self, height: int) -> bytes:
        """What the header of the block at `height` commits to: the set that certifies it
        (fixed in the committed state by then, see `ledger.governance`)."""
        return validator_set_at(self.state, height).set_hash

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
        if height < self.base_height:
            return None  # not held: this node joined by state sync above it
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
        if height < self.base_height:
            return None  # not held: this node joined by state sync above it
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

    def set_change_proofs(self, after: int, limit: int) -> list[SetChangeProof]:
        """Proofs of the validator-set changes that take effect above block `after`, in
        order, as far as the head (a light client's walk from genesis). Stops before a
        change this node holds no proof of (it joined later): the client sees the gap."""
        head = self.head_header
        proofs: list[SetChangeProof] = []
        for from_height in set_change_heights(self.state):
            if from_height <= max(after, 1):
                continue
            if from_height - 1 > head.height or len(proofs) >= limit:
                break
            stored = self.kv.get(stored_proof_key(from_height))
            block = self.get_block(from_height - 1)
            certificate = self.get_certificate(from_height - 1)
            if stored is None or block is None or certificate is None:
                break
            try:
                proofs.append(proof_from_stored(block.header, certificate, stored))
            except MalformedInput as exc:
                raise CorruptStateError(str(exc)) from exc
        return proofs

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
    def next_block_basis(self, commit_times: CommitTimes) -> tuple[bytes, int]:
        """The next block's last commit (the head's stored certificate) and the time it
        gives the block (BFT time). Raises MalformedInput if that certificate is bad."""
        last_commit = b"" if self.height == 0 else (self.get_certificate(self.height) or b"")
        return last_commit, next_block_time(self.head_header, last_commit, commit_times)

    def build(self, txs: list[Transaction], proposer: MemberId, view: int, time_ms: int,
              verified: set[bytes] | frozenset[bytes] = frozenset(),
              last_commit: bytes = b"") -> Execution:
        """Execute candidate transactions on the head, dropping the ones refused.

        A proposer passes what `next_block_basis` gives, or `validate` refuses the block."""
        time_ms = max(time_ms, self.head_header.time_ms)
        ctx = BlockContext(self.chain_id, self.height + 1, time_ms, self.evidence_check)
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
                        self.validator_set_hash_at(ctx.height), last_commit_hash(last_commit))
        return Execution(header, overlay, accepted, rejected, last_commit)

    def validate(self, block: Block,
                 verified: set[bytes] | frozenset[bytes] = frozenset(),
                 proposal: ProposalRules | None = None, *,
                 commit_times: CommitTimes) -> Execution:
        """Whether a block is valid, in one place: it extends the head, its roots match,
        its last commit certifies the head and its time is the one that commit gives
        (BFT time), every transaction passes the ledger rules and, for a proposal, it
        comes from the right primary. Raises MalformedInput if not."""
        header = block.header
        if proposal is not None:
            _check_proposal(block, proposal)
        expected = (self.chain_id, self.height + 1, self.head_hash,
                    self.validator_set_hash_at(self.height + 1))
        actual = (header.chain_id, header.height, header.previous_hash,
                  header.validator_set_hash)
        if actual != expected:
            raise MalformedInput(f"block does not extend the head at height {self.height}")
        if block.transactions_root != header.txs_root:  # computed once per block
            raise MalformedInput("transactions do not match the header's transactions root")
        if last_commit_hash(block.last_commit) != header.last_commit_hash:
            raise MalformedInput("the last commit does not match the header's last commit hash")
        expected_time = next_block_time(self.head_header, block.last_commit, commit_times)
        if header.time_ms != expected_time:
            raise MalformedInput(f"block time {header.time_ms} is not the time its last commit "
                                 f"gives ({expected_time})")
        ctx = BlockContext(self.chain_id, header.height, header.time_ms, self.evidence_check)
        overlay = self.state.overlay()
        seen: set[bytes] = set()
        for tx in block.transactions:
            try:
                self._execute_one(overlay, tx, ctx, seen, tx.tx_id in verified)
            except TxRejected as exc:
                raise MalformedInput(f"block holds a refused transaction: {exc.message}") from exc
        if overlay.root() != header.state_root:
            raise MalformedInput("state root in the header does not match execution")
        return Execution(header, overlay, list(block.transactions), [], block.last_commit)

    def check_pending(self, tx: Transaction, time_ms: int, signature_ok: bool = True) -> None:
        """Would `tx` pass the ledger rules in the next block? Raises TxRejected if not.

        Writes only to a throw-away overlay of the committed state."""
        ctx = BlockContext(self.chain_id, self.height + 1, max(time_ms, self.head_header.time_ms),
                           self.evidence_check)
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
        # A light client learns a set change from the block before it, whose state
        # holds the final record; the state is overwritten in place, so prove it now.
        change_proof = stored_proof_value(execution.overlay, block.header.height)
        writes = self.state.commit(execution.overlay)
        writes.update(self._block_writes(block, certificate))
        if change_proof is not None:
            writes[stored_proof_key(block.header.height + 1)] = change_proof
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


def _load_base(kv: KeyValueStore) -> int:
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
        _height_key(BLOCK_PREFIX, height): block.encode(),
        _height_key(CERT_PREFIX, height): certificate,
        HEAD_KEY: encode([height, block.block_hash]), BASE_KEY: encode(height),
        GENESIS_KEY: genesis.genesis_hash}
    for index, tx in enumerate(block.transactions):
        writes[TX_INDEX_PREFIX + tx.tx_id] = encode([height, index])
    return writes


def _check_proposal(block: Block, rules: ProposalRules) -> None:
    header = block.header
    if header.view > rules.max_view or bytes(header.proposer) != rules.proposer:
        raise MalformedInput("block was not made by the primary of its view")
    fresh = header.view == rules.max_view  # not a re-proposal forced by a view change
    if fresh and block.transactions and header.time_ms < rules.now_ms - MAX_STALE_MS:
        raise MalformedInput("block time is stale: after an idle spell the primary must "
                             "propose an empty block first, to refresh the time")
