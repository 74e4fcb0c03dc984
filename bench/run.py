"""scripts/bench: measure, then write BENCHMARKS.md with the command and the machine."""

from __future__ import annotations

import argparse
import datetime
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.consortium import SATURATION_ROUNDS, run_consortium, saturation_as_state_grows
from bench.consortium_report import down, render_consortium
from bench.engine import (
    UNFLUSHED_BATCHES,
    catch_up_rate,
    restart_time,
    simulator_message_cost,
)
from bench.kept_sections import BrokenMarkers, kept_in, replace_text
from bench.ledger_costs import ledger_costs
from bench.ledger_costs import render as render_ledger_costs
from bench.ledger_growth import ledger_growth
from bench.ledger_growth import render as render_ledger_growth
from bench.machine import machine
from bench.network import BenchNetwork
from bench.p2p_round_trip import p2p_round_trip
from bench.primitives import batch_audit_paths, ed25519_rates, state_proofs
from bench.registrar_exports import record as record_registrar_exports
from bench.single_node import (
    accredit,
    batch_credential_rate,
    committed_tx_rate,
    verification_rate,
)
from bench.state_sync import paced_by_peers, state_sync_join
from bench.state_sync import render as render_state_sync
from bench.vc import vc_rates

LEDGER_COST_STATES = (0, 100_000, 1_000_000)  # credential batches in state


def single_node(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="senim-bench-") as folder:
        network = BenchNetwork(Path(folder), validators=1)
        network.lay_out()
        network.start_all()
        try:
            accredit(network)
            results = {"tx": committed_tx_rate(network, args.txs),
                       "batches": batch_credential_rate(network, args.batches, 10_000),
                       "verify": verification_rate(network, args.verify_seconds)}
        finally:
            network.stop_all()
    return results


def _hashing_workers(workers: int) -> str:
    """How `senim issue` hashed (cli/parallel_hashing.py decides by size and load)."""
    return (f"{workers} worker processes" if workers else
            "in one process: the load average left no core free for workers")


def render_header(started: datetime.datetime) -> str:
    return "\n".join([
        "# Senim benchmarks", "",
        f"- command: `scripts/bench {' '.join(sys.argv[1:])}`".rstrip(),
        f"- date: {started:%Y-%m-%d %H:%M UTC}",
        f"- machine: {machine()}",
        "- everything (node, client, load) runs on this one machine; it is shared and noisy,",
        "  so compare ratios to the Ed25519 ceiling measured in the same run."])


def write_report(out: Path, header: str, tables: str) -> None:
    """Write `out` (BENCHMARKS.md): this run's header and tables first, then what the
    file held that this run did not measure, kept as it was: the measurements written
    by hand, then the sections other commands write. BrokenMarkers, writing nothing, if
    the file's markers are broken."""
    parts = [header, tables, *kept_in(out)]
    replace_text(out, "\n\n".join(part.strip("\n") for part in parts if part) + "\n")


def render(args: argparse.Namespace, ceiling: dict[str, float], node: dict[str, Any],
           proofs: list[dict[str, float]], audit: dict[str, float]) -> str:
    best = ceiling["pynacl_per_s"]
    tx, batches, verify = node["tx"], node["batches"], node["verify"]
    small, large = proofs[0], proofs[-1]
    lines = [
        "## Ceiling: Ed25519 verification on one core", "",
        "Each library checks signatures of different messages, as a node does (every "
        "transaction signs its own). libsodium is also timed checking one signature again "
        "and again, the ceiling's measure until session 50: "
        f"{ceiling['pynacl_one_signature_per_s'] / best - 1:+.1%} in this run.",
        "", "| library | verifications/s |", "|---|---|",
        f"| libsodium (PyNaCl, used by the node): the ceiling | {best:,.0f} |",
        f"| … one signature again and again | {ceiling['pynacl_one_signature_per_s']:,.0f} |",
        f"| OpenSSL (`cryptography`) | {ceiling['cryptography_per_s']:,.0f} |", "",
        "## One validator", "",
        "| figure | value | ratio to the Ed25519 ceiling | aim |", "|---|---|---|---|",
        f"| committed single-credential issue transactions/s ({tx['transactions']:,} txs, "
        f"{tx['blocks']} blocks; the node's CPU {tx['node_cpu_us_per_tx']:,.0f} µs per tx) "
        f"| {tx['tx_per_s']:,.0f} | {down(tx['tx_per_s'] / best, 2)} "
        f"({down(tx['tx_per_s'] / ceiling['pynacl_one_signature_per_s'], 2)} against one "
        "signature checked again and again) | ≥ 0.5, on both measures |",
        f"| credentials/s in batches of 10,000 ({batches['credentials']:,} credentials: "
        f"hash, tree, sign, commit) | {batches['credentials_per_s']:,.0f} | "
        f"{batches['credentials_per_s'] / best:.1f} | ≥ 100,000/s |",
        f"| … of which hashing and audit paths alone ("
        f"{_hashing_workers(batches.get('hashing_workers', 0))}) | "
        f"{batches['hashing_only_per_s']:,.0f} | | |",
        f"| verifications/s through `POST /v1/verify` (16 concurrent clients) | "
        f"{verify['verifications_per_s']:,.0f} | {verify['verifications_per_s'] / best:.2f} | "
        "|",
        "", "## Proofs", "",
        "| credentials in state | fill rate (entries/s) | prove (warm, best of 3) | "
        "prove (first pass after reopening) | verify | proof size (avg) | absence proof |",
        "|---|---|---|---|---|---|---|",
    ]
    for p in proofs:
        lines.append(f"| {p['entries']:,} | {p['fill_per_s']:,.0f} | {p['prove_us']:.0f} µs | "
                     f"{p['prove_cold_us']:.0f} µs | "
                     f"{p['verify_us']:.0f} µs | {p['proof_bytes_avg']:.0f} B | "
                     f"{p['absence_proof_bytes']} B |")
    lines += [
        "", f"Proof time at {large['entries']:,} ÷ at {small['entries']:,}: "
        f"**{large['prove_us'] / small['prove_us']:.2f}×** (aim ≤ 2×).", "",
        f"A credential's own audit path in a batch of {audit['batch_size']:,}: "
        f"{audit['path_hashes']} hashes ({audit['path_bytes']} B), verified in "
        f"{audit['verify_us']:.0f} µs.", "",
    ]
    return "\n".join(lines)


