"""`senim fsck`'s check: walk a stopped node's store and say what is damaged (each problem
a Sentence, said in the operator's language by cli.fsck_command).

Reads only (LevelDB itself may fold its log into a table when the store opens).
It checks what the node checks when it serves, but over everything: every
block (its hash chain, transactions root and certificate), the state tree
against the head's state root (recomputed from the stored nodes and values),
the transaction index, and the proofs of the validator-set changes it serves to
light clients and joining nodes (followed from genesis as a light client does).
Exit 0 if the store is sound, 1 if it is damaged, 2 if it cannot be checked (bad
config, or the node is running).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from cli.fsck_words import detail
from cli.spoken import Sentence
from consensus.errors import CorruptSafetyState
from consensus.safety import decode_safety_state
from ledger.blocks import MAX_BLOCK_BYTES, ZERO_HASH, Block, decode_block
from ledger.chain_layout import (
    BASE_KEY,
    BLOCK_PREFIX,
    CERT_PREFIX,
    GENESIS_KEY,
    HEAD_KEY,
    STATE_PREFIX,
    TX_INDEX_PREFIX,
)
from ledger.codec import decode
from ledger.errors import MalformedInput
from ledger.genesis import Genesis
from ledger.light_client import (
    UnprovenValidatorSet,
    follow_validator_sets,
    stored_proof_key,
)
from ledger.set_change_records import checked_proof, held_block, kept_block
from ledger.validator_sets import set_change_heights, validator_set_hash
from node.engine_signed import REPLICA_STATE_KEY
from node.evidence import evidence_page
from node.validators import ValidatorSet, ValidatorSets, certifies_by_keys
from storage.errors import CorruptStateError, DiskRefused, StorageError
from storage.kv import KeyValueStore
from storage.state_tree import StateTree

# Blocks missing below the head that are each named; past this many the head is named.
MISSING_BLOCKS_WALKED_MAX = 1_000


@dataclass
class Findings:
    said: list[Sentence] = field(default_factory=list)  # each problem, in words
    blocks: int = 0
    base: int = 0  # the lowest block held: above 0 when the node joined by state sync
    transactions: int = 0
    state_entries: int = 0

    @property
    def problems(self) -> list[str]:
        """Each problem as `senim fsck --lang en` prints it."""
        return [str(problem) for problem in self.said]

    def damaged(self, key: str, english: str, **params: object) -> None:
        """A problem: the catalogue's `fsck.damage.<key>`, and its English as written."""
        self.said.append(Sentence(f"fsck.damage.{key}", english, **params))


def _at(prefix: bytes, height: int) -> bytes:
    """A per-height key, laid out as `ledger.chain` lays it out."""
    return prefix + struct.pack(">Q", height)


def check_store(kv: KeyValueStore, genesis: Genesis) -> Findings:
    """Everything wrong with the chain in `kv`, found by reading all of it."""
    found = Findings()
    try:
        _check_all(kv, genesis, found)
    except CorruptStateError as exc:  # a read no step below expected to be refused
        found.damaged("stops", f"the check stops at a record LevelDB refuses to read: {exc}",
                      why=detail(exc))
    return found


def _check_all(kv: KeyValueStore, genesis: Genesis, found: Findings) -> None:
    keys = 0
    stored: int | None = None  # the blocks' keys (None: the scan stopped short of them)
    try:
        blocks = 0
        for key, _ in kv.iterate_prefix(b""):
            keys += 1
            blocks += key.startswith(BLOCK_PREFIX)
        stored = blocks
    except CorruptStateError as exc:
        found.damaged("scan", f"a full scan of the store stops at damage: {exc}",
                      why=detail(exc))
        keys = 0
    try:
        stored_genesis = kv.get(GENESIS_KEY)
    except CorruptStateError as exc:
        found.damaged("genesis_unreadable", f"the genesis record is unreadable ({exc})",
                      why=detail(exc))
        return
    if stored_genesis != genesis.genesis_hash:
        if stored_genesis is None:
            found.damaged("genesis_missing", "the genesis record is missing")
        else:
            found.damaged("genesis_other", "the genesis record is not this genesis file's "
                          "(wrong config or damage)")
        if keys == 0 or stored_genesis is None:
            return
    try:
        height, head_hash = decode(kv.get(HEAD_KEY) or b"")
        if not (isinstance(height, int) and height >= 0 and isinstance(head_hash, bytes)):
            raise ValueError("not [height, hash]")
    except (CorruptStateError, MalformedInput, TypeError, ValueError) as exc:
        found.damaged("head", f"the head record is missing or damaged ({exc})",
                      why=detail(exc))
        return
    try:
        base = _decoded(kv.get(BASE_KEY) or b"\x00")
    except CorruptStateError as exc:
        found.damaged("base_unreadable", f"the base record (lowest block held, after a "
                      f"state sync) is unreadable ({exc})", why=detail(exc))
        return
    if not (isinstance(base, int) and not isinstance(base, bool) and 0 <= base <= height):
        found.damaged("base", "the base record (lowest block held, after a state sync) is "
                      "damaged")
        return
    found.base = base
    _check_node_records(kv, found)
    missing = 0 if stored is None else height + 1 - base - stored  # (unknown: walk them)
    if missing > MISSING_BLOCKS_WALKED_MAX:  # a line each would never end (10**12 of them)
        found.damaged("head_beyond", f"the head record names block {height}, but only "
                      f"{stored} blocks are stored: the head record is damaged, or {missing} "
                      "blocks are gone", block=height, stored=stored, missing=missing)
        return
    head = _check_blocks(kv, genesis, height, head_hash, found)
    _check_index(kv, found)
    if _check_state(kv, head, found) and head is not None:
        _check_set_changes(kv, genesis, head.header.height, found)


