"""Short versions of every attack in scripts/attack, judged by the same aims.

A test fails only when an aim is missed by a wide margin (commit rate below a
quarter of the baseline, p99 beyond five times it, RSS or disk growth far past
its bound, the real issuer not served, slow connections never closed); the
table of every figure is in the failure message. The order matters: the attacks
that kill and restart validators run last.
"""

from __future__ import annotations

import pytest

from bench.attack.lab import Lab
from bench.attack.report import table
from bench.attack.run import ATTACKS, LAB_ONLY, Outcome, run_attack

PHASE_S = 5.0

pytestmark = [pytest.mark.attack, pytest.mark.slow, pytest.mark.timeout(150)]


@pytest.mark.parametrize("name", [name for name in ATTACKS if name not in LAB_ONLY])
def test_attack_keeps_honest_clients_served(lab: Lab, name: str) -> None:
    outcome: Outcome = run_attack(lab, ATTACKS[name](True), PHASE_S)
    report = table([outcome])
    assert outcome.error is None, report
    assert outcome.checks, report
    missed = [c for c in outcome.checks if c.wide_miss]
    assert not missed, "aims missed by a wide margin:\n" + report