def render_engine(ceiling: dict[str, float]) -> list[str]:
    catch_up = catch_up_rate(2_000, 5)
    print(catch_up, flush=True)
    other_votes = catch_up_rate(2_000, 5, other_votes=True)
    print(other_votes, flush=True)
    restart = restart_time(1_000_000)
    print(restart, flush=True)
    joined = state_sync_join(1_000_000)
    print(joined, flush=True)
    cost = simulator_message_cost((4, 7, 10, 16, 31))
    print(cost, flush=True)
    stages = [ledger_costs(n) for n in LEDGER_COST_STATES]
    print(stages, flush=True)
    growth = ledger_growth()
    print(growth, flush=True)
    lines = [
        "## Engine (in-process)", "",
        "| figure | value | aim |", "|---|---|---|",
        f"| catch-up by block sync: {catch_up['blocks']:,} blocks of "
        f"{catch_up['txs_per_block']} issue transactions, each re-executed and each "
        f"transaction signature checked; an answer's blocks committed to LevelDB in runs, "
        f"each in one batch once its last block's certificate (3 of 4 signatures) and "
        f"state root are checked, which vouch for the blocks, roots and last commits "
        f"before it (node/engine_runs.py) "
        f"| {catch_up['blocks_per_s']:,.0f} blocks/s with the serving peer's reads in the "
        f"same process; {catch_up['follower_blocks_per_s']:,.0f} blocks/s of the follower's "
        f"own time | ≥ 2,000 blocks/s |",
        f"| the same, each certificate served signed by other validators than the next "
        f"block's last commit (each block but a run's last is stored with the next one's "
        f"last commit) "
        f"| {other_votes['blocks_per_s']:,.0f} blocks/s; "
        f"{other_votes['follower_blocks_per_s']:,.0f} blocks/s of the follower's own time "
        f"| ≥ 2,000 blocks/s |",
        f"| restart with {restart['state_entries']:,} credential batches in state (open "
        f"LevelDB, check head and state root; nothing replayed) | "
        f"{restart['open_seconds'] * 1000:,.0f} ms | < 2 s |",
        f"| the same after {UNFLUSHED_BATCHES:,} more batches still in LevelDB's log, as "
        f"after a kill ({restart['log_bytes_unflushed'] / 2**20:,.0f} MiB replayed at open) | "
        f"{restart['open_seconds_unflushed'] * 1000:,.0f} ms | < 2 s |",
        *render_state_sync(joined), "",
        *render_ledger_costs(stages), "",
        *render_ledger_growth(growth), "",
        "Consensus frames sent per committed block by the node simulator (the real "
        "engine, no faults, one block per height):", "",
        "| validators | frames per block | frames per block ÷ n² |", "|---|---|---|",
    ]
    for n, frames in cost:
        lines.append(f"| {n} | {frames:,.1f} | {frames / n**2:.2f} |")
    vc = vc_rates(200)
    print(vc, flush=True)
    lines += [
        "", "## W3C Verifiable Credentials 2.0 (in-process, 200 diplomas)", "",
        "| figure | native Senim | VC 2.0 (`eddsa-rdfc-2022`) | native ÷ VC |",
        "|---|---|---|---|",
        f"| documents issued/s | {vc['native_issue_per_s']:,.0f} | {vc['vc_issue_per_s']:,.0f} "
        f"| {vc['issue_ratio_native_to_vc']:.0f}× |",
        f"| documents verified/s | {vc['native_verify_per_s']:,.0f} | "
        f"{vc['vc_verify_per_s']:,.0f} | {vc['verify_ratio_native_to_vc']:.0f}× |", ""]
    del ceiling
    return lines