def _check_node_records(kv: KeyValueStore, found: Findings) -> None:
    """The node's own records beside the chain: the replica's safety state (what this
    validator last voted for, read as it starts) and the evidence counter."""
    try:
        safety = kv.get(REPLICA_STATE_KEY)
        if safety is not None:
            decode_safety_state(safety, MAX_BLOCK_BYTES)
    except (CorruptSafetyState, CorruptStateError) as exc:
        found.damaged("safety", f"the safety state (what this validator last voted for) is "
                      f"damaged ({exc})", why=detail(exc))
    try:
        evidence_page(kv, 1)
    except CorruptStateError as exc:
        found.damaged("evidence", f"the evidence records are damaged ({exc})", why=detail(exc))


def _check_blocks(kv: KeyValueStore, genesis: Genesis, height: int, head_hash: bytes,
                  found: Findings) -> Block | None:
    """Walk blocks base..height; return the head block if it is sound.

    A node that joined by state sync holds no block below its base: the base
    block is vouched for by its certificate, the ones above by their links."""
    sets: ValidatorSets | None = None
    try:  # each block against the set of its height, as the state records them
        sets = ValidatorSets(genesis.chain_id, StateTree(kv, STATE_PREFIX), height)
        certifies = sets.certifies
    except (MalformedInput, StorageError) as exc:
        if isinstance(exc, DiskRefused):  # nothing damaged, and nothing more can be read
            raise
        found.damaged("sets", f"the validator-set records are damaged ({exc}); checking "
                      "certificates against the genesis validators", why=detail(exc))
        certifies = ValidatorSet.from_genesis(genesis).certifies
    previous: bytes | None = ZERO_HASH if found.base == 0 else None
    block: Block | None = None
    if found.base > 0:
        first_held = _at(BLOCK_PREFIX, found.base)
        below = sum(1 for key, _ in kv.iterate_prefix(BLOCK_PREFIX) if key < first_held)
        if below:
            found.damaged("below_base", f"{below} blocks are stored below the base "
                          f"{found.base} (the block this node joined at by state sync)",
                          count=below, base=found.base)
    for at in range(found.base, height + 1):
        set_hash = (genesis.validator_set_hash if sets is None
                    else validator_set_hash(list(sets.at(at).public_keys.values())))
        block = _read_block(kv, genesis, at, set_hash, found)
        if block is None:
            previous = None
            continue
        found.blocks += 1
        block_hash = block.block_hash
        if previous is not None and block.header.previous_hash != previous:
            found.damaged("link", f"block {at}: does not link to block {at - 1}", block=at,
                          previous=at - 1)
        previous = block_hash
        try:  # genesis (block 0) has no certificate
            certificate = kv.get(_at(CERT_PREFIX, at)) if at > 0 else None
            if at > 0 and (certificate is None or not certifies(certificate, at, block_hash)):
                found.damaged("certificate", f"block {at}: its certificate is missing or "
                              "does not verify", block=at)
        except CorruptStateError as exc:
            found.damaged("certificate_unreadable", f"block {at}: its certificate is "
                          f"unreadable ({exc})", block=at, why=detail(exc))
        for index, tx in enumerate(block.transactions):
            found.transactions += 1
            _check_index_entry(kv, tx.tx_id, at, index, found)
    if block is None or block.block_hash != head_hash:
        found.damaged("head_block", f"the head record names a block {height} that is not "
                      "the stored one", block=height)
        block = None
    try:
        above = kv.get(_at(BLOCK_PREFIX, height + 1))
    except CorruptStateError as exc:
        found.damaged("above_unreadable", f"block {height + 1}, above the head: its key is "
                      f"unreadable ({exc})", block=height + 1, why=detail(exc))
        above = None
    if above is not None:
        found.damaged("above", f"a block {height + 1} is stored above the head",
                      block=height + 1)
    return block


