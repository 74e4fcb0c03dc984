"""The node simulator's evidence: what the daemon does with the evidence its engine
finds (node/evidence_submit.py: sign a transaction, admit it, gossip it), and the checks
that honest nodes end holding each fault once, by one committed transaction, and none
against an honest validator. `tests.sim.node_sim.NodeSimulation` runs on it.
"""

import hashlib
from abc import abstractmethod

from consensus import ValidatorId
from ledger.equivocation import PREFIX_EVIDENCE, EvidenceRecord
from ledger.errors import TxRejected
from ledger.genesis import Genesis
from ledger.payloads_consortium import KIND_SUBMIT_EVIDENCE
from ledger.transactions import NONCE_BYTES, Transaction
from node.evidence import list_evidence
from node.evidence_submit import (
    EVIDENCE_TX_LIFETIME_BLOCKS,
    EvidenceSlot,
    NotSubmittable,
    evidence_on_chain,
    evidence_payload,
    evidence_slot,
)
from tests.sim.seeded import SeededSimulation
from tests.sim.sim_node import SimNode


class EvidenceFlow(SeededSimulation[SimNode]):
    genesis: Genesis
    # Evidence transactions the nodes submitted, by the fault each proves, with who
    # submitted it.
    evidence_txs: dict[EvidenceSlot, list[tuple[int, Transaction]]]
    _faulty: set[ValidatorId]

    @abstractmethod
    def now_ms(self) -> int: ...

    @abstractmethod
    def _input(self, node: SimNode, call: "object") -> None: ...

    @abstractmethod
    def _honest(self) -> list[SimNode]: ...

    # -- what the daemon does with evidence ----------------------------------------------
    def _submit_evidence(self, node: SimNode) -> None:
        """What the daemon does with the engine's new evidence (node/evidence_submit.py):
        unless the chain has it, sign a transaction and admit it here; gossip takes
        it to the peers this node reaches."""
        found, node.found_evidence = node.found_evidence, []
        for report in found:
            engine = node.engine
            if engine is None:
                return
            slot = evidence_slot(report)
            try:
                payload = evidence_payload(report)
            except NotSubmittable:
                continue
            if evidence_on_chain(engine.chain.state, slot):
                continue
            # A nonce from the evidence, not from the seed's generator: the schedule of
            # every seed stays what it was up to the first evidence.
            nonce = hashlib.sha256(bytes([node.index]) + report.first
                                   + report.second).digest()[:NONCE_BYTES]
            unsigned = Transaction(node.keys.member_id, nonce,
                                   engine.chain.height + EVIDENCE_TX_LIFETIME_BLOCKS, payload)
            tx = Transaction(unsigned.sender, nonce, unsigned.expires_at, payload,
                             node.keys.sign_raw(unsigned.signed_message(self.genesis.chain_id)))
            if not self._offer_evidence(node, tx):
                continue  # the ledger cannot check it (e.g. two commits for one block)
            self.evidence_txs.setdefault(slot, []).append((node.index, tx))
            for peer in self.nodes:
                if peer is not node and self._network.connected(node.index, peer.index):
                    self._offer_evidence(peer, tx)

    def _offer_evidence(self, node: SimNode, tx: Transaction) -> bool:
        """Admission of a transaction a node may refuse (evidence another got on chain
        first); True if it is pending or committed here."""
        engine = node.engine
        if engine is None:
            return False
        if engine.chain.is_committed(tx.tx_id) or tx.tx_id in engine.mempool:
            return True
        try:
            engine.chain.check_pending(tx, self.now_ms(), signature_ok=False)
        except TxRejected:
            return False
        engine.mempool.add(tx, len(tx.encode()))
        self._input(node, engine.work_available)
        return True

    def _pending_evidence(self, node: SimNode) -> list[Transaction]:
        """Submitted evidence `node`'s chain does not hold yet; none while it is down
        (it may have died again while being handed the work it missed)."""
        engine = node.engine
        if engine is None:
            return []
        return [tx for slot, txs in self.evidence_txs.items()
                if not evidence_on_chain(engine.chain.state, slot) for _, tx in txs]

    # -- invariants ------------------------------------------------------------------------
    def _check_evidence(self) -> None:
        honest_ids = {n.validator.hex() for n in self.nodes if n.validator not in self._faulty}
        for node in self._honest():
            for row in list_evidence(node.store):
                if row["validator"] in honest_ids:
                    self._violation(f"evidence ({row['kind']}) against an honest validator")
            self._check_chain_evidence(node)

    def _check_chain_evidence(self, node: SimNode) -> None:
        """On chain: each fault a node submitted is held once, by one committed
        transaction, and none is against an honest validator."""
        engine = node.engine
        assert engine is not None
        state = engine.chain.state
        records = {key: EvidenceRecord.decode(value)
                   for key, value in state.items_with_prefix(PREFIX_EVIDENCE)}
        if any(slot.state_key not in records for slot in self.evidence_txs):
            self._violation("submitted evidence is missing from an honest node's state")
        honest_keys = {n.keys.public_key for n in self.nodes if n.validator not in self._faulty}
        committed: dict[bytes, int] = {}
        for height in range(1, engine.chain.height + 1):
            block = engine.chain.get_block(height)
            assert block is not None
            for tx in block.transactions:
                if tx.kind == KIND_SUBMIT_EVIDENCE:
                    committed[tx.tx_id] = height
        for record in records.values():
            if record.validator_key in honest_keys:
                self._violation(f"{record.kind} evidence on chain against an honest validator")
            if committed.get(record.tx_id) != record.submitted_height:
                self._violation("an evidence record names no transaction of its block")
        if len(committed) != len(records):
            self._violation(f"{len(committed)} evidence transactions committed for "
                            f"{len(records)} faults on chain")

    def chain_evidence(self, node: SimNode) -> list[EvidenceRecord]:
        assert node.engine is not None
        return [EvidenceRecord.decode(value) for _, value
                in node.engine.chain.state.items_with_prefix(PREFIX_EVIDENCE)]
