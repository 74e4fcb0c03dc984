"""`senim fsck`: walk a stopped node's store and say what is damaged.

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
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

import click

from ledger.blocks import ZERO_HASH, Block, decode_block
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
from ledger.errors import ConfigError, MalformedInput
from ledger.genesis import Genesis
from ledger.light_client import (
    UnprovenValidatorSet,
    follow_validator_sets,
    stored_proof_key,
)
from ledger.set_change_records import checked_proof, held_block, kept_block
from ledger.validator_sets import set_change_heights, validator_set_hash
from node.config import load_config
from node.files import load_genesis
from node.start_checks import refuse_store_in_use
from node.validators import ValidatorSet, ValidatorSets, certifies_by_keys
from storage.errors import CorruptStateError, StorageError
from storage.kv import KeyValueStore, LevelDBStore, holds_no_store, leveldb_reason
from storage.state_tree import StateTree

PROBLEMS_SHOWN_MAX = 50
EXIT_SOUND, EXIT_DAMAGED, EXIT_UNCHECKED = 0, 1, 2
RECOVERY = ("recovery: with the node stopped, `senim node --config {config} --resync` "
            "moves {store} aside (kept for diagnosis) and resyncs the chain from its peers")


@dataclass
class Findings:
    problems: list[str] = field(default_factory=list)
    blocks: int = 0
    base: int = 0  # the lowest block held: above 0 when the node joined by state sync
    transactions: int = 0
    state_entries: int = 0

    def damaged(self, what: str) -> None:
        self.problems.append(what)


def _at(prefix: bytes, height: int) -> bytes:
    """A per-height key, laid out as `ledger.chain` lays it out."""
    return prefix + struct.pack(">Q", height)


def check_store(kv: KeyValueStore, genesis: Genesis) -> Findings:
    """Everything wrong with the chain in `kv`, found by reading all of it."""
    found = Findings()
    try:
        _check_all(kv, genesis, found)
    except CorruptStateError as exc:  # a read no step below expected to be refused
        found.damaged(f"the check stops at a record LevelDB refuses to read: {exc}")
    return found


def _check_all(kv: KeyValueStore, genesis: Genesis, found: Findings) -> None:
    try:
        keys = sum(1 for _ in kv.iterate_prefix(b""))
    except CorruptStateError as exc:
        found.damaged(f"a full scan of the store stops at damage: {exc}")
        keys = 0
    try:
        stored_genesis = kv.get(GENESIS_KEY)
    except CorruptStateError as exc:
        found.damaged(f"the genesis record is unreadable ({exc})")
        return
    if stored_genesis != genesis.genesis_hash:
        found.damaged("the genesis record is missing" if stored_genesis is None else
                      "the genesis record is not this genesis file's (wrong config or damage)")
        if keys == 0 or stored_genesis is None:
            return
    try:
        height, head_hash = decode(kv.get(HEAD_KEY) or b"")
        if not (isinstance(height, int) and height >= 0 and isinstance(head_hash, bytes)):
            raise ValueError("not [height, hash]")
    except (CorruptStateError, MalformedInput, TypeError, ValueError) as exc:
        found.damaged(f"the head record is missing or damaged ({exc})")
        return
    try:
        base = _decoded(kv.get(BASE_KEY) or b"\x00")
    except CorruptStateError as exc:
        found.damaged(f"the base record (lowest block held, after a state sync) is "
                      f"unreadable ({exc})")
        return
    if not (isinstance(base, int) and not isinstance(base, bool) and 0 <= base <= height):
        found.damaged("the base record (lowest block held, after a state sync) is damaged")
        return
    found.base = base
    head = _check_blocks(kv, genesis, height, head_hash, found)
    _check_index(kv, found)
    if _check_state(kv, head, found) and head is not None:
        _check_set_changes(kv, genesis, head.header.height, found)


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
        found.damaged(f"the validator-set records are damaged ({exc}); checking certificates "
                      "against the genesis validators")
        certifies = ValidatorSet.from_genesis(genesis).certifies
    previous: bytes | None = ZERO_HASH if found.base == 0 else None
    block: Block | None = None
    if found.base > 0:
        first_held = _at(BLOCK_PREFIX, found.base)
        below = sum(1 for key, _ in kv.iterate_prefix(BLOCK_PREFIX) if key < first_held)
        if below:
            found.damaged(f"{below} blocks are stored below the base {found.base} "
                          "(the block this node joined at by state sync)")
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
            found.damaged(f"block {at}: does not link to block {at - 1}")
        previous = block_hash
        try:  # genesis (block 0) has no certificate
            certificate = kv.get(_at(CERT_PREFIX, at)) if at > 0 else None
            if at > 0 and (certificate is None or not certifies(certificate, at, block_hash)):
                found.damaged(f"block {at}: its certificate is missing or does not verify")
        except CorruptStateError as exc:
            found.damaged(f"block {at}: its certificate is unreadable ({exc})")
        for index, tx in enumerate(block.transactions):
            found.transactions += 1
            _check_index_entry(kv, tx.tx_id, at, index, found)
    if block is None or block.block_hash != head_hash:
        found.damaged(f"the head record names a block {height} that is not the stored one")
        block = None
    try:
        above = kv.get(_at(BLOCK_PREFIX, height + 1))
    except CorruptStateError as exc:
        found.damaged(f"block {height + 1}, above the head: its key is unreadable ({exc})")
        above = None
    if above is not None:
        found.damaged(f"a block {height + 1} is stored above the head")
    return block


def _check_index_entry(kv: KeyValueStore, tx_id: bytes, at: int, index: int,
                       found: Findings) -> None:
    try:
        entry = kv.get(TX_INDEX_PREFIX + tx_id)
    except CorruptStateError as exc:
        found.damaged(f"block {at}: the index entry of transaction {index} "
                      f"({tx_id.hex()[:16]}) is unreadable ({exc})")
        return
    if entry is None or _decoded(entry) != [at, index]:
        found.damaged(f"block {at}: the index entry of transaction {index} "
                      f"({tx_id.hex()[:16]}) is missing or points elsewhere")


def _read_block(kv: KeyValueStore, genesis: Genesis, at: int, set_hash: bytes,
                found: Findings) -> Block | None:
    try:
        data = kv.get(_at(BLOCK_PREFIX, at))
        if data is None:
            found.damaged(f"block {at}: missing")
            return None
        block = decode_block(data)
    except (CorruptStateError, MalformedInput) as exc:
        found.damaged(f"block {at}: unreadable ({exc})")
        return None
    header = block.header
    if (header.height, header.chain_id, header.validator_set_hash) != (
            at, genesis.chain_id, set_hash):
        found.damaged(f"block {at}: its header is not this chain's block {at}")
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
        found.damaged(f"the transaction index is unreadable ({exc})")
        return
    if entries > found.transactions:
        found.damaged(f"the transaction index holds {entries - found.transactions} entries "
                      "for transactions in no block")


def _check_state(kv: KeyValueStore, head: Block | None, found: Findings) -> bool:
    """Whether the state is sound."""
    try:
        state = StateTree(kv, STATE_PREFIX, cache_nodes_max=1)
        found.state_entries = state.audit()
    except CorruptStateError as exc:
        found.damaged(f"state: {exc}")
        return False
    if head is not None and state.root != head.header.state_root:
        found.damaged(f"state: the stored root {state.root.hex()[:16]} is not the head "
                      f"block's state root {head.header.state_root.hex()[:16]}")
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
                    found.damaged(f"the proof of the validator-set change at block "
                                  f"{from_height} is missing")
                return
            proofs.append(checked_proof(from_height, *pieces, stored, sets.certifies))
        except CorruptStateError as exc:
            found.damaged(str(exc))
            return
    try:
        follow_validator_sets(genesis, proofs, certifies_by_keys(genesis.chain_id))
    except UnprovenValidatorSet as exc:
        found.damaged(f"the kept validator-set change proofs do not follow from genesis: {exc}")


@click.command("fsck")
@click.option("--config", "config_path", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The stopped node's config file.")
def fsck_command(config_path: Path) -> None:
    """Check a stopped node's chain database and say what is damaged (exit 1 if any)."""
    try:
        config = load_config(config_path)
        genesis = load_genesis(config.genesis_file)
    except ConfigError as exc:
        _stop(f"bad config {config_path}: {exc}", EXIT_UNCHECKED)
    store = config.data_dir / "chain.ldb"
    if not store.is_dir():
        _stop(f"no chain database at {store}", EXIT_UNCHECKED)
    if holds_no_store(store):
        # Opened, it would be made new here (and, with no genesis record, called damaged,
        # with --resync advised): a node started on it begins its chain there.
        _stop(f"no chain database at {store}: the folder holds none (a node started on "
              "it makes a new one)", EXIT_UNCHECKED)
    try:  # a running node, or a disk that refuses the lock LevelDB takes even to read
        refuse_store_in_use(store, "node.data_dir")
    except ConfigError as exc:
        _stop(str(exc), EXIT_UNCHECKED)
    try:
        kv = LevelDBStore(str(store))
    except CorruptStateError as exc:
        click.echo(f"damaged: the store does not open: {exc}")
        click.echo(RECOVERY.format(store=store, config=config_path))
        sys.exit(EXIT_DAMAGED)
    except Exception as exc:  # plyvel's own errors: an unreadable file, a refused write
        _stop(f"cannot open {store}: {leveldb_reason(exc)}", EXIT_UNCHECKED)
    try:
        _refuse_another_genesis(kv, genesis, config.genesis_file, config_path)
        found = check_store(kv, genesis)
    finally:
        kv.close()
    for problem in found.problems[:PROBLEMS_SHOWN_MAX]:
        click.echo(f"damaged: {problem}")
    if len(found.problems) > PROBLEMS_SHOWN_MAX:
        click.echo(f"damaged: ... and {len(found.problems) - PROBLEMS_SHOWN_MAX} more")
    joined = f" (from block {found.base}: joined by state sync)" if found.base else ""
    summary = (f"checked {found.blocks} blocks{joined}, {found.transactions} transactions, "
               f"{found.state_entries} state entries in {store}")
    if found.problems:
        click.echo(f"{summary}: {len(found.problems)} problems")
        click.echo(RECOVERY.format(store=store, config=config_path))
        sys.exit(EXIT_DAMAGED)
    click.echo(f"{summary}: no damage found")


def _refuse_another_genesis(kv: KeyValueStore, genesis: Genesis, genesis_file: Path,
                            config_path: Path) -> None:
    """A store of another genesis is a config mistake the node refuses as one, not damage:
    checked against this genesis it would read as damaged, and the advice to --resync
    would set a sound store aside. LevelDB's checksum covers the record, so a well-formed
    one that differs names another genesis."""
    try:
        stored = kv.get(GENESIS_KEY)
    except CorruptStateError:
        return  # damage: check_store reports it
    if (stored is not None and len(stored) == len(genesis.genesis_hash)
            and stored != genesis.genesis_hash):
        _stop(f"the store holds the chain of another genesis file than {genesis_file} "
              f"(node.genesis in {config_path}): point node.genesis at that chain's genesis, "
              "or node.data_dir elsewhere; nothing was checked", EXIT_UNCHECKED)


def _stop(message: str, code: int) -> NoReturn:
    click.secho(f"error: {message}", fg="red", err=True)
    sys.exit(code)
