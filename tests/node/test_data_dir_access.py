"""A data directory the node's user may not read or write is refused at start with one
line naming it, its owner and mode, and the command that fixes it. Before, a folder it
could not read ended the start in a PermissionError traceback (exit 1), and one on a
read-only disk was refused as LevelDB's 'LOCK: No such file or directory'.

The tests may run as root, whom modes do not stop: the kernel's answers for a user they
do stop are simulated (as tests/node/test_refused_start.py does for a read-only disk)."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import pytest

from ledger.errors import ConfigError
from node.config import load_config, render_config
from node.files import account
from node.start_checks import check_before_start
from tests.node.node_folders import write_lone_validator


def node_config(tmp_path: Path) -> Path:
    write_lone_validator(tmp_path)
    (tmp_path / "node.toml").write_text(render_config(
        "kaznu-1", "node.key", "genesis.json", "data", "127.0.0.1:0", "127.0.0.1:0", []))
    (tmp_path / "data").mkdir(mode=0o700)
    return tmp_path / "node.toml"


def denied(monkeypatch: pytest.MonkeyPatch, data: Path, may: int, read_only: bool = False
           ) -> None:
    """As a user who may only `may` (os.R_OK etc.) on `data`: no search, no look inside."""
    real_access, real_stat, real_statvfs = os.access, os.stat, os.statvfs

    def access(path: Any, mode: int, **kwargs: Any) -> bool:
        if Path(path) == data:
            return mode & may == mode
        return real_access(path, mode, **kwargs)

    def stat(path: Any, *args: Any, **kwargs: Any) -> os.stat_result:
        if Path(path).parent == data and not may & os.X_OK:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
        return real_stat(path, *args, **kwargs)

    class ReadOnly:
        f_flag = os.ST_RDONLY

    def statvfs(path: Any) -> Any:
        return ReadOnly() if read_only and Path(path) == data else real_statvfs(path)

    monkeypatch.setattr(os, "access", access)
    monkeypatch.setattr(os, "stat", stat)
    monkeypatch.setattr(os, "statvfs", statvfs)


def test_a_data_dir_its_user_may_not_read_is_refused(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = load_config(node_config(tmp_path))
    denied(monkeypatch, tmp_path / "data", may=0)
    with pytest.raises(ConfigError) as refused:
        check_before_start(config)
    me = account(os.geteuid())  # the data dir's owner too: the tests made it
    said = str(refused.value)
    assert said.startswith(f"node.data_dir: {tmp_path / 'data'}: {me}"), said
    assert said.endswith(f", who runs the node, may not read it (owner {me}, mode 0700); the "
                         f"node keeps its chain there: chmod u+rwx {tmp_path / 'data'}"), said


def test_a_data_dir_its_user_may_not_write_is_refused(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = load_config(node_config(tmp_path))
    denied(monkeypatch, tmp_path / "data", may=os.R_OK | os.X_OK)
    with pytest.raises(ConfigError, match=r"may not write it \(owner .*, mode 0700\)"):
        check_before_start(config)


def test_a_data_dir_on_a_read_only_disk_is_refused_as_that(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = load_config(node_config(tmp_path))
    denied(monkeypatch, tmp_path / "data", may=os.R_OK | os.X_OK, read_only=True)
    with pytest.raises(ConfigError) as refused:
        check_before_start(config)
    assert str(refused.value) == (f"node.data_dir: {tmp_path / 'data'} is on a read-only "
                                  "file system; the node writes its chain there")


@pytest.mark.parametrize("where", ["data", "above"])
def test_a_data_dir_another_user_may_swap_is_refused(tmp_path: Path, where: str) -> None:
    """A data dir (or a folder above it) every user may write was taken as it was: another
    account could put an older copy of the store in its place, whose safety state has this
    validator vote again at heights it voted at, and be reported for equivocation."""
    path = node_config(tmp_path)
    loose = tmp_path / "data"
    if where == "above":  # a shared folder the data dir (not yet made) would be in
        loose = tmp_path / "shared"
        loose.mkdir()
        path.write_text(path.read_text().replace('data_dir = "data"',
                                                 'data_dir = "shared/data"'))
    config = load_config(path)
    loose.chmod(0o777)
    try:
        with pytest.raises(ConfigError) as refused:
            check_before_start(config)
    finally:
        loose.chmod(0o700)
    assert str(refused.value) == (
        f"node.data_dir: the chain store (this node's votes with it) is kept under {loose}, "
        "a folder its group and every user may write (mode 0777), so another user could "
        f"replace the file; chmod go-w {loose}")
    assert not (config.data_dir / "chain.ldb").exists()


def test_a_data_dir_that_is_a_device_is_refused_as_no_folder(tmp_path: Path) -> None:
    """`data_dir = "/dev/null"` (mode 0666) was called a folder every user may write, with
    `chmod go-w /dev/null` as the fix: run as root, that breaks every other user's
    programs that write to /dev/null."""
    path = node_config(tmp_path)
    path.write_text(path.read_text().replace('data_dir = "data"', 'data_dir = "/dev/null"'))
    with pytest.raises(ConfigError) as refused:
        check_before_start(load_config(path))
    assert str(refused.value) == ("node.data_dir: /dev/null is a character device, not a "
                                  "folder; data_dir is the folder the node keeps its chain in")
