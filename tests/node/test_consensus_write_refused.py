"""A validator whose own write the system refuses mid-run (its chain store's, or the mark of
what it signed, beside it: files chmod-ed or chown-ed under it, an immutable flag) stops,
as for a full disk: what it signed leaves only once the state behind it is on disk, and
that state is not. So the refused step sends no vote and no proposal, records nothing as
signed, and the engine thread ends with the AccessRefused, which the daemon says in one
line with exit 74 (tests/node/test_disk_refused.py). Going on without the write would let
it sign, after a restart, what contradicts a vote it cast and forgot."""

from __future__ import annotations

import asyncio
import errno
import logging
import os
from pathlib import Path
from typing import Any

import plyvel
import pytest

from ledger.chain import Chain
from ledger.genesis import Genesis
from ledger.identity import KeyPair
from node.channels import CH_CONSENSUS
from node.engine import Engine
from node.engine_signed import REPLICA_STATE_KEY
from node.engine_thread import EngineThread
from node.engine_types import EngineConfig, Outbox
from node.mempool import Mempool, MempoolLimits
from node.signed_mark import SignedMark
from node.validators import ValidatorSets
from storage.errors import AccessRefused
from storage.kv import WRITES_FILE, LevelDBStore
from tests.node.conftest import GENESIS_TIME_MS
from tests.node.test_engine import Clock, Recorder
from tests.node.test_engine_forwarding import four_validators, hold, primary_of_view_0
from tests.node.test_engine_thread import wait_until


class WritesRefused:
    """A LevelDB handle whose writes the system refuses, as LevelDB words it."""

    def __init__(self, db: Any, reason: bytes) -> None:
        self._db, self._reason = db, reason

    def write_batch(self, *args: Any, **kwargs: Any) -> Any:
        raise plyvel.IOError(self._reason)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._db, name)


def primary_on_disk(folder: Path, clock: Clock, outbox: Outbox | None = None
                    ) -> tuple[Engine, Recorder, LevelDBStore, SignedMark, KeyPair, Genesis]:
    """View 0's primary of four validators, its chain and mark on disk in `folder`, holding
    a transaction to propose; its frames go to `outbox`, or the recorder returned."""
    validators, client, genesis = four_validators()
    primary = primary_of_view_0(validators, genesis, clock)
    kv = LevelDBStore(str(folder / "chain.ldb"))
    mark = SignedMark(folder / "SENIM-SIGNED", genesis.genesis_hash)
    chain = Chain(kv, genesis)
    recorder = Recorder()
    engine = Engine(primary, chain, Mempool(MempoolLimits(1_000, 1 << 22, 1_000)),
                    ValidatorSets.for_chain(chain), EngineConfig(1_000, 100), clock,
                    outbox or recorder, signed_mark=mark)
    hold(engine, clock, client, 1)
    return engine, recorder, kv, mark, primary, genesis


def consensus_frames(recorder: Recorder) -> list[bytes]:
    return [payload for _, channel, payload in recorder.frames if channel == CH_CONSENSUS]


def test_a_primary_proposes_when_its_writes_are_taken(tmp_path: Path) -> None:
    """The scene below, writes allowed: the tick that proposes sends, and records it."""
    clock = Clock(GENESIS_TIME_MS + 60_000)
    engine, out, kv, mark, _, _ = primary_on_disk(tmp_path, clock)
    engine.work_available()
    assert consensus_frames(out) and mark.load() is not None
    assert kv.get(REPLICA_STATE_KEY) is not None
    mark.close()
    kv.close()


@pytest.mark.parametrize("code", [errno.EACCES, errno.EPERM])
def test_a_store_write_refused_mid_run_stops_the_primary_before_it_proposes(
        tmp_path: Path, code: int) -> None:
    clock = Clock(GENESIS_TIME_MS + 60_000)
    engine, out, kv, mark, _, genesis = primary_on_disk(tmp_path, clock)
    said = f"IO error: {tmp_path}/chain.ldb/000005.log: {os.strerror(code)}"
    real = kv._db
    kv._db = WritesRefused(real, said.encode())
    with pytest.raises(AccessRefused) as refused:
        engine.work_available()
    assert str(refused.value) == (
        f"the system refuses this user a write of the chain database: {said}")
    assert consensus_frames(out) == [] and out.reports == []
    assert mark.load() is None  # nothing recorded as signed: it was never sent
    kv._db = real
    mark.close()
    kv.close()
    reopened = LevelDBStore(str(tmp_path / "chain.ldb"))
    try:
        assert reopened.get(REPLICA_STATE_KEY) is None
        assert Chain(reopened, genesis).height == 0
    finally:
        reopened.close()
    assert SignedMark(tmp_path / "SENIM-SIGNED", genesis.genesis_hash).load() is None


def test_a_mark_write_refused_mid_run_stops_the_primary_before_its_proposal_leaves(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An immutable flag set on the mark while the node runs: its writes are refused
    (EPERM) through the descriptor the node holds."""
    clock = Clock(GENESIS_TIME_MS + 60_000)
    engine, out, kv, mark, _, genesis = primary_on_disk(tmp_path, clock)

    written = os.pwrite

    def refused(fd: int, data: bytes, offset: int) -> int:
        if fd == mark._fd:
            raise PermissionError(errno.EPERM, os.strerror(errno.EPERM))
        return written(fd, data, offset)

    monkeypatch.setattr(os, "pwrite", refused)
    with pytest.raises(AccessRefused) as refusal:
        engine.work_available()
    monkeypatch.undo()
    assert str(refusal.value).startswith(
        f"the system refuses this user a write of {tmp_path / 'SENIM-SIGNED'}: "), refusal.value
    assert consensus_frames(out) == [] and out.reports == []
    mark.close()
    kv.close()
    assert SignedMark(tmp_path / "SENIM-SIGNED", genesis.genesis_hash).load() is None


async def test_the_write_count_refused_on_the_engine_thread_stops_it_as_a_refusal(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    """SENIM-WRITES made immutable under the running node: its write was a bare
    PermissionError, which the engine thread took for a bug in itself (a traceback, and
    the node's exit 4 with no cure said); it is the AccessRefused the daemon says in one
    line, exit 74. Nothing the refused step signed was sent."""
    sent: list[tuple[bytes, int, bytes]] = []
    loop = asyncio.get_running_loop()
    thread = EngineThread(loop, lambda *frame: sent.append(frame), lambda r: None,
                          lambda r: None)
    engine, _, kv, mark, _, _ = primary_on_disk(tmp_path, Clock(GENESIS_TIME_MS + 60_000),
                                                thread.outbox)
    written = os.pwrite

    def refused(fd: int, data: bytes, offset: int) -> int:
        if fd == kv._writes_file:
            raise PermissionError(errno.EPERM, os.strerror(errno.EPERM))
        return written(fd, data, offset)

    monkeypatch.setattr(os, "pwrite", refused)
    with caplog.at_level(logging.DEBUG):
        thread.start(engine)
        thread.work_available()
        await wait_until(lambda: thread.failure is not None, "the engine thread to stop")
        await loop.run_in_executor(None, thread.shutdown, True)
    monkeypatch.undo()
    assert isinstance(thread.failure, AccessRefused), repr(thread.failure)
    assert str(thread.failure) == ("the system refuses this user a write of "
                                   f"{tmp_path / 'chain.ldb' / WRITES_FILE}: "
                                   "Operation not permitted")
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert [frame for frame in sent if frame[1] == CH_CONSENSUS] == []
    assert mark.load() is None
    mark.close()
    kv.close()
