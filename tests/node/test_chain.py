"""The chain on disk: genesis, reopen without replay, validation of foreign blocks."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import pytest

import ledger.chain
import ledger.chain_reads
from ledger.blocks import ZERO_HASH, Block, decode_block, transactions_root
from ledger.chain import Chain
from ledger.chain_layout import HEAD_KEY, STATE_PREFIX, TX_INDEX_PREFIX
from ledger.codec import decode, encode
from ledger.errors import ConfigError, MalformedInput
from ledger.governance import POLICY_KEY
from ledger.payloads import (
    ACTION_ADD_VALIDATOR,
    AnchorPayload,
    IssueBatchPayload,
    MemberAction,
    ProposePayload,
)
from ledger.records import accreditation_key
from ledger.rules import load_batch, load_member
from storage.errors import CorruptStateError
from storage.kv import LevelDBStore, MemoryStore
from tests.node.conftest import (
    Consortium,
    accredit,
    bft_basis,
    commit,
    commit_times,
    make_consortium,
    make_tx,
    snapshot,
)


class CountingStore(MemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def write(self, puts: dict[bytes, bytes | None], sync: bool = True) -> None:
        self.writes += 1
        super().write(puts, sync)


def test_genesis_block_and_state(chain: Chain, net: Consortium) -> None:
    assert chain.height == 0
    genesis = chain.get_block(0)
    assert genesis is not None and genesis.transactions == ()
    assert genesis.header.previous_hash == ZERO_HASH
    assert genesis.header.state_root == chain.state.root
    assert genesis.header.validator_set_hash == net.genesis.validator_set_hash
    for member in net.genesis.members:
        record = load_member(chain.state, member.member_id)
        assert record is not None and record.role == member.role
        assert record.is_validator == member.validator


def test_genesis_written_once(net: Consortium) -> None:
    kv = CountingStore()
    first = Chain(kv, net.genesis)
    assert kv.writes == 1
    before = snapshot(kv)
    second = Chain(kv, net.genesis)
    assert kv.writes == 1
    assert snapshot(kv) == before
    assert second.head_hash == first.head_hash
    assert second.state.root == first.state.root


def test_reopen_from_leveldb_without_replay(tmp_path: Path, net: Consortium,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    path = str(tmp_path / "chain.ldb")
    kv = LevelDBStore(path)
    chain = Chain(kv, net.genesis)
    commit(chain, [accredit(net, net.university, ["diploma"])])
    root = os.urandom(32)
    issue = make_tx(net.university, IssueBatchPayload("diploma", root, 4))
    commit(chain, [issue, make_tx(net.employer, AnchorPayload(os.urandom(32)))])
    head = (chain.height, chain.head_hash, chain.state.root)
    kv.close()

    def no_replay(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("start-up must not re-execute transactions")

    monkeypatch.setattr(ledger.chain, "apply_transaction", no_replay)
    monkeypatch.setattr(ledger.chain, "check_envelope", no_replay)
    monkeypatch.setattr(ledger.chain, "check_before_signature", no_replay)
    kv = LevelDBStore(path)
    try:
        reopened = Chain(kv, net.genesis)
        assert (reopened.height, reopened.head_hash, reopened.state.root) == head
        batch = load_batch(reopened.state, net.university.member_id, root)
        assert batch is not None and batch.count == 4 and batch.height == 2
        assert reopened.tx_location(issue.tx_id) == (2, 0)
        assert reopened.is_committed(issue.tx_id)
        assert reopened.get_certificate(2)
    finally:
        kv.close()


def test_reopen_continues_the_chain(tmp_path: Path, net: Consortium) -> None:
    path = str(tmp_path / "chain.ldb")
    kv = LevelDBStore(path)
    commit(Chain(kv, net.genesis), [make_tx(net.ministry, AnchorPayload(os.urandom(32)))])
    kv.close()
    kv = LevelDBStore(path)
    try:
        chain = Chain(kv, net.genesis)
        commit(chain, [make_tx(net.ministry, AnchorPayload(os.urandom(32)))])
        assert chain.height == 2
        block, parent = chain.get_block(2), chain.get_block(1)
        assert block is not None and parent is not None
        assert block.header.previous_hash == parent.block_hash
    finally:
        kv.close()


def test_other_genesis_on_same_data_dir_refused(tmp_path: Path, net: Consortium) -> None:
    path = str(tmp_path / "chain.ldb")
    kv = LevelDBStore(path)
    Chain(kv, net.genesis)
    kv.close()
    others = [
        make_consortium("senim-other").genesis,
        dataclasses.replace(net.genesis, genesis_time_ms=net.genesis.genesis_time_ms + 1),
        dataclasses.replace(net.genesis, members=net.genesis.members[:3]),
    ]
    kv = LevelDBStore(path)
    try:
        before = snapshot(kv)
        for other in others:
            with pytest.raises(ConfigError, match="another genesis"):
                Chain(kv, other)
        assert snapshot(kv) == before
        Chain(kv, net.genesis)  # the right one still opens
    finally:
        kv.close()


def test_corrupt_head_refused(net: Consortium) -> None:
    kv = MemoryStore()
    chain = Chain(kv, net.genesis)
    commit(chain, [])
    kv.write({HEAD_KEY: encode([1, b"\x00" * 32])})
    with pytest.raises(CorruptStateError, match="head record"):
        Chain(kv, net.genesis)


# ---- validation on a second node -------------------------------------------------------

@pytest.fixture
def pair(net: Consortium) -> tuple[Chain, Chain, Block]:
    """Two chains with one genesis; the first has built (not committed) a block."""
    a, b = Chain(MemoryStore(), net.genesis), Chain(MemoryStore(), net.genesis)
    first = commit(a, [accredit(net, net.university, ["diploma"])])
    b.commit(b.validate(first, commit_times=commit_times(b)), b"certificate")
    assert a.head_hash == b.head_hash
    txs = [make_tx(net.university, IssueBatchPayload("diploma", os.urandom(32), 10)),
           make_tx(net.employer, AnchorPayload(os.urandom(32))),
           make_tx(net.ministry, AnchorPayload(os.urandom(32)))]
    last_commit, when = bft_basis(a)
    execution = a.build(txs, net.ministry.member_id, 0, when, last_commit=last_commit)
    assert execution.accepted == txs
    return a, b, execution.block


def test_block_from_one_chain_validates_and_commits_on_another(
        pair: tuple[Chain, Chain, Block]) -> None:
    _, b, block = pair
    received = decode_block(block.encode())
    assert received == block
    execution = b.validate(received, commit_times=commit_times(b))
    assert execution.header == block.header
    b.commit(execution, b"certificate")
    assert (b.height, b.head_hash, b.state.root) == (1 + 1, block.block_hash,
                                                     block.header.state_root)


def _with(block: Block, **changes: Any) -> Block:
    return Block(dataclasses.replace(block.header, **changes), block.transactions,
                 block.last_commit)


@pytest.mark.parametrize("change,match", [
    ({"state_root": b"\x01" * 32}, "state root"),
    ({"txs_root": b"\x02" * 32}, "transactions root"),
    ({"previous_hash": b"\x03" * 32}, "does not extend"),
    ({"height": 3}, "does not extend"),
    ({"chain_id": "senim-other"}, "does not extend"),
    ({"validator_set_hash": b"\x04" * 32}, "does not extend"),
    ({"time_ms": 0}, "not the time its last commit gives"),
    ({"last_commit_hash": b"\x05" * 32}, "last commit hash"),
])
def test_tampered_header_refused(pair: tuple[Chain, Chain, Block], change: dict[str, Any],
                                 match: str) -> None:
    _, b, block = pair
    before = snapshot(b.kv)
    with pytest.raises(MalformedInput, match=match):
        b.validate(_with(block, **change), commit_times=commit_times(b))
    assert snapshot(b.kv) == before


def test_a_refusal_resting_on_a_lost_value_is_damage_not_a_bad_block(
        pair: tuple[Chain, Chain, Block], net: Consortium) -> None:
    """Validation reads absent keys unchecked until the block's root; a refusal that
    rested on one must report the damage, never call a sound block invalid."""
    _, b, block = pair
    lost = STATE_PREFIX + b"v" + accreditation_key(net.university.member_id)
    assert b.kv.get(lost) is not None
    b.kv.write({lost: None})  # lost on disk; the tree still holds its leaf
    reopened = Chain(b.kv, net.genesis)  # nothing cached from before the loss
    with pytest.raises(CorruptStateError, match="lost on disk"):
        reopened.validate(block, commit_times=commit_times(reopened))


@pytest.mark.parametrize("stage", ["build", "validate"])
def test_a_record_a_rule_needs_lost_on_disk_is_damage_not_a_bad_block(
        net: Consortium, stage: str) -> None:
    """Some rules call a missing stored record malformed (a governance proposal needs
    the policy); read unchecked, a lost one must still be reported as damage."""
    source, damaged = Chain(MemoryStore(), net.genesis), Chain(MemoryStore(), net.genesis)
    action = MemberAction(ACTION_ADD_VALIDATOR, net.employer.member_id)
    proposal = make_tx(net.ministry, ProposePayload(action, 4, 2))
    last_commit, when = bft_basis(source)
    block = source.build([proposal], net.ministry.member_id, 0, when,
                         last_commit=last_commit).block
    lost = STATE_PREFIX + b"v" + POLICY_KEY
    assert damaged.kv.get(lost) is not None
    damaged.kv.write({lost: None})  # lost on disk; the tree still holds its leaf
    reopened = Chain(damaged.kv, net.genesis)  # nothing cached from before the loss
    with pytest.raises(CorruptStateError, match="lost on disk"):
        if stage == "build":
            reopened.build([proposal], net.ministry.member_id, 0, when, last_commit=last_commit)
        else:
            reopened.validate(block, commit_times=commit_times(reopened))


def test_block_with_a_transaction_removed_refused(pair: tuple[Chain, Chain, Block]) -> None:
    _, b, block = pair
    removed = Block(block.header, block.transactions[1:], block.last_commit)
    with pytest.raises(MalformedInput):
        b.validate(removed, commit_times=commit_times(b))
    # even with the transactions root patched to match, the state root gives it away
    patched = Block(dataclasses.replace(block.header,
                                        txs_root=transactions_root(removed.transactions)),
                    removed.transactions, block.last_commit)
    with pytest.raises(MalformedInput, match="state root"):
        b.validate(patched, commit_times=commit_times(b))


def test_tampered_block_bytes_refused(pair: tuple[Chain, Chain, Block]) -> None:
    _, _, block = pair
    header, txs, last_commit = decode(block.encode())
    with pytest.raises(MalformedInput, match="transactions root"):
        decode_block(encode([header, txs[1:], last_commit]))
    with pytest.raises(MalformedInput, match="transactions root"):
        decode_block(encode([header, list(reversed(txs)), last_commit]))
    with pytest.raises(MalformedInput, match="last commit hash"):
        decode_block(encode([header, txs, last_commit[:-1]]))
    with pytest.raises(MalformedInput):
        decode_block(encode([header, txs]))
    with pytest.raises(MalformedInput):
        decode_block(encode([header[:10], txs, last_commit]))
    with pytest.raises(MalformedInput):
        decode_block(encode([header, [b"\x00"], last_commit]))


def test_block_for_another_genesis_refused(pair: tuple[Chain, Chain, Block]) -> None:
    _, _, block = pair
    stranger = Chain(MemoryStore(), make_consortium("senim-other").genesis)
    with pytest.raises(MalformedInput):
        stranger.validate(block, commit_times=commit_times(stranger))


def test_validate_does_not_change_the_chain(pair: tuple[Chain, Chain, Block]) -> None:
    _, b, block = pair
    before = (snapshot(b.kv), b.state.root, b.height)
    b.validate(block, commit_times=commit_times(b))
    assert (snapshot(b.kv), b.state.root, b.height) == before


def test_where_a_transaction_is_is_answered_without_decoding_its_block(
        net: Consortium, monkeypatch: pytest.MonkeyPatch) -> None:
    """A status query for a transaction in a block no longer remembered hashes one
    encoding (after the block's bytes are checked whole); it does not decode the block,
    and an index entry that points at another transaction is still caught."""
    chain = Chain(MemoryStore(), net.genesis)
    txs = [make_tx(net.employer, AnchorPayload(os.urandom(32))) for _ in range(3)]
    commit(chain, txs)
    commit(chain, [make_tx(net.employer, AnchorPayload(os.urandom(32)))])
    chain._tx_ids.clear()  # as after more blocks than are remembered

    def no_decode(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the block was decoded")

    monkeypatch.setattr(ledger.chain_reads, "decode_block", no_decode)
    assert [chain.tx_location(tx.tx_id) for tx in txs] == [(1, 0), (1, 1), (1, 2)]
    chain.kv.write({TX_INDEX_PREFIX + txs[0].tx_id: encode([1, 2])})
    with pytest.raises(CorruptStateError, match="does not hold it there"):
        chain.tx_location(txs[0].tx_id)
    chain.kv.write({TX_INDEX_PREFIX + txs[0].tx_id: encode([1, 3])})
    with pytest.raises(CorruptStateError, match="does not hold it there"):
        chain.tx_location(txs[0].tx_id)


def test_a_block_of_empty_arrays_is_refused_before_they_are_built(chain: Chain) -> None:
    """A Byzantine primary's proposal is decoded on the engine thread: 2 MiB of empty
    arrays must not become two million lists first (a block holds exactly three)."""
    import tracemalloc

    from ledger.blocks import MAX_BLOCK_BYTES
    count = MAX_BLOCK_BYTES - 16
    junk = b"\x93\x90\xdd" + count.to_bytes(4, "big") + b"\x90" * count + b"\xc4\x00"
    tracemalloc.start()
    try:
        with pytest.raises(MalformedInput, match=r"more than 3 arrays|more than 20000 items"):
            decode_block(junk)
        assert tracemalloc.get_traced_memory()[1] < 1 << 20
    finally:
        tracemalloc.stop()
    head = chain.get_block(0)
    assert head is not None and decode_block(head.encode()) == head  # a real one still reads
