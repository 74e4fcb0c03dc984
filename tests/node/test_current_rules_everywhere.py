"""The in-process consortia of the tests, the simulator and the bench state the newest
ledger rules this release runs, as `senim consortium create` writes by default (so do
the genesis files the node-process and bad-input tests write): a genesis that states none
is version 1, where every gated fix of `ledger.rules_version` is off,
and what ran there said nothing about the rules users run."""

from __future__ import annotations

import json
from pathlib import Path

from bench.engine import _consortium
from ledger.genesis import Genesis, genesis_from_json
from ledger.rules_version import MAX_KNOWN_RULES_VERSION, rules_version_at
from storage.kv import MemoryStore
from tests.cli.test_bad_input import world
from tests.node.conftest import make_consortium
from tests.node.node_folders import write_lone_validator
from tests.node.test_governance import make_council
from tests.sim.node_sim import NodeSimulation
from tests.sim.set_change_sim import SetChangeSimulation


def _genesis_file(folder: Path) -> Genesis:
    return genesis_from_json(json.loads((folder / "genesis.json").read_text()))


def test_every_in_process_consortium_runs_the_newest_rules(tmp_path: Path) -> None:
    (tmp_path / "lone").mkdir()
    write_lone_validator(tmp_path / "lone")
    (tmp_path / "bad_input").mkdir()
    world(tmp_path / "bad_input")
    made = {
        "tests/node make_consortium": make_consortium().genesis,
        "tests/node make_council": make_council().genesis,
        "the node simulator": NodeSimulation(0).genesis,
        "the set-change simulator": SetChangeSimulation(0).genesis,
        "bench.engine": _consortium()[3],
        "the node-process tests' genesis.json": _genesis_file(tmp_path / "lone"),
        "the bad-input CLI tests' genesis.json": _genesis_file(tmp_path / "bad_input"),
    }
    for where, genesis in made.items():
        state = MemoryStore()
        state.write(dict(genesis.initial_state()))
        assert rules_version_at(state, 1) == MAX_KNOWN_RULES_VERSION, where
