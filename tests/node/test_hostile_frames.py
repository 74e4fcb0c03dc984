"""Frames a Byzantine validator or an asked member may send, each refused at once.

A hostile probe (session 52) found:
- an announcement whose certificate was an array, not bytes, stopped every node that
  heard it (the engine thread's TypeError is fatal, by design, for a bug);
- a consensus frame of empty maps (a byte each) cost the engine seconds and hundreds of
  megabytes, as maps were never counted;
- announcements, block-sync and state-sync answers and questions decoded with no bound on
  their arrays or items.
Each bomb here is a few MiB; what decoding it may allocate is bounded far below.
"""

from __future__ import annotations

import logging
import os
import tracemalloc
from collections import deque
from collections.abc import Callable, Iterator, Sequence

import pytest

from consensus import Digest, ExecuteBlock, Height, View
from ledger.chain import Chain
from ledger.codec import encode
from ledger.payloads import AnchorPayload
from node.block_serve import serve_blocks
from node.channels import CH_SYNC_REQUEST
from node.signature_workers import InTurn, PendingChecks
from node.state_serve import StateSnapshots
from node.state_sync import StateSync
from node.validators import SignatureCheck, ValidatorSets, certifies_by_keys
from storage.kv import KeyValueSnapshot, MemoryStore
from storage.state_transfer import StateExport
from tests.node.conftest import Consortium, bft_basis, commit, make_tx
from tests.node.test_engine import Clock, engine_for
from tests.node.test_evidence_submit import conflicting_prepares

BOMB_ITEMS = 2 * 1024 * 1024
# One array of two million items: empty maps, empty arrays, small ints, empty strings.
BOMBS = {kind: b"\xdd" + BOMB_ITEMS.to_bytes(4, "big") + item * BOMB_ITEMS
         for kind, item in (("maps", b"\x80"), ("arrays", b"\x90"), ("ints", b"\x01"),
                            ("strings", b"\xa0"))}
# What refusing one may allocate: a bomb's items built would be tens of megabytes.
ALLOCATED_MAX = 1 << 20