def _check_index_entry(kv: KeyValueStore, tx_id: bytes, at: int, index: int,
                       found: Findings) -> None:
    try:
        entry = kv.get(TX_INDEX_PREFIX + tx_id)
    except CorruptStateError as exc:
        found.damaged("entry_unreadable", f"block {at}: the index entry of transaction "
                      f"{index} ({tx_id.hex()[:16]}) is unreadable ({exc})", block=at,
                      index=index, tx=tx_id.hex()[:16], why=detail(exc))
        return
    if entry is None or _decoded(entry) != [at, index]:
        found.damaged("entry", f"block {at}: the index entry of transaction {index} "
                      f"({tx_id.hex()[:16]}) is missing or points elsewhere", block=at,
                      index=index, tx=tx_id.hex()[:16])


def _read_block(kv: KeyValueStore, genesis: Genesis, at: int, set_hash: bytes,
                found: Findings) -> Block | None:
    try:
        data = kv.get(_at(BLOCK_PREFIX, at))
        if data is None:
            found.damaged("block_missing", f"block {at}: missing", block=at)
            return None
        block = decode_block(data)
    except (CorruptStateError, MalformedInput) as exc:
        found.damaged("block_unreadable", f"block {at}: unreadable ({exc})", block=at,
                      why=detail(exc))
        return None
    header = block.header
    if (header.height, header.chain_id, header.validator_set_hash) != (
            at, genesis.chain_id, set_hash):
        found.damaged("header", f"block {at}: its header is not this chain's block {at}",
                      block=at)
        return None
    return block


def _decoded(data: bytes) -> object:
    try:
        return decode(data)
    except MalformedInput:
        return None


def _check_index(kv: KeyValueStore, found: Findings) -> None:
    """Every block's transactions were looked up above; entries beyond those are strays."""
    try:
        entries = sum(1 for _ in kv.iterate_prefix(TX_INDEX_PREFIX))
    except CorruptStateError as exc:
        found.damaged("index_unreadable", f"the transaction index is unreadable ({exc})",
                      why=detail(exc))
        return
    if entries > found.transactions:
        found.damaged("strays", f"the transaction index holds {entries - found.transactions} "
                      "entries for transactions in no block", count=entries - found.transactions)


def _check_state(kv: KeyValueStore, head: Block | None, found: Findings) -> bool:
    """Whether the state is sound."""
    try:
        state = StateTree(kv, STATE_PREFIX, cache_nodes_max=1)
        found.state_entries = state.audit()
    except CorruptStateError as exc:
        found.damaged("state", f"state: {exc}", why=detail(exc))
        return False
    if head is not None and state.root != head.header.state_root:
        found.damaged("state_root", f"state: the stored root {state.root.hex()[:16]} is not "
                      f"the head block's state root {head.header.state_root.hex()[:16]}",
                      stored=state.root.hex()[:16], head=head.header.state_root.hex()[:16])
        return False
    return True


def _check_set_changes(kv: KeyValueStore, genesis: Genesis, height: int,
                       found: Findings) -> None:
    """Each kept set-change proof checks (its certificate against the set the state says
    was in force), and together they lead from genesis to the head's set. A store that
    joined by state sync before proofs were kept lacks those below its base: not damage."""
    state = StateTree(kv, STATE_PREFIX)
    sets = ValidatorSets(genesis.chain_id, state, height)
    proofs = []
    for from_height in set_change_heights(state):
        if from_height <= 1 or from_height - 1 > height:
            continue
        try:
            stored = kv.get(stored_proof_key(from_height))
            pieces = (held_block(kv, from_height) if from_height - 1 >= found.base
                      else kept_block(kv, from_height))
            if stored is None or pieces is None:
                if from_height - 1 >= found.base:
                    found.damaged("proof_missing", f"the proof of the validator-set change "
                                  f"at block {from_height} is missing", block=from_height)
                return
            proofs.append(checked_proof(from_height, *pieces, stored, sets.certifies))
        except CorruptStateError as exc:
            found.damaged("proof", str(exc), why=detail(exc))
            return
    try:
        follow_validator_sets(genesis, proofs, certifies_by_keys(genesis.chain_id))
    except UnprovenValidatorSet as exc:
        found.damaged("proofs", f"the kept validator-set change proofs do not follow from "
                      f"genesis: {exc}", why=detail(exc))
