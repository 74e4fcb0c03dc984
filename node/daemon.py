"""The daemon: load config, open the chain, serve HTTP, produce or follow blocks.

Runs until SIGTERM, SIGINT or SIGHUP, then stops accepting requests, lets the block in
progress finish (its LevelDB batch is atomic either way) and closes the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from aiohttp import web

from consensus import ReportEvidence
from ledger.errors import ConfigError, RulesVersionUnknown
from ledger.payloads import AddMemberPayload, ProposePayload, RotateKeyPayload, VotePayload
from node.answer_gate import AnswerGate
from node.api import make_app
from node.api_public import LIMITS
from node.chain_open import join_if_empty, open_core
from node.channels import (
    CH_BLOCK,
    CH_CONSENSUS,
    CH_STATE_REQUEST,
    CH_SYNC_REQUEST,
    CH_SYNC_RESPONSE,
    CH_TXS,
)
from node.config import (
    Address,
    NodeConfig,
    config_from_document,
    log_settings_in,
    log_settings_of,
    read_config_document,
)
from node.engine import Engine
from node.engine_thread import EngineThread
from node.engine_types import CommitReport, EngineConfig
from node.evidence_submit import EvidenceSubmitter
from node.gauges import NodeStatus, refresh_metrics
from node.http_server import LimitedAppRunner
from node.key_filters import KeyFilterFill
from node.logs import log_member, setup_logging
from node.metrics import REFUSED_BODIES_OVER_RATE
from node.network import Network
from node.signature_memory import GoodSignatures, RememberedChecks
from node.signature_workers import SignatureWorkers
from node.signed_mark import SIGNED_MARK_NAME, SignedMark
from node.signer_lock import hold_signer_lock
from node.start_checks import check_before_start, peers_configured, pin_to_cpus, recovery_hint
from node.start_interrupt import say_interrupted
from node.state_serve import StateSnapshots
from node.stop_signals import StopSignals
from node.store_failures import EXIT_UPGRADE_NEEDED, StoppedByStore, StoppedForUpgrade, store_failed
from node.store_setup import resync_as_fresh
from node.sync_heights import SyncHeights
from node.tls import serve_https
from node.validators import next_member_retirement, own_retirement, peer_keys
from node.vc_api import configure_vc, warm_workers_on_start
from storage.errors import CorruptStateError, StorageError

log = logging.getLogger("senim.daemon")


class EngineFailed(Exception):
    """A bug stopped the engine thread; the node stops rather than limp on."""


# Governance may grow the validator set while the node runs; consensus frames are
# sized for this many more validators than the largest set known at start-up.
SET_GROWTH_HEADROOM = 2


def wall_clock_ms() -> int:
    return int(time.time() * 1000)


async def serve(config: NodeConfig) -> None:
    signals = StopSignals()
    stop = signals.event
    loop = asyncio.get_running_loop()
    signals.install(loop)
    if config.state_sync:
        await join_if_empty(config, stop)
        if stop.is_set():
            log.info("stopping: %s while joining", signals.said())
            return
    core, kv, validator_sets = open_core(config)
    # The start-up objects live forever: keep them out of every later GC pass, and
    # collect the young generation less often, so pauses stay short under load.
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)

    # ---- the wiring, all of it -------------------------------------------------------
    genesis = core.genesis
    network = Network(config, genesis, core.keys, validator_sets.largest + SET_GROWTH_HEADROOM)
    metrics = core.metrics

    retirement_due: list[int | None] = [None]  # when peer_keys next changes by itself
    retirement_told = [False]

    def refresh_members() -> None:
        """Members, and validators still certifying with a rotated-away key, may connect;
        a retired member's node no longer may."""
        named = peer_keys(core.chain.state, core.chain.height)
        network.names.update(named)
        network.peers.set_allowed((set(named) | set(config.observers))
                                  - {core.keys.public_key})
        retirement_due[0] = next_member_retirement(core.chain.state, core.chain.height)
        retired = own_retirement(core.chain.state, core.keys.member_id)
        if retired is not None and not retirement_told[0]:
            retirement_told[0] = True
            log.error("%s", retired)

    snapshots = StateSnapshots(kv, validator_sets.certifies)

    def committed(report: CommitReport) -> None:
        core.after_commit(report)
        due = retirement_due[0]
        if network.validator_keys != engine.validator_keys or any(
                isinstance(tx.payload, AddMemberPayload | RotateKeyPayload | ProposePayload
                           | VotePayload) for tx in report.execution.block.transactions) or (
                due is not None and report.execution.header.height + 1 >= due):
            refresh_members()  # a rotated-away key goes once it certifies no more
        # Transactions go to the validators of the next heights, as the engine follows them.
        network.validator_keys = engine.validator_keys

    def snapshot_if_due(report: CommitReport) -> None:
        # On the engine thread, at once: delivered to the loop later, the report of a
        # snapshot height may find the store at a later block already.
        snapshots.block_committed(report.execution.header.height)

    # Block-sync answers get into the engine's inbox only from peers asked a question
    # (node.answer_gate): the engine's questions leave through this send.
    sync_questions = AnswerGate("block-sync", network.describe_key)
    thread = EngineThread(loop, sync_questions.recording(network.peers.send, CH_SYNC_REQUEST),
                          committed, core.refuse, snapshot_if_due)
    # Batches of signatures go to child processes: a submission's to one set, the
    # engine's (a proposal's, a sync answer's) to its own, so that consensus never waits
    # for a child that public work holds; a signature either finds good is not checked
    # again by the other, and admission waits for the engine's checks under way (never
    # the other way round: node.signature_memory).
    good_signatures = GoodSignatures()
    signature_workers = SignatureWorkers(spread=True)
    engine_signature_workers = SignatureWorkers()
    core.check_signatures = RememberedChecks(signature_workers, good_signatures,
                                             waits_under_way=True)
    # beside the chain store, not in it: a copy put back, or --resync, leaves it be
    try:
        signed_mark = SignedMark(config.data_dir / SIGNED_MARK_NAME, genesis.genesis_hash)
    except Exception as exc:  # refused since checked: the store open is closed all the same
        closing = ClosingFailures()
        for close in (snapshots.close, signature_workers.close, engine_signature_workers.close,
                      functools.partial(core.worker.shutdown, wait=True), kv.close):
            closing.run(close)
        closing.said_after(exc)
        raise
    engine = Engine(core.keys, core.chain, core.mempool, validator_sets,
                    EngineConfig(config.view_timeout_ms, config.max_block_txs,
                                 snapshot_interval_blocks=snapshots.interval), wall_clock_ms,
                    thread.outbox, {m.member_id: m.name for m in genesis.members},
                    RememberedChecks(engine_signature_workers, good_signatures,
                                     says_under_way=True), signed_mark)
    # The network starts from the genesis validators; the engine has read the sets of
    # the next heights from the chain. Left to the first commit, a node restarted after
    # a set change (blocks come only with work) sent transactions to a validator voted
    # out, and paced a validator added or rotated since genesis as a follower.
    network.validator_keys = engine.validator_keys
    evidence = EvidenceSubmitter(core)  # a validator's new evidence goes on chain

    def new_evidence(found: ReportEvidence) -> None:  # on the engine thread: hand over only
        loop.call_soon_threadsafe(evidence.found, found)

    engine.on_new_evidence = new_evidence
    async def consensus_frame(peer_key: bytes, payload: bytes) -> None:
        # Others cannot fill the engine's inbox. The engine replaces this set (the
        # validators of the next two heights) after a commit that changes it.
        if peer_key in engine.validator_keys:
            thread.offer(engine.consensus_frame, peer_key, payload, validator=True)

    async def sync_answer(peer_key: bytes, payload: bytes) -> None:
        thread.offer(engine.sync_answer, peer_key, payload)

    engine.next_sync_answer = functools.partial(thread.waiting_answer, engine.sync_answer)

    async def block_announced(peer_key: bytes, payload: bytes) -> None:
        if peer_key in engine.validator_keys:  # only validators announce blocks
            thread.offer(engine.block_announced, peer_key, payload, validator=True)

    refresh_members()
    network.route(CH_CONSENSUS, consensus_frame)
    network.route(CH_SYNC_RESPONSE, sync_questions.gated(sync_answer))
    network.route(CH_BLOCK, block_announced)
    network.route(CH_SYNC_REQUEST, network.serve_sync_from(core.chain))
    network.route(CH_TXS, network.receive_gossip_into(core, SyncHeights(
        engine.sync, lambda key: thread.offer(lambda peer, _: engine.ask_height(peer), key, b""))))
    network.route(CH_STATE_REQUEST, network.serve_state_from(snapshots))
    core.on_work = thread.work_available
    core.on_admitted = network.gossip_transactions
    core.worker.shutdown(wait=True)
    core.worker = thread
    app = make_app(core, config.name, NodeStatus(network, engine),
                   rate_exempt=frozenset(config.api_rate_exempt))
    configure_vc(app, config.vc_issuer_key, config.vc_issue_token_file, config.vc_public_url)
    warm_workers_on_start(app)
    # -----------------------------------------------------------------------------------

    runner = LimitedAppRunner(app, handle_signals=False, access_log=None,
                              exempt=frozenset(config.api_rate_exempt), limits=app[LIMITS],
                              over_rate_counted=core.metrics.public_refusals.labels(
                                  REFUSED_BODIES_OVER_RATE).inc)
    await runner.setup()
    try:
        await network.start()
        site = web.TCPSite(runner, config.api.host, config.api.port, reuse_address=True)
        await site.start()
        await serve_https(runner, config)
    except OSError as exc:
        closing = ClosingFailures()  # a close refused is said after, not instead of, this
        await closing.wait_for(network.close())
        await closing.wait_for(runner.cleanup())
        for close in (signed_mark.close, snapshots.close, signature_workers.close,
                      engine_signature_workers.close, kv.close):
            closing.run(close)
        closing.said_after(exc)
        raise ConfigError("api.listen/p2p.listen", f"cannot listen: {exc}") from exc
    # Now that the node runs, not at the first batch that needs one (a start that fails
    # above never made them).
    signature_workers.start_children()
    engine_signature_workers.start_children()
    key_filters = KeyFilterFill(core.chain)
    thread.start(engine)
    if len(core.mempool):
        thread.work_available()
    # P2P handshakes bind the genesis hash: operators whose nodes never connect compare
    # this fingerprint (`senim consortium fingerprint` prints the same).
    log.info("node %s (%s, %s) serving API on http://%s, P2P on %s with %s, chain %s "
             "(genesis %s) at height %d", config.name, core.keys.member_id.hex(),
             engine.role.value, listening_address(config.api, runner.addresses),
             listening_address(config.p2p, [network.peers.listen_address]),
             peers_configured(config), core.chain_id, genesis.fingerprint, core.chain.height)
    ticker = asyncio.create_task(thread.ticker(network.peers.connected))
    refresher = asyncio.create_task(refresh_metrics(metrics, engine, thread, network,
                                                    sync_questions, runner, evidence))
    stopped = asyncio.create_task(stop.wait())
    try:
        key_filters.start()  # here: the finally below stops it before the store closes
        await asyncio.wait([ticker, stopped], return_when=asyncio.FIRST_COMPLETED)
        if stop.is_set():
            log.info("stopping: %s", signals.said())
    finally:
        ticker.cancel()
        refresher.cancel()
        stopped.cancel()
        # Each closed whatever the others do, the store last (the key filters read it): a
        # store whose write was refused refuses its close's write too, which, raised from
        # here, stood for the engine's failure and was said as a start that failed.
        closing = ClosingFailures()
        await closing.wait_for(evidence.close())
        await closing.wait_for(runner.cleanup())
        await closing.wait_for(network.close())
        # what a closed connection's handler left running
        await closing.wait_for(core.stop_admitting())
        await closing.wait_for(loop.run_in_executor(None, thread.shutdown, True))
        for close in (signed_mark.close, signature_workers.close,
                      engine_signature_workers.close, snapshots.close):
            closing.run(close)
        await closing.wait_for(loop.run_in_executor(None, key_filters.stop))
        closing.run(kv.close)
        failure = closing.said_after(thread.failure)
        if failure is None:
            log.info("stopped cleanly at height %d", core.chain.height)
    if isinstance(failure, StorageError):  # damage found, or a disk that is full
        raise StoppedByStore(failure)
    if isinstance(failure, RulesVersionUnknown):
        raise StoppedForUpgrade(str(failure))
    if failure is thread.failure and failure is not None:
        raise EngineFailed(f"the engine thread failed: {failure!r}")
    if failure is not None:
        raise EngineFailed(f"closing the node failed: {failure!r}")


