"""Four validators on this machine: saturation, latency at a fixed load, primary failover."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.commit_latency import commit_latency, commit_latency_arrivals
from bench.network import BenchMember, BenchNetwork
from bench.primitives import ed25519_rates
from bench.single_node import (
    accredit,
    post_msgpack,
    process_cpu_split_s,
    single_credential_txs,
)
from cli.client import NodeClient
from ledger.payloads import IssueBatchPayload
from ledger.transactions import build_transaction

LATENCY_RATE_TX_S = 500
LATENCY_GROUP_TXS = 50  # the figure kept since the first bench: a group of 50 every 100 ms
# The same rate in smaller groups more often: how the figure depends on the load's shape.
LATENCY_SPREAD_GROUPS = (10, 5)
LONE_RATE_TX_S = 10  # one transaction every 100 ms: the protocol's floor
# The nodes' CPU with nothing to do, subtracted from each phase's: the least of
# IDLE_READINGS readings of IDLE_S each. One reading of 3 s, taken just after the network
# was accredited, once read 0.40 CPU-s a second (session 60; usually about 0.1), and with
# it subtracted a lone block cost "0.00 ms". The least reading is the closest to the idle
# floor, and a floor set too low can only count a phase's cost high, never hide it.
IDLE_S = 2.0
IDLE_READINGS = 3
# A new consortium's first load waits this long after its first commit, as it has since
# session 44, so that its figure compares with earlier runs'.
FIRST_LOAD_IDLE_S = 3.0
# Saturation again on this many new networks, each against a ceiling measured just before
# it: one run's ratio moves with the machine by about as much as its distance to the aim.
SATURATION_ROUNDS = 3


def saturation(network: BenchNetwork, count: int) -> dict[str, float]:
    nodes = [m for m in network.members if m.runs_node]
    status = network.status(nodes[0])
    txs = single_credential_txs(network.university.keys, status["chain_id"], count,
                                status["height"] + 100_000)
    start_height = status["height"]
    chunk = 500
    shares = [txs[i::len(nodes)] for i in range(len(nodes))]

    def submit(node: BenchMember, share: list[Any]) -> None:
        # One client per node, as registrars of several universities would be.
        for offset in range(0, len(share), chunk):
            result = post_msgpack(node.api, share[offset:offset + chunk])
            assert result["rejected"] == 0, result["results"][:3]

    started = time.perf_counter()
    clients = [threading.Thread(target=submit, args=(node, share))
               for node, share in zip(nodes, shares, strict=True)]
    for client in clients:
        client.start()
    for client in clients:
        client.join(timeout=300)
    for share in shares:
        last = NodeClient(nodes[0].api).wait(share[-1].tx_id.hex(), 300)
        assert last["status"] == "committed", last
    elapsed = time.perf_counter() - started
    # a sample of every client's share (a stride through `txs` could fall in one share)
    for share in shares:
        for tx in share[:: max(1, len(share) // 12)]:
            assert NodeClient(nodes[-1].api).wait(tx.tx_id.hex(), 60)["status"] == "committed"
    blocks = network.status(nodes[0])["height"] - start_height
    return {"transactions": count, "seconds": elapsed, "tx_per_s": count / elapsed,
            "blocks": blocks}


def nodes_cpu_s(network: BenchNetwork) -> float:
    """CPU seconds the running nodes (with their signature children) have used."""
    return sum(nodes_cpu_split_s(network))


def nodes_cpu_split_s(network: BenchNetwork) -> tuple[float, float]:
    """`nodes_cpu_s` in two: (the node processes' own CPU seconds, their children's)."""
    parts = [process_cpu_split_s(m.process.pid) for m in network.members
             if m.runs_node and m.process and m.process.poll() is None]
    return sum(own for own, _ in parts), sum(children for _, children in parts)


class CpuSpent:
    """The nodes' CPU over a phase, less what they spend idle over as long: what a
    transaction or a block costs them, read from /proc rather than the wall clock,
    which moves far more with the machine's other load."""

    def __init__(self, network: BenchNetwork, idle_cpu_per_s: float) -> None:
        self.network = network
        self.idle_cpu_per_s = idle_cpu_per_s
        self.started = time.monotonic()
        self.cpu_before = nodes_cpu_split_s(network)

    def parts(self) -> tuple[float, float]:
        """(the node processes' CPU less the idle rate over the phase, their signature
        children's): an idle child waits on its pipe, so the idle rate, read for both, is
        nearly all the processes' own."""
        elapsed = time.monotonic() - self.started
        own, children = nodes_cpu_split_s(self.network)
        return (max(0.0, own - self.cpu_before[0] - self.idle_cpu_per_s * elapsed),
                children - self.cpu_before[1])

    def seconds(self) -> float:
        return sum(self.parts())


