"""Equivocation evidence goes on chain by itself: a validator's node submits what it finds.

Only validators run the replica, so only validators find equivocation; a follower
never submits. When the engine records a piece of evidence for the first time
(`node.evidence.record_evidence` said it was new), it hands the report to
`EvidenceSubmitter.found` on the event loop. The submitter checks, in order:

- the kind is one the ledger can prove (two conflicting pre-prepares, prepares or
  commits); forged view changes and commit proofs stay local evidence only;
- both messages fit the ledger's `MAX_EVIDENCE_MESSAGE_BYTES`: a pre-prepare
  carries its whole block and is signed over it, so there is no smaller form the
  ledger could check; a bigger one is skipped with a log line;
- fewer than EVIDENCE_SUBMISSIONS_PENDING_MAX submissions of this node are in
  flight (checking, admission, waiting for the commit);
- the chain does not already hold evidence for that (validator, kind, height, view).

Then it signs a `submit_evidence` transaction with the node's own key and hands it
to `NodeCore.submit`, the path API submissions take: checked against the
committed state, pended and gossiped. When several validators see the same fault,
each submits; the ledger keeps the first to reach a block and refuses the others
as `duplicate_evidence`, so the chain holds each fault once.

Evidence is submitted once per node: a node that restarts before its submission
was admitted does not submit it again (its local record is no longer new); any
other validator that saw the fault does.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from consensus import ReportEvidence
from ledger.equivocation import evidence_key
from ledger.errors import MalformedInput, TxRejected
from ledger.payloads import SubmitEvidencePayload
from ledger.payloads_consortium import MAX_EVIDENCE_MESSAGE_BYTES
from ledger.transactions import build_transaction
from ledger.validator_sets import StateReader
from node.engine_thread import EngineBusy
from node.evidence import EQUIVOCATION_KINDS, UNKNOWN, message_height_and_view
from node.service import NodeCore

log = logging.getLogger("senim.evidence")

# Submissions of this node in flight at once; a Byzantine validator equivocating at
# every height cannot make a node queue more (further ones are dropped and counted).
EVIDENCE_SUBMISSIONS_PENDING_MAX = 16
# An evidence transaction may wait this many blocks before it expires.
EVIDENCE_TX_LIFETIME_BLOCKS = 1_000
# How long a submission waits for its commit (and counts as in flight).
EVIDENCE_COMMIT_WAIT_S = 120.0
SUBMITTABLE_KINDS = frozenset(EQUIVOCATION_KINDS.values())


class NotSubmittable(Exception):
    """This evidence cannot go on chain; the message says why."""


@dataclass(frozen=True)
class EvidenceSlot:
    """What the chain keeps one record of."""

    validator: bytes
    kind: str
    height: int
    view: int

    @property
    def state_key(self) -> bytes:
        return evidence_key(self.validator, self.kind, self.height, self.view)

    def describe(self) -> str:
        return (f"{self.kind} by validator {self.validator.hex()[:16]} at height "
                f"{self.height}, view {self.view}")


def evidence_slot(found: ReportEvidence) -> EvidenceSlot:
    height, view = message_height_and_view(found.first)
    return EvidenceSlot(bytes(found.validator), found.kind, height, view)


def evidence_payload(found: ReportEvidence) -> SubmitEvidencePayload:
    """The payload the ledger checks for `found`; NotSubmittable if it has none."""
    if found.kind not in SUBMITTABLE_KINDS:
        raise NotSubmittable(f"{found.kind} is not a conflict the ledger can check; "
                             "kept as local evidence only")
    slot = evidence_slot(found)
    if slot.height == UNKNOWN:
        raise NotSubmittable("the first message does not decode")
    largest = max(len(found.first), len(found.second))
    if largest > MAX_EVIDENCE_MESSAGE_BYTES:
        raise NotSubmittable(f"a message of {largest} bytes exceeds the ledger's "
                             f"{MAX_EVIDENCE_MESSAGE_BYTES} (a proposal carries its whole "
                             "block); kept as local evidence only")
    try:
        return SubmitEvidencePayload.from_array([found.first, found.second])
    except MalformedInput as exc:
        raise NotSubmittable(str(exc)) from exc


def evidence_on_chain(state: StateReader, slot: EvidenceSlot) -> bool:
    return state.get(slot.state_key) is not None


class EvidenceSubmitter:
    """Lives on the event loop; `found` is the engine's `on_new_evidence`, passed over
    with `loop.call_soon_threadsafe` by the daemon."""

    def __init__(self, core: NodeCore) -> None:
        self._core = core
        self._in_flight: set[asyncio.Task[None]] = set()
        self.dropped = 0  # over the in-flight limit
        self.submitted = 0  # admitted to the mempool and gossiped

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    def found(self, found: ReportEvidence) -> None:
        slot = evidence_slot(found)
        try:
            payload = evidence_payload(found)
        except NotSubmittable as exc:
            log.info("evidence of %s not submitted on chain: %s", slot.describe(), exc)
            return
        if len(self._in_flight) >= EVIDENCE_SUBMISSIONS_PENDING_MAX:
            self.dropped += 1
            log.warning("evidence of %s not submitted on chain: %d submissions already in "
                        "flight", slot.describe(), EVIDENCE_SUBMISSIONS_PENDING_MAX)
            return
        task = asyncio.get_running_loop().create_task(self._submit(slot, payload))
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)

    async def _submit(self, slot: EvidenceSlot, payload: SubmitEvidencePayload) -> None:
        core = self._core
        try:
            if await core.in_worker(evidence_on_chain, core.chain.state, slot):
                log.info("evidence of %s is already on chain", slot.describe())
                return
            tx = build_transaction(core.keys, core.chain_id, payload,
                                   core.chain.height + EVIDENCE_TX_LIFETIME_BLOCKS)
            [(_, refusal)] = await core.submit([tx.encoded])
        except (EngineBusy, MalformedInput, TxRejected) as exc:
            log.warning("evidence of %s not submitted on chain: %s", slot.describe(), exc)
            return
        if refusal is not None:
            # held already, or enough against that validator (rules version 11): no fault
            level = (logging.INFO if refusal.code in ("duplicate_evidence", "evidence_enough")
                     else logging.WARNING)
            log.log(level, "evidence of %s refused: %s (%s)", slot.describe(), refusal.message,
                    refusal.code)
            return
        self.submitted += 1
        log.warning("submitted evidence of %s on chain (transaction %s)", slot.describe(),
                    tx.tx_id.hex())
        status = await core.wait_for(tx.tx_id, EVIDENCE_COMMIT_WAIT_S)
        log.info("evidence transaction %s: %s%s", tx.tx_id.hex()[:16], status.status,
                 f" ({status.code})" if status.code else "")

    async def close(self) -> None:
        for task in list(self._in_flight):
            task.cancel()
        await asyncio.gather(*self._in_flight, return_exceptions=True)
