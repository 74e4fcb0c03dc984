"""A node (or senim fsck) whose store's files, or the mark of what it signed, another user
owns or a flag locks is refused before anything is opened, in one line naming the file,
its owner and mode, exit 74 (fsck: 2), and nothing on disk changes. The mark refused was a
traceback (exit 1) once the store was open; a store file refused was told only once
LevelDB's opening had rotated its LOG and written a new MANIFEST; and fsck called a mark it
could not read damaged, to be deleted.

As root the file is given to nobody and the command run without the capabilities that
pass over owners and modes (setpriv), since modes do not stop root; as another user the
file's mode is taken away (chmod 000), the same refusal to the same user."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ledger.chain import Chain
from node.files import account, load_genesis
from node.signed_mark import SIGNED_MARK_NAME, SignedMark
from storage.kv import WRITES_FILE, LevelDBStore
from tests.node.test_refused_start import node_folder

REPOSITORY = Path(__file__).resolve().parents[2]
PROCESS_TIMEOUT_S = 120
AS_ANOTHER_USER = ["setpriv", "--bounding-set=-dac_override,-dac_read_search,-fowner,-chown",
                   "--"]
NOBODY = 65534


def _can_drop_capabilities() -> bool:
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        return False
    return subprocess.run([*AS_ANOTHER_USER, "true"], capture_output=True,
                          check=False).returncode == 0


needs_root = pytest.mark.skipif(not _can_drop_capabilities(),
                                reason="needs root and setpriv to drop DAC capabilities")
needs_refusable_user = pytest.mark.skipif(
    os.geteuid() == 0 and not _can_drop_capabilities(),
    reason="root, whom modes do not stop, without setpriv to drop DAC capabilities")


def refuse_to_this_user(path: Path) -> tuple[tuple[str, ...], str]:
    """Make `path` refuse the user the command runs as; the prefix that runs it so, and
    what its refusal says of the file's owner and mode and that user."""
    if os.geteuid() != 0:
        os.chmod(path, 0)
        me = account(os.geteuid())
        return (), f"owner {me}, mode 0000; this user is {me}"
    os.chown(path, NOBODY, NOBODY)
    os.chmod(path, 0o600)
    return (tuple(AS_ANOTHER_USER),
            f"owner nobody (uid {NOBODY}), mode 0600; this user is root (uid 0)")


def stopped_node(root: Path) -> Path:
    """A lone validator that has run: its store holds a table file (the second opening
    folds the log into one) and its mark a state."""
    config = node_folder(root, "127.0.0.1:0", "127.0.0.1:0")
    store = root / "data" / "chain.ldb"
    store.parent.mkdir(mode=0o700)
    genesis = load_genesis(root / "genesis.json")
    for _ in range(2):
        kv = LevelDBStore(str(store))
        Chain(kv, genesis)
        kv.close()
    SignedMark(root / "data" / SIGNED_MARK_NAME, genesis.genesis_hash).close()
    assert any(name.endswith(".ldb") for name in os.listdir(store)), os.listdir(store)
    return config


def on_disk(folder: Path) -> dict[str, tuple[int, int, int, bytes]]:
    """Every file under `folder`: its size, mode, mtime and bytes."""
    found = {}
    for path in sorted(folder.rglob("*")):
        status = path.stat()
        found[str(path)] = (status.st_size, status.st_mode, status.st_mtime_ns,
                            path.read_bytes() if path.is_file() else b"")
    return found


def senim(*args: str, prefix: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPOSITORY)}
    return subprocess.run([*prefix, sys.executable, "-m", "cli", *args], capture_output=True,
                          text=True, timeout=PROCESS_TIMEOUT_S, check=False, env=env,
                          cwd=REPOSITORY)


def a_table(store: Path) -> str:
    return next(name for name in sorted(os.listdir(store)) if name.endswith(".ldb"))


@needs_refusable_user
@pytest.mark.parametrize("file", [SIGNED_MARK_NAME, "chain.ldb/CURRENT", "chain.ldb/table",
                                  f"chain.ldb/{WRITES_FILE}"])
