"""The chain on disk: blocks, certificates, the transaction index and the state.

One LevelDB holds everything; a committed block, its certificate, its state
change, the transaction index entries and the new head are written in ONE
atomic batch, so kill -9 at any instant leaves the chain at a block boundary.
Start-up reads the head and the state root; nothing is replayed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from ledger.bft_time import MAX_STALE_MS, CommitTimes, next_block_time
from ledger.block_state import BlockState
from ledger.blocks import (
    ZERO_HASH,
    Block,
    Header,
    last_commit_hash,
    transactions_root,
)
from ledger.chain_layout import (
    BLOCK_PREFIX,
    CERT_PREFIX,
    GENESIS_KEY,
    HEAD_KEY,
    STATE_PREFIX,
    TX_INDEX_PREFIX,
    height_key,
    index_encodings,
    load_base,
)
from ledger.chain_reads import (
    TX_IDS_REMEMBERED_BLOCKS,
    CertificateCheck,
    ChainReads,
)
from ledger.chain_run import ChainRun, Execution, rules_source
from ledger.codec import decode, encode
from ledger.equivocation import EvidenceCheck
from ledger.errors import ConfigError, MalformedInput, TxRejected
from ledger.genesis import Genesis, fingerprint_of
from ledger.identity import MemberId
from ledger.light_client import (
    stored_proof_key,
    stored_proof_value,
)
from ledger.member_name_index import index_at_upgrade
from ledger.rules import (
    BlockContext,
    apply_transaction,
    block_context,
    check_before_signature,
    check_envelope,
    check_signature,
)
from ledger.rules_version import require_known_rules
from ledger.transactions import Transaction
from ledger.validator_sets import set_change_heights
from storage.errors import CorruptStateError
from storage.key_filter import KEY_FILTER_BITS, KeyFilter
from storage.kv import KeyValueStore
from storage.state_tree import EMPTY_ROOT, STATE_NODES_CACHED_MAX, StateTree

log = logging.getLogger("senim.chain")

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
    # Re-proposed by a view change's NewView, as its proofs require: the block keeps the
    # view (and proposer) it was first proposed in, and its time. Any other proposal is
    # of the view it is proposed in: a primary naming an older view named another
    # validator as proposer, and its idle chain's old time passed unchecked.
    forced: bool = False


class Chain(ChainReads):
    """The chain over one key-value store.

    Every block, certificate and state value it hands out is checked against
    what vouches for it (the head, the next block's link, the certificate, the
    state root); a mismatch raises CorruptStateError instead of a wrong answer.
    """

    def __init__(self, kv: KeyValueStore, genesis: Genesis,
                 evidence_check: EvidenceCheck | None = None,
                 state_nodes_cached: int = STATE_NODES_CACHED_MAX,
                 key_filter_bits: int = KEY_FILTER_BITS) -> None:
        """`key_filter_bits`: the size of each of its two key filters (storage.key_filter),
        which save no read until filled (`fill_key_filters`)."""
        self.kv = kv
        self.genesis = genesis
        # Every node that executes blocks must be given the same check (the node gives
        # `node.evidence.check_equivocation`); without it evidence is refused.
        self.evidence_check = evidence_check
        self.chain_id = genesis.chain_id
        self.state = StateTree(kv, STATE_PREFIX, cache_nodes_max=state_nodes_cached,
                               key_filter_bits=key_filter_bits)
        self.committed_id_filter = KeyFilter(key_filter_bits)
        self._certifies: CertificateCheck | None = None
        self._certified: dict[int, tuple[bytes, bytes]] = {}  # height -> (hash, certificate)
        self._tx_ids: dict[int, tuple[bytes, ...]] = {}
        self._checked_digests: dict[int, bytes] = {}  # height -> SHA-256 of checked bytes
        self._checked_changes: dict[int, bytes] = {}  # set-change proofs, likewise
        self.base_height = load_base(kv)
        stored_genesis = kv.get(GENESIS_KEY)
        genesis_id = genesis.genesis_hash
        if stored_genesis is None:
            if (kv.get(HEAD_KEY) is not None or self.state.root != EMPTY_ROOT
                    or kv.get(height_key(BLOCK_PREFIX, 0)) is not None):
                raise CorruptStateError("the store holds a chain but has lost its genesis "
                                        "record; refusing to start a new chain over it")
            self._write_genesis(genesis_id)
        elif stored_genesis != genesis_id:
            # both fingerprints, so the operator can find the chain's genesis file with
            # `senim consortium fingerprint FILE`
            raise ConfigError("node.data_dir", "this data directory holds the chain of another "
                              f"genesis file (fingerprint {fingerprint_of(stored_genesis)}) than "
                              f"node.genesis (fingerprint {genesis.fingerprint}): point "
                              "node.genesis at the genesis file of that fingerprint (`senim "
                              "consortium fingerprint FILE` prints a file's), or data_dir "
                              "elsewhere")
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

    # ---- execution ---------------------------------------------------------------------
    def next_block_basis(self, commit_times: CommitTimes) -> tuple[bytes, int]:
        """The next block's last commit (the head's stored certificate) and the time it
        gives the block (BFT time). Raises MalformedInput if that certificate is bad."""
        last_commit = b"" if self.height == 0 else (self.get_certificate(self.height) or b"")
        return last_commit, next_block_time(self.head_header, last_commit, commit_times,
                                            self.head_hash)

    def build(self, txs: list[Transaction], proposer: MemberId, view: int, time_ms: int,
              verified: set[bytes] | frozenset[bytes] = frozenset(),
              last_commit: bytes = b"") -> Execution:
        """Execute candidate transactions on the head, dropping the ones refused.

        A proposer passes what `next_block_basis` gives, or `validate` refuses the block.
        RulesVersionUnknown, executing nothing, if this release does not know the rules
        version of the next block."""
        time_ms = max(time_ms, self.head_header.time_ms)
        height = self.height + 1
        ctx = BlockContext(self.chain_id, height, time_ms,
                           require_known_rules(self.state, height), self.evidence_check)
        # Absences are checked by overlay.root() below, before the header is made: a
        # refusal resting on a value lost on disk fails the build there.
        overlay = self.state.overlay(defer_absence=True)
        index_at_upgrade(overlay, self.state, height, ctx.rules_version)
        block_state = BlockState(overlay)
        accepted: list[Transaction] = []
        rejected: list[tuple[Transaction, TxRejected]] = []
        seen: set[bytes] = set()
        for tx in txs:
            try:
                self._execute_one(block_state, tx, ctx, seen, tx.tx_id in verified)
            except TxRejected as exc:
                rejected.append((tx, exc))
                continue
            except MalformedInput:
                overlay.root()  # a rule that finds a stored record missing: damage first
                raise
            accepted.append(tx)
        header = Header(self.chain_id, ctx.height, self.head_hash, time_ms, proposer, view,
                        transactions_root(accepted), overlay.root(),
                        self.validator_set_hash_at(ctx.height), last_commit_hash(last_commit))
        return Execution(header, overlay, accepted, rejected, last_commit)

    def start_run(self) -> ChainRun:
        """An empty run of certified blocks on the head (see `ChainRun`)."""
        return ChainRun(self.state.overlay(defer_absence=True), self.head_header,
                        self.head_hash, frozenset(set_change_heights(self.state)), self.state)

    def check_extends(self, block: Block, proposal: ProposalRules | None = None) -> None:
        """`validate`'s first checks alone, against the head (MalformedInput if one
        fails): for a proposal before its transactions' signatures are checked, which a
        Byzantine primary's block of 13,000 forged ones on the wrong parent cost 0.66 s."""
        parent = self.head_header
        self._check_extends(block, proposal, parent, self.head_hash,
                            self.validator_set_hash_at(parent.height + 1))

    def _check_extends(self, block: Block, proposal: ProposalRules | None, parent: Header,
                       parent_hash: bytes, set_hash: bytes) -> None:
        header = block.header
        if proposal is not None:
            _check_proposal(block, proposal)
        expected = (self.chain_id, parent.height + 1, parent_hash, set_hash)
        actual = (header.chain_id, header.height, header.previous_hash,
                  header.validator_set_hash)
        if actual != expected:
            raise MalformedInput(f"block does not extend the head at height {parent.height}")
        if block.transactions_root != header.txs_root:  # computed once per block
            raise MalformedInput("transactions do not match the header's transactions root")
        if block.last_commit_hash != header.last_commit_hash:  # computed once per block
            raise MalformedInput("the last commit does not match the header's last commit hash")

    def validate(self, block: Block,
                 verified: set[bytes] | frozenset[bytes] = frozenset(),
                 proposal: ProposalRules | None = None, *,
                 commit_times: CommitTimes, run: ChainRun | None = None) -> Execution:
        """Whether a block is valid, in one place: it extends the head, its roots match,
        its last commit certifies the head and its time is the one that commit gives
        (BFT time), every transaction passes the ledger rules and, for a proposal, it
        comes from the right primary. Raises MalformedInput if not, and
        RulesVersionUnknown, judging nothing, if this release does not know the rules
        version of the height after the head (or the run).

        With `run`, the block extends the run's last block instead of the head, executes
        on the run's overlay and joins the run, its state root checked only if it is
        the run's last, when the run commits (`ChainRun`). A refused block leaves the run
        unusable."""
        header = block.header
        parent = self.head_header if run is None else run.parent
        if run is not None and run.ended:
            raise MalformedInput(f"the run ends at height {parent.height}")
        overlay = self.state.overlay(defer_absence=True) if run is None else run.overlay
        # The next height's rules, from our state whatever the block claims: a block a
        # release cannot judge is not judged, so it neither votes for it nor refuses it.
        rules_version = require_known_rules(rules_source(overlay, self.state),
                                            parent.height + 1)
        parent_hash = self.head_hash if run is None else run.parent_hash
        set_hash = (self.validator_set_hash_at(parent.height + 1) if run is None else
                    run.validator_set_hash_at(parent.height + 1, self.validator_set_hash_at))
        self._check_extends(block, proposal, parent, parent_hash, set_hash)
        expected_time = next_block_time(parent, block.last_commit, commit_times, parent_hash)
        if header.time_ms != expected_time:
            raise MalformedInput(f"block time {header.time_ms} is not the time its last commit "
                                 f"gives ({expected_time})")
        ctx = BlockContext(self.chain_id, header.height, header.time_ms, rules_version,
                           self.evidence_check)
        seen: set[bytes] = set() if run is None else run.seen
        index_at_upgrade(overlay, self.state, header.height, rules_version)
        block_state = BlockState(overlay)
        for tx in block.transactions:
            try:
                self._execute_one(block_state, tx, ctx, seen, tx.tx_id in verified)
            except TxRejected as exc:
                # A refusal may rest on an absence not checked yet: damage here is a
                # CorruptStateError from root(), not a verdict on the block.
                overlay.root()
                raise MalformedInput(f"block holds a refused transaction: {exc.message}") from exc
            except MalformedInput:
                overlay.root()  # a rule that finds a stored record missing: damage first
                raise
        if run is None and overlay.root() != header.state_root:
            raise MalformedInput("state root in the header does not match execution")
        execution = Execution(header, overlay, list(block.transactions), [], block.last_commit)
        if run is not None:
            run.parent, run.parent_hash = header, block.block_hash
            run.executions.append(execution)
        return execution

    def check_pending(self, tx: Transaction, time_ms: int, signature_ok: bool = True) -> None:
        """Would `tx` pass the ledger rules in the next block? Raises TxRejected if not.

        Writes only to a throw-away overlay of the committed state."""
        overlay = self.state.overlay()
        ctx = block_context(overlay, self.chain_id, self.height + 1,
                            max(time_ms, self.head_header.time_ms), self.evidence_check)
        sender = check_envelope(overlay, tx, ctx, self.is_committed, signature_ok)
        apply_transaction(overlay, tx, sender, ctx)

    def _execute_one(self, state: BlockState, tx: Transaction, ctx: BlockContext,
                     seen: set[bytes], signature_ok: bool) -> None:
        tx_id = tx.tx_id
        if tx_id in seen:
            raise TxRejected("replayed", "transaction appears twice")
        # check_envelope's two checks, called here: a call fewer a transaction
        sender = check_before_signature(state, tx, ctx, self.is_committed)
        check_signature(sender, tx, ctx, signature_ok)
        apply_transaction(state, tx, sender, ctx)
        seen.add(tx_id)

    # ---- commit ------------------------------------------------------------------------
    def _block_writes(self, block: Block, certificate: bytes) -> dict[bytes, bytes | None]:
        height = block.header.height
        block_hash = block.block_hash
        writes: dict[bytes, bytes | None] = {
            height_key(BLOCK_PREFIX, height): block.encode(),
            height_key(CERT_PREFIX, height): certificate,
            HEAD_KEY: encode([height, block_hash]),
        }
        # Each entry is encode([height, index]): the array's header, the height's bytes
        # and the index's, joined without a call of the encoder per transaction.
        head = b"\x92" + encode(height)
        writes.update(zip([TX_INDEX_PREFIX + tx.tx_id for tx in block.transactions],
                          map(head.__add__, index_encodings(len(block.transactions))),
                          strict=False))
        return writes

    def commit(self, execution: Execution, certificate: bytes,
               also_write: dict[bytes, bytes | None] | None = None, sync: bool = True) -> None:
        """Make a block durable with its certificate, state change, transaction index,
        new head and `also_write` (the replica's safety state), in one atomic batch.

        `sync=False` leaves the batch in the OS (it survives the process being
        killed, not a power cut) until the next synced write makes it durable too."""
        self.commit_run([(execution, certificate)], also_write, sync)

    def commit_run(self, blocks: list[tuple[Execution, bytes]],
                   also_write: dict[bytes, bytes | None] | None = None,
                   sync: bool = True) -> None:
        """`commit` for blocks executed in turn on one overlay (a `ChainRun`, or a single
        execution), with their certificates, all in one atomic batch. Raises
        MalformedInput, writing nothing, if the state is not the last header's root.

        Each certificate is one the caller checked (consensus formed it from checked
        votes, or sync checked it against the block's set) or one a checked one vouches
        for (the last commit a later block of a synced run carries, which its header
        commits to, node.engine_runs): the blocks and certificates written are
        remembered as checked, so serving them to a peer that catches up costs a hash,
        not three signature checks a block."""
        first, last = blocks[0][0].header, blocks[-1][0].header
        overlay = blocks[-1][0].overlay
        assert first.height == self.height + 1, "commit must extend the head"
        assert first.previous_hash == self.head_hash, "commit must extend the head"
        assert all(execution.overlay is overlay for execution, _ in blocks), "one overlay"
        if overlay.root() != last.state_root:
            raise MalformedInput(f"state root in the header of block {last.height} does not "
                                 "match execution")
        # A light client learns a set change from the block before it, whose state
        # holds the final record; the state is overwritten in place, so prove it now
        # (a run ends at such a block: `ChainRun.ended`).
        change_proof = stored_proof_value(overlay, last.height)
        writes = self.state.commit(overlay)
        for execution, certificate in blocks:
            writes.update(self._block_writes(execution.block, certificate))
        if change_proof is not None:
            writes[stored_proof_key(last.height + 1)] = change_proof
        if also_write:
            writes.update(also_write)
        for execution, _ in blocks:  # before the store holds them: storage.key_filter
            self.committed_id_filter.add([tx.tx_id for tx in execution.accepted])
        self.kv.write(writes, sync=sync)
        self.state.committed(overlay)
        self.head_header = last
        for execution, certificate in blocks:
            height = execution.header.height
            written = writes[height_key(BLOCK_PREFIX, height)]
            assert written is not None
            self._remember_certified(height, execution.block.block_hash, certificate)
            self._remember_checked(height, written)
        # Waiters ask where the block's transactions are as soon as it is reported:
        # remember its ids now rather than decode the block back from disk. Heights come
        # in order, so the first remembered is the oldest: a run of more blocks than are
        # remembered leaves the newest remembered.
        for execution, _ in blocks:
            while len(self._tx_ids) >= TX_IDS_REMEMBERED_BLOCKS:
                del self._tx_ids[next(iter(self._tx_ids))]
            self._tx_ids[execution.header.height] = tuple([tx.tx_id for tx in execution.accepted])


def _check_proposal(block: Block, rules: ProposalRules) -> None:
    header = block.header
    if header.view > rules.max_view or bytes(header.proposer) != rules.proposer:
        raise MalformedInput("block was not made by the primary of its view")
    if not rules.forced and header.view != rules.max_view:
        raise MalformedInput(f"block names view {header.view}, not the view {rules.max_view} "
                             "it was proposed in (only a view change re-proposes a block)")
    fresh = not rules.forced
    if fresh and block.transactions and header.time_ms < rules.now_ms - MAX_STALE_MS:
        raise MalformedInput("block time is stale: after an idle spell the primary must "
                             "propose an empty block first, to refresh the time")
