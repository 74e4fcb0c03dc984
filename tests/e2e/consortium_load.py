"""Helpers for multi-validator end-to-end tests: load, commit records, cluster checks.

`RoundRobinLoad` keeps a consortium busy with single-document `anchor`
transactions sent to the running nodes in turn, and records every transaction
that some node REPORTS committed (tx id -> height, and which node said so).
It survives nodes being killed under it: a refused connection only moves it to
the next node. Every loop is bounded in count and in time.

The check functions poll real nodes over HTTP with deadlines; none sleeps and hopes.
"""

from __future__ import annotations

import collections
import os
import threading
import time
import urllib.error
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from ledger.blocks import decode_block
from ledger.identity import KeyPair
from ledger.payloads import AnchorPayload
from ledger.transactions import build_transaction
from node.validators import ValidatorSet
from tests.e2e.harness import Consortium, HttpError, NodeProcess, wait_until

# What a node that is being killed or is still starting may do to a request.
NODE_GONE = (OSError, HttpError, ValueError, urllib.error.URLError)


def try_status(node: NodeProcess, timeout_s: float = 2.0) -> dict[str, Any] | None:
    """The node's /v1/status, or None if it is down or does not answer in time."""
    if not node.running():
        return None
    try:
        return node.status(timeout_s=timeout_s)
    except NODE_GONE:
        return None


@dataclass
class CommitLedger:
    """Every transaction a node reported committed: tx id -> (height, reporting node)."""

    committed: dict[str, tuple[int, str]] = field(default_factory=dict)
    commit_times: list[tuple[float, int]] = field(default_factory=list)  # (monotonic, height)
    conflicts: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, tx_id: str, height: int, reporter: str) -> None:
        with self.lock:
            previous = self.committed.setdefault(tx_id, (height, reporter))
            if previous[0] != height:  # two nodes disagree on where it committed: unsafe
                self.conflicts.append(f"{tx_id}: {previous} vs {(height, reporter)}")
            self.commit_times.append((time.monotonic(), height))

    def count(self) -> int:
        with self.lock:
            return len(self.committed)

    def snapshot(self) -> dict[str, tuple[int, str]]:
        with self.lock:
            return dict(self.committed)

    def count_since(self, moment: float) -> int:
        with self.lock:
            return sum(1 for t, _ in self.commit_times if t > moment)


