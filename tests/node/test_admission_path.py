"""Admission's per-transaction work on the event loop: a submission enters the mempool
under one lock per ADD_PER_LOCK_MAX with the same answers, in order, and the gossip
pre-filter reads no store (admission refuses a replay before checking a signature)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable

import pytest

from ledger import rules
from ledger.errors import TxRejected
from ledger.identity import verify_signature as real_verify
from ledger.payloads import AnchorPayload
from ledger.records import anchor_key
from ledger.transactions import tx_id_of_encoded
from node import mempool as mempool_module
from node.mempool import Mempool, MempoolLimits
from node.public_work import CommittedView
from node.service import NodeCore
from storage.state_tree import StateView
from tests.node.conftest import Consortium, commit, make_tx


def test_add_many_admits_in_order_across_lock_holds(
        net: Consortium, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mempool_module, "ADD_PER_LOCK_MAX", 2)
    pool = Mempool(MempoolLimits(max_txs=4, max_bytes=1 << 20, max_per_sender=3))
    ministry = [make_tx(net.ministry, AnchorPayload(os.urandom(32))) for _ in range(4)]
    employer = make_tx(net.employer, AnchorPayload(os.urandom(32)))
    entries = [(ministry[0], 10), (ministry[0], 10), (ministry[1], 10), (ministry[2], 10),
               (ministry[3], 10), (employer, 10), (employer, 10)]
    outcomes, added = pool.add_many(entries)
    codes = [refusal.code if refusal else None for refusal in outcomes]
    # a repeat is a harmless resubmission; the fourth of one sender is over its limit;
    # the pool is then full at 4.
    assert codes == [None, None, None, None, "sender_limit", None, None]
    assert added == 4
    assert [tx.tx_id for tx in pool.take(10, 1 << 20)] == [
        ministry[0].tx_id, ministry[1].tx_id, ministry[2].tx_id, employer.tx_id]
    more, added = pool.add_many([(make_tx(net.employer, AnchorPayload(os.urandom(32))), 10)])
    assert [refusal.code if refusal else None for refusal in more] == ["mempool_full"]
    assert added == 0 and len(pool) == 4 and pool.size_bytes == 40


async def test_the_gossip_prefilter_reads_no_store_and_admission_refuses_a_replay_unsigned(
        core: NodeCore, net: Consortium, monkeypatch: pytest.MonkeyPatch) -> None:
    committed, pending, refused = (make_tx(net.employer, AnchorPayload(os.urandom(32)))
                                   for _ in range(3))
    await asyncio.get_running_loop().run_in_executor(None, commit, core.chain, [committed])
    assert (await core.submit([pending.encode()]))[0][1] is None
    core.remember_rejected(refused, TxRejected("expired", "expired while pending"))

    def no_store_read(tx_id: bytes) -> bool:
        raise AssertionError("the gossip pre-filter read the store")

    monkeypatch.setattr(core.chain, "is_committed", no_store_read)
    assert core.unknown([tx_id_of_encoded(tx.encode())
                         for tx in (committed, pending, refused)] + [None]) == [
        True, False, False, True]
    monkeypatch.undo()
    # What the pre-filter lets through is refused as a replay before its signature is
    # checked, so a peer re-gossiping old transactions costs no signature checks.
    checks: list[bytes] = []

    def counting_verify(public_key: bytes, message: bytes, signature: bytes) -> bool:
        checks.append(signature)
        return real_verify(public_key, message, signature)

    monkeypatch.setattr(rules, "verify_signature", counting_verify)
    results = await core.submit([committed.encode()], gossip=False)
    assert [refusal.code if refusal else None for _, refusal in results] == ["replayed"]
    assert checks == [] and committed.tx_id not in core.mempool


async def test_a_submission_is_admitted_in_order_over_several_lock_holds(
        core: NodeCore, net: Consortium, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mempool_module, "ADD_PER_LOCK_MAX", 3)
    items = [make_tx(net.employer, AnchorPayload(os.urandom(32))).encode() for _ in range(7)]
    items[4] = b"\x93junk"
    items.append(items[1])  # a repeat within the submission is a harmless resubmission
    results = await core.submit(items)
    assert [refusal.code if refusal else None for _, refusal in results] == [
        None, None, None, None, "malformed", None, None, None]
    admitted = [tx_id for tx_id, refusal in results[:-1] if refusal is None]
    assert [tx.tx_id for tx in core.mempool.take(100, 1 << 30)] == admitted
    assert results[-1][0] == results[1][0]
    assert core.metrics.txs_refused.labels("malformed")._value.get() == 1


async def test_what_a_block_commits_or_refuses_while_it_is_checked_does_not_stay_pending(
        core: NodeCore, net: Consortium, monkeypatch: pytest.MonkeyPatch) -> None:
    """The engine commits a block, and cleans the mempool of what it holds or makes
    invalid, while a submission is being checked against the block before: added after
    that, such a transaction would stay pending for ever on this node (found by the
    consortium bench, whose network then never drained)."""
    document = os.urandom(32)
    in_block, rival, other = (make_tx(net.employer, AnchorPayload(doc))
                              for doc in (os.urandom(32), document, os.urandom(32)))
    anchored = make_tx(net.university, AnchorPayload(document))
    gossiped: list[list[bytes]] = []
    core.on_admitted = gossiped.append
    checking = core.public_work.run
    committed: list[bool] = []

    async def check_then_commit(func, *args):  # type: ignore[no-untyped-def]
        outcome = await checking(func, *args)
        if not committed:  # the engine's commit, between the check and the add
            committed.append(True)
            await asyncio.get_running_loop().run_in_executor(None, commit, core.chain,
                                                             [in_block, anchored])
            core.mempool.remove([in_block.tx_id, anchored.tx_id])
        return outcome

    monkeypatch.setattr(core.public_work, "run", check_then_commit)
    results = await core.submit([in_block.encode(), rival.encode(), other.encode()])
    assert [refusal.code if refusal else None for _, refusal in results] == [
        None, "already_anchored", None]
    assert in_block.tx_id not in core.mempool and rival.tx_id not in core.mempool
    assert other.tx_id in core.mempool
    assert core.tx_status(in_block.tx_id).status == "committed"
    assert core.tx_status(rival.tx_id).status == "rejected"
    assert core.metrics.txs_refused.labels("already_anchored")._value.get() == 1
    assert gossiped == [[other.encode()]]


def keys_passed(monkeypatch: pytest.MonkeyPatch, owner: type, method: str) -> list[bytes]:
    """The key (or id) each call of `owner.method(self, key)` is given, from now on."""
    passed: list[bytes] = []
    original: Callable[[object, bytes], object] = getattr(owner, method)

    def recording(self: object, key: bytes) -> object:
        passed.append(key)
        return original(self, key)

    monkeypatch.setattr(owner, method, recording)
    return passed


async def test_the_late_recheck_presumes_absence_as_admission_does(
        core: NodeCore, net: Consortium, monkeypatch: pytest.MonkeyPatch) -> None:
    """What a block made invalid while a submission was checked is found without the walk
    down the state tree that proves each new key absent (it halved the re-check's cost):
    the rival anchor's key now holds a value, which the store answers at once."""
    document = os.urandom(32)
    await asyncio.get_running_loop().run_in_executor(
        None, commit, core.chain, [make_tx(net.university, AnchorPayload(document))])
    documents = [os.urandom(32) for _ in range(5)]
    fresh = [make_tx(net.employer, AnchorPayload(doc)) for doc in documents]
    rival = make_tx(net.employer, AnchorPayload(document))
    walks = keys_passed(monkeypatch, StateView, "_leaf_value_hash")
    verdicts = core._refused_now([*fresh, rival])
    assert [v.code if v else None for v in verdicts] == [None] * 5 + ["already_anchored"]
    assert walks, "the keys that hold values (the sender's record) are still walked"
    assert not {anchor_key(doc) for doc in documents} & set(walks)


async def test_admission_reads_each_envelope_once(
        core: NodeCore, net: Consortium, monkeypatch: pytest.MonkeyPatch) -> None:
    """The envelope's checks before a signature (sender, expiry, replay) run once per
    transaction: the signature batch's pass hands the trial its sender. A refusal there
    is the answer, with no trial after it."""
    txs = [make_tx(net.employer, AnchorPayload(os.urandom(32))) for _ in range(3)]
    stranger = make_tx(net.outsider, AnchorPayload(os.urandom(32)))
    replay_checks = keys_passed(monkeypatch, CommittedView, "is_committed")
    results = await core.submit([tx.encode() for tx in (*txs, stranger)])
    assert [refusal.code if refusal else None for _, refusal in results] == [
        None, None, None, "unknown_sender"]
    assert sorted(replay_checks) == sorted(tx.tx_id for tx in txs)


async def test_a_forged_submission_is_found_in_its_first_part(
        core: NodeCore, net: Consortium) -> None:
    """20,000 transactions of a member with random signatures: refused as forged after
    the first part, never decoded and handed for checking as a whole (all 20,000 were,
    before the first 32 failures stopped the checks)."""
    from ledger.transactions import Transaction
    from node.public_work import ForgedSubmission
    from node.submission_body import FIRST_PART_TXS

    forged = [Transaction(net.employer.member_id, os.urandom(16), 1_000,
                          AnchorPayload(os.urandom(32)), os.urandom(64)).encode()
              for _ in range(20_000)]
    handed: list[int] = []
    checker = core.check_signatures

    def recording(checks: list[tuple[bytes, bytes, bytes]], failures_max: int = 0) -> list[bool]:
        handed.append(len(checks))
        return checker(checks, failures_max)

    core.check_signatures = recording  # type: ignore[assignment]
    with pytest.raises(ForgedSubmission):
        await core.submit(forged)
    assert sum(handed) <= FIRST_PART_TXS
    assert len(core.mempool) == 0
    good = [make_tx(net.employer, AnchorPayload(os.urandom(32))) for _ in range(300)]
    results = await core.submit([tx.encode() for tx in good])  # spans two parts
    assert [refusal for _, refusal in results] == [None] * 300
    assert sum(handed) <= FIRST_PART_TXS + 300