def test_a_file_another_user_owns_refuses_the_start_and_changes_nothing(
        tmp_path: Path, file: str) -> None:
    config = stopped_node(tmp_path)
    data, store = tmp_path / "data", tmp_path / "data" / "chain.ldb"
    path = store / a_table(store) if file == "chain.ldb/table" else data / file
    prefix, owned = refuse_to_this_user(path)
    before = on_disk(data)
    done = senim("node", "--config", str(config), prefix=prefix)
    assert done.returncode == 74, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    errors = [line for line in done.stderr.splitlines() if " ERROR " in line]
    assert len(errors) == 1 and "CRITICAL" not in done.stderr, done.stderr
    assert ("cannot start: the system refuses this user a read" in errors[0]
            and f" of {path}: Permission denied ({owned}); nothing is damaged"
            in errors[0]), errors[0]
    assert "fix their owner or mode" in errors[0], errors[0]
    assert on_disk(data) == before


@needs_refusable_user
def test_fsck_does_not_call_a_mark_it_may_not_read_damaged(tmp_path: Path) -> None:
    """It advised deleting the mark, the one record of what the validator signed left when
    the store is set aside."""
    config = stopped_node(tmp_path)
    data = tmp_path / "data"
    mark = data / SIGNED_MARK_NAME
    prefix, owned = refuse_to_this_user(mark)
    before = on_disk(data)
    done = senim("fsck", "--config", str(config), "--lang", "en", prefix=prefix)
    assert done.returncode == 2, (done.stdout, done.stderr)
    said = done.stdout + done.stderr
    assert "damaged" not in said.replace("that damages nothing", ""), said
    assert "delete" not in said, said
    assert f"a read of {mark}: Permission denied ({owned})" in said, said
    assert on_disk(data) == before


FILE_REFUSED = {"kk": "жүйе бұл пайдаланушыға {path} файлын оқуға рұқсат бермейді: оқуға не "
                      "жазуға рұқсат жоқ (иесі {owner}, рұқсаттары {mode}; бұл пайдаланушы — "
                      "{user})",
                "ru": "система не даёт этому пользователю читать файл {path}: нет прав на "
                      "чтение или запись (владелец {owner}, права {mode}; этот пользователь — "
                      "{user})"}
STORE_FILES = {"kk": "қойма файлдарын", "ru": "файлы хранилища"}


@needs_refusable_user
@pytest.mark.parametrize("lang", list(FILE_REFUSED))
def test_fsck_names_the_refused_file_its_owner_and_mode_in_every_language(
        tmp_path: Path, lang: str) -> None:
    """kk and ru said only 'the store's files' and 'permission denied': no file, owner, mode
    nor user, and the mark, beside the store, is none of its files."""
    config = stopped_node(tmp_path)
    mark = tmp_path / "data" / SIGNED_MARK_NAME
    prefix, owned = refuse_to_this_user(mark)
    owner, mode, user = (re.fullmatch(r"owner (.+), mode (\d+); this user is (.+)", owned)
                         or pytest.fail(owned)).groups()
    done = senim("fsck", "--config", str(config), "--lang", lang, prefix=prefix)
    said = done.stdout + done.stderr
    assert done.returncode == 2, said
    assert FILE_REFUSED[lang].format(path=mark, owner=owner, mode=mode, user=user) in said, said
    assert STORE_FILES[lang] not in said, said


@needs_refusable_user
@pytest.mark.parametrize("command", [("fsck", "--lang", "en"), ("node", "--resync")])
def test_a_lock_file_another_user_owns_is_said_with_its_owner(
        tmp_path: Path, command: tuple[str, ...]) -> None:
    """fsck took the lock before it asked the files, and --resync asks only the mark: both
    said 'Permission denied; the folder must be writable', of a folder that is."""
    config = stopped_node(tmp_path)
    data = tmp_path / "data"
    lock = data / "chain.ldb" / "LOCK"
    prefix, owned = refuse_to_this_user(lock)
    before = on_disk(data)
    done = senim(command[0], "--config", str(config), *command[1:], prefix=prefix)
    said = done.stdout + done.stderr
    assert done.returncode == (2 if command[0] == "fsck" else 74), said
    assert (f"the system refuses this user a read and write of {lock}: Permission denied "
            f"({owned})") in said, said
    assert "must be writable" not in said and "Traceback" not in said, said
    assert on_disk(data) == before


def test_an_immutable_write_count_refuses_the_start_and_changes_nothing(
        tmp_path: Path) -> None:
    config = stopped_node(tmp_path)
    data = tmp_path / "data"
    count = data / "chain.ldb" / WRITES_FILE
    if shutil.which("chattr") is None or subprocess.run(
            ["chattr", "+i", str(count)], capture_output=True, check=False).returncode:
        pytest.skip("no immutable flag here (chattr needs root and a file system with it)")
    try:
        before = on_disk(data)
        done = senim("node", "--config", str(config))
    finally:
        subprocess.run(["chattr", "-i", str(count)], check=True)
    assert done.returncode == 74, done.stderr
    errors = [line for line in done.stderr.splitlines() if " ERROR " in line]
    assert len(errors) == 1, done.stderr
    assert (f"the system refuses this user a read and write of {count}: Operation not "
            "permitted (its mode, 0600, allows it: it is locked, by an immutable or "
            "append-only flag or a security policy)") in errors[0], errors[0]
    assert on_disk(data) == before