class ClosingFailures:
    """What failed while the node closed its parts, each closed whatever the others did."""

    def __init__(self) -> None:
        self.failures: list[Exception] = []

    def run(self, close: Callable[[], None]) -> None:
        try:
            close()
        except Exception as exc:  # said once all are closed: said_after
            self.failures.append(exc)

    async def wait_for(self, closing: Awaitable[object]) -> None:
        """`run`, for a close that is awaited."""
        try:
            await closing
        except Exception as exc:
            self.failures.append(exc)

    def said_after(self, failure: BaseException | None) -> BaseException | None:
        """The failure the node stops on: the engine thread's `failure`, else the first
        close's; any other is logged as following it (a refused store refuses its close
        too, said once; a mark's close failing after a refused write is no cause of the
        stop)."""
        chosen = failure if failure is not None else (
            self.failures[0] if self.failures else None)
        for later in self.failures:
            if later is not chosen and str(later) != str(chosen):  # not the same refusal
                log.warning("while stopping, after the failure said next: %s", later)
        return chosen


def run(config_path: Path, resync: bool = False, log_format: str | None = None) -> int:
    """Entry point of `senim node`: returns the process exit code. `resync`: set the
    chain store aside first (`resync_as_fresh`) and start as a fresh node. `log_format`
    (text or json) overrides the config's, and holds for a config that does not load."""
    try:
        return _run(config_path, resync, log_format)
    except KeyboardInterrupt as exc:  # before serve() took the signal as its stop (or after)
        return say_interrupted(config_path, log_format, exc)


