"""A Byzantine validator keeps equivocating; several honest validators see it and each
submits the evidence on its own (node/evidence_submit.py, as the simulator wires it).
Every honest node's chain ends up holding each fault exactly once, by one transaction.

Every simulator seed checks the same on chain (NodeSimulation._check_chain_evidence);
these seeds are ones where at least two honest validators submitted the same fault.
"""

import logging
from collections.abc import Iterator

import pytest

from ledger.payloads_consortium import KIND_SUBMIT_EVIDENCE
from node.evidence import list_evidence
from tests.sim.node_sim import NodeSimulation

# (seed, validators): the Byzantine validator equivocates; crashes in 123 and 49.
SEEDS = [(347, 4), (123, 4), (49, 4), (18, 7)]


@pytest.fixture(autouse=True)
def _quiet() -> Iterator[None]:
    logging.disable(logging.CRITICAL)
    yield
    logging.disable(logging.NOTSET)


@pytest.mark.parametrize(("seed", "validators"), SEEDS)
def test_byzantine_equivocation_is_on_chain_once(seed: int, validators: int) -> None:
    simulation = NodeSimulation(seed, validators)
    assert simulation.plan.byzantine == "equivocate"
    simulation.run()
    honest = [node for node in simulation.nodes if node.honest]
    byzantine = next(node for node in simulation.nodes if node.byzantine is not None)

    # It kept equivocating, several honest validators saw the same fault and submitted it.
    assert len(simulation.evidence_txs) >= 2
    assert any(len({index for index, _ in txs}) >= 2
               for txs in simulation.evidence_txs.values())
    seen_by: dict[tuple[str, int | None, int | None], int] = {}
    for node in honest:
        for row in list_evidence(node.store):
            slot = (row["kind"], row["height"], row["view"])
            seen_by[slot] = seen_by.get(slot, 0) + 1
    assert max(seen_by.values()) >= 2

    held = None
    for node in honest:
        assert node.engine is not None
        chain = node.engine.chain
        records = simulation.chain_evidence(node)
        # One record per fault submitted, each against the Byzantine validator ...
        assert {(r.kind, r.height, r.view) for r in records} == {
            (slot.kind, slot.height, slot.view) for slot in simulation.evidence_txs}
        assert len(records) == len(simulation.evidence_txs)
        assert {r.validator_key for r in records} == {byzantine.keys.public_key}
        # ... written by exactly one committed transaction each: the others were refused.
        committed = [tx.tx_id for height in range(1, chain.height + 1)
                     for tx in (chain.get_block(height) or pytest.fail("no block")).transactions
                     if tx.kind == KIND_SUBMIT_EVIDENCE]
        assert sorted(committed) == sorted(r.tx_id for r in records)
        submitted = sum(len(txs) for txs in simulation.evidence_txs.values())
        assert len(committed) < submitted
        # ... and every honest node holds the same records.
        this = sorted((r.kind, r.height, r.view, r.tx_id, r.submitted_height) for r in records)
        assert held is None or this == held
        held = this
