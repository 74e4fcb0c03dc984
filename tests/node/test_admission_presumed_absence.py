"""Admission reads absent keys without a walk down the tree, and never refuses on that.

Its first trial takes "no stored value" for absence (cheap: no walk proving the tree
holds no leaf either). An acceptance is provisional, the block's execution reads
checked; a refusal that rested on a presumed absence is confirmed by a checked trial,
which on a damaged store raises rather than refuses."""

from __future__ import annotations

import os

import pytest

from ledger.chain_layout import STATE_PREFIX
from ledger.errors import TxRejected
from ledger.payloads import IssueBatchPayload
from ledger.records import batch_key, member_key
from ledger.transactions import Transaction
from node.mempool import MempoolLimits
from node.metrics import NodeMetrics
from node.public_work import CommittedView
from node.service import NodeCore
from storage.errors import CorruptStateError
from storage.kv import MemoryStore
from tests.node.conftest import Consortium, accredit, commit, make_tx

VALUE_PREFIX = STATE_PREFIX + b"v"


def _check(core: NodeCore, tx: Transaction) -> Transaction:
    """Admission's check of one transaction, against the head."""
    with CommittedView(core.chain) as view:
        return core._check_in_view(tx, view, core._next_block(view))


def _core(net: Consortium) -> NodeCore:
    return NodeCore(net.ministry, net.genesis, MemoryStore(),
                    MempoolLimits(1_000, 16 << 20, 1_000), NodeMetrics())


def test_a_lost_value_reads_absent_only_when_presumed(net: Consortium) -> None:
    core = _core(net)
    try:
        key = member_key(net.university.member_id)
        core.chain.kv.write({VALUE_PREFIX + key: None})  # lost on disk, leaf still there
        with CommittedView(core.chain) as view:
            assert view.state.get_presuming_absence(key) is None
            with pytest.raises(CorruptStateError, match="does not match the tree"):
                view.state.get(key)
            planted = b"never-written"
            core.chain.kv.write({VALUE_PREFIX + planted: b"x"})
        # A stored value is always checked.
        with CommittedView(core.chain) as view, pytest.raises(CorruptStateError):
            view.state.get_presuming_absence(planted)
    finally:
        core.worker.shutdown(wait=True)


def test_a_refusal_resting_on_a_lost_value_is_never_given(net: Consortium) -> None:
    core = _core(net)
    try:
        tx = make_tx(net.university, IssueBatchPayload("diploma", os.urandom(32), 3))
        with pytest.raises(TxRejected, match="may not issue"):  # sound store: refused
            _check(core, tx)
        core.chain.kv.write({VALUE_PREFIX + member_key(net.university.member_id): None})
        with pytest.raises(CorruptStateError):  # not "unknown_sender"
            _check(core, tx)
    finally:
        core.worker.shutdown(wait=True)


def test_a_duplicate_batch_is_refused_by_admission_and_by_the_block(net: Consortium) -> None:
    core = _core(net)
    try:
        root = os.urandom(32)
        commit(core.chain, [accredit(net, net.university, ["diploma"])])
        commit(core.chain, [make_tx(net.university, IssueBatchPayload("diploma", root, 3))])
        again = make_tx(net.university, IssueBatchPayload("diploma", root, 3))
        with pytest.raises(TxRejected) as refused:
            _check(core, again)
        assert refused.value.code == "duplicate_batch"
        # Its value lost on disk: admission lets it through (provisional), the block
        # execution reads checked and finds the damage.
        core.chain.kv.write({VALUE_PREFIX + batch_key(net.university.member_id, root): None})
        assert _check(core, again).tx_id == again.tx_id
        with pytest.raises(CorruptStateError):
            core.chain.build([again], net.ministry.member_id, 0,
                             core.chain.head_header.time_ms + 1_000)
    finally:
        core.worker.shutdown(wait=True)
