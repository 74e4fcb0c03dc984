"""The chain's key filters (storage.key_filter): once filled, a block of new issuances
and their admission read no absent key from the store, and nothing the store holds is
ever taken for absent: a replay or a repeated batch is still refused, on a reopened
store too, and so is what was committed while the fill ran."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Callable, Iterator

import pytest

from ledger.blocks import ZERO_HASH
from ledger.chain import Chain
from ledger.chain_layout import STATE_PREFIX, TX_INDEX_PREFIX
from ledger.identity import MemberId
from ledger.payloads import IssueBatchPayload
from ledger.transactions import Transaction
from node.key_filters import KeyFilterFill
from node.public_work import CommittedView
from node.service import NodeCore
from storage.errors import CorruptStateError
from storage.key_filter import FILL_CHUNK_KEYS
from storage.kv import KeyValueSnapshot, MemoryStore
from tests.node.conftest import Consortium, accredit, commit, make_tx

VALUES = STATE_PREFIX + b"v"


class AbsentReads(MemoryStore):
    """Counts reads of keys it does not hold, the store's and its snapshots', by prefix;
    `during_scan` runs once, in the middle of the first scan of the transaction index."""

    def __init__(self) -> None:
        super().__init__()
        self.absent: dict[bytes, int] = {TX_INDEX_PREFIX: 0, VALUES: 0}
        self.during_scan: Callable[[], object] | None = None

    def _count(self, key: bytes, value: bytes | None) -> bytes | None:
        if value is None:
            for prefix in self.absent:
                if key.startswith(prefix):
                    self.absent[prefix] += 1
        return value

    def get(self, key: bytes) -> bytes | None:
        return self._count(key, super().get(key))

    def snapshot(self) -> KeyValueSnapshot:
        inner = super().snapshot()
        store = self

        class Counted:
            def get(self, key: bytes) -> bytes | None:
                return store._count(key, inner.get(key))

            def iterate_prefix(self, prefix: bytes, after: bytes | None = None
                       ) -> Iterator[tuple[bytes, bytes]]:
                return inner.iterate_prefix(prefix, after)

            def release(self) -> None:
                inner.release()

        return Counted()

    def iterate_prefix(self, prefix: bytes, after: bytes | None = None
                       ) -> Iterator[tuple[bytes, bytes]]:
        for index, item in enumerate(super().iterate_prefix(prefix, after)):
            yield item
            if index == 0 and prefix == TX_INDEX_PREFIX and self.during_scan is not None:
                during, self.during_scan = self.during_scan, None
                during()


def issuance(net: Consortium) -> Transaction:
    return make_tx(net.university, IssueBatchPayload("diploma", os.urandom(32), 3))


def accredited_chain(net: Consortium) -> tuple[Chain, AbsentReads]:
    kv = AbsentReads()
    chain = Chain(kv, net.genesis)
    commit(chain, [accredit(net, net.university, ["diploma"])])
    return chain, kv


def build(chain: Chain, txs: list[Transaction]) -> list[str]:
    """The refusal codes of a block of `txs` built on the head (nothing committed)."""
    execution = chain.build(txs, MemberId(bytes(20)), 0, chain.head_header.time_ms + 1_000)
    return [refusal.code for _, refusal in execution.rejected]


@pytest.mark.parametrize("filled", [True, False])
def test_a_filled_chain_reads_no_absent_key_for_new_issuances(
        net: Consortium, filled: bool) -> None:
    chain, kv = accredited_chain(net)
    if filled:
        assert chain.fill_key_filters() is not None
    kv.absent = dict.fromkeys(kv.absent, 0)
    commit(chain, [issuance(net) for _ in range(50)])
    # each new issuance: its batch's state value and its replay-index entry
    expected = 0 if filled else 50
    assert kv.absent == {TX_INDEX_PREFIX: expected, VALUES: expected}


def test_a_filled_chain_still_refuses_a_replay_and_a_repeated_batch(net: Consortium) -> None:
    chain, _ = accredited_chain(net)
    before = issuance(net)
    commit(chain, [before])
    chain.fill_key_filters()
    after = issuance(net)
    commit(chain, [after])
    for held in (before, after):
        assert chain.is_committed(held.tx_id)
        repeated = make_tx(net.university, held.payload)
        assert build(chain, [held, repeated]) == ["replayed", "duplicate_batch"]


def test_a_reopened_store_filled_again_refuses_what_it_holds(net: Consortium) -> None:
    chain, kv = accredited_chain(net)
    held = issuance(net)
    commit(chain, [held])
    reopened = Chain(kv, net.genesis)
    reopened.fill_key_filters()
    assert build(reopened, [held, make_tx(net.university, held.payload)]) == [
        "replayed", "duplicate_batch"]


def test_what_commits_while_the_fill_runs_is_held(net: Consortium) -> None:
    chain, kv = accredited_chain(net)
    during = issuance(net)
    kv.during_scan = lambda: commit(chain, [during])  # after the fill's scans began
    assert chain.fill_key_filters() is not None
    assert kv.during_scan is None, "the block was not committed during the fill"
    assert build(chain, [during, make_tx(net.university, during.payload)]) == [
        "replayed", "duplicate_batch"]


async def test_admission_reads_no_absent_key_once_filled_and_still_refuses_a_replay(
        core: NodeCore, net: Consortium) -> None:
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, commit, core.chain,
                               [accredit(net, net.university, ["diploma"])])
    held = issuance(net)
    await loop.run_in_executor(None, commit, core.chain, [held])
    assert core.chain.fill_key_filters() is not None
    with CommittedView(core.chain) as view:
        assert view.is_committed(held.tx_id)
        assert not view.is_committed(issuance(net).tx_id)
    answers = await core.submit([held.encode(), make_tx(net.university, held.payload).encode(),
                                 issuance(net).encode()])
    assert [refusal.code if refusal else None for _, refusal in answers] == [
        "replayed", "duplicate_batch", None]


class HeldScan(MemoryStore):
    """A store whose scans stop after their first chunk of keys until `proceed` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.scanning = threading.Event()
        self.proceed = threading.Event()

    def iterate_prefix(self, prefix: bytes, after: bytes | None = None
                       ) -> Iterator[tuple[bytes, bytes]]:
        for index, item in enumerate(super().iterate_prefix(prefix, after)):
            if index == 0:
                for extra in range(FILL_CHUNK_KEYS):  # a full first chunk
                    yield prefix + b"%d" % extra, b""
                self.scanning.set()
                assert self.proceed.wait(10)
            yield item