class RoundRobinLoad:
    """Submit small anchor batches to the running nodes in turn; watch their outcome.

    One thread submits `txs_per_request` transactions every `interval_s` (at most
    `max_requests` requests, until `deadline_s`); another asks the nodes, in turn,
    `GET /v1/transactions/{id}?wait=...` for each. A transaction that is still
    pending (or unknown to the node asked, e.g. submitted to a node killed before
    it gossiped) is asked again later, at most `max_polls` times; what never
    commits is simply not recorded. Submission pauses while `max_in_flight`
    transactions are unresolved.
    """

    def __init__(self, targets: Sequence[NodeProcess], keys: KeyPair, chain_id: str,
                 ledger: CommitLedger, *, txs_per_request: int = 4, interval_s: float = 0.05,
                 deadline_s: float = 120.0, max_requests: int = 20_000,
                 max_in_flight: int = 400, max_polls: int = 200) -> None:
        self.targets = list(targets)
        self.keys, self.chain_id, self.ledger = keys, chain_id, ledger
        self.txs_per_request, self.interval_s = txs_per_request, interval_s
        self.max_requests, self.max_in_flight, self.max_polls = (max_requests, max_in_flight,
                                                                 max_polls)
        self.deadline = time.monotonic() + deadline_s
        self.stop_event = threading.Event()
        self.submit_stopped = threading.Event()
        self._pending: collections.deque[tuple[str, int]] = collections.deque()
        self._lock = threading.Lock()
        self._asking: str | None = None
        self.expiry_height = 50_000  # never reached in a test (nodes allow 100 000 ahead)
        self.submitted = 0
        self.admitted: list[str] = []  # every tx id a node admitted (answered "pending")
        self.refused: list[str] = []  # refusals at admission (not counted as submitted)
        self.rejected: list[str] = []  # admitted, then refused by a block
        self.gave_up: list[str] = []
        self.errors: list[str] = []  # unexpected exceptions in a loop: a test failure
        self.request_failures = 0  # connections refused/reset: nodes being killed
        self.threads = [threading.Thread(target=self._guard, args=(loop,), daemon=True,
                                         name=f"senim-load-{loop.__name__}")
                        for loop in (self._submit_loop, self._watch_loop)]

    # ---- control -----------------------------------------------------------------------
    def start(self) -> RoundRobinLoad:
        for thread in self.threads:
            thread.start()
        return self

    def alive(self) -> bool:
        """Both loops run (the submitter also ends when told to stop submitting)."""
        return all(thread.is_alive() for thread in self.threads)

    def stop_submitting(self) -> None:
        self.submit_stopped.set()

    def in_flight(self) -> int:
        """Admitted transactions not yet resolved (queued, or being asked about)."""
        with self._lock:
            return len(self._pending) + (self._asking is not None)

    def drain(self, timeout_s: float) -> None:
        """Stop submitting and wait until every admitted transaction is resolved."""
        self.stop_submitting()
        submitter, watcher = self.threads
        submitter.join(timeout=timeout_s)  # its last request may still be in flight
        assert not submitter.is_alive(), "the load's submitter did not stop"
        wait_until(lambda: self.in_flight() == 0 or not watcher.is_alive(), timeout_s,
                   "the load's admitted transactions to be resolved", interval_s=0.1)
        assert watcher.is_alive(), f"the load's watcher ended early: {self.errors}"

    def stop(self, timeout_s: float = 20.0) -> None:
        self.stop_event.set()
        self.submit_stopped.set()
        deadline = time.monotonic() + timeout_s
        for thread in self.threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        assert not any(t.is_alive() for t in self.threads), "load threads did not finish"

    def _running(self) -> bool:
        return not self.stop_event.is_set() and time.monotonic() < self.deadline

    def _guard(self, loop: Callable[[], None]) -> None:
        try:
            loop()
        except Exception as exc:
            self.errors.append(f"{loop.__name__}: {exc!r}")
            self.stop_event.set()

    # ---- loops -------------------------------------------------------------------------
    def _submit_loop(self) -> None:
        for request_no in range(self.max_requests):
            if not self._running() or self.submit_stopped.is_set():
                return
            if self.in_flight() >= self.max_in_flight:
                self.submit_stopped.wait(0.05)  # pacing: let the watcher catch up
                continue
            node = self.targets[request_no % len(self.targets)]
            if node.running():
                self._submit_to(node)
            self.submit_stopped.wait(self.interval_s)  # pacing between requests

    def _submit_to(self, node: NodeProcess) -> None:
        txs = [build_transaction(self.keys, self.chain_id, AnchorPayload(os.urandom(32)),
                                 self.expiry_height) for _ in range(self.txs_per_request)]
        try:
            status, answer = node.post_json(
                "/v1/transactions", {"txs": [tx.encode().hex() for tx in txs]}, timeout_s=5)
        except NODE_GONE:
            self.request_failures += 1
            return
        if status not in (202, 400) or "results" not in answer:
            self.errors.append(f"{node.slug} answered {status}: {answer}")
            return
        with self._lock:
            for result in answer["results"]:
                if result["status"] == "pending":
                    self.submitted += 1
                    self.admitted.append(result["tx_id"])
                    self._pending.append((result["tx_id"], 0))
                else:
                    self.refused.append(f"{node.slug}: {result}")

    def _watch_loop(self) -> None:
        asked = 0
        while self._running():
            with self._lock:
                item = self._pending.popleft() if self._pending else None
                self._asking = item[0] if item else None
            if item is None:
                self.stop_event.wait(0.02)  # nothing to ask about yet
                continue
            try:
                self._ask(*item, asked)
            finally:
                with self._lock:
                    self._asking = None
            asked += 1

    def _ask(self, tx_id: str, polls: int, asked: int) -> None:
        """Ask one running node (in turn) about one transaction; requeue if unresolved."""
        running = [n for n in self.targets if n.running()]
        if not running:
            self._requeue(tx_id, polls)
            self.stop_event.wait(0.05)  # every node is down: do not spin
            return
        node = running[asked % len(running)]
        try:
            result = node.get_json(f"/v1/transactions/{tx_id}?wait=2", timeout_s=6)
        except HttpError as exc:
            if exc.status != 404:  # 404: "unknown" to this node; ask another one later
                self.request_failures += 1
            self._requeue(tx_id, polls)
            return
        except NODE_GONE:
            self.request_failures += 1
            self._requeue(tx_id, polls)
            return
        if result["status"] == "committed":
            self.ledger.record(tx_id, int(result["height"]), node.slug)
        elif result["status"] == "rejected":
            self.rejected.append(f"{tx_id} at {node.slug}: {result}")
        else:
            self._requeue(tx_id, polls)

    def _requeue(self, tx_id: str, polls: int) -> None:
        if polls + 1 >= self.max_polls:
            self.gave_up.append(tx_id)
            return
        with self._lock:
            self._pending.append((tx_id, polls + 1))


