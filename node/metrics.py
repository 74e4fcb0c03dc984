"""Prometheus metrics of one node (own registry, so tests can run several nodes)."""

from __future__ import annotations

from prometheus_client import (
    GC_COLLECTOR,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)

# senim_public_refusals' reason for a refusal the node's server made 429 because its
# address's refused bodies (or bodies read) spent its byte rate (`node.http_server`).
REFUSED_BODIES_OVER_RATE = "refused_bodies"


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
            "senim_block_commit_seconds",
            "Seconds from a block's proposal (its header time) to its commit on this node",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=self.registry)
        self.peers = Gauge("senim_peers_connected", "Authenticated peer connections",
                           registry=self.registry)
        self.view_changes = Counter("senim_view_changes", "Consensus views left without a "
                                    "commit (view changes)", registry=self.registry)
        self.validators_unreachable = Gauge(
            "senim_validators_unreachable", "Validators this node has no connection to",
            registry=self.registry)
        self.sync_behind = Gauge("senim_sync_behind_blocks",
                                 "Certified blocks known to exist that this node lacks",
                                 registry=self.registry)
        self.engine_inputs_dropped = Gauge(
            "senim_engine_inputs_dropped", "Network inputs dropped because the engine's "
            "inbox was full (since start)", registry=self.registry)
        self.sync_answers_unasked = Gauge(
            "senim_sync_answers_unasked", "Block-sync answers dropped before the engine's "
            "inbox because this node had not asked their peer (since start)",
            registry=self.registry)
        self.sync_serve_waited = Gauge(
            "senim_sync_serve_waited_seconds", "Time peers' sync questions waited for their "
            "peer's answers to be paid for (node.serve_budget; since start)",
            registry=self.registry)
        self.sync_serve_dropped = Gauge(
            "senim_sync_serve_dropped", "Followers' sync questions not answered because "
            "the followers' shared rate left their peer too small a share to pay for its "
            "last answer within the wait allowed, each told busy if its asker reads busy "
            "answers and was not told already (counted in senim_sync_serve_busy_answers), "
            "else dropped (node.serve_budget; since start)",
            registry=self.registry)
        self.sync_serve_busy_answers = Gauge(
            "senim_sync_serve_busy_answers", "Busy answers handed to peers whose sync "
            "questions were not answered now (their price, every reader in use, or a "
            "failed read of the store), each telling its asker when to ask again "
            "(node.sync_busy, node.sync_serving; since start)",
            registry=self.registry)
        self.http_connections_refused = Gauge(
            "senim_http_connections_refused", "API connections closed at once because the "
            "connection caps (in all, or per address) were reached (since start)",
            registry=self.registry)
        self.p2p_handshakes_over_rate = Gauge(
            "senim_p2p_handshakes_over_rate", "P2P connections closed at their hello "
            "because their address started handshakes faster than its rate (since start)",
            registry=self.registry)
        self.p2p_connections_over_budget = Gauge(
            "senim_p2p_connections_over_budget", "P2P connections reset as they were "
            "accepted because addresses not among the node's peers, all together, opened "
            "them faster than their shared budget (since start)", registry=self.registry)
        self.http_connections_evicted = Gauge(
            "senim_http_connections_evicted", "API connections closed to make room for an "
            "address holding fewer: the address holding the most gives up an idle one, or "
            "its oldest if none is idle (since start)", registry=self.registry)
        self.evidence_submitted = Gauge(
            "senim_evidence_submitted", "Evidence of a validator's misbehaviour this node "
            "found and submitted on chain (since start)", registry=self.registry)
        self.evidence_dropped = Gauge(
            "senim_evidence_dropped", "Evidence this node found but did not submit because "
            "too many submissions were in flight (since start)", registry=self.registry)
        self.store_damage = Counter("senim_store_damage", "Answers refused because the "
                                    "store was found damaged", registry=self.registry)
        self.store_unreadable = Counter(
            "senim_store_unreadable", "Answers refused because the system refused the "
            "node's user a read of the node's own files (their owner or mode, or a lock)",
            registry=self.registry)
        # The process (CPU, memory, open files) and the interpreter (GC, version).
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        self.registry.register(GC_COLLECTOR)
        self.http_requests = Counter("senim_http_requests", "HTTP requests by status",
                                     ["status"], registry=self.registry)
        self.public_jobs = Gauge("senim_public_jobs",
                                 "API verification and admission jobs queued or running",
                                 registry=self.registry)
        self.public_refusals = Counter(
            "senim_public_refusals", "Public requests refused or slowed, by reason "
            "(busy; busy_unchecked: a document the full pool refused, answered busy without "
            "its own checks, their budget spent or the body beyond any credential; "
            "rate_limited; slowed; refused_bodies: a refusal answered 429, its address past "
            "its byte rate)", ["reason"], registry=self.registry)
