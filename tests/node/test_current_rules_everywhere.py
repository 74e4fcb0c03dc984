"""The in-process consortia of the tests, the simulator and the bench state the newest
ledger rules this release runs, as `senim consortium create` writes by default: a genesis
that states none is version 1, where every gated fix of `ledger.rules_version` is off,
and what ran there said nothing about the rules users run."""

from __future__ import annotations

from bench.engine import _consortium
from ledger.rules_version import MAX_KNOWN_RULES_VERSION, rules_version_at
from storage.kv import MemoryStore
from tests.node.conftest import make_consortium
from tests.node.test_governance import make_council
from tests.sim.node_sim import NodeSimulation
from tests.sim.set_change_sim import SetChangeSimulation


def test_every_in_process_consortium_runs_the_newest_rules() -> None:
    made = {
        "tests/node make_consortium": make_consortium().genesis,
        "tests/node make_council": make_council().genesis,
        "the node simulator": NodeSimulation(0).genesis,
        "the set-change simulator": SetChangeSimulation(0).genesis,
        "bench.engine": _consortium()[3],
    }
    for where, genesis in made.items():
        state = MemoryStore()
        state.write(dict(genesis.initial_state()))
        assert rules_version_at(state, 1) == MAX_KNOWN_RULES_VERSION, where
