"""A validator's node puts new equivocation evidence on chain by itself, bounded."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Iterator

import pytest

from consensus import ReportEvidence
from consensus.messages import Prepare, PrePrepare, ViewChange
from consensus.types import Digest, Height, ValidatorId, View
from ledger.equivocation import EvidenceRecord, evidence_count, evidence_key
from ledger.payloads_consortium import KIND_SUBMIT_EVIDENCE, MAX_EVIDENCE_MESSAGE_BYTES
from node.evidence_submit import (
    EVIDENCE_SUBMISSIONS_PENDING_MAX,
    EvidenceSubmitter,
    NotSubmittable,
    evidence_payload,
)
from node.gauges import refresh_evidence_metrics
from node.mempool import MempoolLimits
from node.metrics import NodeMetrics
from node.service import NodeCore
from storage.kv import MemoryStore
from tests.node.conftest import Consortium, make_tx
from tests.node.engine_node import running_engine
from tests.node.test_ledger_evidence import signed

DEADLINE_S = 30.0


def conflicting_prepares(net: Consortium, height: int, view: int = 0) -> ReportEvidence:
    """The single validator of the test consortium (the ministry) voted two ways."""
    first, second = (signed(net.ministry, Prepare(View(view), Height(height),
                                                  Digest(os.urandom(32)))) for _ in range(2))
    return ReportEvidence("conflicting-prepare", ValidatorId(net.ministry.member_id),
                          first, second)


@pytest.fixture
def core(net: Consortium) -> Iterator[NodeCore]:
    kv = MemoryStore()
    node = NodeCore(net.ministry, net.genesis, kv,
                    MempoolLimits(max_txs=1_000, max_bytes=16 << 20, max_per_sender=1_000),
                    NodeMetrics())
    yield node
    node.worker.shutdown(wait=True)
    kv.close()


@pytest.fixture
async def submitter(core: NodeCore) -> AsyncIterator[EvidenceSubmitter]:
    found = EvidenceSubmitter(core)
    yield found
    await found.close()


async def settled(submitter: EvidenceSubmitter) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while submitter.in_flight:
        assert time.monotonic() < deadline, "submissions did not settle"
        await asyncio.sleep(0.01)


async def test_new_evidence_goes_on_chain_once(core: NodeCore, net: Consortium,
                                               submitter: EvidenceSubmitter) -> None:
    gossiped: list[bytes] = []
    core.on_admitted = gossiped.extend
    # Of height 1, which the first block reaches: evidence of a height the chain has not
    # reached is refused (rules version 11 on).
    report = conflicting_prepares(net, height=1)
    async with running_engine(core):
        submitter.found(report)
        await settled(submitter)
        stored = core.chain.state.get(evidence_key(net.ministry.member_id,
                                                   "conflicting-prepare", 1, 0))
        assert stored is not None
        record = EvidenceRecord.decode(stored)
        assert record.submitted_by == net.ministry.member_id
        assert core.chain.tx_location(record.tx_id) is not None
        assert len(gossiped) == 1 and submitter.submitted == 1
        # The same fault seen again, with other messages: the chain has it, nothing is sent.
        submitter.found(conflicting_prepares(net, height=1))
        await settled(submitter)
    assert submitter.submitted == 1 and len(gossiped) == 1
    assert len(core.mempool) == 0 and evidence_count(core.chain.state) == 1
    refresh_evidence_metrics(core.metrics, submitter)  # what an operator's /metrics shows
    assert core.metrics.registry.get_sample_value("senim_evidence_submitted") == 1


async def test_evidence_pending_elsewhere_is_refused_at_block_not_twice_on_chain(
        core: NodeCore, net: Consortium, submitter: EvidenceSubmitter) -> None:
    """Another validator's transaction for the same fault commits first: ours is refused
    as a duplicate and the chain keeps one record."""
    report = conflicting_prepares(net, height=1)  # reached by the first block
    async with running_engine(core):
        other = make_tx(net.employer, evidence_payload(conflicting_prepares(net, height=1)))
        [(_, refusal)] = await core.submit([other.encode()])
        assert refusal is None
        submitter.found(report)
        await settled(submitter)
        deadline = time.monotonic() + DEADLINE_S
        while core.chain.tx_location(other.tx_id) is None:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.01)
    assert evidence_count(core.chain.state) == 1
    record = EvidenceRecord.decode(core.chain.state.get(evidence_key(
        net.ministry.member_id, "conflicting-prepare", 1, 0)) or b"")
    assert record.tx_id == other.tx_id


async def test_in_flight_submissions_are_capped(core: NodeCore, net: Consortium,
                                                submitter: EvidenceSubmitter) -> None:
    """No engine commits here, so every submission stays in flight, waiting for its block."""
    extra = 5
    # Distinct faults in the views of height 1: evidence of a height the chain has not
    # reached is refused (rules version 11 on), and this chain stays at 0.
    for view in range(EVIDENCE_SUBMISSIONS_PENDING_MAX + extra):
        submitter.found(conflicting_prepares(net, height=1, view=view))
    assert submitter.in_flight == EVIDENCE_SUBMISSIONS_PENDING_MAX
    assert submitter.dropped == extra
    deadline = time.monotonic() + DEADLINE_S
    while len(core.mempool) < EVIDENCE_SUBMISSIONS_PENDING_MAX:
        assert time.monotonic() < deadline, "submissions were not admitted"
        await asyncio.sleep(0.01)
    pending = core.mempool.take(1_000, 1 << 30)
    assert len(pending) == EVIDENCE_SUBMISSIONS_PENDING_MAX
    assert {tx.kind for tx in pending} == {KIND_SUBMIT_EVIDENCE}
    assert submitter.in_flight == EVIDENCE_SUBMISSIONS_PENDING_MAX  # waiting for commits
    submitter.found(conflicting_prepares(net, height=999))
    assert submitter.dropped == extra + 1
    refresh_evidence_metrics(core.metrics, submitter)
    assert core.metrics.registry.get_sample_value("senim_evidence_dropped") == extra + 1


def test_only_provable_evidence_that_fits_is_submittable(net: Consortium) -> None:
    me = ValidatorId(net.ministry.member_id)
    big = [signed(net.ministry, PrePrepare(View(0), Height(2), Digest(os.urandom(32)),
                                           os.urandom(MAX_EVIDENCE_MESSAGE_BYTES)))
           for _ in range(2)]
    with pytest.raises(NotSubmittable, match="exceeds"):
        evidence_payload(ReportEvidence("conflicting-pre-prepare", me, *big))
    change = signed(net.ministry, ViewChange(View(1), Height(2), None))
    with pytest.raises(NotSubmittable, match="local evidence only"):
        evidence_payload(ReportEvidence("invalid-view-change", me, change, b""))
    small = [signed(net.ministry, PrePrepare(View(0), Height(2), Digest(os.urandom(32)),
                                             os.urandom(1_000))) for _ in range(2)]
    payload = evidence_payload(ReportEvidence("conflicting-pre-prepare", me, *small))
    assert (payload.first, payload.second) == tuple(small)
