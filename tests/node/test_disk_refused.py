"""A node whose disk fills up (or turns read-only) while it runs stops with one line
that says so, exit 74, and does not call its store damaged: nothing is, and the cure for
damage (--resync, moving the store aside) frees no space."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import plyvel
import pytest

from node import daemon
from node.config import NodeConfig
from node.engine_thread import EngineThread
from node.store_failures import StoppedByStore
from storage.errors import CorruptStateError, DiskRefused
from tests.node.test_engine_thread import wait_until
from tests.node.test_refused_start import node_folder

FULL = ("the disk refuses a write of the chain database: IO error: data/chain.ldb/000003.log: "
        "No space left on device")


class FillsTheDisk:
    def tick(self, connected: Any) -> None:
        raise DiskRefused(FULL)


async def test_the_engine_thread_says_in_one_line_that_the_disk_refused(
        caplog: pytest.LogCaptureFixture) -> None:
    loop = asyncio.get_running_loop()
    thread = EngineThread(loop, lambda *a: None, lambda r: None, lambda r: None)
    with caplog.at_level(logging.ERROR, logger="senim.engine"):
        thread.start(FillsTheDisk())  # type: ignore[arg-type]
        await wait_until(lambda: thread.failure is not None, "the engine thread to stop")
        await loop.run_in_executor(None, thread.shutdown, True)
    assert isinstance(thread.failure, DiskRefused)
    assert [r.getMessage() for r in caplog.records] == [f"stopping the node: {FULL}"]
    assert all(r.exc_info is None for r in caplog.records)  # no traceback: it is no bug


def _run_failing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                 failure: Exception) -> int:
    config = node_folder(tmp_path, "127.0.0.1:0", "127.0.0.1:0")

    async def serve(config: NodeConfig) -> None:  # the node ran, then its store failed
        raise failure

    monkeypatch.setattr(daemon, "serve", serve)
    # the node's own handler would replace the one the test reads the log from
    monkeypatch.setattr(daemon, "setup_logging", lambda *args: None)
    return daemon.run(config)


def test_a_full_disk_is_named_as_one_not_as_damage(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="senim.daemon"):
        code = _run_failing(tmp_path, monkeypatch,
                            StoppedByStore(DiskRefused(FULL)))
    assert code == 74
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [f"stopped: {FULL}; nothing is damaged: free space on that disk (or "
                      f"make {tmp_path / 'data'} writable again), then start the node again"]


def test_damage_found_while_running_is_not_called_a_failed_start(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="senim.daemon"):
        code = _run_failing(tmp_path, monkeypatch,
                            StoppedByStore(CorruptStateError("LevelDB refuses a write")))
    assert code == 3
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == ["stopped: the chain database is damaged: LevelDB refuses a write"]


def test_a_disk_full_when_the_node_starts_is_named_as_one_not_as_bad_config(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    """Opening a store writes (LevelDB folds its log into a table): on a full disk that
    start failed as a bad config, exit 2, with no word of what to do."""
    config = node_folder(tmp_path, "127.0.0.1:0", "127.0.0.1:0")
    store = tmp_path / "data" / "chain.ldb"
    said = f"IO error: {store}/000005.ldb: No space left on device"

    def full_disk(*args: Any, **kwargs: Any) -> None:
        raise plyvel.IOError(said.encode())

    monkeypatch.setattr(plyvel, "DB", full_disk)
    monkeypatch.setattr(daemon, "setup_logging", lambda *args: None)
    with caplog.at_level(logging.ERROR, logger="senim.daemon"):
        code = daemon.run(config)
    assert code == 74
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [f"cannot start: the disk refuses the opening of the chain database "
                      f"{store}: {said}; nothing is damaged: free space on that disk (or "
                      f"make {tmp_path / 'data'} writable again), then start the node again"]
