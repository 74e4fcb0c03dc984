"""Kill -9 cycles: a real node under load, SIGKILLed at seeded moments and restarted.

A loader thread submits single-credential issue_batch transactions over HTTP in
batches and records every transaction the node REPORTS committed, with its
height. The node is SIGKILLed at a seeded moment mid-load and restarted on the
same data dir, again and again. After each restart everything reported since the
last check must be there, the height must not have gone back, and the block at the
last checked height must have kept its hash (it commits to every block before it).
At the end every reported transaction is checked once more, every block's
certificate must verify against the genesis validators, and re-executing every
block from genesis in a fresh in-memory chain must give the node's state root.

Used by tests/e2e/test_durability.py (CI) and scripts/killcycles (long runs):
    python -m tests.e2e.kill_cycles --cycles 1000 [--nodes 2]
"""

from __future__ import annotations

import argparse
import os
import queue
import random
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

from ledger.blocks import decode_block
from ledger.chain import Chain
from ledger.identity import KeyPair
from ledger.payloads import AccreditPayload, IssueBatchPayload
from ledger.transactions import build_transaction
from node.validators import ValidatorSet
from storage.kv import LevelDBStore, MemoryStore
from tests.e2e.harness import Consortium, Member, NodeProcess, wait_until

TXS_PER_REQUEST = 25
MAX_IN_FLIGHT = 400
LOADER_DEADLINE_S = 30.0
CYCLE_COMMITS_TIMEOUT_S = 30.0
MEMBERS = [Member("mshe", "Ministry", "ministry", validator=True, runs_node=True),
           Member("enu", "ENU", "university")]


@dataclass
class Ledger:
    """What the node told us: tx id -> height, and the highest height it reported."""

    committed: dict[str, int] = field(default_factory=dict)
    max_height: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, tx_id: str, height: int) -> None:
        with self.lock:
            previous = self.committed.setdefault(tx_id, height)
            assert previous == height, f"{tx_id} reported at {previous} and {height}"
            self.max_height = max(self.max_height, height)

    def count(self) -> int:
        with self.lock:
            return len(self.committed)

    def snapshot(self) -> tuple[dict[str, int], int]:
        with self.lock:
            return dict(self.committed), self.max_height


class Loader:
    """Keep the node busy: one thread submits batches, another waits for their outcome.

    Submitting never waits for commits (at most MAX_IN_FLIGHT ids queued), so the
    node is executing, committing and admitting at once when it is killed. Both
    threads end when stopped, when the node dies, or at LOADER_DEADLINE_S.
    """

    def __init__(self, node: NodeProcess, keys: KeyPair, chain_id: str, ledger: Ledger) -> None:
        self.node, self.keys, self.chain_id, self.ledger = node, keys, chain_id, ledger
        self.stop_event = threading.Event()
        self.pending: queue.Queue[str] = queue.Queue(maxsize=MAX_IN_FLIGHT)
        self.deadline = time.monotonic() + LOADER_DEADLINE_S
        self.submitted = 0
        self.ended_by: list[str] = []
        self.unexpected: list[str] = []
        self.threads = [threading.Thread(target=self._guard, args=(loop,), daemon=True,
                                         name=f"senim-{loop.__name__}")
                        for loop in (self._submit_loop, self._watch_loop)]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def alive(self) -> bool:
        return all(thread.is_alive() for thread in self.threads)

    def stop(self, timeout_s: float = 15.0) -> None:
        self.stop_event.set()
        deadline = time.monotonic() + timeout_s
        for thread in self.threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        assert not any(t.is_alive() for t in self.threads), "loader threads did not finish"

    def _running(self) -> bool:
        return not self.stop_event.is_set() and time.monotonic() < self.deadline

    def _guard(self, loop: Callable[[], None]) -> None:
        try:
            loop()
            self.ended_by.append(f"{loop.__name__}: stopped")
        except OSError as exc:  # the node was killed: connection refused/reset
            self.ended_by.append(f"{loop.__name__}: node gone ({type(exc).__name__})")
        except Exception as exc:
            self.unexpected.append(f"{loop.__name__}: {exc!r}")
        finally:
            self.stop_event.set()  # one side gone: the other stops too

    def _submit_loop(self) -> None:
        while self._running():
            height = self.node.status(timeout_s=5)["height"]
            txs = [build_transaction(self.keys, self.chain_id,
                                     IssueBatchPayload("diploma", os.urandom(32), 1), height + 1000)
                   for _ in range(TXS_PER_REQUEST)]
            status, answer = self.node.post_json(
                "/v1/transactions", {"txs": [tx.encode().hex() for tx in txs]})
            if status not in (202, 400):
                self.unexpected.append(f"submit answered {status}: {answer}")
                return
            for result in answer["results"]:
                if result["status"] != "pending":
                    continue  # refused at admission (e.g. mempool full): never reported
                self.submitted += 1
                while self._running():
                    try:
                        self.pending.put(result["tx_id"], timeout=0.2)
                        break
                    except queue.Full:
                        continue

    def _watch_loop(self) -> None:
        while self._running():
            try:
                tx_id = self.pending.get(timeout=0.2)
            except queue.Empty:
                continue
            result = self.node.get_json(f"/v1/transactions/{tx_id}?wait=5", timeout_s=10)
            if result["status"] == "committed":
                self.ledger.record(tx_id, int(result["height"]))
            elif result["status"] != "pending":
                self.unexpected.append(f"{tx_id}: {result}")