def _consortium_only(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="senim-bench-") as folder:
        return run_consortium(Path(folder), args.validators, args.consortium_txs,
                              args.view_timeout_ms, args.pinned, args.saturation_rounds)


def _consortium_growth(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="senim-bench-") as folder:
        rounds = saturation_as_state_grows(Path(folder), args.validators,
                                           args.consortium_txs, args.growth_rounds)
    return {"ceiling": ed25519_rates(), "rounds": rounds}


# One section at a time (`--only`), for before/after comparisons on a shared machine.
SECTIONS: dict[str, Callable[[argparse.Namespace], object]] = {
    "ceiling": lambda args: ed25519_rates(),
    "single": single_node,
    "catch-up": lambda args: [catch_up_rate(2_000, 5),
                              catch_up_rate(2_000, 5, other_votes=True)],
    "restart": lambda args: restart_time(1_000_000),
    "join": lambda args: paced_by_peers(args.join_entries),
    "consortium": _consortium_only,
    "consortium-growth": _consortium_growth,
    "ledger-costs": lambda args: [ledger_costs(n) for n in LEDGER_COST_STATES],
    "ledger-growth": lambda args: ledger_growth(args.growth_rounds),
    "p2p-round-trip": lambda args: {**p2p_round_trip(), "ceiling": ed25519_rates()},
}


def main() -> None:
    parser = argparse.ArgumentParser(description="Senim benchmarks")
    parser.add_argument("--txs", type=int, default=30_000)
    parser.add_argument("--batches", type=int, default=5)
    parser.add_argument("--verify-seconds", type=float, default=10.0)
    parser.add_argument("--proof-sizes", default="10000,1000000")
    parser.add_argument("--out", default="BENCHMARKS.md")
    parser.add_argument("--validators", type=int, default=4)
    parser.add_argument("--consortium-txs", type=int, default=20_000)
    parser.add_argument("--view-timeout-ms", type=int, default=1000)
    parser.add_argument("--saturation-rounds", type=int, default=SATURATION_ROUNDS,
                        help="Saturation again on this many new networks, each against a "
                             "ceiling measured just before it (0: none).")
    parser.add_argument("--growth-rounds", type=int, default=6,
                        help="Saturation rounds on one network (--only consortium-growth), "
                             "rounds on one store (--only ledger-growth).")
    parser.add_argument("--pinned", action="store_true",
                        help="each validator pinned to one CPU, the CPUs taken in turn, "
                             "shared when there are fewer than validators ([node] cpus)")
    parser.add_argument("--join-entries", type=int, default=1_000_000,
                        help="Credential batches in the state joined (--only join).")
    parser.add_argument("--only", choices=sorted([*SECTIONS, "registrar"]),
                        help="measure one section and print it, leaving BENCHMARKS.md alone "
                             "(registrar: replace only its own section in --out)")
    parser.add_argument("--rows", type=int, default=100_000,
                        help="Rows per registrar export (--only registrar).")
    args = parser.parse_args()
    if args.only in (None, "registrar"):  # the runs that write --out
        try:  # before minutes of measuring, not after
            kept_in(Path(args.out))
        except BrokenMarkers as exc:
            sys.exit(f"scripts/bench: {args.out}: {exc}; nothing measured or written")
    if args.only == "registrar":
        record_registrar_exports(args.rows, Path(args.out),
                                 f"scripts/bench {' '.join(sys.argv[1:])}")
        return
    if args.only:
        print(SECTIONS[args.only](args), flush=True)
        return
    started = datetime.datetime.now(datetime.UTC)
    print("measuring the Ed25519 ceiling…", flush=True)
    ceiling = ed25519_rates()
    print(ceiling, flush=True)
    print("single validator…", flush=True)
    node = single_node(args)
    print(node, flush=True)
    proofs = []
    for size in (int(s) for s in args.proof_sizes.split(",")):
        print(f"state proofs with {size:,} entries…", flush=True)
        proofs.append(state_proofs(size))
        print(proofs[-1], flush=True)
    audit = batch_audit_paths()
    report = render(args, ceiling, node, proofs, audit)
    print("engine: catch-up, restart, simulator message cost…", flush=True)
    report += "\n" + "\n".join(render_engine(ceiling))
    if args.validators > 1:
        print(f"{args.validators} validators…", flush=True)
        with tempfile.TemporaryDirectory(prefix="senim-bench-") as folder:
            consortium = run_consortium(Path(folder), args.validators, args.consortium_txs,
                                        args.view_timeout_ms, args.pinned,
                                        args.saturation_rounds)
        print(consortium, flush=True)
        report += "\n" + "\n".join(render_consortium(args, ceiling, consortium))
    header = render_header(started)
    try:
        write_report(Path(args.out), header, report)
    except BrokenMarkers as exc:
        print(f"{header}\n\n{report}", flush=True)
        sys.exit(f"scripts/bench: {args.out}: {exc}; the report above is not written")
    print(f"{header}\n\n{report}")


if __name__ == "__main__":
    main()
