"""The chain store's place in the data directory: opening it, and `senim node --resync`
setting it aside so that the node starts as a fresh one."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

from ledger.errors import ConfigError
from node.config import NodeConfig
from node.files import load_genesis, load_key
from node.signed_mark import SIGNED_MARK_NAME, SignedMarkDamaged, check_mark
from node.start_checks import STORE_NAME, recovery_hint, refuse_store_in_use
from storage.errors import CorruptStateError, DiskRefused
from storage.kv import LevelDBStore, leveldb_reason

log = logging.getLogger("senim.daemon")

SET_ASIDE_INFIX = ".set-aside-"  # chain.ldb.set-aside-<UTC time>: a store --resync moved
SET_ASIDE_TIME_FORMAT = "%Y%m%dT%H%M%SZ"


def open_store(config: NodeConfig) -> LevelDBStore:
    try:
        config.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:  # e.g. a file where the directory should be
        raise ConfigError("node.data_dir", f"cannot use {config.data_dir} as the data "
                          f"directory: {exc.strerror or exc}") from exc
    store_path = config.data_dir / STORE_NAME
    try:
        return LevelDBStore(str(store_path), block_cache_bytes=config.block_cache_mb << 20,
                            write_buffer_bytes=config.write_buffer_mb << 20)
    except CorruptStateError as exc:
        raise CorruptStateError(f"{exc}; {recovery_hint(config)}") from exc
    except DiskRefused:  # a full disk is no bad config: the node starts once there is space
        raise
    except Exception as exc:  # plyvel raises its own IOError subclasses
        raise ConfigError("node.data_dir", f"cannot open the chain database: "
                          f"{leveldb_reason(exc)}") from exc


def set_store_aside(config: NodeConfig, now: datetime | None = None) -> Path | None:
    """`senim node --resync`: rename the chain store to chain.ldb.set-aside-<UTC time>
    beside it, so the node starts as a fresh one. Never deletes: a damaged store is kept
    for diagnosis. Returns where it went, or None when there is no store. Raises
    ConfigError, having moved nothing, when that name is taken, a running node holds
    the store, or the rename fails."""
    store = config.data_dir / STORE_NAME
    try:
        if not store.exists() and not store.is_symlink():
            return None
        stamp = (now or datetime.now(UTC)).astimezone(UTC).strftime(SET_ASIDE_TIME_FORMAT)
        target = store.with_name(f"{STORE_NAME}{SET_ASIDE_INFIX}{stamp}")
        if target.exists() or target.is_symlink():
            raise ConfigError("--resync", f"{target} already exists; not moving {store} "
                              "over it (try again in a second, or move one by hand)")
        refuse_store_in_use(store, "--resync")  # else the node writes on to the moved copy
        # rename, never copy-and-delete: atomic, and the store's files keep their modes
        store.rename(target)
    except OSError as exc:
        raise ConfigError("--resync", f"cannot move {store} aside: "
                          f"{exc.strerror or exc}") from exc
    return target


def resync_as_fresh(config: NodeConfig) -> None:
    """Before the node starts: check what a fresh start needs, then set the store aside.
    A key or genesis that will not load is refused first, with the store left in place."""
    load_key(config.key_file)
    genesis = load_genesis(config.genesis_file)
    mark = config.data_dir / SIGNED_MARK_NAME
    if mark.exists():
        try:
            check_mark(mark, genesis.genesis_hash)
        except SignedMarkDamaged as exc:
            # set aside, the store would take the one record of what this validator
            # signed that is left: deleting the mark then (as its refusal says to once the
            # store is sound) would let it sign twice at the height under way
            raise SignedMarkDamaged(f"--resync refused, nothing moved: {exc}") from exc
    moved = set_store_aside(config)
    if moved is None:
        log.info("--resync: no chain store at %s to set aside; starting normally",
                 config.data_dir / STORE_NAME)
        return
    log.info("--resync: moved the chain store aside to %s (kept for diagnosis; delete it "
             "when no longer needed)", moved)
    if config.state_sync:
        log.info("--resync: starting as a fresh node, joining by state sync from a peer's "
                 "certified snapshot")
    else:
        log.info("--resync: starting as a fresh node, syncing blocks from genesis "
                 "([sync] state_sync = true would join from a peer's snapshot instead)")
