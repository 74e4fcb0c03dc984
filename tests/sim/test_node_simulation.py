"""The node simulator in CI: the REAL engine and ledger under seeded faults, n = 4 and 7.

Seeds select the fault mix: loss, duplication, delay, partitions, crashes at any
store write or frame send, an equivocating, forging or lying-in-sync Byzantine
validator, or a twin. `scripts/simulate --seeds N` runs more.
"""

import logging
from collections.abc import Iterator

import pytest

from tests.sim.node_sim import NodeSimulation

SEEDS_N4 = range(0, 700)
SEEDS_N7 = range(0, 300)


@pytest.fixture(autouse=True)
def _quiet() -> Iterator[None]:
    # Byzantine seeds make honest nodes log every refusal; thousands of lines per seed.
    logging.disable(logging.CRITICAL)
    yield
    logging.disable(logging.NOTSET)


@pytest.mark.parametrize("seed", SEEDS_N4)
def test_four_validators(seed: int) -> None:
    assert NodeSimulation(seed, 4).run().heights >= 1


@pytest.mark.parametrize("seed", SEEDS_N7)
def test_seven_validators(seed: int) -> None:
    assert NodeSimulation(seed, 7).run().heights >= 1


def test_the_plan_covers_every_fault_kind() -> None:
    plans = [NodeSimulation(seed, 4).plan for seed in SEEDS_N4]
    for mode in ("equivocate", "forge", "bad_sync"):
        assert any(p.byzantine == mode for p in plans), mode
    assert any(p.twin for p in plans)
    assert any(p.crashes for p in plans) and any(p.partitions for p in plans)
    assert any(p.network.loss > 0.2 for p in plans) and any(p.network.duplicate for p in plans)
    assert any(p.network.commit_loss for p in plans)


def test_same_seed_same_run() -> None:
    first, second = NodeSimulation(5, 4).run(), NodeSimulation(5, 4).run()
    assert first == second
