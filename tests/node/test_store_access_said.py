"""How node.store_access says a file refused: by its mode (owner, group or other bits, the
ones that apply to this user) whatever the errno of the refusal. An immutable file (EPERM)
whose mode refuses too was said 'its mode allows it: it is locked'; a security policy's
EACCES on a file whose mode allows was said by its owner and mode, which allow it. The
system's refusals are stood in for by os.open raising them."""

from __future__ import annotations

import errno
import fcntl
import os
import stat
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from node.signed_mark import SIGNED_MARK_NAME
from node.store_access import FileRefused, _mode_grants, check_store_access


def _opening_refused(monkeypatch: pytest.MonkeyPatch, path: Path, code: int) -> None:
    real_open: Callable[..., int] = os.open

    def refusing_open(file: str | os.PathLike[str], flags: int, *args: int,
                      **kwargs: int | None) -> int:
        if Path(file) == path:
            raise OSError(code, os.strerror(code), str(file))
        return real_open(file, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", refusing_open)


def _refusal(data: Path) -> FileRefused:
    with pytest.raises(FileRefused) as raised:
        check_store_access(data, None)
    return raised.value


def test_an_immutable_file_whose_mode_refuses_too_is_said_by_its_owner_and_mode(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mark = tmp_path / SIGNED_MARK_NAME
    mark.write_bytes(b"")
    mark.chmod(0o400)  # its owner may read, not write, as the node does
    _opening_refused(monkeypatch, mark, errno.EPERM)
    refused = _refusal(tmp_path)
    assert not refused.locked
    assert "mode 0400; this user is" in str(refused), str(refused)
    assert "allows it" not in str(refused), str(refused)


def test_a_policy_refusing_a_file_whose_mode_allows_is_said_locked(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mark = tmp_path / SIGNED_MARK_NAME
    mark.write_bytes(b"")
    mark.chmod(0o600)
    _opening_refused(monkeypatch, mark, errno.EACCES)
    refused = _refusal(tmp_path)
    assert refused.locked
    assert str(refused).endswith(
        f"{mark}: Permission denied (its mode, 0600, allows it: it is locked, by an "
        "immutable or append-only flag or a security policy)"), str(refused)


def _status(mode: int, uid: int, gid: int) -> os.stat_result:
    return os.stat_result((stat.S_IFREG | mode, 0, 0, 1, uid, gid, 0, 0, 0, 0))


def test_the_bits_that_apply_to_this_user_decide() -> None:
    me, my_group = os.geteuid(), os.getegid()
    other_user = me + 1
    other_group = max([my_group, *os.getgroups()]) + 1
    assert _mode_grants(_status(0o600, me, other_group), written=True)
    assert not _mode_grants(_status(0o466, me, my_group), written=True)  # the owner's apply
    assert _mode_grants(_status(0o040, other_user, my_group), written=False)
    assert not _mode_grants(_status(0o604, other_user, my_group), written=False)
    assert _mode_grants(_status(0o006, other_user, other_group), written=True)
    assert not _mode_grants(_status(0o660, other_user, other_group), written=False)


def test_asking_the_store_leaves_a_lock_this_process_holds_held(tmp_path: Path) -> None:
    """LOCK was opened for writing and closed, which drops any fcntl lock this process
    held on it: a check after the store opened let another process take the store."""
    store = tmp_path / "chain.ldb"
    store.mkdir()
    lock = store / "LOCK"
    lock.write_bytes(b"")
    held = os.open(lock, os.O_RDWR)
    try:
        fcntl.lockf(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        check_store_access(tmp_path, store)
        taken = subprocess.run(
            [sys.executable, "-c", "import fcntl, os, sys; fcntl.lockf(os.open(sys.argv[1], "
             "os.O_RDWR), fcntl.LOCK_EX | fcntl.LOCK_NB)", str(lock)],
            capture_output=True, text=True, timeout=60, check=False)
    finally:
        os.close(held)
    assert taken.returncode != 0 and "BlockingIOError" in taken.stderr, taken.stderr


def test_a_file_swapped_for_a_fifo_since_its_stat_does_not_hold_the_check(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Opened for reading without O_NONBLOCK, a FIFO waits for a writer: for ever."""
    store = tmp_path / "chain.ldb"
    store.mkdir()
    fifo = store / "CURRENT"
    os.mkfifo(fifo)
    regular = tmp_path / "regular"
    regular.write_bytes(b"")
    real_stat, real_access = os.stat, os.access

    def stat_before_the_swap(path: str | os.PathLike[str], *args: object,
                             **kwargs: bool) -> os.stat_result:
        return real_stat(regular if Path(path) == fifo else path)

    def mode_refuses(path: str | os.PathLike[str], mode: int, **kwargs: bool) -> bool:
        return False if Path(path) == fifo else real_access(path, mode, **kwargs)

    monkeypatch.setattr(os, "stat", stat_before_the_swap)
    monkeypatch.setattr(os, "access", mode_refuses)
    checking = threading.Thread(target=check_store_access, args=(tmp_path, store),
                                daemon=True)
    checking.start()
    checking.join(timeout=10)
    held = checking.is_alive()
    if held:  # a writer lets the reader's opening return, and the thread end
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        checking.join(timeout=10)
    assert not held, "the check waited on a FIFO"
