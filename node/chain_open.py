"""Opening the chain before the node serves anything: an empty store first joined by
state sync (`[sync] state_sync`), then the chain opened and checked (certificates, the
head's state root, a rules version this release knows)."""

from __future__ import annotations

import asyncio
import logging

from ledger.errors import ConfigError, RulesVersionUnknown
from ledger.rules import load_member
from ledger.rules_version import require_known_rules
from node.config import NodeConfig
from node.files import load_genesis, load_key
from node.key_filters import NODE_KEY_FILTER_BITS
from node.mempool import MempoolLimits
from node.metrics import NodeMetrics
from node.service import NodeCore
from node.start_checks import recovery_hint
from node.state_join import join_by_state_sync, needs_join
from node.store_setup import open_store
from node.validators import ValidatorSets
from storage.errors import CorruptStateError, StorageError
from storage.kv import LevelDBStore

log = logging.getLogger("senim.daemon")


async def join_if_empty(config: NodeConfig, stop: asyncio.Event) -> None:
    """`[sync] state_sync`: an empty store is first filled from a peer's snapshot."""
    kv = open_store(config)
    try:
        if needs_join(kv):
            await join_by_state_sync(config, load_genesis(config.genesis_file),
                                     load_key(config.key_file), kv, stop)
    except CorruptStateError as exc:
        # a damaged table may be the first thing read (whether the store holds a chain):
        # said as open_core says damage, with what to do
        raise CorruptStateError(f"{exc}; {recovery_hint(config)}") from exc
    finally:
        kv.close()


def open_core(config: NodeConfig) -> tuple[NodeCore, LevelDBStore, ValidatorSets]:
    """Open the chain and check it before anything is served.

    A damaged store (LevelDB's checksums, a lost CURRENT file or acknowledged
    write, recent blocks that do not link to the head, a certificate that does
    not verify, a state root that is not the head's) raises CorruptStateError
    saying what to do; the node then exits with its own code.
    """
    keys = load_key(config.key_file)
    genesis = load_genesis(config.genesis_file)
    kv = open_store(config)
    limits = MempoolLimits(config.mempool_max_txs, config.mempool_max_bytes,
                           config.mempool_max_per_sender)
    try:
        core = NodeCore(keys, genesis, kv, limits, NodeMetrics(), config.state_nodes_cached,
                        NODE_KEY_FILTER_BITS)
        validator_sets = ValidatorSets.for_chain(core.chain)
        core.chain.check_certificates(validator_sets.certifies)
        require_known_rules(core.chain.state, core.chain.height + 1)  # an upgrade is due
    except CorruptStateError as exc:
        kv.close()
        raise CorruptStateError(f"{exc}; {recovery_hint(config)}") from exc
    except (StorageError, ConfigError, RulesVersionUnknown):
        kv.close()
        raise
    # A member added on chain runs a node like a genesis member. A fresh node cannot
    # know of that addition before it syncs, so an unknown key is no reason to stop:
    # peers admit a key at the handshake only if the chain says it is a member.
    member = load_member(core.chain.state, keys.member_id)
    if member is None:
        log.warning("key %s is not a member in this node's chain (height %d); peers admit "
                    "it only if it was added on chain since", keys.member_id.hex(),
                    core.chain.height)
    # (a key the member rotated away from is told by the engine, at start or later)
    return core, kv, validator_sets
