"""Deterministic simulation of a consortium running the REAL node engine.

Each validator is a `node.engine.Engine` over the real ledger (`ledger.chain`) on
an in-memory store, with a simulated clock and network: the same engine the
daemon runs on its thread. One `random.Random(seed)` draws everything: the fault
plan, message loss, delay, duplication and reordering, partitions, crashes (at
any store write or frame send, so only what was written survives), and a
Byzantine validator that equivocates, forges, or lies when asked for blocks, or
a twin. Safety is checked after every input; then the network heals, crashed
nodes restart, and every honest node must commit every submitted transaction.

Each node has its own clock: honest ones a little skewed, the Byzantine one wild.
BFT time must keep every block's time strictly increasing and within what honest
clocks read while the block's last commit was being voted.
"""

import functools
import random
from collections.abc import Callable

from consensus import Commit, MalformedMessage, SignedMessage, ValidatorId, decode_signed
from ledger.chain import Chain
from ledger.errors import TxRejected
from ledger.genesis import Genesis, GenesisMember, current_rules_genesis
from ledger.identity import KeyPair
from ledger.payloads import AnchorPayload
from ledger.transactions import Transaction, build_transaction
from ledger.validator_sets import set_change_heights
from node.block_serve import serve_blocks
from node.channels import (
    CH_BLOCK,
    CH_CONSENSUS,
    CH_SYNC_REQUEST,
    CH_SYNC_RESPONSE,
    CH_TXS,
)
from node.engine import Engine
from node.engine_quiet import TICK_MS
from node.engine_types import EngineConfig
from node.evidence import check_equivocation
from node.evidence_submit import (
    EvidenceSlot,
)
from node.mempool import Mempool, MempoolLimits
from node.validators import ValidatorSet, ValidatorSets
from tests.sim.answer_ahead import AnswersAhead, blocks_per_answer
from tests.sim.network import NetworkFaults
from tests.sim.node_byzantine import ByzantineNode
from tests.sim.node_evidence import EvidenceFlow
from tests.sim.node_plan import FaultPlan, Result
from tests.sim.seeded import LivenessFailure, SafetyViolation
from tests.sim.sim_node import Outbox, SimNode, SimulatedCrash
from tests.sim.verify_cache import remembered_verification

__all__ = ["FaultPlan", "LivenessFailure", "NodeSimulation", "Result", "SafetyViolation",
           "run_node_seed"]

CHAIN_ID = "senim-sim"
GENESIS_MS = 1_700_000_000_000
MAX_TXS_PER_BLOCK = 6
HONEST_CLOCK_SKEW_MS = 500  # each honest clock is off by at most this much
WILD_CLOCK_MS = 10 * 365 * 24 * 3_600_000  # how far off a Byzantine validator's clock may be


