"""The consensus-only simulation (toy blocks, no ledger): the replica alone, cheaply.

The node simulator (test_node_simulation.py) runs the real engine and ledger; this
one keeps the pinned regression seeds of the replica and a smaller seed range.
`scripts/simulate --replica-only` runs more.
"""

import pytest

from tests.sim.regression_seeds import REGRESSION_SEEDS
from tests.sim.simulation import Simulation

SEEDS_N4 = range(0, 150)
SEEDS_N7 = range(0, 100)


def run(seed: int, validators: int, later_faults: bool = True) -> None:
    result = Simulation(seed, validators, later_faults=later_faults).run()
    assert result.heights >= 1  # the liveness phase always adds work: something committed


@pytest.mark.parametrize("seed", SEEDS_N4)
def test_four_validators(seed: int) -> None:
    run(seed, 4)


@pytest.mark.parametrize("seed", SEEDS_N7)
def test_seven_validators(seed: int) -> None:
    run(seed, 7)


@pytest.mark.parametrize(("seed", "validators", "later_faults", "caught"), REGRESSION_SEEDS,
                         ids=[f"{s}-n{n}" for s, n, _, _ in REGRESSION_SEEDS])
def test_regression_seed(seed: int, validators: int, later_faults: bool, caught: str) -> None:
    del caught  # documentation only
    run(seed, validators, later_faults)


def test_the_plan_covers_every_fault_kind() -> None:
    """The seed range must actually exercise each fault, or the CI run proves little."""
    plans = [Simulation(seed, 4).plan for seed in SEEDS_N4]
    assert any(p.byzantine == "equivocate" for p in plans)
    assert any(p.byzantine == "forge" for p in plans)
    assert any(p.twin for p in plans)
    assert any(p.crashes for p in plans) and any(p.partitions for p in plans)
    assert any(p.network.loss > 0.2 for p in plans) and any(p.network.duplicate for p in plans)
    assert any(p.network.commit_loss for p in plans)
    assert any(p.sync_delay_ticks_max > p.network.delay_ticks_max for p in plans)


def test_same_seed_same_run() -> None:
    first, second = Simulation(7, 4).run(), Simulation(7, 4).run()
    assert first == second


@pytest.mark.parametrize("validators", [1, 2, 3])
def test_small_networks_without_byzantine_faults(validators: int) -> None:
    # n < 4 tolerates no Byzantine validator; crashes and network faults still apply.
    for seed in range(20):
        sim = Simulation(seed, validators)
        if sim.plan.byzantine is None and not sim.plan.twin:
            sim.run()
