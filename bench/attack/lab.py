"""A consortium of four validators and a follower, honest load, and what it costs the nodes.

Honest clients submit small groups of single-credential transactions at a fixed
rate, round-robin over the nodes they may use, and long-poll each group's last
transaction on the node they sent it to. A group counts as committed when that
node reports it within the phase (plus a short grace); one that never commits
counts with the longest latency the phase allows, so a stall shows in p99.
"""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.network import BenchMember, BenchNetwork
from bench.single_node import accredit, single_credential_txs
from ledger.codec import encode
from ledger.transactions import Transaction

VALIDATORS = 4
TICK_S = 0.25
GROUP_TXS = 10  # 40 honest transactions a second: light, so any slowdown is the attack's
COMMIT_GRACE_S = 2.0  # a group sent at the end of a phase still counts if it commits soon
LATE_S = 10.0  # a group not committed this long after the phase ends counts as lost
SUBMIT_TIMEOUT_S = 10.0
RSS_SAMPLE_S = 0.5
READY_S = 60.0
SETTLE_S = 30.0
WARM_UP_S = 3.0


@dataclass
class PhaseResult:
    seconds: float
    offered_txs: int
    committed_txs: int
    failed_submits: int
    p50_ms: float
    p99_ms: float
    rss_growth_mb: float  # the largest growth of any node during the phase
    disk_growth_mb: float  # likewise for data directories
    extra: dict[str, float]

    @property
    def commit_rate(self) -> float:
        return self.committed_txs / self.seconds


def http_json(url: str, body: bytes | None = None, timeout_s: float = 10.0,
              content_type: str = "application/json") -> tuple[int, Any]:
    """One request; (status, parsed JSON or None). Network errors give status 0."""
    request = urllib.request.Request(url, data=body, method="POST" if body is not None
                                     else "GET", headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            status, data = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, data = exc.code, exc.read()
    except (OSError, ValueError):
        return 0, None
    try:
        return status, json.loads(data)
    except ValueError:
        return status, None


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def tree_mb(path: Path) -> float:
    total = 0
    for folder, _, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):  # LevelDB compaction removed it meanwhile
                total += (Path(folder) / name).stat().st_size
    return total / 1024 / 1024


class _GroupWatcher(threading.Thread):
    """Waits for one transaction to show as committed on one node, by a deadline."""

    def __init__(self, api: str, tx_id: str, sent_at: float, deadline: float) -> None:
        super().__init__(daemon=True)
        self.api, self.tx_id, self.sent_at, self.deadline = api, tx_id, sent_at, deadline
        self.committed_at: float | None = None

    def run(self) -> None:
        while (left := self.deadline - time.monotonic()) > 0:
            status, body = http_json(f"{self.api}/v1/transactions/{self.tx_id}"
                                     f"?wait={min(5.0, left):.2f}", timeout_s=min(5.0, left) + 5)
            if status == 200 and isinstance(body, dict) and body.get("status") == "committed":
                self.committed_at = time.monotonic()
                return
            if status != 200 or (isinstance(body, dict) and body.get("status") == "rejected"):
                time.sleep(0.1)  # busy, refused or not seen yet: ask again shortly


class _ResourceSampler(threading.Thread):
    def __init__(self, lab: Lab) -> None:
        super().__init__(daemon=True)
        self.lab = lab
        self.stop = threading.Event()
        self.first: dict[str, float] = {}
        self.peak: dict[str, float] = {}

    def run(self) -> None:
        while True:
            for member in self.lab.nodes():
                if member.process is not None and (value := rss_mb(member.process.pid)):
                    self.first.setdefault(member.slug, value)
                    self.peak[member.slug] = max(self.peak.get(member.slug, 0.0), value)
            if self.stop.wait(RSS_SAMPLE_S):
                return

    def growth_mb(self) -> float:
        return max((self.peak[s] - self.first[s] for s in self.first), default=0.0)