def test_an_append_only_write_count_refuses_the_start_and_changes_nothing(
        tmp_path: Path) -> None:
    """access(2) lets an append-only file be written; only its opening refuses, which came
    after LevelDB's opening had written CURRENT, a MANIFEST and a log, and rotated LOG."""
    config = stopped_node(tmp_path)
    data = tmp_path / "data"
    count = data / "chain.ldb" / WRITES_FILE
    if shutil.which("chattr") is None or subprocess.run(
            ["chattr", "+a", str(count)], capture_output=True, check=False).returncode:
        pytest.skip("no append-only flag here (chattr needs root and a file system with it)")
    try:
        before = on_disk(data)
        done = senim("node", "--config", str(config))
    finally:
        subprocess.run(["chattr", "-a", str(count)], check=True)
    assert done.returncode == 74, done.stderr
    errors = [line for line in done.stderr.splitlines() if " ERROR " in line]
    assert len(errors) == 1, done.stderr
    assert (f"the system refuses this user a read and write of {count}: Operation not "
            "permitted (its mode, 0600, allows it: it is locked") in errors[0], errors[0]
    assert on_disk(data) == before


def _read_only_mount(folder: Path) -> tuple[str, ...]:
    """A prefix running a command in its own mount namespace, where `folder` is a read-only
    bind mount of itself."""
    return ("unshare", "-m", "sh", "-c", 'mount --bind "$0" "$0" && '
            'mount -o remount,bind,ro "$0" && exec "$@"', str(folder))


@pytest.mark.parametrize("command", [("node",), ("fsck", "--lang", "en")])
def test_a_store_on_a_read_only_mount_is_said_read_only(
        tmp_path: Path, command: tuple[str, ...]) -> None:
    """Its files were said locked by an immutable flag (exit 74) once the written ones were
    asked of access(2), which answers EROFS as it answers a flag."""
    config = stopped_node(tmp_path)
    data, store = tmp_path / "data", tmp_path / "data" / "chain.ldb"
    if shutil.which("unshare") is None or subprocess.run(
            [*_read_only_mount(store), "true"], capture_output=True, check=False).returncode:
        pytest.skip("cannot make a read-only mount here (unshare -m needs root)")
    before = on_disk(data)
    done = senim(command[0], "--config", str(config), *command[1:],
                 prefix=_read_only_mount(store))
    said = done.stdout + done.stderr
    assert done.returncode == 2, said
    assert (f"cannot use {store}: {store / 'LOCK'}: Read-only file system; the node writes "
            "its chain there, so the folder must be writable") in said, said
    assert "locked" not in said and "Traceback" not in said, said
    assert on_disk(data) == before


MARK_A_FOLDER = {"en": "{mark}, which records what this validator last signed, is a folder, "
                       "not a file: move it away",
                 "kk": "{mark} (осы валидатордың соңғы рет неге қол қойғанын жазатын орын) — "
                       "қалта, файл емес",
                 "ru": "{mark}, где записано, что этот валидатор подписал последним, — папка, "
                       "а не файл"}


@pytest.mark.parametrize("command", [("node",), ("node", "--resync"), ("fsck", "--lang", "en"),
                                     ("fsck", "--lang", "kk"), ("fsck", "--lang", "ru")])
def test_a_mark_that_is_a_folder_is_said_so_and_changes_nothing(
        tmp_path: Path, command: tuple[str, ...]) -> None:
    """The node called it the chain database damaged (exit 3, --resync advised), --resync
    ended in a traceback, and fsck called it damaged, to be deleted."""
    config = stopped_node(tmp_path)
    data = tmp_path / "data"
    mark = data / SIGNED_MARK_NAME
    mark.unlink()
    mark.mkdir()
    before = on_disk(data)
    done = senim(command[0], "--config", str(config), *command[1:])
    said = done.stdout + done.stderr
    assert done.returncode == 2, said
    lang = command[-1] if command[0] == "fsck" else "en"
    assert MARK_A_FOLDER[lang].format(mark=mark) in said, said
    assert "Traceback" not in said and "damaged" not in said, said
    assert on_disk(data) == before