def peak_of(handle: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        handle()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def chain_of(net: Consortium, blocks: int) -> Chain:
    chain = Chain(MemoryStore(), net.genesis)
    for _ in range(blocks):
        commit(chain, [make_tx(net.university, AnchorPayload(os.urandom(32)))])
    return chain


def test_an_announcement_whose_certificate_is_no_bytes_is_dropped_and_the_node_goes_on(
        net: Consortium) -> None:
    source = chain_of(net, 1)
    block, cert = source.get_block(1), source.get_certificate(1)
    assert block is not None and cert is not None
    follower, _ = engine_for(net.employer, net, Clock(net.genesis.genesis_time_ms))
    hostiles: list[object] = [[], {}, 7, None, [cert]]
    for hostile in hostiles:
        follower.block_announced(net.ministry.public_key, encode([block.encode(), hostile]))
        follower.block_announced(net.ministry.public_key, encode([hostile, cert]))
    assert follower.chain.height == 0
    follower.block_announced(net.ministry.public_key, encode([block.encode(), cert]))
    assert follower.chain.height == 1


@pytest.mark.parametrize("kind", sorted(BOMBS))
def test_a_validators_bombs_cost_the_engine_nothing(net: Consortium, kind: str) -> None:
    validator, _ = engine_for(net.ministry, net, Clock(net.genesis.genesis_time_ms))
    follower, _ = engine_for(net.employer, net, Clock(net.genesis.genesis_time_ms))
    peer = net.ministry.public_key
    bomb = BOMBS[kind]
    block = chain_of(net, 1).get_block(1)
    assert block is not None
    # a block of three items, [header, the bomb for its transactions, last commit]
    inside_block = b"\x93" + encode(block.header.to_array()) + bomb + encode(b"")
    assert peak_of(lambda: validator.consensus_frame(peer, bomb)) < ALLOCATED_MAX
    assert peak_of(lambda: follower.block_announced(peer, bomb)) < ALLOCATED_MAX
    announced = encode([inside_block, b""])  # its block's bytes are read out, once
    assert peak_of(lambda: follower.block_announced(peer, announced)) < (
        len(inside_block) + ALLOCATED_MAX)
    assert validator.chain.height == follower.chain.height == 0


@pytest.mark.parametrize("kind", sorted(BOMBS))
def test_an_asked_members_answer_bombs_cost_nothing(net: Consortium, kind: str) -> None:
    follower, out = engine_for(net.employer, net, Clock(net.genesis.genesis_time_ms))
    asked = net.university.public_key  # a member, not a validator, asked all the same
    follower.tick([asked])
    assert out.frames[-1][:2] == (asked, CH_SYNC_REQUEST)
    assert peak_of(lambda: follower.sync_answer(asked, BOMBS[kind])) < ALLOCATED_MAX
    joining = StateSync(net.genesis, certifies_by_keys(net.genesis.chain_id))
    requests, _ = joining.next_requests(0, [asked])
    assert requests
    assert peak_of(lambda: joining.accept(asked, BOMBS[kind], 0)) < ALLOCATED_MAX


@pytest.mark.parametrize("kind", sorted(BOMBS))
def test_a_members_question_bombs_cost_the_server_nothing(net: Consortium, kind: str) -> None:
    chain = chain_of(net, 2)
    snapshots = StateSnapshots(chain.kv, ValidatorSets.for_chain(chain).certifies)
    assert peak_of(lambda: serve_blocks(chain, BOMBS[kind])) < ALLOCATED_MAX
    assert peak_of(lambda: snapshots.answer(BOMBS[kind])) < ALLOCATED_MAX


def test_a_question_for_the_values_after_the_last_reads_none_before_it() -> None:
    """ASK_VALUES after the last key walked every value before it (151 ms at 400,000
    values), for a question of 100 bytes any member may repeat: now a seek."""
    store = MemoryStore()
    prefix = b"s:"
    store.write({prefix + b"v" + b"%06d" % i: b"x" for i in range(2_000)})
    yielded = 0

    class Counted:
        def __init__(self, inner: KeyValueSnapshot) -> None:
            self.inner = inner

        def get(self, key: bytes) -> bytes | None:
            return self.inner.get(key)

        def iterate_prefix(self, prefix: bytes, after: bytes | None = None
                           ) -> Iterator[tuple[bytes, bytes]]:
            nonlocal yielded
            for item in self.inner.iterate_prefix(prefix, after):
                yielded += 1
                yield item

    export = StateExport(Counted(store.snapshot()), prefix)
    assert export.values(b"%06d" % 1_999, 10, 1 << 20) == ([], True)
    assert export.values(b"%06d" % 1_990, 10, 1 << 20)[0][0] == (b"%06d" % 1_991, b"x")
    assert yielded == 9


def test_evidence_resent_again_and_again_is_one_line(net: Consortium,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    """A validator resending its conflicting votes made 70 WARNING lines a second, each
    for evidence recorded once already."""
    validator, _ = engine_for(net.ministry, net, Clock(net.genesis.genesis_time_ms))
    evidence = conflicting_prepares(net, 5)
    with caplog.at_level(logging.WARNING, logger="senim.engine"):
        for _ in range(50):
            validator._perform([evidence], deque())
    assert sum("EVIDENCE of conflicting-prepare" in r.getMessage()
               for r in caplog.records) == 1


def test_a_proposal_on_the_wrong_parent_is_refused_before_its_signatures_are_checked(
        net: Consortium) -> None:
    """A Byzantine primary's block of thousands of forged transactions on a wrong parent
    cost each validator a signature check of every one (0.66 s) before it was refused."""
    validator, _ = engine_for(net.ministry, net, Clock(net.genesis.genesis_time_ms))
    checked: list[int] = []

    class Counting(InTurn):
        def __call__(self, checks: Sequence[SignatureCheck], failures_max: int = 0
                     ) -> list[bool]:
            checked.append(len(checks))
            return super().__call__(checks, failures_max)

        def start(self, checks: Sequence[SignatureCheck]) -> PendingChecks:
            checked.append(len(checks))
            return super().start(checks)

    validator.check_signatures = Counting()
    elsewhere = chain_of(net, 1)
    txs = [make_tx(net.university, AnchorPayload(os.urandom(32))) for _ in range(50)]
    last_commit, when = bft_basis(elsewhere)
    block = elsewhere.build(txs, net.ministry.member_id, 0, when,
                            last_commit=last_commit).block  # height 2: not on this head
    validator._execute(ExecuteBlock(Height(2), View(0), Digest(block.block_hash),
                                    block.encode()), deque())
    assert checked == [] and validator.chain.height == 0