class NodeSimulation(EvidenceFlow):
    def __init__(self, seed: int, validators: int = 4, safety_ticks: int = 700,
                 liveness_ticks: int = 3000, faults: bool = True) -> None:
        rng = random.Random(seed)
        self.plan = FaultPlan.draw(rng, validators)
        if not faults:
            self.plan = FaultPlan(NetworkFaults(), False, False, None, False)
        super().__init__(seed, rng, self.plan, safety_ticks if faults else 0, liveness_ticks,
                         faults)
        self._keys = [KeyPair.from_seed(b"sim-validator-%04d" % i + bytes(14))
                      for i in range(validators)]
        self._client = KeyPair.from_seed(b"sim-registrar".ljust(32, b"."))
        self.genesis = self._make_genesis()
        self._validators = ValidatorSet.from_genesis(self.genesis)
        self._submitted: list[Transaction] = []
        # Evidence transactions the nodes submitted (what node.evidence_submit does),
        # by the fault each proves, with who submitted it.
        self.evidence_txs: dict[EvidenceSlot, list[tuple[int, Transaction]]] = {}
        self._decided: dict[int, bytes] = {}
        self._decided_tick: dict[int, int] = {0: 0}  # first tick any node committed a height
        self._block_times: dict[int, int] = {0: GENESIS_MS}
        # Clocks come from their own generator, so each seed's schedule stays what it was.
        clock_rng = random.Random(seed ^ 0x5EED_C10C)
        self._skew_ms = [clock_rng.randint(-HONEST_CLOCK_SKEW_MS, HONEST_CLOCK_SKEW_MS)
                         for _ in range(validators + 1)]
        self._wild_ms = clock_rng.choice([-1, 1]) * clock_rng.randint(1, WILD_CLOCK_MS)
        self.consensus_frames = 0
        self._last_decoded: tuple[bytes, SignedMessage | None] = (b"", None)
        self.nodes = self._make_nodes()
        self._by_key: dict[bytes, list[int]] = {}
        for node in self.nodes:
            self._by_key.setdefault(node.keys.public_key, []).append(node.index)
        self._connected_cache: dict[tuple[int, tuple[bool, ...], int], tuple[bytes, ...]] = {}
        self._faulty = {n.validator for n in self.nodes if not n.honest}
        self._ahead = AnswersAhead(seed, self._reachable, self._answer_sync)
        for node in self.nodes:
            self._start(node)

    def _make_genesis(self) -> Genesis:
        members = [GenesisMember(f"Validator {i}", "ministry", k.public_key, True)
                   for i, k in enumerate(self._keys)]
        members.append(GenesisMember("Registrar", "university", self._client.public_key,
                                     False))
        return current_rules_genesis(CHAIN_ID, GENESIS_MS, tuple(members))

    def _make_nodes(self) -> list[SimNode]:
        nodes = [SimNode(i, k, True, self._rng) for i, k in enumerate(self._keys)]

        def make_byzantine(bad: SimNode) -> None:
            assert self.plan.byzantine is not None
            bad.byzantine = ByzantineNode(self._rng, self.plan.byzantine, bad.keys,
                                          self._validators.ids, CHAIN_ID.encode())

        self._corrupt(nodes, make_byzantine,
                      lambda original: SimNode(len(nodes), original.keys, False, self._rng))
        for node in nodes:
            node.store.crash = node
            node.crashes_enabled = self._faults_on and self.plan.crashes
        return nodes

    # -- running ---------------------------------------------------------------------------
    def run(self) -> Result:
        with remembered_verification(), blocks_per_answer(self.seed):
            self._run_phases()
            self._check_evidence()
        heights = min(n.engine.chain.height for n in self._honest() if n.engine)
        return Result(self.seed, len(self._keys), self.plan, self._now, heights,
                      len(self._submitted), self.consensus_frames, self._set_changes(),
                      (self._ahead.taken, self._ahead.prepared))

    def now_ms(self) -> int:
        return GENESIS_MS + self._now * TICK_MS

    def _clock_of(self, node: SimNode) -> Callable[[], int]:
        offset = self._wild_ms if node.byzantine is not None else self._skew_ms[node.index]
        return lambda: self.now_ms() + offset

    def _advance_one_tick(self) -> None:
        self._now += 1
        for node in self.nodes:
            if node.engine is None and 0 < node.down_until <= self._now:
                self._start(node)
        for packet in self._network.due(self._now):
            dest = self.nodes[packet.dest]
            if dest.engine is not None and self._network.connected(packet.origin, packet.dest):
                sender = self.nodes[packet.origin].keys.public_key
                self._deliver(dest, sender, packet.data[0], packet.data[1:])
        up = tuple(n.engine is not None for n in self.nodes)
        for node in self.nodes:
            if node.engine is not None:
                engine = node.engine
                connected = self._connected_keys(node, up)
                self._input(node, lambda e=engine, c=connected: e.tick(c))

    def _connected_keys(self, node: SimNode, up: tuple[bool, ...]) -> tuple[bytes, ...]:
        key = (node.index, up, self._network.partition_version)
        cached = self._connected_cache.get(key)
        if cached is None:
            cached = tuple(n.keys.public_key for n in self.nodes
                           if n is not node and up[n.index]
                           and self._network.connected(n.index, node.index))
            if len(self._connected_cache) > 10_000:
                self._connected_cache.clear()
            self._connected_cache[key] = cached
        return cached

    def _deliver(self, node: SimNode, sender: bytes, channel: int, payload: bytes) -> None:
        engine = node.engine
        assert engine is not None
        if channel == CH_CONSENSUS:
            self._input(node, lambda: engine.consensus_frame(sender, payload))
        elif channel == CH_SYNC_RESPONSE:
            self._input(node, lambda: engine.sync_answer(sender, payload))
        elif channel == CH_BLOCK:
            self._input(node, lambda: engine.block_announced(sender, payload))
        elif channel == CH_SYNC_REQUEST:
            answer = self._answer_sync(node, payload)
            if answer is not None:
                self._transmit(node, [(sender, CH_SYNC_RESPONSE, answer)])

    @staticmethod
    def _answer_sync(node: SimNode, question: bytes) -> bytes | None:
        assert node.engine is not None
        if node.byzantine is not None:
            return node.byzantine.answer_sync(node.engine.chain, question)
        return serve_blocks(node.engine.chain, question)

    def _reachable(self, node: SimNode, peer_key: bytes) -> SimNode | None:
        return next((self.nodes[i] for i in self._by_key.get(peer_key, ())
                     if i != node.index and self.nodes[i].engine is not None
                     and self._network.connected(node.index, i)), None)

    def _input(self, node: SimNode, call: "object") -> None:
        """One input to a node's engine, then its frames out and the invariants checked."""
        assert callable(call)
        try:
            call()
        except SimulatedCrash:
            node.outgoing.clear()  # frames not yet handed over die with the process
            node.answers_ahead.clear()
            self._crash(node)
            return
        finally:
            self._check_commits(node)
        frames, node.outgoing = node.outgoing, []
        self._transmit(node, frames)
        if node.found_evidence:
            self._submit_evidence(node)
        if node.engine is not None and node.engine.replica is not None:
            self._check_view(node, node.engine.replica.view)
        self._ahead.deliver(node, self._input)

    def _transmit(self, node: SimNode, frames: list[tuple[bytes, int, bytes]]) -> None:
        for peer_key, channel, payload in frames:
            if channel == CH_TXS:
                continue  # the simulation hands every transaction to every node itself
            dests = [i for i in self._by_key.get(peer_key, ()) if i != node.index]
            if channel == CH_CONSENSUS:
                self._send_consensus(node, peer_key, dests, payload)
            else:
                self._network.send(self._now, node.index, node.validator, dests,
                                   bytes([channel]) + payload)

    def _send_consensus(self, node: SimNode, peer_key: bytes, dests: list[int],
                        payload: bytes) -> None:
        sends = [(peer_key, payload)]
        if node.byzantine is not None and node.engine is not None:
            peer = ValidatorId(self.nodes[dests[0]].keys.member_id) if dests else None
            if peer is None:
                return
            rewritten = node.byzantine.rewrite(node.engine.chain, payload, [peer])
            sends = [(peer_key, data) for _, data in rewritten]
        for _, data in sends:
            signed = self._decoded(data)
            if signed is None and node.honest:
                self._violation("an honest node sent a frame that does not decode")
            if node.honest and signed is not None:
                self._check_signed(node, signed)
                self.consensus_frames += 1
            message = signed.message if signed is not None else None
            self._network.send(self._now, node.index, node.validator, dests,
                               bytes([CH_CONSENSUS]) + data, is_commit=isinstance(message, Commit))

    def _decoded(self, data: bytes) -> SignedMessage | None:
        """The frame decoded, or None if it does not; a broadcast is one frame sent n - 1
        times, so the last one is kept."""
        if self._last_decoded[0] != data:
            try:
                self._last_decoded = (data, decode_signed(data))
            except MalformedMessage:
                self._last_decoded = (data, None)
        return self._last_decoded[1]

    # -- faults ----------------------------------------------------------------------------
    def _submit(self) -> None:
        tx = build_transaction(self._client, CHAIN_ID, AnchorPayload(self._rng.randbytes(32)),
                               expires_at=100_000)
        self._submitted.append(tx)
        for node in self.nodes:
            if node.engine is not None:
                self._admit(node, [tx])

    def _admit(self, node: SimNode, txs: list[Transaction], may_refuse: bool = False) -> None:
        """What the API and gossip do: check against the committed state, then pend.
        Unless `may_refuse`, each transaction is good, and a refusal is a violation."""
        engine = node.engine
        assert engine is not None
        for tx in txs:
            if engine.chain.is_committed(tx.tx_id) or tx.tx_id in engine.mempool:
                continue
            try:
                engine.chain.check_pending(tx, self.now_ms(), signature_ok=False)
            except TxRejected as refusal:
                if may_refuse:
                    continue
                self._violation(f"a node refused a good transaction: {refusal.message}")
            engine.mempool.add(tx, len(tx.encode()))
        self._input(node, engine.work_available)

    def _start(self, node: SimNode) -> None:
        node.store.crash = None  # opening the store (and writing genesis) is not a fault point
        chain = Chain(node.store, self.genesis, evidence_check=check_equivocation)
        chain.fill_key_filters()  # as the daemon does beside the node, here at once
        node.store.crash = node
        mempool = Mempool(MempoolLimits(10_000, 64 << 20, 10_000))
        node.engine = Engine(node.keys, chain, mempool, ValidatorSets.for_chain(chain),
                             EngineConfig(view_timeout_ms=200, max_block_txs=MAX_TXS_PER_BLOCK,
                                          follower_poll_ms=500, validator_poll_ms=2_000),
                             self._clock_of(node), Outbox(node),
                             {k.member_id: f"v{i}" for i, k in enumerate(self._keys)})
        node.engine.on_new_evidence = node.found_evidence.append
        node.engine.next_sync_answer = functools.partial(self._ahead.look, node)
        node.down_until = 0
        # Clients retry what has not committed: the restarted node hears of it again.
        pending = [tx for tx in self._submitted if not chain.is_committed(tx.tx_id)]
        if pending:
            self._admit(node, pending)
        for tx in self._pending_evidence(node):  # peers gossip what is still pending
            self._offer_evidence(node, tx)

    def _crash(self, node: SimNode) -> None:
        # Every other death is a power cut: the store loses what was written since its
        # last synced write, all of it or all but some first writes (a killed process
        # loses none of it).
        if node.incarnation % 2:
            node.store.cut_power(kept=self._rng.randint(0, node.store.unsynced_writes))
        super()._crash(node)

    def _stop_faults(self) -> None:
        for node in self.nodes:
            node.crashes_enabled = False
            if node.engine is not None:
                for tx in self._pending_evidence(node):
                    self._offer_evidence(node, tx)
        super()._stop_faults()

    # -- invariants ------------------------------------------------------------------------
    def _check_commits(self, node: SimNode) -> None:
        reports, node.committed = node.committed, []
        for report in reports:
            self._decided_tick.setdefault(report.execution.header.height, self._now)
        if not node.honest:
            return
        for report in reports:
            header = report.execution.header
            decided = self._decided.setdefault(header.height, header.block_hash)
            if decided != header.block_hash:
                self._violation(f"two different blocks committed at height {header.height}")
            self._check_block_time(header.height, header.time_ms)

    def _check_block_time(self, height: int, time_ms: int) -> None:
        """BFT time: increasing, and within honest clocks while block height-1 was voted.

        A vote for block h-1 is signed after its signer committed h-2 and before now."""
        previous = self._block_times.get(height - 1)
        if previous is not None and time_ms <= previous:
            self._violation(f"block {height} time {time_ms} is not after block "
                            f"{height - 1}'s {previous}")
        self._block_times[height] = time_ms
        latest = self.now_ms() + HONEST_CLOCK_SKEW_MS
        voted_from = self._decided_tick.get(height - 2)
        earliest = (GENESIS_MS + (voted_from or 0) * TICK_MS - HONEST_CLOCK_SKEW_MS
                    if height > 1 and voted_from is not None else GENESIS_MS)
        if not earliest <= time_ms <= latest:
            self._violation(f"block {height} time {time_ms} is outside the honest clocks "
                            f"[{earliest}, {latest}]")

    def _set_changes(self) -> int:
        crossed = [len([h for h in set_change_heights(n.engine.chain.state)
                        if 1 < h <= n.engine.chain.height])
                   for n in self._honest() if n.engine is not None]
        return min(crossed, default=0)

    def _honest(self) -> list[SimNode]:
        return [n for n in self.nodes if n.honest]

    def _converged(self) -> bool:
        for node in self._honest():
            if node.engine is None:
                return False
            if not all(node.engine.chain.is_committed(tx.tx_id) for tx in self._submitted):
                return False
            if self._pending_evidence(node):
                return False
        return True

    @property
    def _submitted_count(self) -> int:
        return len(self._submitted)

    def _describe(self, what: str) -> str:
        status = ", ".join(
            f"#{n.index}{'' if n.honest else '(faulty)'}:"
            + (f"h{n.engine.chain.height}/v{n.engine.replica.view if n.engine.replica else '-'}"
               if n.engine else "down")
            for n in self.nodes)
        return (f"seed {self.seed} (n={len(self._keys)}) at tick {self._now}: {what}\n"
                f"  plan: {self.plan}\n  nodes: {status}; txs submitted {len(self._submitted)}")


def run_node_seed(seed: int, validators: int = 4) -> Result:
    return NodeSimulation(seed, validators).run()
