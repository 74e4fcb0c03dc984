"""What a node-simulator seed runs (its fault plan, drawn first from the seed) and what
it reports."""

import random
from dataclasses import dataclass

from tests.sim.network import NetworkFaults
from tests.sim.node_byzantine import MODES


@dataclass(frozen=True)
class FaultPlan:
    network: NetworkFaults
    partitions: bool
    crashes: bool
    byzantine: str | None
    twin: bool

    @staticmethod
    def draw(rng: random.Random, validators: int) -> "FaultPlan":
        network = NetworkFaults(loss=rng.choice([0.0, 0.02, 0.1, 0.25]),
                                duplicate=rng.choice([0.0, 0.05, 0.2]),
                                delay_ticks_max=rng.choice([2, 6, 15]),
                                commit_loss=rng.choice([0.0, 0.0, 0.5]))
        byzantine = rng.choice([None, None, *MODES]) if validators >= 4 else None
        twin = validators >= 4 and rng.random() < 0.25 and (byzantine is None or validators >= 7)
        return FaultPlan(network, rng.random() < 0.4, rng.random() < 0.5, byzantine, twin)

    @staticmethod
    def of_seed(seed: int, validators: int) -> "FaultPlan":
        """The plan NodeSimulation(seed, validators) runs, without building its nodes."""
        return FaultPlan.draw(random.Random(seed), validators)


@dataclass(frozen=True)
class Result:
    seed: int
    validators: int
    plan: FaultPlan
    ticks: int
    heights: int
    txs: int
    consensus_frames: int
    set_changes: int = 0  # validator-set changes every honest node has crossed
    answers_ahead: tuple[int, int] = (0, 0)  # taken when an engine looked; used prepared