# ---- observing the consortium ---------------------------------------------------------------

def statuses(nodes: Iterable[NodeProcess]) -> dict[str, dict[str, Any]]:
    """The status of each running, answering node."""
    found = {}
    for node in nodes:
        status = try_status(node)
        if status is not None:
            found[node.slug] = status
    return found


def slug_of_member(net: Consortium, name: str) -> str:
    """Map a member name (as /v1/status consensus.primary gives it) to its slug."""
    for slug, member in net.members.items():
        if member.name == name:
            return slug
    raise KeyError(f"no member named {name!r}")


def max_height(nodes: Iterable[NodeProcess]) -> int:
    return max((int(s["height"]) for s in statuses(nodes).values()), default=0)


def wait_commits_beyond(nodes: Sequence[NodeProcess], height: int, timeout_s: float,
                        what: str) -> int:
    """Wait until some running node has committed past `height`; return that height."""
    return int(wait_until(lambda: (h := max_height(nodes)) > height and h, timeout_s,
                          f"{what}: a commit above height {height}", interval_s=0.02))


def wait_converged(nodes: Sequence[NodeProcess], timeout_s: float,
                   min_height: int = 0) -> tuple[int, str]:
    """Wait until every node answers with the same height (>= min_height) and head hash."""
    seen: list[dict[str, tuple[int, str]]] = []

    def same() -> tuple[int, str] | None:
        heads = {slug: (int(s["height"]), s["head_hash"]) for slug, s in statuses(nodes).items()}
        seen.append(heads)
        values = set(heads.values())
        if len(heads) == len(nodes) and len(values) == 1:
            head = values.pop()
            if head[0] >= min_height:
                return head
        return None

    try:
        return wait_until(same, timeout_s, "every node to reach the same head", interval_s=0.1)
    except TimeoutError as exc:
        last = seen[-1] if seen else {}
        silent = "".join(
            f"\n--- {node.slug} ({_state(node)}, no status)"
            f", log tail:\n{node.log_tail(40)}" for node in nodes if node.slug not in last)
        raise TimeoutError(f"{exc}; last heads: {last}{silent}") from exc


def _state(node: NodeProcess) -> str:
    if node.process is None:
        return "never started"
    return "running" if node.running() else f"exited with {node.process.returncode}"


def check_ledger_everywhere(nodes: Sequence[NodeProcess], ledger: CommitLedger) -> None:
    """Every transaction any node reported committed is committed on every node, same height."""
    committed = ledger.snapshot()
    assert not ledger.conflicts, f"nodes reported different heights: {ledger.conflicts[:5]}"

    def check(node: NodeProcess) -> list[str]:
        problems = []
        for tx_id, (height, reporter) in committed.items():
            result = node.get_json(f"/v1/transactions/{tx_id}", timeout_s=10)
            if (result.get("status"), result.get("height")) != ("committed", height):
                problems.append(f"{node.slug}: {tx_id} reported by {reporter} at {height}, "
                                f"here {result}")
        return problems

    with ThreadPoolExecutor(max_workers=len(nodes)) as pool:
        problems = [p for found in pool.map(check, nodes) for p in found]
    assert not problems, f"{len(problems)} reported commits missing: {problems[:5]}"


def check_certificates(net: Consortium, nodes: Sequence[NodeProcess], head: int) -> None:
    """Every block 1..head on every node: a quorum of the genesis validators certified it,
    and the blocks chain by hash. Certificates may differ between nodes (any 2f+1
    signatures), so each node's own are checked."""
    validators = ValidatorSet.from_genesis(net.genesis())

    def check(node: NodeProcess) -> list[str]:
        problems: list[str] = []
        previous = b""
        for height in range(1, head + 1):
            status, raw = node.request("GET", f"/v1/blocks/{height}?format=raw", timeout_s=10)
            if status != 200:
                problems.append(f"{node.slug}: block {height} answered {status}")
                break
            block = decode_block(raw)
            certificate = bytes.fromhex(node.get_json(f"/v1/blocks/{height}")["certificate"])
            if validators.certificate_for(certificate, height, block.block_hash) is None:
                problems.append(f"{node.slug}: block {height} has no valid certificate")
            if height > 1 and block.header.previous_hash != previous:
                problems.append(f"{node.slug}: block {height} does not extend block {height-1}")
            previous = block.block_hash
        return problems

    with ThreadPoolExecutor(max_workers=len(nodes)) as pool:
        problems = [p for found in pool.map(check, nodes) for p in found]
    assert not problems, problems[:10]
