"""Whatever fails while the node starts or stops, its chain store is closed, and the failure
said is the first: an await of the stop (the evidence submitter's close, say) that raised
left the store open and was a traceback; a close refused after 'cannot listen' replaced
that line; a mark refused since the start checks left the store open."""

from __future__ import annotations

import errno
import logging
import os
from pathlib import Path

import pytest

from node import daemon
from node.engine import Engine
from node.evidence_submit import EvidenceSubmitter
from node.network import Network
from node.signed_mark import SignedMark
from storage.errors import AccessRefused
from storage.kv import LevelDBStore
from tests.node.test_refused_start import node_folder

REFUSED_WRITE = "the system refuses this user a write of the chain database: Permission denied"


def _said(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.levelno == level]


def _closes_counted(monkeypatch: pytest.MonkeyPatch, refused: bool = False) -> list[str]:
    """The store's closes, each really closing (and then refused, if `refused`)."""
    closes: list[str] = []
    real_close = LevelDBStore.close

    def counted(self: LevelDBStore) -> None:
        real_close(self)
        closes.append("closed")
        if refused:
            raise AccessRefused(REFUSED_WRITE)

    monkeypatch.setattr(LevelDBStore, "close", counted)
    monkeypatch.setattr(daemon, "setup_logging", lambda *args: None)
    return closes


def test_a_stop_whose_await_fails_still_closes_the_store(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    config = node_folder(tmp_path, "127.0.0.1:0", "127.0.0.1:0")
    closes = _closes_counted(monkeypatch)

    def tick(self: Engine, connected: object, ticks: int = 1) -> None:
        raise AccessRefused(REFUSED_WRITE)

    async def failing_close(self: EvidenceSubmitter) -> None:
        raise RuntimeError("the evidence submitter's close failed")

    monkeypatch.setattr(Engine, "tick", tick)
    monkeypatch.setattr(EvidenceSubmitter, "close", failing_close)
    with caplog.at_level(logging.INFO):
        code = daemon.run(config)
    errors = _said(caplog, logging.ERROR)
    assert code == 74, errors
    assert len(closes) == 1, closes
    assert len(errors) == 1 and errors[0].startswith(f"stopped: {REFUSED_WRITE}"), errors
    assert any("the evidence submitter's close failed" in line
               for line in _said(caplog, logging.WARNING)), caplog.text


def test_a_close_refused_after_a_listen_refused_is_said_after_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    config = node_folder(tmp_path, "127.0.0.1:0", "127.0.0.1:0")
    closes = _closes_counted(monkeypatch, refused=True)

    async def refused_start(self: Network) -> None:  # taken since the start checks asked
        raise OSError(errno.EADDRINUSE, os.strerror(errno.EADDRINUSE))

    monkeypatch.setattr(Network, "start", refused_start)
    with caplog.at_level(logging.INFO):
        code = daemon.run(config)
    errors = _said(caplog, logging.ERROR)
    assert code == 2, errors
    assert len(closes) == 1, closes
    assert len(errors) == 1 and errors[0].startswith(
        "cannot start: api.listen/p2p.listen: cannot listen: "), errors
    assert any(REFUSED_WRITE in line for line in _said(caplog, logging.WARNING)), caplog.text


def test_a_mark_refused_after_the_store_opened_closes_the_store(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    config = node_folder(tmp_path, "127.0.0.1:0", "127.0.0.1:0")
    closes = _closes_counted(monkeypatch)
    said = "the system refuses this user the opening of the mark: Permission denied"

    def refused(self: SignedMark, path: Path, genesis_hash: bytes) -> None:
        raise AccessRefused(said)

    monkeypatch.setattr(SignedMark, "__init__", refused)
    with caplog.at_level(logging.INFO):
        code = daemon.run(config)
    errors = _said(caplog, logging.ERROR)
    assert code == 74, errors
    assert len(closes) == 1, closes
    assert len(errors) == 1 and said in errors[0], errors
