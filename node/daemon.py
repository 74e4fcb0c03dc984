"""The daemon: load config, open the chain, serve HTTP, produce or follow blocks.

Runs until SIGTERM or SIGINT, then stops accepting requests, lets the block in
progress finish (its LevelDB batch is atomic either way) and closes the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from pathlib import Path
from typing import Any

from aiohttp import web

from ledger.errors import ConfigError
from node.api import StatusProvider, make_app
from node.config import NodeConfig, load_config
from node.driver import ConsensusDriver
from node.files import load_genesis, load_key
from node.http_limits import LimitedAppRunner
from node.logs import setup_logging
from node.mempool import MempoolLimits
from node.metrics import NodeMetrics
from node.network import Network
from node.service import NodeCore
from node.sync import BlockSync
from node.validators import ValidatorSet
from storage.errors import StorageError
from storage.kv import LevelDBStore

log = logging.getLogger("senim.daemon")


def open_core(config: NodeConfig) -> tuple[NodeCore, LevelDBStore]:
    keys = load_key(config.key_file)
    genesis = load_genesis(config.genesis_file)
    me = genesis.member_by_id(keys.member_id)
    if me is None:
        raise ConfigError("node.key", f"member {keys.member_id.hex()} is not in the genesis "
                          "file; this key belongs to no consortium member")
    config.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        kv = LevelDBStore(str(config.data_dir / "chain.ldb"))
    except Exception as exc:  # plyvel raises its own IOError subclasses
        raise ConfigError("node.data_dir", f"cannot open the chain database: {exc}") from exc
    limits = MempoolLimits(config.mempool_max_txs, config.mempool_max_bytes,
                           config.mempool_max_per_sender)
    try:
        core = NodeCore(keys, genesis, kv, limits, NodeMetrics())
    except (StorageError, ConfigError):
        kv.close()
        raise
    return core, kv


class NodeStatus(StatusProvider):
    def __init__(self, network: Network, sync: BlockSync,
                 driver: ConsensusDriver | None) -> None:
        self.network, self.sync, self.driver = network, sync, driver

    def consensus(self) -> dict[str, Any]:
        if self.driver is not None:
            return self.driver.status()
        return {"mode": "follower", "behind": self.sync.behind}

    def peers(self) -> list[dict[str, Any]]:
        return self.network.status()


async def serve(config: NodeConfig) -> None:
    core, kv = open_core(config)
    # The start-up objects live forever: keep them out of every later GC pass, and
    # collect the young generation less often, so pauses stay short under load.
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    network = Network(config, core.genesis, core)
    validators = ValidatorSet.from_genesis(core.genesis)
    sync = BlockSync(core, network, validators)
    driver = None
    if core.keys.member_id in validators.public_keys:
        driver = ConsensusDriver(core, network, sync, validators, config.view_timeout_ms,
                                 config.max_block_txs)
    core.on_admitted = network.gossip_transactions
    app = make_app(core, config.name, NodeStatus(network, sync, driver))
    runner = LimitedAppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    try:
        await network.start()
        site = web.TCPSite(runner, config.api.host, config.api.port, reuse_address=True)
        await site.start()
    except OSError as exc:
        await network.close()
        await runner.cleanup()
        kv.close()
        raise ConfigError("api.listen/p2p.listen", f"cannot listen: {exc}") from exc
    role = "validator" if driver else "follower"
    log.info("node %s (%s, %s) serving API on http://%s, P2P on %s, chain %s at height %d",
             config.name, core.keys.member_id.hex(), role, config.api, config.p2p,
             core.chain_id, core.chain.height)
    try:
        async with asyncio.TaskGroup() as group:
            # Followers poll often; validators rarely (consensus traffic tells them
            # when they lag), but a restarted validator still catches up unprompted.
            tasks = [group.create_task(sync.run(poll_s=2.0 if driver else 0.5))]
            if driver is not None:
                tasks.append(group.create_task(driver.run()))
            await stop.wait()
            log.info("stopping: signal received")
            for task in tasks:
                task.cancel()
    finally:
        await runner.cleanup()
        await network.close()
        core.worker.shutdown(wait=True)
        kv.close()
        log.info("stopped cleanly at height %d", core.chain.height)


def run(config_path: Path) -> int:
    """Entry point of `senim node`: returns the process exit code."""
    try:
        config = load_config(config_path)
    except ConfigError as exc:
        logging.basicConfig(level=logging.INFO)
        log.error("bad config %s: %s", config_path, exc)
        return 2
    setup_logging(config.log_level, config.log_format, config.name)
    try:
        asyncio.run(serve(config))
    except ConfigError as exc:
        log.error("cannot start: %s", exc)
        return 2
    except StorageError as exc:
        log.error("cannot start: the chain database is damaged: %s", exc)
        return 3
    with contextlib.suppress(Exception):
        logging.shutdown()
    return 0