def _run(config_path: Path, resync: bool, log_format: str | None) -> int:
    document: dict[str, Any] = {}
    try:
        document = read_config_document(config_path)
        config = config_from_document(document, config_path)
    except ConfigError as exc:
        # In the node's own format (a collector parses a JSON line, not Python's
        # default 'ERROR:senim.daemon:'), as far as the config got to say it.
        # A config that does not parse may still say its format and name on their lines.
        named_format, name = (log_settings_in(document) if document
                              else log_settings_of(config_path))
        setup_logging("info", log_format or named_format or "text", name)
        log.error("bad config %s: %s", config_path, exc)
        return 2
    setup_logging(config.log_level, log_format or config.log_format, config.name)
    signer_lock = None
    try:
        keys = check_before_start(config, resync)
        pin_to_cpus(config.cpus)  # before any thread or child of the node starts
        signer_lock = hold_signer_lock(keys.member_id)  # held while the node runs
        log_member(keys.member_id.hex())
        if resync:
            resync_as_fresh(config)
        asyncio.run(serve(config))
    except ConfigError as exc:
        log.error("cannot start: %s", exc)
        return 2
    except StoppedByStore as exc:
        cause = exc.cause
        if isinstance(cause, CorruptStateError):  # as a damaged store found at start says
            cause = CorruptStateError(f"{cause}; {recovery_hint(config)}")
        return store_failed("stopped", cause, config)
    except StoppedForUpgrade:  # the engine thread's last line said what to do
        return EXIT_UPGRADE_NEEDED
    except RulesVersionUnknown as exc:
        log.error("cannot start: %s", exc)
        return EXIT_UPGRADE_NEEDED
    except StorageError as exc:
        return store_failed("cannot start", exc, config)
    except EngineFailed as exc:
        log.error("stopped: %s", exc)
        return 4
    finally:
        if signer_lock is not None:
            signer_lock.close()
    with contextlib.suppress(Exception):
        logging.shutdown()
    return 0


def listening_address(configured: Address, addresses: Sequence[object]) -> Address:
    """The address a listener was configured with, its port the one the system chose
    when the configuration asked for any (port 0): the start line named port 0."""
    if configured.port == 0 and addresses and isinstance(addresses[0], tuple):
        return Address(configured.host, int(addresses[0][1]))
    return configured