def test_the_daemon_fills_beside_the_node_and_logs_it(
        net: Consortium, caplog: pytest.LogCaptureFixture) -> None:
    chain, _ = accredited_chain(net)
    commit(chain, [issuance(net)])
    fill = KeyFilterFill(chain)
    with caplog.at_level(logging.INFO, logger="senim.daemon"):
        fill.start()
        assert fill.wait_ended(10)
    assert chain.state.key_filter.ready and chain.committed_id_filter.ready
    assert any("key filters filled" in r.message for r in caplog.records)


def test_a_fill_stopped_in_the_middle_ends_and_leaves_the_filters_unfilled(
        net: Consortium) -> None:
    kv = HeldScan()
    chain = Chain(kv, net.genesis)
    fill = KeyFilterFill(chain)
    fill.start()
    assert kv.scanning.wait(10)
    stopping = threading.Thread(target=fill.stop)
    stopping.start()
    kv.proceed.set()  # the scan goes on, and the fill stops at its next chunk
    stopping.join(10)
    assert not stopping.is_alive() and fill.wait_ended(0)
    assert not (chain.state.key_filter.ready and chain.committed_id_filter.ready)


def test_a_snapshot_taken_before_the_fill_completed_does_not_use_it(net: Consortium) -> None:
    """A key deleted before a fill began is in no filter, though an older snapshot may
    hold it: such a snapshot reads the store for every key, as before."""
    chain, kv = accredited_chain(net)
    absent = issuance(net)
    with CommittedView(chain) as old:
        chain.fill_key_filters()
        with CommittedView(chain) as new:
            kv.absent = dict.fromkeys(kv.absent, 0)
            assert not new.is_committed(absent.tx_id)
            assert new.state.get_presuming_absence(b"absent key") is None
            assert kv.absent == {TX_INDEX_PREFIX: 0, VALUES: 0}
        assert not old.is_committed(absent.tx_id)
        assert old.state.get_presuming_absence(b"absent key") is None
        assert kv.absent == {TX_INDEX_PREFIX: 1, VALUES: 1}


class DamagedIndex(MemoryStore):
    def iterate_prefix(self, prefix: bytes, after: bytes | None = None
                       ) -> Iterator[tuple[bytes, bytes]]:
        if prefix == TX_INDEX_PREFIX:
            raise CorruptStateError("a table of the index is damaged")
        return super().iterate_prefix(prefix, after)


def test_a_damaged_store_leaves_the_filters_unfilled_and_every_key_read(
        net: Consortium, caplog: pytest.LogCaptureFixture) -> None:
    chain = Chain(DamagedIndex(), net.genesis)
    fill = KeyFilterFill(chain)
    with caplog.at_level(logging.WARNING, logger="senim.daemon"):
        fill.start()
        assert fill.wait_ended(10)
    assert not chain.committed_id_filter.ready
    assert chain.committed_id_filter.may_hold(ZERO_HASH)
    assert any("key filters not filled" in r.message for r in caplog.records)
