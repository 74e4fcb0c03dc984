"""The 4-validator section of scripts/bench's report, rendered from a made-up run: the
saturation ratio is given against both ceilings and never rounded up to an aim."""

from __future__ import annotations

import argparse
import os
from typing import Any

from bench.consortium_report import down, render_consortium, up

LATENCY = {"offered_tx_s": 500, "tick_ms": 100.0, "samples": 100, "p50_ms": 29.4,
           "p99_ms": 38.2}


def made_up_run(tx_per_s: float, rounds: list[dict[str, float]] | None = None
                ) -> dict[str, Any]:
    return {
        "saturation_rounds": rounds or [],
        "saturation": {"transactions": 20_000, "blocks": 7, "tx_per_s": tx_per_s,
                       "cpu_us_per_tx_per_node": 110.4},
        "latency": {**LATENCY, "group_txs": 50, "groups": 100, "posted": 5_000,
                    "blocks": 100, "nodes_cpu_ms": 5_000.0},
        "latency_first": {**LATENCY, "group_txs": 50},
        "latency_groups_of_10": {**LATENCY, "group_txs": 10, "tick_ms": 20.0},
        "latency_arrivals": {**LATENCY, "posted": 5_000, "blocks": 400,
                             "nodes_cpu_ms": 18_000.0},
        "latency_lone": {**LATENCY, "tick_ms": 100.0, "cpu_ms_per_block_per_node": 4.6},
        "failover": {"killed": "Ministry 0", "kill_to_commit_ms": 1030.0,
                     "ratio_to_timeout": 1.03, "view_timeout_ms": 1000},
        "pinned": False, "pinned_cpus": 0,
    }


def rendered(tx_per_s_of_ceiling: float, one_signature_faster: float = 1.04,
             rounds: list[dict[str, float]] | None = None) -> str:
    ceiling = {"pynacl_per_s": 18_000.0,
               "pynacl_one_signature_per_s": 18_000.0 * one_signature_faster}
    limit = ceiling["pynacl_per_s"] * (os.cpu_count() or 1) / 4
    return "\n".join(render_consortium(argparse.Namespace(validators=4), ceiling,
                                       made_up_run(tx_per_s_of_ceiling * limit, rounds)))


def made_up_round(of_ceiling: float, ceiling: float) -> dict[str, float]:
    """A round that committed `of_ceiling` of the ceiling `ceiling` checks/s a core
    gives 4 validators, against one signature checked again and again 5% faster."""
    return {"tx_per_s": of_ceiling * ceiling * (os.cpu_count() or 1) / 4,
            "ceiling_per_s": ceiling, "ceiling_one_signature_per_s": ceiling * 1.05,
            "transactions": 20_000, "blocks": 7}


def test_a_ratio_just_under_the_aim_never_reads_as_it() -> None:
    text = rendered(0.4999)
    assert "**0.499** (0.480 against one signature checked again and again)" in text
    assert "0.500" not in text


def test_the_saturation_row_gives_both_ceilings() -> None:
    text = rendered(0.5, one_signature_faster=1.0)
    assert "**0.500** (0.500 against one signature" in text
    assert "≥ 0.5 of the ceiling, on both measures" in text


def test_checks_worth_is_raised_never_lowered_to_its_bound() -> None:
    # 110.4 µs at 18,000 checks/s is 1.9872 checks; at 18,720, 2.0667.
    assert "1.99 checks (2.07 of one signature checked again and again)" in rendered(0.48)


def test_group_cpu_and_arrivals_are_read_from_the_run() -> None:
    cores = os.cpu_count() or 1
    text = rendered(0.48)
    assert "100 blocks for 100 groups" in text
    assert f"50.0 ms; {50.0 / cores:.1f} ms" in text
    # 18 s of CPU over 5,000 posted: 3.6 ms a transaction; at 500 tx/s, 1.8 cores' worth.
    assert "400 blocks of 12.5 transactions" in text
    assert f"3.60 ms a transaction, all 4 together, so {1.8 / cores:.0%} of the machine" in text


def test_cutting_and_raising() -> None:
    assert down(0.49999) == "0.499" and down(0.5) == "0.500" and down(0.4561) == "0.456"
    assert up(2.0001) == "2.01" and up(2.0) == "2.00" and up(1.981) == "1.99"


def test_each_round_is_against_its_own_ceiling_and_the_median_is_cut() -> None:
    rounds = [made_up_round(0.4999, 17_000.0), made_up_round(0.5205, 18_500.0),
              made_up_round(0.4705, 18_000.0)]
    text = rendered(0.48, rounds=rounds)
    assert "the same on 3 new networks in turn" in text
    assert "ratios 0.499, 0.520, 0.470)" in text
    # 0.4999 / 1.05 = 0.4761, the middle of 0.4957, 0.4761 and 0.4481
    assert "median **0.499** (0.476 against one signature" in text


def test_no_rounds_no_row() -> None:
    assert "new networks in turn" not in rendered(0.48)
