"""A key file in a folder others may write is refused at start: its own mode (0600) did
not stop whoever may write a folder above it from putting a key of their own in its place.
Each refusal names the folder and the command that fixes it; a sticky folder of root's
(as /tmp) is no such folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ledger.errors import ConfigError
from ledger.identity import KeyPair
from node.files import load_key, save_key
from tests.node.test_start_files import TEXT_LINE, node_folder, one_error, senim

ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="only root gives a folder away")
ANOTHER_UID = 65534  # nobody


def key_in(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    save_key(folder / "node.key", KeyPair.generate())
    return folder / "node.key"


@pytest.mark.parametrize("mode,who", [(0o777, "its group and every user"),
                                      (0o770, "its group"), (0o703, "every user")])
def test_a_key_in_a_folder_others_may_write_is_refused(tmp_path: Path, mode: int,
                                                        who: str) -> None:
    key = key_in(tmp_path / "keys")
    os.chmod(tmp_path / "keys", mode)
    with pytest.raises(ConfigError) as refused:
        load_key(key)
    assert str(refused.value) == (
        f"{key}: key file is in {tmp_path / 'keys'}, a folder {who} may write (mode "
        f"{mode:04o}), so another user could replace the file; chmod go-w {tmp_path / 'keys'}")
    os.chmod(tmp_path / "keys", mode & ~0o022)
    load_key(key)


def test_a_folder_above_the_folder_counts_too(tmp_path: Path) -> None:
    """Whoever may write `shared` renames `keys` away and puts a folder of theirs there."""
    key = key_in(tmp_path / "shared" / "keys")
    os.chmod(tmp_path / "shared", 0o777)
    with pytest.raises(ConfigError, match=f"is in {tmp_path / 'shared'}, a folder"):
        load_key(key)


def test_a_link_to_a_folder_others_may_write_is_followed(tmp_path: Path) -> None:
    key_in(tmp_path / "loose")
    os.chmod(tmp_path / "loose", 0o777)
    (tmp_path / "safe").mkdir(mode=0o700)
    (tmp_path / "safe" / "keys").symlink_to(tmp_path / "loose")
    with pytest.raises(ConfigError, match=f"is in {tmp_path / 'loose'}, a folder"):
        load_key(tmp_path / "safe" / "keys" / "node.key")


def test_a_sticky_folder_of_roots_or_ones_own_is_safe(tmp_path: Path) -> None:
    """As /tmp: only the owner of an entry (or of the folder, or root) moves it."""
    key = key_in(tmp_path / "sticky")
    os.chmod(tmp_path / "sticky", 0o1777)
    assert load_key(key).public_key


@ROOT_ONLY
def test_a_key_in_a_folder_another_user_owns_is_refused(tmp_path: Path) -> None:
    key = key_in(tmp_path / "keys")
    os.chmod(tmp_path / "keys", 0o1755)  # sticky is no help: its owner moves anything
    os.chown(tmp_path / "keys", ANOTHER_UID, -1)
    with pytest.raises(ConfigError) as refused:
        load_key(key)
    assert str(refused.value) == (
        f"{key}: key file is in {tmp_path / 'keys'}, a folder owned by nobody (uid 65534), "
        f"who could replace the file; chown root {tmp_path / 'keys'} (or run this as nobody)")


def test_a_node_whose_key_folder_others_may_write_does_not_start(tmp_path: Path) -> None:
    config = node_folder(tmp_path / "node")
    os.chmod(tmp_path / "node", 0o777)
    found = TEXT_LINE.match(one_error(senim("node", "--config", str(config))))
    assert found and found["msg"].startswith(
        f"cannot start: {tmp_path / 'node' / 'node.key'}: key file is in "
        f"{tmp_path / 'node'}, a folder its group and every user may write"), found
    assert not (tmp_path / "node" / "data").exists()
