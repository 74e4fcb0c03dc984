"""Prometheus metrics of one node (own registry, so tests can run several nodes)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class NodeMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.height = Gauge("senim_height", "Height of the last committed block",
                            registry=self.registry)
        self.view = Gauge("senim_view", "Current consensus view", registry=self.registry)
        self.txs_committed = Counter("senim_transactions_committed",
                                     "Transactions committed", registry=self.registry)
        self.txs_refused = Counter("senim_transactions_refused",
                                   "Transactions refused, by reason", ["reason"],
                                   registry=self.registry)
        self.mempool_txs = Gauge("senim_mempool_transactions", "Pending transactions",
                                 registry=self.registry)
        self.block_seconds = Histogram(
            "senim_block_commit_seconds", "Time to build/execute and commit a block",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=self.registry)
        self.peers = Gauge("senim_peers_connected", "Authenticated peer connections",
                           registry=self.registry)
        self.http_requests = Counter("senim_http_requests", "HTTP requests by status",
                                     ["status"], registry=self.registry)
        self.public_jobs = Gauge("senim_public_jobs",
                                 "API verification and admission jobs queued or running",
                                 registry=self.registry)
        self.public_refusals = Counter(
            "senim_public_refusals", "Public requests refused or slowed, by reason "
            "(busy, rate_limited, slowed)", ["reason"], registry=self.registry)
