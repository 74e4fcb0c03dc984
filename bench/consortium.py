"""Four validators on this machine: saturation, latency at a fixed load, primary failover."""

from __future__ import annotations

import statistics
import threading
import time
from typing import Any

from bench.network import BenchMember, BenchNetwork
from bench.single_node import accredit, post_msgpack, single_credential_txs
from cli.client import NodeClient
from ledger.payloads import IssueBatchPayload
from ledger.transactions import build_transaction

LATENCY_RATE_TX_S = 500
LONE_RATE_TX_S = 10  # one transaction a tick
LATENCY_SECONDS = 10.0
TICK_S = 0.1


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


class CommitWatcher(threading.Thread):
    """Long-polls one sampled transaction and notes when its commit becomes visible.

    Sampling a few transactions per tick keeps the measuring load small next to
    the load being measured (everything shares this machine's cores)."""

    def __init__(self, api: str, tx_id: bytes, sent_at: float) -> None:
        super().__init__(daemon=True)
        self.api, self.tx_id, self.sent_at = api, tx_id, sent_at
        self.latency_ms: float | None = None

    def run(self) -> None:
        result = NodeClient(self.api).wait(self.tx_id.hex(), 60)
        if result["status"] == "committed":
            self.latency_ms = (time.monotonic() - self.sent_at) * 1000


def latency(network: BenchNetwork, rate_tx_s: int = LATENCY_RATE_TX_S) -> dict[str, float]:
    """p50 and p99 from posting a group (rate × TICK_S transactions) to its last one's
    commit seen. At LONE_RATE_TX_S a group is one transaction: what the protocol itself
    costs (three rounds, their synced writes, HTTP), the floor under the figure at the
    aim's rate, whose excess is the work a group's transactions cost."""
    nodes = [m for m in network.members if m.runs_node]
    status = network.status(nodes[0])
    per_tick = int(rate_tx_s * TICK_S)
    ticks = int(LATENCY_SECONDS / TICK_S)
    txs = single_credential_txs(network.university.keys, status["chain_id"], per_tick * ticks,
                                status["height"] + 100_000)
    watchers: list[CommitWatcher] = []
    started = time.monotonic()
    for tick in range(ticks):
        due = started + tick * TICK_S
        time.sleep(max(0.0, due - time.monotonic()))
        group = txs[tick * per_tick:(tick + 1) * per_tick]
        node = nodes[tick % len(nodes)]
        sent_at = time.monotonic()
        post_msgpack(node.api, group)
        watcher = CommitWatcher(node.api, group[-1].tx_id, sent_at)
        watcher.start()
        watchers.append(watcher)
    for watcher in watchers:
        watcher.join(timeout=60)
    latencies = sorted(w.latency_ms for w in watchers if w.latency_ms is not None)
    assert len(latencies) == len(watchers), "some sampled transactions never committed"
    return {"offered_tx_s": rate_tx_s, "samples": len(latencies),
            "p50_ms": statistics.median(latencies),
            "p99_ms": latencies[max(0, int(len(latencies) * 0.99) - 1)]}


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


def run_consortium(root: Any, validators: int, txs: int, view_timeout_ms: int
                   ) -> dict[str, Any]:
    network = BenchNetwork(root, validators=validators,
                           overrides={"consensus": {"view_timeout_ms": view_timeout_ms}})
    network.lay_out()
    network.start_all()
    try:
        accredit(network)
        time.sleep(0.5)
        results: dict[str, Any] = {"saturation": saturation(network, txs)}
        wait_quiet(network)
        results["latency"] = latency(network)
        wait_quiet(network)
        results["latency_lone"] = latency(network, LONE_RATE_TX_S)
        wait_quiet(network)
        results["failover"] = failover(network, view_timeout_ms)
    finally:
        network.stop_all()
    return results


def saturation_as_state_grows(root: Any, validators: int, txs: int, rounds: int
                              ) -> list[dict[str, float]]:
    """Saturation again and again on one network, each round adding `txs` credentials
    to the state: the figure `run_consortium` gives is that of a new chain, and each
    node's work a transaction grows with the state tree's depth."""
    network = BenchNetwork(root, validators=validators)
    network.lay_out()
    network.start_all()
    rows: list[dict[str, float]] = []
    try:
        accredit(network)
        time.sleep(0.5)
        for round_number in range(rounds):
            result = saturation(network, txs)
            rows.append({"entries_before": round_number * txs, **result})
            wait_quiet(network)
    finally:
        network.stop_all()
    return rows
