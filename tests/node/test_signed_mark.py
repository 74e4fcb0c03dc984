"""A validator whose chain store was put back from an older copy, or set aside by
--resync, signs nothing at a height it signed at before other than what it signed then
(node/signed_mark.py, node/engine_signed.py). A hostile probe (session 52) restored an
older store while the network was deciding the next height: the validator proposed
another block in the view it had proposed in, and its peers recorded the evidence."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from consensus.safety import SafetyState, Vote, encode_safety_state
from consensus.types import Digest, Height, View
from ledger.blocks import MAX_BLOCK_BYTES
from ledger.chain import Chain
from ledger.codec import encode
from node.engine import Engine
from node.engine_signed import REPLICA_STATE_KEY
from node.engine_types import EngineConfig
from node.mempool import Mempool, MempoolLimits
from node.signed_mark import SLOT_BYTES, SignedMark
from node.validators import ValidatorSets
from storage.errors import CorruptStateError
from storage.kv import MemoryStore
from tests.node.conftest import Consortium, commit
from tests.node.test_engine import Clock, Recorder, submit

GENESIS = b"\x01" * 32


def voted(height: int, view: int, digest: bytes) -> bytes:
    return encode_safety_state(SafetyState(Height(height), View(view), True,
                                           Vote(View(view), Digest(digest)), None))


def engine_with(net: Consortium, chain: Chain, mark: SignedMark, clock: Clock
                ) -> tuple[Engine, Recorder]:
    recorder = Recorder()
    engine = Engine(net.ministry, chain, Mempool(MempoolLimits(100, 1 << 20, 100)),
                    ValidatorSets.for_chain(chain), EngineConfig(1_000, 100), clock, recorder,
                    signed_mark=mark)
    return engine, recorder


def test_the_mark_keeps_the_last_state_through_reopening_and_a_torn_write(
        tmp_path: Path) -> None:
    path = tmp_path / "SENIM-SIGNED"
    mark = SignedMark(path, GENESIS)
    assert mark.load() is None
    for height in range(1, 6):
        mark.save(voted(height, 0, bytes([height]) * 32))
    mark.close()
    assert SignedMark(path, GENESIS).load() == voted(5, 0, b"\x05" * 32)
    with path.open("r+b") as file:  # the last write cut short: the one before it stands
        file.seek((5 % 2) * SLOT_BYTES + 60)
        file.write(b"\xff\xff")
    assert SignedMark(path, GENESIS).load() == voted(4, 0, b"\x04" * 32)
    with path.open("r+b") as file:
        file.seek(60)
        file.write(b"\xff\xff")
    with pytest.raises(CorruptStateError, match="is damaged"):
        SignedMark(path, GENESIS)


@pytest.mark.parametrize("written", [b"garbage\n", b"\x00" * 7 + b"!", b"S"])
def test_a_mark_written_over_with_less_than_a_header_is_damaged(tmp_path: Path,
                                                               written: bytes) -> None:
    """`echo garbage > SENIM-SIGNED` left less than a header, read as a mark never written:
    `--resync` then set the store aside, and fsck called the data sound."""
    path = tmp_path / "SENIM-SIGNED"
    mark = SignedMark(path, GENESIS)
    mark.save(voted(3, 0, b"\x03" * 32))
    mark.close()
    path.write_bytes(written)
    with pytest.raises(CorruptStateError, match="is damaged"):
        SignedMark(path, GENESIS)
    path.write_bytes(bytes(len(written)))  # zeros: as a file made and never written
    assert SignedMark(path, GENESIS).load() is None


def test_a_prepared_block_of_the_largest_size_fits(tmp_path: Path) -> None:
    """A prepared certificate holds its whole block: a slot of 256 KiB refused the state
    of any block over it, and the engine thread stopped the node on the ValueError."""
    mark = SignedMark(tmp_path / "SENIM-SIGNED", GENESIS)
    large = os.urandom(MAX_BLOCK_BYTES + 64 * 1024)  # a block and a quorum's prepares
    mark.save(large)
    mark.save(voted(2, 0, b"\x02" * 32))
    mark.save(large)
    mark.close()
    assert SignedMark(tmp_path / "SENIM-SIGNED", GENESIS).load() == large


def test_a_mark_of_another_chain_is_none(tmp_path: Path) -> None:
    """A new genesis started in the same data directory: the old chain's mark held the new
    validator back until the new chain reached its height, which it never could."""
    mark = SignedMark(tmp_path / "SENIM-SIGNED", GENESIS)
    mark.save(voted(5000, 3, b"\x05" * 32))
    mark.close()
    other = SignedMark(tmp_path / "SENIM-SIGNED", b"\x02" * 32)
    assert other.load() is None
    other.save(voted(1, 0, b"\x01" * 32))
    other.close()
    assert SignedMark(tmp_path / "SENIM-SIGNED", b"\x02" * 32).load() == voted(
        1, 0, b"\x01" * 32)


def test_a_store_put_back_from_before_a_vote_keeps_the_vote(tmp_path: Path,
                                                            net: Consortium) -> None:
    """The store holds nothing of height 1; the mark says it proposed block D there in
    view 0: it commits height 1 in no view-0 block but D."""
    mark = SignedMark(tmp_path / "SENIM-SIGNED", net.genesis.genesis_hash)
    promised = os.urandom(32)
    mark.save(voted(1, 0, promised))
    clock = Clock(net.genesis.genesis_time_ms + 10_000)
    engine, out = engine_with(net, Chain(MemoryStore(), net.genesis), mark, clock)
    assert engine.replica is not None and engine.replica.view == 0
    submit(engine, net)
    for _ in range(400):  # ticks enough for a view change, each 50 ms of the clock
        if engine.chain.height:
            break
        clock.now_ms += 50
        engine.tick([])
    assert engine.chain.height >= 1
    first = out.reports[0].execution.header
    assert first.view > 0 or first.block_hash == promised, first.view


def test_a_store_set_aside_waits_for_the_chain_to_reach_the_height_it_signed_at(
        tmp_path: Path, net: Consortium) -> None:
    source = Chain(MemoryStore(), net.genesis)
    for _ in range(3):
        commit(source, [])
    mark = SignedMark(tmp_path / "SENIM-SIGNED", net.genesis.genesis_hash)
    mark.save(voted(3, 2, os.urandom(32)))  # it voted at height 3, view 2, before a resync
    engine, _ = engine_with(net, Chain(MemoryStore(), net.genesis), mark,
                            Clock(net.genesis.genesis_time_ms + 10_000))
    assert engine.replica is None  # nothing is signed below what it signed
    for height in (1, 2):
        block, cert = source.get_block(height), source.get_certificate(height)
        assert block is not None and cert is not None
        engine.block_announced(net.ministry.public_key, encode([block.encode(), cert]))
        assert engine.chain.height == height
    assert engine.replica is not None and engine.replica.view == 2  # from the mark
    assert engine.chain.kv.get(REPLICA_STATE_KEY) is None or engine.replica.height == 3


def test_a_mark_the_chain_has_passed_changes_nothing(tmp_path: Path, net: Consortium) -> None:
    chain = Chain(MemoryStore(), net.genesis)
    for _ in range(4):
        commit(chain, [])
    mark = SignedMark(tmp_path / "SENIM-SIGNED", net.genesis.genesis_hash)
    mark.save(voted(2, 7, os.urandom(32)))
    engine, _ = engine_with(net, chain, mark, Clock(net.genesis.genesis_time_ms + 10_000))
    # its view was taken up all the same: a later height started in an old height's view
    assert engine.replica is not None and engine.replica.height == 5
    assert engine.replica.view == 0
