"""The 4-validator section of scripts/bench's report (`bench.consortium.run_consortium`'s
figures against the run's Ed25519 ceiling), and the cut and raised formats its ratios
share with the rest of the report."""

from __future__ import annotations

import argparse
import math
import os
import statistics
from typing import Any


def pinned_note(validators: int, cpus: int) -> str:
    """How `--pinned` placed the validators: one CPU each, the `cpus` CPUs the bench may
    use taken in turn, so more validators than CPUs share them (4 on 2: two to a CPU)."""
    if validators <= cpus:
        return " Each validator ran on a CPU of its own (`--pinned`: `[node] cpus`)."
    return (f" Each validator was pinned to one CPU (`--pinned`: `[node] cpus`), the {cpus} "
            f"CPUs taken in turn: up to {-(-validators // cpus)} validators to a CPU.")


def down(ratio: float, places: int = 3) -> str:
    """`ratio` cut, not rounded, to `places`: a figure just under an aim never reads as it."""
    return f"{math.floor(ratio * 10**places) / 10**places:.{places}f}"


def up(value: float, places: int = 2) -> str:
    """`value` raised, not rounded, to `places`: for a figure whose aim is an upper bound."""
    return f"{math.ceil(value * 10**places) / 10**places:.{places}f}"


def render_consortium(args: argparse.Namespace, ceiling: dict[str, float],
                      result: dict[str, Any]) -> list[str]:
    cores = os.cpu_count() or 1
    limit = ceiling["pynacl_per_s"] * cores / args.validators
    limit_one = ceiling["pynacl_one_signature_per_s"] * cores / args.validators
    sat, lat, fail = result["saturation"], result["latency"], result["failover"]
    lone, arrivals = result["latency_lone"], result["latency_arrivals"]
    first = result["latency_first"]
    group_cpu_ms = lat["nodes_cpu_ms"] / lat["groups"]
    arrivals_per_block = arrivals["posted"] / max(1, arrivals["blocks"])
    arrivals_tx_cpu_ms = arrivals["nodes_cpu_ms"] / arrivals["posted"]
    # At the rate offered, the share of the machine's cores that CPU a transaction takes.
    arrivals_share = arrivals["offered_tx_s"] * arrivals_tx_cpu_ms / 1e3 / cores
    checks_per_tx = [sat["cpu_us_per_tx_per_node"] * rate / 1e6 for rate in (
        ceiling["pynacl_per_s"], ceiling["pynacl_one_signature_per_s"])]
    return [
        f"## {args.validators} validators (PBFT) on this machine", "",
        f"Ceiling = Ed25519 verifications/s per core (of different signatures) × {cores} "
        f"cores ÷ {args.validators} validators = **{limit:,.0f} tx/s**: what this machine "
        "could commit if every node verified every transaction once and did nothing else "
        f"({limit_one:,.0f} tx/s with one signature checked again and again)."
        + (pinned_note(args.validators, result["pinned_cpus"])
           if result.get("pinned") else ""), "",
        "| figure | value | fraction of the ceiling | aim |", "|---|---|---|---|",
        f"| committed transactions/s at saturation ({sat['transactions']:,} single-credential "
        f"issue txs, {sat['blocks']} blocks) | {sat['tx_per_s']:,.0f} | "
        f"**{down(sat['tx_per_s'] / limit)}** ({down(sat['tx_per_s'] / limit_one)} against "
        "one signature checked again and again) | ≥ 0.5 of the ceiling, on both measures |",
        *saturation_rounds_row(args.validators, cores, result["saturation_rounds"]),
        f"| commit latency p50 at {lat['offered_tx_s']} tx/s offered as "
        f"{lat['group_txs']} every {lat['tick_ms']:.0f} ms ({lat['samples']} samples) | "
        f"{lat['p50_ms']:.0f} ms | | ≤ 20 ms |",
        f"| commit latency p99 at {lat['offered_tx_s']} tx/s as {lat['group_txs']} every "
        f"{lat['tick_ms']:.0f} ms | {lat['p99_ms']:.0f} ms | | ≤ 100 ms |",
        f"| … the CPU all {args.validators} nodes spent a group of {lat['group_txs']} in that "
        f"run ({lat['blocks']} blocks for {lat['groups']} groups; idle subtracted), and that "
        f"over the machine's {cores} cores: about what a group's commit waits for when the "
        "nodes share them (an estimate: it counts work the commit does not wait for, such "
        f"as a fourth node's, too) | {group_cpu_ms:.1f} ms; {group_cpu_ms / cores:.1f} ms "
        "| | |",
        f"| commit latency p50 / p99 at {first['offered_tx_s']} tx/s as {first['group_txs']} "
        f"every {first['tick_ms']:.0f} ms, a new consortium's first load (its own network: "
        f"started, one transaction committed, 4 s idle; {first['samples']} samples) | "
        f"{first['p50_ms']:.0f} / {first['p99_ms']:.0f} ms | | |",
        *[f"| commit latency p50 / p99 at {shape['offered_tx_s']} tx/s as "
          f"{shape['group_txs']} every {shape['tick_ms']:.0f} ms ({shape['samples']} samples) | "
          f"{shape['p50_ms']:.0f} / "
          f"{shape['p99_ms']:.0f} ms | | |"
          for key, shape in result.items() if key.startswith("latency_groups_of_")],
        f"| commit latency p50 / p99 at {arrivals['offered_tx_s']} tx/s as independent "
        f"transactions, each posted alone at Poisson arrival times ({arrivals['samples']} "
        f"samples; {arrivals['blocks']} blocks of {arrivals_per_block:.1f} transactions on "
        f"average; the nodes' CPU {arrivals_tx_cpu_ms:.2f} ms a transaction, all "
        f"{args.validators} together, so {arrivals_share:.0%} of the machine at the rate "
        f"offered) | {arrivals['p50_ms']:.0f} / {arrivals['p99_ms']:.0f} ms | | |",
        f"| commit latency p50 / p99 of a lone transaction (one every {lone['tick_ms']:.0f} ms:"
        f" the protocol's floor) | {lone['p50_ms']:.0f} / {lone['p99_ms']:.0f} ms | | |",
        f"| nodes' CPU a transaction a node at saturation (signature children included, "
        f"idle subtracted), and as Ed25519 checks' worth of it | "
        f"{sat['cpu_us_per_tx_per_node']:.0f} µs | "
        f"{up(checks_per_tx[0])} checks ({up(checks_per_tx[1])} of one signature checked "
        "again and again) | ≤ 2.00 checks: what 0.5 of the ceiling needs, with the machine "
        "given to the nodes alone |",
        f"| nodes' CPU a block a node (lone transactions: a block each; idle subtracted) | "
        f"{lone['cpu_ms_per_block_per_node']:.2f} ms | | |",
        f"| kill -9 of the primary ({fail['killed']}) → next commit | "
        f"{fail['kill_to_commit_ms']:.0f} ms | {fail['ratio_to_timeout']:.2f}× the "
        f"{fail['view_timeout_ms']} ms view timeout | |", "",
    ]


def saturation_rounds_row(validators: int, cores: int, rounds: list[dict[str, float]]
                          ) -> list[str]:
    """The row of `run_consortium`'s saturation rounds on new networks, each against its
    own ceiling, and their medians; none if there were none."""
    if not rounds:
        return []
    ratios = [r["tx_per_s"] / (r["ceiling_per_s"] * cores / validators) for r in rounds]
    ratios_one = [r["tx_per_s"] / (r["ceiling_one_signature_per_s"] * cores / validators)
                  for r in rounds]
    rates = ", ".join(f"{r['tx_per_s']:,.0f}" for r in rounds)
    return [f"| … the same on {len(rounds)} new networks in turn, each against the ceiling "
            f"measured just before it ({rates} tx/s; ratios {', '.join(map(down, ratios))}) "
            f"| median {statistics.median(r['tx_per_s'] for r in rounds):,.0f} | median "
            f"**{down(statistics.median(ratios))}** ({down(statistics.median(ratios_one))} "
            "against one signature checked again and again) | ≥ 0.5 of the ceiling, on both "
            "measures |"]