class Lab:
    """The consortium under test. `honest_exclude` names nodes honest clients avoid."""

    def __init__(self, root: Path, port_base: int | None = None) -> None:
        """`port_base`: give the nodes ports from it up (two per member), else any free."""
        self.root = root
        self.network = BenchNetwork(root, validators=VALIDATORS)
        self.network.university.runs_node = True  # the follower, run by the honest issuer
        # A member whose node never runs: attacks by a member (junk gossip) use its key
        # without displacing a running node's connections.
        self.outsider = BenchMember("out", "Outside Employer", "employer", False, False)
        self.network.members.append(self.outsider)
        if port_base is not None:
            for number, member in enumerate(self.network.members):
                member.api_port = port_base + 2 * number
                member.p2p_port = port_base + 2 * number + 1
        self.honest_exclude: set[str] = set()
        self.chain_id = ""

    def __enter__(self) -> Lab:
        self.network.lay_out()
        try:
            self.network.start_all(READY_S)
            accredit(self.network)
            self.chain_id = self.network.status(self.network.ministry)["chain_id"]
            self.run_phase(WARM_UP_S)  # the first blocks are slow: keep them out of baselines
        except BaseException:
            self.network.stop_all()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        for member in self.nodes():
            try:
                self.network.kill(member, 15)
            except Exception:
                self.network.kill(member)

    # ---- members -----------------------------------------------------------------------
    @property
    def validators(self) -> list[BenchMember]:
        return [m for m in self.network.members if m.validator]

    @property
    def follower(self) -> BenchMember:
        return self.network.university

    def member(self, slug: str) -> BenchMember:
        return next(m for m in self.network.members if m.slug == slug)

    def nodes(self) -> list[BenchMember]:
        """Members whose node process is running now."""
        return [m for m in self.network.members if m.runs_node and m.process is not None
                and m.process.poll() is None]

    def data_dir(self, member: BenchMember) -> Path:
        return self.root / "data" / member.slug

    def height(self, member: BenchMember) -> int | None:
        status, body = http_json(member.api + "/v1/status", timeout_s=5)
        return int(body["height"]) if status == 200 and isinstance(body, dict) else None

    def restart(self, member: BenchMember) -> None:
        self.network.kill(member)
        self.network.start(member)

    def settle(self, deadline_s: float = SETTLE_S) -> bool:
        """Wait until every running node has the same height and an empty mempool."""
        deadline = time.monotonic() + deadline_s
        while time.monotonic() < deadline:
            answers = [http_json(m.api + "/v1/status", timeout_s=5)[1] for m in self.nodes()]
            if (all(isinstance(a, dict) for a in answers)
                    and len({a["height"] for a in answers}) == 1
                    and all(a["mempool"]["transactions"] == 0 for a in answers)):
                return True
            time.sleep(0.3)
        return False

    # ---- honest load -------------------------------------------------------------------
    def honest_targets(self) -> list[BenchMember]:
        return [m for m in self.nodes() if m.slug not in self.honest_exclude]

    def _submit(self, api: str, txs: list[Transaction]) -> bool:
        body = encode([tx.encode() for tx in txs])
        status, answer = http_json(api + "/v1/transactions", body, SUBMIT_TIMEOUT_S,
                                   "application/msgpack")
        return status == 202 and isinstance(answer, dict) and answer.get("rejected") == 0

    def run_phase(self, seconds: float) -> PhaseResult:
        """Honest load for `seconds` while sampling RSS; returns what the clients saw."""
        ticks = max(1, int(seconds / TICK_S))
        height = self.height(self.network.ministry) or 0
        txs = single_credential_txs(self.network.university.keys, self.chain_id,
                                    ticks * GROUP_TXS, height + 100_000)
        disk_before = {m.slug: tree_mb(self.data_dir(m)) for m in self.nodes()}
        sampler = _ResourceSampler(self)
        sampler.start()
        watchers: list[tuple[_GroupWatcher | None, float]] = []
        started = time.monotonic()
        phase_end = started + ticks * TICK_S
        failed = 0
        for tick in range(ticks):
            time.sleep(max(0.0, started + tick * TICK_S - time.monotonic()))
            targets = self.honest_targets()
            group = txs[tick * GROUP_TXS:(tick + 1) * GROUP_TXS]
            sent_at = time.monotonic()
            if not targets or not self._submit(targets[tick % len(targets)].api, group):
                failed += 1
                watchers.append((None, sent_at))
                continue
            watcher = _GroupWatcher(targets[tick % len(targets)].api, group[-1].tx_id.hex(),
                                    sent_at, phase_end + LATE_S)
            watcher.start()
            watchers.append((watcher, sent_at))
        for started_watcher, _ in watchers:
            if started_watcher is not None:
                started_watcher.join(timeout=LATE_S + 30)
        sampler.stop.set()
        sampler.join()
        longest_ms = (phase_end + LATE_S - started) * 1000
        latencies: list[float] = []
        committed = 0
        for finished, sent_at in watchers:
            done = finished.committed_at if finished is not None else None
            latencies.append(longest_ms if done is None else (done - sent_at) * 1000)
            if done is not None and done <= phase_end + COMMIT_GRACE_S:
                committed += GROUP_TXS
        latencies.sort()
        disk_growth = max((tree_mb(self.data_dir(m)) - before
                           for m in self.network.members if (before := disk_before.get(m.slug))
                           is not None), default=0.0)
        return PhaseResult(
            seconds=ticks * TICK_S, offered_txs=ticks * GROUP_TXS, committed_txs=committed,
            failed_submits=failed * GROUP_TXS, p50_ms=statistics.median(latencies),
            p99_ms=latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
            rss_growth_mb=sampler.growth_mb(), disk_growth_mb=disk_growth, extra={})