def replay_from_genesis(net: Consortium, node: NodeProcess) -> Chain:
    """Re-execute every block the node serves in a fresh in-memory chain."""
    genesis = net.genesis()
    chain = Chain(MemoryStore(), genesis)
    validators = ValidatorSet.from_genesis(genesis)
    head = node.status()["height"]
    for height in range(1, head + 1):
        raw_status, raw = node.request("GET", f"/v1/blocks/{height}?format=raw")
        assert raw_status == 200, raw[:200]
        block = decode_block(raw)
        certificate = bytes.fromhex(node.get_json(f"/v1/blocks/{height}")["certificate"])
        # the check a lagging node makes: a quorum of the genesis validators signed it
        assert validators.certificate_for(certificate, height, block.block_hash), height
        # raises if the header's state root or its time (BFT time) disagrees
        execution = chain.validate(block, commit_times=validators.commit_times)
        chain.commit(execution, certificate)
    return chain


def accredit(net: Consortium, node: NodeProcess) -> None:
    chain_id = node.status()["chain_id"]
    now = int(time.time() * 1000)
    tx = build_transaction(net.keys("mshe"), chain_id,
                           AccreditPayload(net.keys("enu").member_id, ("diploma",), now - 60_000,
                                           now + 86_400_000), node.height() + 100)
    status, answer = node.post_json("/v1/transactions", {"tx": tx.encode().hex()})
    assert status == 202, answer
    result = node.get_json(f"/v1/transactions/{answer['tx_id']}?wait=10", timeout_s=15)
    assert result["status"] == "committed", result


@dataclass(frozen=True)
class KillPlan:
    """How many kills, and how much committed work between two kills (seeded)."""

    cycles: int
    seed: int
    min_commits: int = 1
    max_commits: int = 40
    max_extra_delay_s: float = 0.1  # after the commit threshold: lands mid-batch
    deadline_s: float = 3600.0  # the whole run, restarts and final checks included


@dataclass
class KillReport:
    cycles: int = 0
    reported_commits: int = 0
    final_height: int = 0
    restart_s: list[float] = field(default_factory=list)
    elapsed_s: float = 0.0

    def summary(self) -> str:
        restarts = sorted(self.restart_s) or [0.0]
        return (f"{self.cycles} kill -9 cycles in {self.elapsed_s:.1f} s: "
                f"{self.reported_commits} reported commits, all present after every "
                f"restart; final height {self.final_height}; restart to ready p50 "
                f"{restarts[len(restarts) // 2]:.2f} s, max {restarts[-1]:.2f} s; "
                "state root from genesis matches, every certificate verifies")


def check_since(node: NodeProcess, ledger: Ledger, checked: dict[str, int],
                anchor: tuple[int, str] | None) -> tuple[int, str] | None:
    """Check what was reported since the last check; returns the new anchor block."""
    committed, max_height = ledger.snapshot()
    status = node.status()
    assert status["height"] >= max_height, (
        f"height went back: node at {status['height']}, it had reported {max_height}")
    if anchor is not None:
        block = node.get_json(f"/v1/blocks/{anchor[0]}")
        assert block["hash"] == anchor[1], f"block {anchor[0]} changed: {block['hash']}"
    fresh = {tx_id: h for tx_id, h in committed.items() if tx_id not in checked}
    check_reported(node, fresh)
    checked.update(fresh)
    if max_height == 0:
        return anchor
    return max_height, node.get_json(f"/v1/blocks/{max_height}")["hash"]


def check_reported(node: NodeProcess, committed: dict[str, int]) -> None:
    by_height: dict[int, set[str]] = {}
    for tx_id, height in committed.items():
        by_height.setdefault(height, set()).add(tx_id)
    for height, tx_ids in by_height.items():  # one block fetch per height
        block = node.get_json(f"/v1/blocks/{height}")
        missing = tx_ids - {tx["tx_id"] for tx in block["transactions"]}
        assert not missing, f"reported committed at {height}, block lacks {sorted(missing)}"
    for tx_id, height in committed.items():  # and the transaction index agrees
        result = node.get_json(f"/v1/transactions/{tx_id}")
        assert (result["status"], result["height"]) == ("committed", height), result


