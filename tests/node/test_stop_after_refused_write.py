"""A node that ran and then met a refused write stops saying so: 'stopped: ' and the
write refused, exit 74. Its store's close refuses the same write again, and that second
refusal, raised while the node closed, replaced the first and was said as 'cannot start';
a mark whose close then failed (EIO) was said as the chain database damaged, exit 3.
Each part is now closed whatever the others do, the engine's failure is the one said, and
what failed after it is a warning before that line."""

from __future__ import annotations

import errno
import logging
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from node import daemon
from node.engine import Engine
from node.signed_mark import SIGNED_MARK_NAME, SignedMark, SignedMarkUnusable
from storage.errors import AccessRefused, CorruptStateError
from storage.kv import WRITES_FILE, LevelDBStore
from tests.node.test_refused_start import node_folder


def _said(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.levelno == level]


def test_a_write_count_locked_while_the_node_runs_stops_it_saying_so(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    config = node_folder(tmp_path, "127.0.0.1:0", "127.0.0.1:0")
    count = tmp_path / "data" / "chain.ldb" / WRITES_FILE
    locked: list[Path] = []

    def tick(self: Engine, connected: object, ticks: int = 1) -> None:
        kv = self.chain.kv
        assert isinstance(kv, LevelDBStore)
        if subprocess.run(["chattr", "+i", str(count)], capture_output=True,
                          check=False).returncode == 0:
            locked.append(count)
        kv.write({b"written": b"while the node runs"}, sync=True)

    if shutil.which("chattr") is None:
        pytest.skip("no chattr here to lock a file while the node runs")
    monkeypatch.setattr(Engine, "tick", tick)
    monkeypatch.setattr(daemon, "setup_logging", lambda *args: None)
    try:
        with caplog.at_level(logging.INFO):
            code = daemon.run(config)
    finally:
        for path in locked:
            subprocess.run(["chattr", "-i", str(path)], check=True)
    if not locked:
        pytest.skip("no immutable flag here (chattr needs root and a file system with it)")
    errors = _said(caplog, logging.ERROR)
    assert code == 74, errors
    assert len(errors) == 1, errors
    assert errors[0].startswith(f"stopped: the system refuses this user a write of {count}: "
                                "Operation not permitted; nothing is damaged"), errors[0]
    assert not any("stopped cleanly" in line for line in _said(caplog, logging.INFO))
    assert not _said(caplog, logging.WARNING), "the close's same refusal is said once"


def test_a_mark_whose_close_fails_after_a_refused_write_is_no_damage(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    config = node_folder(tmp_path, "127.0.0.1:0", "127.0.0.1:0")
    mark_files: list[int] = []
    opened = SignedMark.__init__

    def remembered(self: SignedMark, path: Path, genesis_hash: bytes) -> None:
        opened(self, path, genesis_hash)
        mark_files.append(self._fd)

    synced = os.fsync

    def failing_on_the_mark(fd: int) -> None:
        if fd in mark_files:
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        synced(fd)

    def tick(self: Engine, connected: object, ticks: int = 1) -> None:
        raise AccessRefused("the system refuses this user a write of the mark: "
                            "Operation not permitted")

    monkeypatch.setattr(SignedMark, "__init__", remembered)
    monkeypatch.setattr(os, "fsync", failing_on_the_mark)
    monkeypatch.setattr(Engine, "tick", tick)
    monkeypatch.setattr(daemon, "setup_logging", lambda *args: None)
    with caplog.at_level(logging.INFO):
        code = daemon.run(config)
    errors, warnings = _said(caplog, logging.ERROR), _said(caplog, logging.WARNING)
    assert code == 74, errors
    assert len(errors) == 1 and errors[0].startswith(
        "stopped: the system refuses this user a write of the mark"), errors
    assert "chain database is damaged" not in errors[0], errors[0]
    assert any("SENIM-SIGNED" in line and "Input/output error" in line
               for line in warnings), warnings


def test_a_mark_the_disk_fails_to_sync_is_not_called_damage(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An EIO from the mark's close, the node's last step, was a CorruptStateError, said as
    the chain database damaged (exit 3, --resync advised)."""
    mark = SignedMark(tmp_path / SIGNED_MARK_NAME, bytes(32))

    def failing(fd: int) -> None:
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(os, "fsync", failing)
    with pytest.raises(SignedMarkUnusable) as failed:
        mark.close()
    assert not isinstance(failed.value, CorruptStateError)
    assert str(failed.value) == (f"cannot write {tmp_path / SIGNED_MARK_NAME}, which records "
                                 "what this validator last signed: Input/output error")
