"""Admission keeps what its trials read of members and grants in a committed view
(ledger.block_state.KeptRecords) decoded for every transaction of a submission. Each
transaction is still judged alone against the committed state: what an earlier one of
the same submission wrote in its own trial (a rotated key, a grant added or suspended)
must reach no later one, as when every record was read afresh."""

from __future__ import annotations

import dataclasses
import os

from ledger.block_state import BlockState, KeptRecords
from ledger.credentials import make_batch
from ledger.errors import TxRejected
from ledger.identity import KeyPair
from ledger.key_events import prove_possession
from ledger.payloads import IssueBatchPayload, RotateKeyPayload, SuspendPayload
from ledger.records import Accreditation, Grant, accreditation_key, member_key
from ledger.rules import apply_transaction, check_envelope
from ledger.transactions import Transaction
from node.mempool import MempoolLimits
from node.metrics import NodeMetrics
from node.public_work import CommittedView, ScratchState
from node.service import NodeCore
from storage.kv import MemoryStore
from tests.node.conftest import CHAIN_ID, Consortium, accredit, commit, make_tx

Verdict = tuple[str, str, dict[str, object]] | None


def issuance(keys: KeyPair, credential_type: str) -> Transaction:
    batch = make_batch([{"full_name": "Graduate", "iin": "000000000001"}], credential_type,
                       CHAIN_ID, keys.member_id, "KazNU")
    return make_tx(keys, IssueBatchPayload(credential_type, batch.root, 1))


def _verdict(outcome: Transaction | TxRejected) -> Verdict:
    if isinstance(outcome, TxRejected):
        return outcome.code, outcome.message, dict(outcome.params)
    return None


def straightforward(core: NodeCore, txs: list[Transaction]) -> list[Verdict]:
    """Each transaction checked alone on its own scratch over the committed view, every
    record read and decoded from it (admission before records were kept)."""
    verdicts: list[Verdict] = []
    with CommittedView(core.chain) as view:
        ctx = core._next_block(view)
        for tx in txs:
            scratch = ScratchState(view.state)
            try:
                sender = check_envelope(scratch, tx, ctx, view.is_committed)
                apply_transaction(scratch, tx, sender, ctx)
            except TxRejected as exc:
                verdicts.append(_verdict(exc))
            else:
                verdicts.append(None)
    return verdicts


def test_a_submission_s_transactions_are_each_judged_on_the_committed_state(
        net: Consortium) -> None:
    core = NodeCore(net.ministry, net.genesis, MemoryStore(),
                    MempoolLimits(1_000, 16 << 20, 1_000), NodeMetrics())
    try:
        university, university2 = net.university, net.university2
        commit(core.chain, [accredit(net, university, ["certificate"]),
                            accredit(net, university2, ["certificate"])])
        new = KeyPair.generate()
        rotated = KeyPair.from_seed(new.seed, university2.member_id)
        suspend = SuspendPayload(university.member_id, "investigation")
        txs = [
            issuance(university, "certificate"),  # its records read, and kept
            make_tx(net.ministry, suspend),
            issuance(university, "certificate"),  # suspended only in that trial
            make_tx(university2, RotateKeyPayload(
                new.public_key, prove_possession(new, CHAIN_ID, university2.member_id))),
            issuance(rotated, "certificate"),  # the new key is not yet its key
            issuance(university2, "certificate"),  # the old one still is
            accredit(net, net.employer, ["certificate"]),
            issuance(net.employer, "certificate"),  # granted only in that trial
            issuance(university, "diploma"),  # a type no grant covers
            make_tx(net.ministry, SuspendPayload(university.member_id, "investigation")),
            make_tx(net.outsider, IssueBatchPayload("certificate", os.urandom(32), 1)),
        ]
        outcomes, height = core._check_many([tx.encode() for tx in txs])
        assert height == core.chain.height
        verdicts = [_verdict(o) for o in outcomes]
        assert verdicts == straightforward(core, txs)
        codes = [v[0] if v else None for v in verdicts]
        assert codes == [None, None, None, None, "bad_signature", None, None,
                         "not_accredited", "type_not_accredited", None, "unknown_sender"]
    finally:
        core.worker.shutdown(wait=True)


def test_a_trial_s_own_write_reaches_no_other_trial(net: Consortium) -> None:
    core = NodeCore(net.ministry, net.genesis, MemoryStore(),
                    MempoolLimits(1_000, 16 << 20, 1_000), NodeMetrics())
    try:
        key = member_key(net.university.member_id)
        with CommittedView(core.chain) as view:
            kept = KeptRecords()
            first = BlockState(ScratchState(view.state), kept)
            committed = first.member(net.university.member_id)
            assert committed is not None and committed.name == "KazNU"
            renamed = dataclasses.replace(committed, name="renamed")
            first.set(key, renamed.encode())
            assert first.member(net.university.member_id) == renamed  # its own write
            second = BlockState(ScratchState(view.state), kept)
            assert second.member(net.university.member_id) == committed
            # A grant the first trial wrote, found by it after the write, is its own too.
            university = net.university.member_id
            assert not first.may_issue(university, "attestat", 1, 5)
            first.set(accreditation_key(university), Accreditation((Grant(
                ("attestat",), 0, 10, net.ministry.member_id, 1),)).encode())
            assert first.may_issue(university, "attestat", 1, 5)
            assert not second.may_issue(university, "attestat", 1, 5)
    finally:
        core.worker.shutdown(wait=True)