def run_kill_cycles(net: Consortium, plan: KillPlan,
                    progress: Callable[[str], None] | None = None) -> KillReport:
    """Run the plan on the consortium's validator "mshe"; raises AssertionError on loss."""
    began = time.monotonic()
    deadline = began + plan.deadline_s
    rng = random.Random(plan.seed)
    report = KillReport()
    node = net.start("mshe")
    accredit(net, node)
    chain_id = node.status()["chain_id"]
    ledger = Ledger()
    checked: dict[str, int] = {}
    anchor: tuple[int, str] | None = None
    for cycle in range(plan.cycles):
        assert time.monotonic() < deadline, (
            f"out of time after {cycle} of {plan.cycles} cycles ({plan.deadline_s} s)")
        loader = Loader(node, net.keys("enu"), chain_id, ledger)
        threshold = ledger.count() + rng.randint(plan.min_commits, plan.max_commits)
        extra_delay_s = rng.uniform(0.0, plan.max_extra_delay_s)
        loader.start()
        try:
            wait_until(lambda: ledger.count() >= threshold or not loader.alive(),  # noqa: B023
                       CYCLE_COMMITS_TIMEOUT_S, f"cycle {cycle}: {threshold} reported commits")
            assert loader.alive(), f"loader ended early: {loader.ended_by} {loader.unexpected}"
            time.sleep(extra_delay_s)  # the seeded kill moment, deliberately mid-load
            node.kill()
        finally:
            loader.stop()
        assert not loader.unexpected, loader.unexpected
        restart_began = time.monotonic()
        net.start("mshe")
        report.restart_s.append(time.monotonic() - restart_began)
        anchor = check_since(node, ledger, checked, anchor)
        report.cycles = cycle + 1
        if progress is not None and (cycle + 1) % 10 == 0:
            progress(f"cycle {cycle + 1}/{plan.cycles}: {ledger.count()} reported commits, "
                     f"height {node.height()}, {time.monotonic() - began:.0f} s")
    committed, max_height = ledger.snapshot()
    assert len(committed) >= plan.cycles * plan.min_commits
    assert "Traceback" not in node.log_text()
    check_reported(node, committed)  # everything, once more, at the end

    replayed = replay_from_genesis(net, node)
    status = node.status()
    assert replayed.height == status["height"] >= max_height
    assert replayed.head_hash.hex() == status["head_hash"]
    assert replayed.state.root.hex() == status["state_root"]

    # and the LevelDB itself, opened after a clean stop, holds the same head
    assert node.stop() == 0, node.log_tail()
    kv = LevelDBStore(str(node.data_dir / "chain.ldb"))
    try:
        on_disk = Chain(kv, net.genesis())  # checks state root against the head block
        assert on_disk.height == replayed.height
        assert on_disk.state.root == replayed.state.root
        for tx_id, height in committed.items():
            location = on_disk.tx_location(bytes.fromhex(tx_id))
            assert location is not None and location[0] == height, (tx_id, location)
    finally:
        kv.close()
    report.reported_commits, report.final_height = len(committed), replayed.height
    report.elapsed_s = time.monotonic() - began
    return report


def run_side_by_side(root: Path, plan: KillPlan, nodes: int,
                     progress: Callable[[str], None] | None = None) -> list[KillReport]:
    """`plan.cycles` kills shared by `nodes` independent nodes killed side by side.

    A restart is mostly the new process importing and opening its store, so a
    second node keeps the other core busy: the same number of kills in about half
    the wall time on two cores."""
    share = [plan.cycles // nodes + (1 if i < plan.cycles % nodes else 0) for i in range(nodes)]

    def one_node(index: int) -> KillReport:
        def tell(line: str) -> None:
            if progress is not None:
                progress(f"node {index}: {line}")

        with Consortium(root / f"node{index}", MEMBERS, genesis_via_cli=False) as net:
            return run_kill_cycles(net, replace(plan, cycles=share[index],
                                                seed=plan.seed + index), tell)

    with ThreadPoolExecutor(nodes, thread_name_prefix="senim-kill") as pool:
        return list(pool.map(one_node, range(nodes)))


def main() -> int:
    parser = argparse.ArgumentParser(description="kill -9 a loaded node N times; check no loss")
    parser.add_argument("--cycles", type=int, default=1000)
    parser.add_argument("--nodes", type=int, default=2, help="nodes killed side by side")
    parser.add_argument("--seed", type=int, default=20260630)
    parser.add_argument("--max-commits", type=int, default=40,
                        help="most reported commits between two kills (seeded)")
    parser.add_argument("--deadline", type=float, default=4 * 3600.0,
                        help="seconds for the whole run")
    args = parser.parse_args()
    if args.cycles < 1 or not 1 <= args.nodes <= args.cycles:
        parser.error("need --cycles >= 1 and 1 <= --nodes <= --cycles")
    plan = KillPlan(args.cycles, args.seed, max_commits=args.max_commits,
                    deadline_s=args.deadline)
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="senim-killcycles-") as root:
        try:
            reports = run_side_by_side(Path(root), plan, args.nodes,
                                       lambda line: print(line, flush=True))
        except AssertionError as exc:
            print(f"FAILED (seed {args.seed}): {exc}", file=sys.stderr)
            return 1
    for report in reports:
        print(report.summary())
    print(f"total: {sum(r.cycles for r in reports)} kill -9 cycles, "
          f"{sum(r.reported_commits for r in reports)} reported commits, none lost, "
          f"in {time.monotonic() - began:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
