"""The store's own files refused to this user while it runs (an immutable flag set on
SENIM-WRITES, a log file chmod-ed or chown-ed under it) are an AccessRefused, as LevelDB's
own refusals are: they were bare OSErrors, so the engine thread took them for a bug in
itself (a traceback, exit 4) where a refused write stops the node with one line, exit 74,
and the cure: the files' owner or mode."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import pytest

from storage.errors import AccessRefused
from storage.kv import WRITES_FILE, LevelDBStore


def refuse_pwrite_to(monkeypatch: pytest.MonkeyPatch, fd: int, code: int) -> None:
    written = os.pwrite

    def pwrite(to: int, data: bytes, offset: int) -> int:
        if to == fd:
            raise OSError(code, os.strerror(code))
        return written(to, data, offset)

    monkeypatch.setattr(os, "pwrite", pwrite)


@pytest.mark.parametrize("code", [errno.EPERM, errno.EACCES])
def test_a_write_count_refused_is_access_refused(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 code: int) -> None:
    store = LevelDBStore(str(tmp_path / "db"))
    store.write({b"k": b"1"})
    refuse_pwrite_to(monkeypatch, store._writes_file, code)
    with pytest.raises(AccessRefused) as refused:
        store.write({b"k": b"2"})
    assert str(refused.value) == (f"the system refuses this user a write of "
                                  f"{tmp_path / 'db' / WRITES_FILE}: {os.strerror(code)}")
    with pytest.raises(AccessRefused):  # a clean stop says it too, and lets the file go
        store.close()
    assert store._writes_file == -1
    monkeypatch.undo()
    reopened = LevelDBStore(str(tmp_path / "db"))  # the count runs behind: no loss told
    assert reopened.get(b"k") == b"2"
    reopened.close()


def test_a_log_refused_to_its_sync_is_access_refused(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    store = LevelDBStore(str(tmp_path / "db"))
    store.write({b"k": b"1"}, sync=False)  # a synced write now syncs this log itself
    opened = os.open

    def refusing(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if str(path).endswith(".log"):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
        return opened(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", refusing)
    with pytest.raises(AccessRefused) as refused:
        store.write({b"k": b"2"})
    assert str(refused.value).startswith(
        f"the system refuses this user a sync of {tmp_path / 'db'}/"), refused.value
    assert str(refused.value).endswith(".log: Permission denied"), refused.value
    monkeypatch.undo()
    store.close()
