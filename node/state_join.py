"""Joining by state sync: the IO around `node.state_sync`, before the chain is opened.

With `[sync] state_sync = true` and a data directory that holds no chain yet,
the daemon first copies a certified snapshot's state from its peers into the
store (`join_by_state_sync`), then opens the chain as usual: its head is the
snapshot's block, and block sync fetches what came after. A join cut short
(a kill, a stop) leaves no chain record, so the next start wipes its pieces and
joins again. If no peer holds a snapshot (a chain still at block 0) the node
starts from genesis and syncs blocks instead.
"""

from __future__ import annotations

import asyncio
import logging
import time
from functools import partial

from ledger.chain_layout import GENESIS_KEY, STATE_PREFIX
from ledger.codec import encode
from ledger.genesis import Genesis
from ledger.identity import KeyPair
from node.answer_gate import AnswerGate
from node.channels import CH_STATE_REQUEST, CH_STATE_RESPONSE
from node.config import NodeConfig
from node.network import Network
from node.offer_round import OFFER_PEERS_MAX
from node.start_checks import peers_configured
from node.state_sync import Phase, StateSync
from node.state_wire import NOT_HELD, PIECES_IN_FLIGHT_MAX
from node.validators import certifies_by_keys
from storage.kv import KeyValueStore

log = logging.getLogger("senim.state_sync")

# Answers waiting to be checked: those of a round's offer questions (up to
# OFFER_PEERS_MAX, node.offer_round) or of the nodes and values questions open at once
# (up to PIECES_IN_FLIGHT_MAX, node.state_wire) may all come at once; a few places more
# for late answers. Answers from peers not asked are
# dropped before they take a place here (node.answer_gate); one dropped because the queue
# is full counts as silence (its peer is passed over, or left out of the round).
ANSWERS_QUEUED_MAX = max(OFFER_PEERS_MAX, PIECES_IN_FLIGHT_MAX) + 4
POLL_S = 0.05
PROGRESS_LOG_S = 10.0
WIPE_BATCH_KEYS = 10_000


def needs_join(kv: KeyValueStore) -> bool:
    """A store that holds no chain (maybe the pieces of a join cut short)."""
    return kv.get(GENESIS_KEY) is None


def wipe_partial_state(kv: KeyValueStore) -> None:
    """Delete the state a join cut short wrote; it has no root pointer, so no chain uses it."""
    batch: dict[bytes, bytes | None] = {}
    for key, _ in kv.iterate_prefix(STATE_PREFIX):
        batch[key] = None
        if len(batch) >= WIPE_BATCH_KEYS:
            kv.write(batch, sync=False)
            batch = {}
    kv.write(batch, sync=True)


async def join_by_state_sync(config: NodeConfig, genesis: Genesis, keys: KeyPair,
                             kv: KeyValueStore, stop: asyncio.Event) -> bool:
    """Fill an empty store from a peer's certified snapshot. False if stopped first or no
    peer holds one (the caller then starts from genesis, or not at all)."""
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, wipe_partial_state, kv)
    network = Network(config, genesis, keys)
    validators = network.validator_keys
    answers: asyncio.Queue[tuple[bytes, bytes]] = asyncio.Queue(ANSWERS_QUEUED_MAX)
    questions = AnswerGate("state-sync", network.describe_key)
    send = questions.recording(network.peers.send, CH_STATE_REQUEST)

    async def answered(peer_key: bytes, payload: bytes) -> None:
        if not answers.full():
            answers.put_nowait((peer_key, payload))

    async def nothing_held(peer_key: bytes, payload: bytes) -> None:
        # Nodes all joining at once (a new testnet) learn that nobody has a snapshot,
        # rather than wait for one forever.
        del payload
        network.peers.send(peer_key, CH_STATE_RESPONSE, encode([NOT_HELD, 0]))

    network.route(CH_STATE_RESPONSE, questions.gated(answered))
    network.route(CH_STATE_REQUEST, nothing_held)
    sync = StateSync(genesis, certifies_by_keys(genesis.chain_id))
    started = last_log = time.monotonic()
    await network.start()
    log.info("node %s (%s): the store is empty, so it first copies a recent certified "
             "snapshot from its peers; P2P on %s with %s, chain %s (genesis %s)", config.name,
             keys.member_id.hex(), config.p2p, peers_configured(config), genesis.chain_id,
             genesis.fingerprint)
    try:
        while not sync.finished and not stop.is_set():
            peers = sorted(network.peers.connected(), key=lambda k: (k not in validators, k))
            requests, restarted = sync.next_requests(int(time.monotonic() * 1000), peers)
            if restarted:
                log.warning("no peer holds the snapshot being copied any more; starting again")
                await loop.run_in_executor(None, wipe_partial_state, kv)
            for request in requests:
                send(request.peer, CH_STATE_REQUEST, request.payload)
            try:
                peer, payload = await asyncio.wait_for(answers.get(), POLL_S)
            except TimeoutError:
                continue
            progress = await loop.run_in_executor(
                None, sync.accept, peer, payload, int(time.monotonic() * 1000))
            if progress.writes:
                await loop.run_in_executor(None, partial(kv.write, progress.writes, sync=False))
            if time.monotonic() - last_log >= PROGRESS_LOG_S:
                last_log = time.monotonic()
                _log_progress(sync, network)
        for key in sync.distrusted:
            log.warning("state sync: %s sent a wrong answer", network.name_of(key))
        if sync.phase is Phase.DONE:
            await loop.run_in_executor(None, kv.write, sync.final_writes())
            assert sync.snapshot is not None and sync.state is not None
            log.info("joined by state sync at block %d: %d tree nodes, %d values, %d "
                     "validator-set change proofs kept, in %.1f s, started again %d times",
                     sync.snapshot.height, sync.state.nodes_done, sync.state.values_done,
                     len(sync.snapshot.set_changes), time.monotonic() - started,
                     sync.restarts)
            return True
        if sync.phase is Phase.UNAVAILABLE:
            log.warning("no peer holds a snapshot; starting from genesis and syncing blocks")
        return False
    finally:
        await network.close()


def _log_progress(sync: StateSync, network: Network) -> None:
    state = sync.state
    log.info("state sync: %s, snapshot %s, %d nodes, %d values, %d peers distrusted, "
             "started again %d times", sync.phase.value,
             sync.snapshot.height if sync.snapshot else "not chosen",
             state.nodes_done if state else 0, state.values_done if state else 0,
             len(sync.distrusted), sync.restarts)
