"""A node whose disk fills up (or turns read-only) while it runs stops with one line
that says so, exit 74, and does not call its store damaged: nothing is, and the cure for
damage (--resync, moving the store aside) frees no space."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import plyvel
import pytest

from node import daemon
from node.config import NodeConfig
from node.engine import Engine
from node.engine_thread import EngineThread
from node.store_failures import StoppedByStore
from storage.errors import AccessRefused, CorruptStateError, DiskRefused, StorageError
from tests.node.test_engine_thread import wait_until
from tests.node.test_refused_start import node_folder
from tests.storage.refused_reads import refuse_reads

WRITE_REFUSED = ("the system refuses this user a write of the chain database: IO error: "
                 "data/chain.ldb/000007.log: Permission denied")
FULL = ("the disk refuses a write of the chain database: IO error: data/chain.ldb/000003.log: "
        "No space left on device")


class FillsTheDisk:
    # The head the thread reads around each step (a commit ends a batch of inputs).
    chain = SimpleNamespace(height=0)

    def ticks_can_wait(self) -> int:
        return 1

    def tick(self, connected: Any, ticks: int = 1) -> None:
        raise DiskRefused(FULL)


async def test_the_engine_thread_leaves_the_line_to_the_daemon(
        caplog: pytest.LogCaptureFixture) -> None:
    loop = asyncio.get_running_loop()
    thread = EngineThread(loop, lambda *a: None, lambda r: None, lambda r: None)
    with caplog.at_level(logging.DEBUG):
        thread.start(FillsTheDisk())  # type: ignore[arg-type]
        await wait_until(lambda: thread.failure is not None, "the engine thread to stop")
        await loop.run_in_executor(None, thread.shutdown, True)
    assert isinstance(thread.failure, DiskRefused)
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


@pytest.mark.parametrize("failure", ["full", "access", "damaged"])
def test_a_store_failing_while_the_node_runs_is_one_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
        failure: str) -> None:
    """The engine thread said 'stopping the node: …' and the daemon, once stopped, said
    it again with what to do: two ERROR lines of one full disk (and a damaged store's
    first line a traceback, its last without the --resync that recovers it)."""
    config = node_folder(tmp_path, "127.0.0.1:0", "127.0.0.1:0")
    error: StorageError = {
        "full": DiskRefused(FULL), "access": AccessRefused(WRITE_REFUSED),
        "damaged": CorruptStateError("block 1 does not link to the head")}[failure]

    def tick(self: Engine, connected: object, ticks: int = 1) -> None:  # then its store failed
        raise error

    monkeypatch.setattr(Engine, "tick", tick)
    monkeypatch.setattr(daemon, "setup_logging", lambda *args: None)
    with caplog.at_level(logging.INFO):
        code = daemon.run(config)
    errors = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.name for r in errors] == ["senim.daemon"], [r.getMessage() for r in errors]
    assert errors[0].exc_info is None
    said = errors[0].getMessage()
    if failure == "full":
        assert code == 74
        assert said == (f"stopped: {FULL}; nothing is damaged: free space on that disk (or "
                        f"make {tmp_path / 'data'} writable again), then start the node again")
    elif failure == "access":  # a validator's own write refused mid-run: no vote rests on it
        assert code == 74
        assert said == (f"stopped: {WRITE_REFUSED}; "
                        + NOT_THIS_USERS.format(data=tmp_path / "data"))
    else:
        assert code == 3
        assert said.startswith("stopped: the chain database is damaged: block 1 does not "
                               f"link to the head; `senim fsck --config {config}` lists"), said
        assert f"senim node --config {config} --resync" in said, said


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
    assert len(errors) == 1 and errors[0].startswith(
        "stopped: the chain database is damaged: LevelDB refuses a write; "), errors


NOT_THIS_USERS = ("nothing is damaged: the files of {data} are not this user's to read or "
                  "write, or are locked: start the node as the user that owns them, or fix "
                  "their owner or mode, or unlock them, then start it again")


@pytest.mark.parametrize(("refused", "words", "opening", "said"), [
    # Opening a store writes (LevelDB folds its log into a table): on a full disk that start
    # failed as a bad config, exit 2, with no word of what to do.
    ("open", "No space left on device", "the disk refuses the opening of the chain "
     "database {store}", "nothing is damaged: free space on that disk (or make {data} "
     "writable again), then start the node again"),
    # A store whose files another user owns (the node started as root once, say) was given
    # the full disk's cure, free space, which would not help.
    ("open", "Permission denied", "the system refuses this user the opening of the chain "
     "database {store}", NOT_THIS_USERS),
    # LevelDB opens a table file at the first read that needs it: refused, the store was
    # said to be damaged, exit 3, and --resync advised, which gives no file to this user.
    ("first read", "Permission denied", "the system refuses this user a read of the chain "
     "database", NOT_THIS_USERS),
    ("later read", "Operation not permitted", "the system refuses this user a read of the "
     "chain database", NOT_THIS_USERS),
])
def test_a_store_refused_when_the_node_starts_is_named_as_such_not_as_bad_config(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
        refused: str, words: str, opening: str, said: str) -> None:
    config = node_folder(tmp_path, "127.0.0.1:0", "127.0.0.1:0")
    store, data = tmp_path / "data" / "chain.ldb", tmp_path / "data"
    leveldb_said = f"IO error: {store}/000005.ldb: {words}"
    if refused == "open":
        def refuses(*args: Any, **kwargs: Any) -> None:
            raise plyvel.IOError(leveldb_said.encode())

        monkeypatch.setattr(plyvel, "DB", refuses)
    else:
        refuse_reads(monkeypatch, leveldb_said.encode(), after_opening=refused == "later read")
    monkeypatch.setattr(daemon, "setup_logging", lambda *args: None)
    with caplog.at_level(logging.ERROR, logger="senim.daemon"):
        code = daemon.run(config)
    assert code == 74
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [f"cannot start: {opening.format(store=store)}: {leveldb_said}; "
                      f"{said.format(data=data)}"]
