"""Engine figures measured in-process: catch-up by block sync, restart time, index growth.

Catch-up: a follower engine fetches a chain of certified blocks through the same
sync path a node uses (answers of 64 blocks, each certificate checked against
the 4 genesis validators, each block re-executed and its state root checked, an
answer's blocks committed to LevelDB in one batch: `ledger.chain_run.ChainRun`).
Restart: open a chain whose state holds N credential batches and report how
long the node takes before it can serve (no replay: the state root is read).
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

from consensus import Digest, Height, ValidatorId, View, commit_signing_bytes, encode_certificate
from consensus.certificate import make_certificate
from ledger.blocks import Header, last_commit_hash, transactions_root
from ledger.chain import Chain
from ledger.chain_run import Execution
from ledger.genesis import Genesis, GenesisMember, current_rules_genesis
from ledger.identity import KeyPair
from ledger.payloads import AnchorPayload
from ledger.records import Batch, batch_key
from ledger.transactions import Transaction, build_transaction
from node.block_serve import serve_blocks
from node.engine import Engine
from node.engine_types import CommitReport, EngineConfig, Refusals
from node.mempool import Mempool, MempoolLimits
from node.serve_budget import QUESTION_COST_BYTES, SERVE_ALL_BURST_BYTES, ServeBudget
from node.signature_workers import WORKER_BATCH_MIN, SignatureWorkers, usable_cores
from node.validators import ValidatorSet, ValidatorSets
from storage.kv import LevelDBStore

CHAIN_ID = "senim-bench-engine"
GENESIS_MS = 1_700_000_000_000


class _Quiet:
    def send(self, peer_key: bytes, channel: int, payload: bytes) -> None:
        self.last = (peer_key, channel, payload)

    def committed(self, report: CommitReport) -> None:
        del report

    def refused(self, refusals: Refusals) -> None:
        del refusals


def _consortium() -> tuple[list[KeyPair], KeyPair, KeyPair, Genesis]:
    validators = [KeyPair.from_seed(b"bench-validator-%d" % i + bytes(15)) for i in range(4)]
    client = KeyPair.from_seed(b"bench-registrar".ljust(32, b"."))
    follower = KeyPair.from_seed(b"bench-follower".ljust(32, b"."))
    members = [GenesisMember(f"Ministry {i}", "ministry", k.public_key, True)
               for i, k in enumerate(validators)]
    members += [GenesisMember("Registrar", "university", client.public_key, False),
                GenesisMember("Employer", "employer", follower.public_key, False)]
    return validators, client, follower, current_rules_genesis(CHAIN_ID, GENESIS_MS, tuple(members))


def _certify(signers: list[KeyPair], height: int, block_hash: bytes) -> bytes:
    time_ms = GENESIS_MS + height * 1_000
    message = commit_signing_bytes(CHAIN_ID.encode(), Height(height), View(0),
                                   Digest(block_hash), time_ms)
    signatures = {ValidatorId(k.member_id): (time_ms, k.sign_raw(message)) for k in signers}
    return encode_certificate(make_certificate(Height(height), View(0), Digest(block_hash),
                                               signatures))


def _build_chain(folder: Path, blocks: int, txs_per_block: int, other_votes: bool = False
                 ) -> tuple[Chain, LevelDBStore, Genesis, KeyPair]:
    """A chain of anchors, each block certified by validators 0-2 in the next block's
    last commit; `other_votes`: the certificates stored (and served) are signed by
    validators 1-3 instead, as a node that collected other votes than the next
    proposer holds them, so that a follower checks both."""
    validators, client, follower, genesis = _consortium()
    kv = LevelDBStore(str(folder / "source.ldb"))
    chain = Chain(kv, genesis)
    chain.check_certificates(ValidatorSets.for_chain(chain).certifies)  # as a daemon serves
    commit_times = ValidatorSet.from_genesis(genesis).commit_times
    proposed_commit = b""  # the certificate the next block carries
    for height in range(1, blocks + 1):
        txs: list[Transaction] = [
            build_transaction(client, CHAIN_ID, AnchorPayload(os.urandom(32)), 50_000)
            for _ in range(txs_per_block)]
        proposer = validators[height % 4]
        last_commit, time_ms = chain.next_block_basis(commit_times)
        if other_votes and height > 1:  # the same vote times: the same block time
            last_commit = proposed_commit
        execution = chain.build(txs, proposer.member_id, 0, time_ms,
                                frozenset(tx.tx_id for tx in txs), last_commit)
        assert not execution.rejected, execution.rejected[0][1].message
        block_hash = execution.header.block_hash
        proposed_commit = _certify(validators[:3], height, block_hash)
        chain.commit(execution, _certify(validators[1:], height, block_hash) if other_votes
                     else proposed_commit)
    return chain, kv, genesis, follower


def _children_ready(workers: SignatureWorkers) -> None:
    """Start each child and wait for its first answer before the clock starts: a
    daemon's children start with it (node.daemon), long before it catches up. Started
    on the first answer, their start was timed as catch-up: a first batch took 86-100
    ms against 4 ms for the next (measured while CI loaded the machine, session 48),
    though the catch-up figure showed no difference above its noise."""
    keys = KeyPair.generate()
    check = (keys.public_key, b"ready", keys.sign_raw(b"ready"))
    workers.start_children()
    pending = [workers.start([check] * WORKER_BATCH_MIN) for _ in range(usable_cores())]
    answers = [collect() for collect in pending]  # each collected, so no child stays leased
    assert answers == [[True] * WORKER_BATCH_MIN] * len(pending)


def catch_up_rate(blocks: int = 2_000, txs_per_block: int = 5, other_votes: bool = False,
                  paced: bool = True, validator: bool = False,
                  followers_drawing: int = 0) -> dict[str, Any]:
    """`paced`: the serving peer paces its answers as a node does (node.serve_budget),
    waiting out the follower's debt before it answers; the wait is in the figure.
    `validator`: the one catching up is one of the serving peer's validators.
    `followers_drawing`: as many other followers, deep in debt, draw on the serving
    peer's shared rate all along (they are charged, not served)."""
    with tempfile.TemporaryDirectory(prefix="senim-bench-") as name:
        folder = Path(name)
        source, source_kv, genesis, follower_keys = _build_chain(folder, blocks, txs_per_block,
                                                                 other_votes)
        kv = LevelDBStore(str(folder / "follower.ldb"))
        outbox = _Quiet()
        clock = [GENESIS_MS + blocks * 1000]
        chain = Chain(kv, genesis)
        signature_workers = SignatureWorkers()  # as the daemon checks an answer's signatures
        _children_ready(signature_workers)
        engine = Engine(follower_keys, chain, Mempool(MempoolLimits(1, 1 << 20, 1)),
                        ValidatorSets.for_chain(chain), EngineConfig(1000, 100),
                        lambda: clock[0], outbox, check_signatures=signature_workers)
        peer = b"\x01" * 32
        served: dict[bytes, bytes] = {}  # the answer to each question, once served
        serving = [0.0]  # the peer's part, which a real peer does in its own process
        budget = ServeBudget(clock=time.perf_counter, is_validator=lambda key: (
            validator and key == peer))
        others = [bytes([2, i % 256, i // 256]) * 8 + bytes(8) for i in range(followers_drawing)]
        for other in others:
            budget.charge(other, SERVE_ALL_BURST_BYTES)
        waited = [0.0]
        charged = [0]

        def answer_to(request: bytes) -> bytes:
            if request not in served:
                wait = budget.wait_s(peer) if paced else 0.0
                assert wait is not None, "one peer alone is never dropped"
                if wait > 0:
                    time.sleep(wait)
                    waited[0] += wait
                asked = time.perf_counter()
                answer = serve_blocks(source, request)
                serving[0] += time.perf_counter() - asked
                assert answer is not None
                budget.charge(peer, len(answer))
                charged[0] += len(answer) + QUESTION_COST_BYTES
                for other in others:  # each asks again: still drawing
                    budget.charge(other, 0)
                served[request] = answer
            return served[request]

        # In the daemon a question asked ahead is answered while the answer before it
        # executes, and waits in the engine's inbox when the engine looks for it.
        engine.next_sync_answer = lambda: (peer, answer_to(outbox.last[2]))
        started = time.perf_counter()
        engine.tick([peer])
        while engine.chain.height < blocks:
            before = engine.chain.height
            request = outbox.last[2]
            answer = answer_to(request)
            del served[request]
            engine.sync_answer(peer, answer)
            assert engine.chain.height > before, "sync made no progress"
        elapsed = time.perf_counter() - started
        signature_workers.close()
        kv.close()
        source_kv.close()
    return {"blocks": blocks, "txs_per_block": txs_per_block, "other_votes": other_votes,
            "blocks_per_s": blocks / elapsed, "seconds": elapsed,
            "follower_blocks_per_s": blocks / (elapsed - serving[0] - waited[0]),
            "paced": paced, "paced_s": waited[0], "validator": validator,
            "followers_drawing": followers_drawing,
            "charged_mib_per_s": charged[0] / 2**20 / elapsed}


# Batches committed after the compacted state in restart_time's second figure: 44 MB of
# LevelDB log (measured, session 29), more than a full memtable
# (LevelDBStore.WRITE_BUFFER_BYTES): the block that passes it goes in whole.
UNFLUSHED_BATCHES = 60_000


def restart_time(batches: int = 1_000_000, per_block: int = 50_000) -> dict[str, Any]:
    """Open a chain whose state holds `batches` credential batches: the time until the
    node could serve (head, state root check), without replaying anything; and the same
    after UNFLUSHED_BATCHES more, closed with them still in LevelDB's log (as after a
    kill), which LevelDB replays at open."""
    with tempfile.TemporaryDirectory(prefix="senim-bench-") as name:
        _, client, _, genesis = _consortium()
        path = str(Path(name) / "chain.ldb")
        kv = LevelDBStore(path)
        fill_state(Chain(kv, genesis), client, batches, per_block)
        kv.close()
        opened_s = _open_seconds(path, genesis, (batches + per_block - 1) // per_block)
        kv = LevelDBStore(path)
        chain = Chain(kv, genesis)
        fill_state(chain, client, UNFLUSHED_BATCHES, per_block, compact=False)
        height = chain.height
        kv.close()
        log_bytes = sum(entry.stat().st_size for entry in Path(path).iterdir()
                        if entry.suffix == ".log")
        unflushed_s = _open_seconds(path, genesis, height)
    return {"state_entries": batches, "open_seconds": opened_s,
            "log_bytes_unflushed": log_bytes, "open_seconds_unflushed": unflushed_s}


def _open_seconds(path: str, genesis: Genesis, height: int) -> float:
    started = time.perf_counter()
    kv = LevelDBStore(path)
    reopened = Chain(kv, genesis)
    opened_s = time.perf_counter() - started
    assert reopened.height == height
    kv.close()
    return opened_s


def fill_state(chain: Chain, client: KeyPair, batches: int, per_block: int = 50_000,
               compact: bool = True) -> None:
    """Commit blocks that add `batches` credential batches to the state."""
    record = Batch(client.member_id, "diploma", 10_000, 1, GENESIS_MS, bytes(32)).encode()
    filled = 0
    while filled < batches:
        overlay = chain.state.overlay()
        count = min(per_block, batches - filled)
        for _ in range(count):
            overlay.set(batch_key(client.member_id, os.urandom(32)), record)
        filled += count
        # The state written as by issuing blocks (their transactions left out: the
        # figures are about a large state, not about the blocks).
        head = chain.head_header
        header = Header(CHAIN_ID, head.height + 1, head.block_hash, head.time_ms + 1000,
                        client.member_id, 0, transactions_root([]), overlay.root(),
                        chain.genesis.validator_set_hash, last_commit_hash(b""))
        chain.commit(Execution(header, overlay, []), b"bench")
    # A node that ran for a while has its writes in table files, not in the log
    # that LevelDB replays at open; compact so the figures are that steady state.
    if compact:
        assert isinstance(chain.kv, LevelDBStore)
        chain.kv._db.compact_range()


def simulator_message_cost(sizes: tuple[int, ...]) -> list[tuple[int, float]]:
    """Consensus frames per committed block in fault-free simulated consortia."""
    from tests.sim.node_sim import NodeSimulation
    results = []
    for n in sizes:
        result = NodeSimulation(0, n, liveness_ticks=50_000, faults=False).run()
        results.append((n, result.consensus_frames / max(1, result.heights)))
    return results
