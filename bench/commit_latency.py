"""Commit latency at a fixed offered load, as a client with kept-alive connections sees it.

Groups of transactions are posted to the validators in turn at a steady rate; a sample
of groups has its last transaction long-polled until committed. The client keeps one
HTTP connection per node for its posts and one per node in each watcher, as an
issuing system or an HR portal would, rather than opening a connection and a thread
for every request: on this machine the client shares the nodes' two cores, and a
connection and a thread a sample cost the nodes' figure several milliseconds
(BENCHMARKS.md, session 37).
"""

from __future__ import annotations

import http.client
import json
import queue
import random
import statistics
import threading
import time
from urllib.parse import urlsplit

from bench.network import BenchMember, BenchNetwork
from bench.single_node import single_credential_txs
from ledger.codec import encode
from ledger.transactions import Transaction

LATENCY_SECONDS = 10.0
SAMPLES_PER_S = 10  # groups long-polled a second: enough samples, little load
WATCHERS = 6  # long-polls in flight at once; a commit takes tens of milliseconds
WAIT_S = 30.0  # one long-poll's wait, and the deadline of every request


# What a kept connection the server has closed meanwhile (its keep-alive timeout, or a
# restart) raises on the next request: that request is sent again, once, on a new
# connection. A server closing an idle connection read none of it; a post it did read
# and admit is refused the second time as `duplicate`, which the run stops on.
CLOSED_MEANWHILE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


class KeptConnections:
    """One kept-alive HTTP connection per node API, opened on first use."""

    def __init__(self) -> None:
        self._connections: dict[str, http.client.HTTPConnection] = {}

    def ask(self, api: str, method: str, path: str, body: bytes | None = None
            ) -> dict[str, object]:
        """The JSON answer; RuntimeError naming the status for any other."""
        headers = {"Content-Type": "application/msgpack"} if body is not None else {}
        for attempt in range(2):
            connection = self._connections.get(api)
            if connection is None:
                address = urlsplit(api)
                connection = http.client.HTTPConnection(address.hostname or "127.0.0.1",
                                                        address.port, timeout=WAIT_S + 10)
                self._connections[api] = connection
            try:
                connection.request(method, path, body=body, headers=headers)
                response = connection.getresponse()
                text = response.read()
                break
            except CLOSED_MEANWHILE:
                connection.close()
                del self._connections[api]
                if attempt:
                    raise
        try:
            answer: dict[str, object] = json.loads(text)
        except ValueError:
            raise RuntimeError(f"{method} {path}: {response.status}, not JSON: "
                               f"{text[:200]!r}") from None
        if response.status >= 300:
            raise RuntimeError(f"{method} {path}: {response.status} {answer}")
        return answer

    def close(self) -> None:
        for connection in self._connections.values():
            connection.close()


Sample = tuple[str, bytes, float]  # node API, the group's last transaction, when posted


def _watch(samples: queue.Queue[Sample | None], latencies_ms: list[float],
           failures: list[str]) -> None:
    connections = KeptConnections()
    try:
        while (sample := samples.get()) is not None:
            api, tx_id, sent_at = sample
            try:
                answer = connections.ask(api, "GET", f"/v1/transactions/{tx_id.hex()}"
                                                     f"?wait={WAIT_S:.0f}")
            except (OSError, http.client.HTTPException, RuntimeError) as exc:
                # Noted, not raised: a watcher that died took its samples with it, and
                # the figure came from the rest as though nothing had failed.
                failures.append(f"{tx_id.hex()[:12]}: {exc!r}")
                continue
            if answer.get("status") == "committed":
                latencies_ms.append((time.monotonic() - sent_at) * 1000)
            else:
                failures.append(f"{tx_id.hex()[:12]}: {answer}")
    finally:
        connections.close()


class Watchers:
    """WATCHERS threads long-polling each sample put to `samples` until committed, for
    the time of a `with` block: its latencies, and what failed, are read after it."""

    def __init__(self) -> None:
        self.samples: queue.Queue[Sample | None] = queue.Queue()
        self.latencies_ms: list[float] = []
        self.failures: list[str] = []
        self._threads = [threading.Thread(target=_watch, daemon=True, args=(
            self.samples, self.latencies_ms, self.failures)) for _ in range(WATCHERS)]

    def __enter__(self) -> Watchers:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        for _ in self._threads:
            self.samples.put(None)
        for thread in self._threads:
            thread.join(timeout=WAIT_S + 30)

    def percentiles(self) -> dict[str, float]:
        latencies = sorted(self.latencies_ms)
        return {"samples": len(latencies), "p50_ms": statistics.median(latencies),
                "p99_ms": latencies[max(0, int(len(latencies) * 0.99) - 1)]}


def sampled(tick: int, node_count: int, sample_every: int, taken: int) -> bool:
    """Whether the group of `tick` (posted to node tick % node_count) is long-polled, when
    `taken` groups were: the first tick from `taken * sample_every` on that posts to the
    next node in turn, so every node's groups are sampled alike (every 10th tick of 4
    nodes was only ever nodes 0 and 2, and which is the primary matters)."""
    return tick >= taken * sample_every and tick % node_count == taken % node_count


