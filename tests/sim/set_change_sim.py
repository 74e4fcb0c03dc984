"""The node simulator across validator-set changes made by governance transactions.

Genesis has `validators` validators and one more ministry whose node starts as a
follower (the joiner). During the faulty phase a ministry proposes adding the
joiner, and later another proposes removing a validator drawn from the genesis
set (perhaps the Byzantine one); the policy's threshold of one makes each
proposal its own approval. Each takes effect a few blocks after the height the
chain had reached, so crashes, partitions and a Byzantine validator (in the old
set, or the joiner itself in the new one) fall around the switch heights. Safety
is checked after every input as in `NodeSimulation`; a proposal that expires
under the faults before it commits is refused, which is no fault.
"""

from ledger.genesis import Genesis, GenesisMember, current_rules_genesis
from ledger.governance_policy import GovernancePolicy
from ledger.identity import KeyPair
from ledger.payloads import (
    ACTION_ADD_VALIDATOR,
    ACTION_REMOVE_VALIDATOR,
    MIN_PROPOSAL_LEAD_BLOCKS,
    MemberAction,
    ProposePayload,
)
from ledger.transactions import Transaction, build_transaction
from tests.sim.node_sim import CHAIN_ID, GENESIS_MS, NodeSimulation
from tests.sim.sim_node import SimNode

# Blocks between the height reached when a change is proposed and its effect: room
# for the proposal to commit under faults before votes close.
EFFECT_AFTER_BLOCKS = 5
WORK_EVERY_TICKS = 20
PROPOSE_ADD_TICKS = (10, 150)


class SetChangeSimulation(NodeSimulation):
    max_submitted = 80

    def __init__(self, seed: int, validators: int = 4, safety_ticks: int = 700,
                 liveness_ticks: int = 3000, faults: bool = True) -> None:
        self._genesis_validators = validators
        self.governance: list[Transaction] = []
        self._last_effective = 0
        self._effective_heights: list[int] = []
        self._add: Transaction | None = None
        self._remove: Transaction | None = None
        self.switched_under_faults: set[int] = set()  # switch heights crossed under faults
        super().__init__(seed, validators + 1, safety_ticks, liveness_ticks, faults)
        rng = self._rng
        self._add_at = rng.randint(*PROPOSE_ADD_TICKS)
        self.leaving = self._keys[rng.randrange(validators)]
        self.joiner = self._keys[-1]

    def _make_genesis(self) -> Genesis:
        members = [GenesisMember(f"Ministry {i}", "ministry", k.public_key,
                                 i < self._genesis_validators)
                   for i, k in enumerate(self._keys)]
        members.append(GenesisMember("Registrar", "university", self._client.public_key,
                                     False))
        policy = GovernancePolicy(1, "ministries", self._genesis_validators)
        return current_rules_genesis(CHAIN_ID, GENESIS_MS, tuple(members), policy)

    def _advance_one_tick(self) -> None:
        super()._advance_one_tick()
        heights = [n.engine.chain.height for n in self._honest() if n.engine is not None]
        lowest = min(heights, default=0)
        if self._add is None and self._now >= self._add_at:
            self._add = self._propose(ACTION_ADD_VALIDATOR, self.joiner)
        elif self._add is not None and self._remove is None:
            add_effective = self._add.payload.effective_height  # type: ignore[union-attr]
            if not self._committed_anywhere(self._add):
                if lowest > self._add.expires_at:
                    self._add = None  # it expired under the faults: propose it again
            elif lowest >= add_effective:  # every honest node is past the addition
                self._remove = self._propose(ACTION_REMOVE_VALIDATOR, self.leaving)
        # Blocks come only with work: keep some coming until the last change is crossed.
        idle = all(len(n.engine.mempool) == 0 for n in self._honest() if n.engine is not None)
        if (lowest <= self._last_effective and idle and self._now % WORK_EVERY_TICKS == 0
                and len(self._submitted) < self.max_submitted):
            self._submit()
        for effective in self._effective_heights:
            if lowest == effective and self._faults_on:
                self.switched_under_faults.add(effective)

    def _converged(self) -> bool:
        """Also every approved change crossed by every honest node (work keeps coming)."""
        if not super()._converged():
            return False
        if self._add is None or not self._committed_anywhere(self._add):
            return False  # the addition is still to come
        lowest = min(n.engine.chain.height for n in self._honest() if n.engine is not None)
        return not any(self._committed_anywhere(tx) and lowest < tx.payload.effective_height
                       for tx in self.governance
                       if isinstance(tx.payload, ProposePayload))

    def _committed_anywhere(self, tx: Transaction) -> bool:
        return any(n.engine.chain.is_committed(tx.tx_id) for n in self.nodes
                   if n.engine is not None)

    def _propose(self, action: str, subject: KeyPair) -> Transaction:
        reached = max((n.engine.chain.height for n in self._honest() if n.engine is not None),
                      default=0)
        effective = reached + EFFECT_AFTER_BLOCKS
        self._last_effective = effective
        expiry = effective - MIN_PROPOSAL_LEAD_BLOCKS
        proposer = self._rng.choice(self._keys[:self._genesis_validators])
        payload = ProposePayload(MemberAction(action, subject.member_id), effective, expiry)
        tx = build_transaction(proposer, CHAIN_ID, payload, expires_at=expiry)
        self.governance.append(tx)
        self._effective_heights.append(effective)
        for node in self.nodes:
            if node.engine is not None:
                # An expired proposal, or a removal after an addition that never happened, is
                # refused: no fault.
                self._admit(node, [tx], may_refuse=True)
        return tx

    def _start(self, node: SimNode) -> None:
        super()._start(node)
        if node.engine is not None and self.governance:
            self._admit(node, self.governance, may_refuse=True)
