"""What both simulators share: a run's two phases, the faults drawn each tick, crashes,
the Byzantine validator or twin, and the invariants on what honest validators sign.

`tests.sim.simulation` drives bare replicas with toy blocks, `tests.sim.node_sim` the
real engine and ledger; both draw every choice from one `random.Random(seed)` in a fixed
order, so a seed replays exactly.
"""

import random
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Generic, NoReturn, Protocol, TypeVar

from consensus import Commit, NewView, Prepare, PrePrepare, SignedMessage, ValidatorId, ViewChange
from tests.sim.network import Network, NetworkFaults

MAX_SUBMITTED_TXS = 24
# Chances per tick, in the faulty phase.
SUBMIT_CHANCE = 0.06
PARTITION_CHANGE_CHANCE = 0.01
CRASH_CHANCE = 0.006
DOWN_TICKS = (10, 300)  # how long a crashed node stays down


class SafetyViolation(AssertionError):
    """An invariant broke; the message says which and when."""


class LivenessFailure(AssertionError):
    """Honest nodes did not all commit every transaction within the bound."""


class FaultPlan(Protocol):
    @property
    def network(self) -> NetworkFaults: ...
    @property
    def partitions(self) -> bool: ...
    @property
    def crashes(self) -> bool: ...
    @property
    def byzantine(self) -> str | None: ...
    @property
    def twin(self) -> bool: ...


class SimulatedNode(Protocol):
    index: int
    honest: bool
    incarnation: int
    down_until: int

    @property
    def up(self) -> bool: ...

    def stop(self) -> None: ...


NodeT = TypeVar("NodeT", bound=SimulatedNode)


class SeededSimulation(ABC, Generic[NodeT]):
    max_submitted = MAX_SUBMITTED_TXS
    nodes: list[NodeT]

    def __init__(self, seed: int, rng: random.Random, plan: FaultPlan, safety_ticks: int,
                 liveness_ticks: int, faults: bool) -> None:
        """Draws nothing from `rng`: the subclass decides what is drawn when."""
        self.seed = seed
        self._rng = rng
        self._safety_ticks = safety_ticks
        self._liveness_ticks = liveness_ticks
        self._network = Network(rng, plan.network)
        self._fault_plan = plan
        self._faults_on = faults
        self._now = 0
        self._votes: dict[tuple[ValidatorId, str, int, int], bytes] = {}
        self._max_view: dict[int, int] = {}

    # -- the subclass's world ----------------------------------------------------------------
    @abstractmethod
    def _advance_one_tick(self) -> None: ...

    @abstractmethod
    def _start(self, node: NodeT) -> None: ...

    @abstractmethod
    def _submit(self) -> None: ...

    @abstractmethod
    def _converged(self) -> bool: ...

    @abstractmethod
    def _describe(self, what: str) -> str: ...

    @property
    @abstractmethod
    def _submitted_count(self) -> int: ...

    # -- running ---------------------------------------------------------------------------
    def _run_phases(self) -> None:
        """Faults for the safety ticks, then healed until every honest node converges."""
        while self._now < self._safety_ticks:
            self._advance_one_tick()
            self._inject_faults()
        self._stop_faults()
        deadline = self._now + self._liveness_ticks
        while not self._converged():
            if self._now >= deadline:
                raise LivenessFailure(self._describe("liveness: not converged"))
            self._advance_one_tick()

    def _corrupt(self, nodes: list[NodeT], make_byzantine: Callable[[NodeT], None],
                 twin_of: Callable[[NodeT], NodeT]) -> None:
        """The plan's Byzantine validator, and its twin (a second node with a validator's
        key); both count as faulty, and so does the validator twinned."""
        if self._fault_plan.byzantine is not None:
            bad = nodes[self._rng.randrange(len(nodes))]
            bad.honest = False
            make_byzantine(bad)
        if self._fault_plan.twin:
            original = self._rng.choice([n for n in nodes if n.honest])
            original.honest = False
            nodes.append(twin_of(original))

    # -- faults ----------------------------------------------------------------------------
    def _inject_faults(self) -> None:
        rng, plan = self._rng, self._fault_plan
        if self._submitted_count < self.max_submitted and rng.random() < SUBMIT_CHANCE:
            self._submit()
        if plan.partitions and rng.random() < PARTITION_CHANGE_CHANCE:
            if rng.random() < 0.5:
                self._network.heal()
            else:
                self._network.partition({n.index: rng.randrange(2) for n in self.nodes})
        if plan.crashes and rng.random() < CRASH_CHANCE:
            up = [n for n in self.nodes if n.honest and n.up]
            down = len(self.nodes) - len(up)
            if up and down < len(self.nodes) // 2:
                self._crash(rng.choice(up))

    def _crash(self, node: NodeT) -> None:
        node.stop()
        node.incarnation += 1
        node.down_until = self._now + self._rng.randint(*DOWN_TICKS)

    def _stop_faults(self) -> None:
        self._faults_on = False
        self._network.faults = NetworkFaults()
        self._network.heal()
        for node in self.nodes:
            if not node.up:
                self._start(node)
        self._submit()  # fresh work, so every node has something to agree on

    # -- invariants ------------------------------------------------------------------------
    def _check_signed(self, node: NodeT, signed: SignedMessage) -> None:
        """An honest validator never signs two blocks for one (height, view) and kind;
        remembers the highest view `node` has spoken in."""
        message, view = signed.message, 0
        if isinstance(message, PrePrepare | Prepare | Commit):
            kind = "commit" if isinstance(message, Commit) else "vote"
            key = (signed.sender, kind, message.height, message.view)
            if self._votes.setdefault(key, message.digest) != message.digest:
                self._violation(f"honest validator signed two blocks at {key[2:]} ({kind})")
            view = message.view
        elif isinstance(message, ViewChange):
            view = message.new_view
        elif isinstance(message, NewView):
            view = message.view
        self._max_view[node.index] = max(self._max_view.get(node.index, 0), view)

    def _check_view(self, node: NodeT, view: int) -> None:
        """A replica's view never drops below a view it has already spoken in.

        (A crash before the Persist of a new view may lose that view: harmless, since
        nothing was sent in it, and the persist-before-send contract guarantees it.)"""
        spoken = self._max_view.get(node.index, 0)
        if node.honest and view < spoken:
            self._violation(f"view went back from {spoken} to {view}")

    def _violation(self, what: str) -> NoReturn:
        raise SafetyViolation(self._describe(what))