def commit_latency(network: BenchNetwork, rate_tx_s: int, group_txs: int,
                   seconds: float = LATENCY_SECONDS) -> dict[str, float]:
    """p50 and p99 from posting a group of `group_txs` to its last transaction's commit
    seen by the node it was posted to, at `rate_tx_s` offered (a group every
    group_txs / rate_tx_s seconds)."""
    nodes: list[BenchMember] = [m for m in network.members if m.runs_node]
    status = network.status(nodes[0])
    tick_s = group_txs / rate_tx_s
    ticks = int(seconds / tick_s)
    txs: list[Transaction] = single_credential_txs(
        network.university.keys, status["chain_id"], group_txs * ticks, status["height"] + 100_000)
    sample_every = max(1, round(1 / (SAMPLES_PER_S * tick_s)))
    posts = KeptConnections()
    taken = 0
    with Watchers() as watching:
        try:
            started = time.monotonic()
            for tick in range(ticks):
                time.sleep(max(0.0, started + tick * tick_s - time.monotonic()))
                group = txs[tick * group_txs:(tick + 1) * group_txs]
                node = nodes[tick % len(nodes)]
                sent_at = time.monotonic()
                answer = posts.ask(node.api, "POST", "/v1/transactions",
                                   encode([tx.encode() for tx in group]))
                assert answer["rejected"] == 0, answer
                if sampled(tick, len(nodes), sample_every, taken):
                    watching.samples.put((node.api, group[-1].tx_id, sent_at))
                    taken += 1
        finally:
            posts.close()
    assert not watching.failures, f"sampled transactions not committed: {watching.failures[:3]}"
    return {"offered_tx_s": rate_tx_s, "group_txs": group_txs, "tick_ms": tick_s * 1000,
            "groups": ticks, "posted": group_txs * ticks, **watching.percentiles()}


ARRIVALS_SEED = 38  # the same arrival times in every run, so that runs compare


def arrival_times(rate_tx_s: float, seconds: float, seed: int = ARRIVALS_SEED) -> list[float]:
    """Independent arrivals at `rate_tx_s` on average (a Poisson process: exponential
    gaps), seconds from the start, all before `seconds`."""
    rng = random.Random(seed)
    times: list[float] = []
    at = rng.expovariate(rate_tx_s)
    while at < seconds and len(times) < int(rate_tx_s * seconds * 2) + 10:
        times.append(at)
        at += rng.expovariate(rate_tx_s)
    return times


def arrival_sample_every(rate_tx_s: float) -> int:
    """Every how many of its own transactions a poster has one long-polled, for
    SAMPLES_PER_S samples a second in all: each poster numbers only its share (1/n of
    `rate_tx_s`, sampled 1/n of SAMPLES_PER_S times a second), so the node count cancels
    out. More would queue the samples behind the WATCHERS' long-polls, and a sample's
    latency is read when its long-poll ends."""
    return max(1, round(rate_tx_s / SAMPLES_PER_S))


def _post_alone(node: BenchMember, txs: list[Transaction], times: list[float], started: float,
                samples: queue.Queue[Sample | None], sample_every: int,
                failures: list[str]) -> None:
    """Post each transaction alone at its time (at once if this poster is behind)."""
    posts = KeptConnections()
    try:
        for number, (tx, at) in enumerate(zip(txs, times, strict=True)):
            time.sleep(max(0.0, started + at - time.monotonic()))
            try:
                answer = posts.ask(node.api, "POST", "/v1/transactions", encode([tx.encode()]))
            except (OSError, http.client.HTTPException, RuntimeError) as exc:
                failures.append(f"post {tx.tx_id.hex()[:12]}: {exc!r}")
                return
            if answer.get("rejected") != 0:
                failures.append(f"post {tx.tx_id.hex()[:12]}: {answer}")
                return
            if number % sample_every == 0:
                # From the time it was due, not when it left: a poster running behind
                # would otherwise hide the wait it caused (coordinated omission).
                samples.put((node.api, tx.tx_id, started + at))
    finally:
        posts.close()


def commit_latency_arrivals(network: BenchNetwork, rate_tx_s: int,
                            seconds: float = LATENCY_SECONDS) -> dict[str, float]:
    """p50 and p99 at `rate_tx_s` offered as independent transactions, each posted alone
    at Poisson arrival times to a node (one poster per node, each with its share of the
    arrivals), as many separate clients would: open loop, latency counted from each
    transaction's due time to its commit seen by the node it was posted to."""
    nodes: list[BenchMember] = [m for m in network.members if m.runs_node]
    status = network.status(nodes[0])
    times = arrival_times(rate_tx_s, seconds)
    txs: list[Transaction] = single_credential_txs(
        network.university.keys, status["chain_id"], len(times), status["height"] + 100_000)
    sample_every = arrival_sample_every(rate_tx_s)
    with Watchers() as watching:
        started = time.monotonic() + 0.05  # every poster starts before the first arrival
        posters = [threading.Thread(target=_post_alone, daemon=True, args=(
            node, txs[index::len(nodes)], times[index::len(nodes)], started,
            watching.samples, sample_every, watching.failures))
            for index, node in enumerate(nodes)]
        for poster in posters:
            poster.start()
        for poster in posters:
            poster.join(timeout=seconds + WAIT_S)
        # One still posting would put its latest samples, the ones most behind, after the
        # watchers stopped: the figure would leave out the worst of them.
        watching.failures.extend(f"{node.name}: still posting after {seconds + WAIT_S:.0f} s"
                                 for node, poster in zip(nodes, posters, strict=True)
                                 if poster.is_alive())
    assert not watching.failures, (f"transactions not posted or not committed: "
                                   f"{watching.failures[:3]}")
    return {"offered_tx_s": rate_tx_s, "posted": len(times), **watching.percentiles()}