def idle_cpu_per_s(network: BenchNetwork, seconds: float = IDLE_S,
                   readings: int = IDLE_READINGS) -> float:
    """The nodes' CPU a second with nothing submitted (timers, status, keep-alives): the
    least of `readings` readings of `seconds` each."""
    rates = []
    for _ in range(readings):
        started, cpu_before = time.monotonic(), nodes_cpu_s(network)
        time.sleep(seconds)
        rates.append((nodes_cpu_s(network) - cpu_before) / (time.monotonic() - started))
    return min(rates)


def failover(network: BenchNetwork, view_timeout_ms: int) -> dict[str, Any]:
    nodes = [m for m in network.members if m.runs_node]
    primary_name = network.status(nodes[0])["consensus"]["primary"]
    victim = next(m for m in nodes if m.name == primary_name)
    survivor = next(m for m in nodes if m is not victim)
    status = network.status(survivor)
    tx = build_transaction(network.university.keys, status["chain_id"],
                           IssueBatchPayload("certificate",
                                             b"failover-bench-root".ljust(32, b"-"), 1),
                           status["height"] + 1000)
    network.kill(victim)
    killed = time.monotonic()
    post_msgpack(survivor.api, [tx])
    result = NodeClient(survivor.api).wait(tx.tx_id.hex(), 60)
    elapsed_ms = (time.monotonic() - killed) * 1000
    assert result["status"] == "committed", result
    return {"killed": victim.name, "kill_to_commit_ms": elapsed_ms,
            "view_timeout_ms": view_timeout_ms,
            "ratio_to_timeout": elapsed_ms / view_timeout_ms}


def wait_quiet(network: BenchNetwork, deadline_s: float = 60) -> None:
    """Let the previous phase drain: equal heights, empty mempools everywhere."""
    nodes = [m for m in network.members if m.runs_node and m.process
             and m.process.poll() is None]
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        statuses = [network.status(m) for m in nodes]
        if (len({s["height"] for s in statuses}) == 1
                and all(s["mempool"]["transactions"] == 0 for s in statuses)):
            time.sleep(1.0)  # and give the processes a moment of idle
            return
        time.sleep(0.2)
    raise RuntimeError("the network did not drain")


def accredited_network(root: Path, validators: int, view_timeout_ms: int,
                       pinned: bool) -> BenchNetwork:
    """A consortium laid out under `root`, started, its university accredited (its first
    transaction) and quiet; the caller stops it."""
    network = BenchNetwork(root, validators=validators,
                           overrides={"consensus": {"view_timeout_ms": view_timeout_ms}},
                           pinned=pinned)
    network.lay_out()
    try:  # a node late to start leaves the others running otherwise, loading what follows
        network.start_all()
        accredit(network)
        wait_quiet(network)
    except BaseException:
        network.stop_all()
        raise
    return network


def first_load_latency(root: Path, validators: int, view_timeout_ms: int,
                       pinned: bool = False) -> dict[str, float]:
    """Commit latency under the first load a new consortium meets (started, one
    transaction committed, then about 4 s idle: `wait_quiet`'s second and FIRST_LOAD_IDLE_S, the
    render's figure): whatever a node does only once, when first needed, shows here
    (starting its signature workers did, until the node started them with itself). On a
    network of its own, so that the figures `run_consortium` measures after it compare
    with those of earlier runs: run before them on the same nodes, its 5,000 transactions
    moved the nodes' memtable flush into the latency run after saturation, whose p99 went
    from 81-146 ms to 456-924 (BENCHMARKS.md, session 44)."""
    network = accredited_network(root, validators, view_timeout_ms, pinned)
    try:
        time.sleep(FIRST_LOAD_IDLE_S)
        return commit_latency(network, LATENCY_RATE_TX_S, LATENCY_GROUP_TXS)
    finally:
        network.stop_all()


