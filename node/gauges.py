"""What the daemon reports of itself besides the chain: the status of consensus and
peers in GET /v1/status, and the gauges an operator watches, refreshed once a second."""

from __future__ import annotations

import asyncio
from typing import Any

from node.answer_gate import AnswerGate
from node.api import StatusProvider
from node.engine import Engine
from node.engine_thread import EngineThread
from node.evidence_submit import EvidenceSubmitter
from node.http_server import LimitedAppRunner
from node.metrics import NodeMetrics
from node.network import Network


class NodeStatus(StatusProvider):
    def __init__(self, network: Network, engine: Engine) -> None:
        self.network, self.engine = network, engine

    def consensus(self) -> dict[str, Any]:
        return self.engine.status()

    def peers(self) -> list[dict[str, Any]]:
        return self.network.status()


METRICS_REFRESH_S = 1.0


async def refresh_metrics(metrics: NodeMetrics, engine: Engine, thread: EngineThread,
                          network: Network, sync_questions: AnswerGate,
                          api: LimitedAppRunner, evidence: EvidenceSubmitter) -> None:
    """Gauges an operator watches, read once a second from the engine (plain reads of
    counters the engine thread updates; a second's staleness is fine here), the network,
    the API's connection caps and the evidence submitter."""
    last_view = engine.replica.view if engine.replica is not None else 0
    while True:
        await asyncio.sleep(METRICS_REFRESH_S)
        if engine.replica is not None:
            view = engine.replica.view
            metrics.view.set(view)
            if view > last_view:
                metrics.view_changes.inc(view - last_view)
            last_view = view
        _, unreachable = engine.reachable_validators()
        metrics.validators_unreachable.set(len(unreachable))
        metrics.sync_behind.set(engine.sync.behind(engine.chain.height))
        metrics.peers.set(len(network.peers.connected()))
        metrics.p2p_handshakes_over_rate.set(network.peers.handshakes_over_rate)
        metrics.p2p_connections_over_budget.set(network.peers.connections_over_budget)
        metrics.engine_inputs_dropped.set(thread.dropped_inputs)
        metrics.sync_answers_unasked.set(sync_questions.dropped)
        metrics.sync_serve_waited.set(network.sync_serving.budget.waited_s)
        metrics.sync_serve_dropped.set(network.sync_serving.budget.dropped)
        metrics.sync_serve_busy_answers.set(network.sync_serving.budget.busy)
        refresh_connection_metrics(metrics, api)
        refresh_evidence_metrics(metrics, evidence)


def refresh_evidence_metrics(metrics: NodeMetrics, evidence: EvidenceSubmitter) -> None:
    metrics.evidence_submitted.set(evidence.submitted)
    metrics.evidence_dropped.set(evidence.dropped)


def refresh_connection_metrics(metrics: NodeMetrics, api: LimitedAppRunner) -> None:
    refused, evicted = api.connections_refused_and_evicted()
    metrics.http_connections_refused.set(refused)
    metrics.http_connections_evicted.set(evicted)