def run_consortium(root: Path, validators: int, txs: int, view_timeout_ms: int,
                   pinned: bool = False, saturation_rounds: int = SATURATION_ROUNDS
                   ) -> dict[str, Any]:
    first_load = first_load_latency(root / "first-load", validators, view_timeout_ms, pinned)
    network = accredited_network(root, validators, view_timeout_ms, pinned)
    try:
        idle = idle_cpu_per_s(network)
        nodes = sum(1 for m in network.members if m.runs_node)
        spent = CpuSpent(network, idle)
        results: dict[str, Any] = {"latency_first": first_load,
                                   "saturation": saturation(network, txs)}
        wait_quiet(network)
        results["saturation"]["cpu_us_per_tx_per_node"] = spent.seconds() / txs / nodes * 1e6
        results["idle_cpu_per_s"] = idle
        results["latency"] = with_blocks_and_cpu(network, idle, lambda: commit_latency(
            network, LATENCY_RATE_TX_S, LATENCY_GROUP_TXS))
        for group in LATENCY_SPREAD_GROUPS:
            results[f"latency_groups_of_{group}"] = commit_latency(
                network, LATENCY_RATE_TX_S, group)
            wait_quiet(network)
        results["latency_arrivals"] = with_blocks_and_cpu(
            network, idle, lambda: commit_latency_arrivals(network, LATENCY_RATE_TX_S))
        lone = results["latency_lone"] = with_blocks_and_cpu(
            network, idle, lambda: commit_latency(network, LONE_RATE_TX_S, 1))
        # Each lone transaction is a block of its own: the cost of a block, whatever it holds
        lone["cpu_ms_per_block_per_node"] = lone["nodes_cpu_ms"] / max(1, lone["blocks"]) / nodes
        results["failover"] = failover(network, view_timeout_ms)
        results["pinned"] = pinned
        results["pinned_cpus"] = len(network.cpus)  # taken in turn when pinned
    finally:
        network.stop_all()
    results["saturation_rounds"] = saturation_on_new_networks(
        root / "rounds", validators, txs, view_timeout_ms, pinned, saturation_rounds)
    return results


def saturation_on_new_networks(root: Path, validators: int, txs: int, view_timeout_ms: int,
                               pinned: bool, rounds: int) -> list[dict[str, float]]:
    """`saturation` on `rounds` new networks in turn, each with the Ed25519 ceiling
    measured just before its network starts (`ceiling_per_s`, and
    `ceiling_one_signature_per_s`), so that each ratio is of figures minutes apart at
    most. Six rounds on one tree read 0.464-0.510 of the ceiling (BENCHMARKS.md, session
    50): a run's ratio moves with the machine by about its distance to the aim."""
    rows: list[dict[str, float]] = []
    for number in range(rounds):
        rates = ed25519_rates(2_000, 2)
        network = accredited_network(root / f"round-{number}", validators, view_timeout_ms,
                                     pinned)
        try:
            rows.append({**saturation(network, txs), "ceiling_per_s": rates["pynacl_per_s"],
                         "ceiling_one_signature_per_s": rates["pynacl_one_signature_per_s"]})
        finally:
            network.stop_all()
    return rows


def with_blocks_and_cpu(network: BenchNetwork, idle_cpu_per_s: float,
                        latency_run: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """`latency_run`'s figures, with the blocks it made and the CPU all the nodes spent on
    it until drained (idle subtracted). The caller drains the network first, as before
    each latency run: a drain ends with a second of idle, and what comes before a latency
    run moves its figures (BENCHMARKS.md, session 44)."""
    first = next(m for m in network.members if m.runs_node)
    height_before = network.status(first)["height"]
    spent = CpuSpent(network, idle_cpu_per_s)
    result = latency_run()
    wait_quiet(network)
    result["blocks"] = network.status(first)["height"] - height_before
    result["nodes_cpu_ms"] = spent.seconds() * 1e3
    return result


def saturation_as_state_grows(root: Path, validators: int, txs: int, rounds: int
                              ) -> list[dict[str, float]]:
    """Saturation again and again on one network, each round adding `txs` credentials
    to the state: the figure `run_consortium` gives is that of a new chain, and each
    node's work a transaction grows with the state tree's depth. Each round also gives
    the nodes' CPU a transaction a node in two parts, their signature children's and the
    node processes' own (idle subtracted, `CpuSpent.parts`), to show which part grows
    (BENCHMARKS.md, session 45)."""
    network = BenchNetwork(root, validators=validators)
    network.lay_out()
    network.start_all()
    rows: list[dict[str, float]] = []
    try:
        accredit(network)
        wait_quiet(network)
        idle = idle_cpu_per_s(network)
        nodes = sum(1 for m in network.members if m.runs_node)
        for round_number in range(rounds):
            spent = CpuSpent(network, idle)
            result = saturation(network, txs)
            wait_quiet(network)
            node_processes, signatures = spent.parts()
            per_tx_node = 1e6 / txs / nodes
            rows.append({"entries_before": round_number * txs, **result,
                         "cpu_us_per_tx_per_node": (node_processes + signatures) * per_tx_node,
                         "signature_cpu_us_per_tx_per_node": signatures * per_tx_node,
                         "node_process_cpu_us_per_tx_per_node": node_processes * per_tx_node,
                         "idle_cpu_per_s": idle})
    finally:
        network.stop_all()
    return rows
