"""`senim fsck` of a store the disk will not let it open: opening a store writes (LevelDB
folds its log into a table), and the disk's refusal was said as a file the system cannot
read (in Kazakh and Russian; in English LevelDB's words alone), with no word of what to do.
Now it says, exit 2, that the refusal damages nothing, but that nothing was checked (a
store damaged too says so only once it opens), and the cure: on a full disk, free space;
for files that are not this user's to read or write, run fsck as the node's user or fix
their owner or mode (free space would not help: they were given the full disk's cure)."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import plyvel
import pytest
from click.testing import CliRunner, Result

import storage.write_count
from cli.main import main
from ledger.chain import Chain
from node.config import render_config
from node.files import load_genesis
from storage.bounded_read import FileRead, read_bounded
from storage.kv import WRITES_FILE, LevelDBStore
from tests.cli.test_ministry_languages import said_in
from tests.node.node_folders import write_lone_validator
from tests.storage.refused_reads import refuse_reads

LANGUAGES = ("en", "kk", "ru")
REPOSITORY = Path(__file__).resolve().parents[2]
CANNOT_MOUNT = 77  # tests/cli/full_disk_fsck.py's exit where no tmpfs can be mounted


def stopped_node(root: Path) -> tuple[Path, Path]:
    """A stopped node's config and its store, which holds the chain's genesis (in
    LevelDB's log: the next opening writes it into a table)."""
    write_lone_validator(root)
    config = root / "node.toml"
    config.write_text(render_config("ministry-1", "node.key", "genesis.json", "data",
                                    "127.0.0.1:0", "127.0.0.1:0", []))
    store = root / "data" / "chain.ldb"
    store.parent.mkdir(mode=0o700)
    written = LevelDBStore(str(store))
    Chain(written, load_genesis(root / "genesis.json"))
    written.close()
    return config, store


def fsck(config: Path) -> dict[str, Result]:
    return {lang: CliRunner().invoke(main, ["fsck", "--config", str(config), "--lang", lang])
            for lang in LANGUAGES}


@pytest.mark.parametrize(("errno_words", "kk", "ru"), [
    ("No space left on device", "дискіде бос орын қалмады", "на диске не осталось места"),
    ("Disk quota exceeded", "дисктегі квота таусылды", "превышена дисковая квота"),
])
def test_fsck_on_a_full_disk_says_nothing_was_checked_and_to_free_space(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, errno_words: str, kk: str,
        ru: str) -> None:
    config, store = stopped_node(tmp_path)
    said = f"IO error: {store}/000007.ldb: {errno_words}"

    def full_disk(*args: Any, **kwargs: Any) -> None:
        raise plyvel.IOError(said.encode())

    monkeypatch.setattr(plyvel, "DB", full_disk)
    runs = fsck(config)
    assert runs["en"].exit_code == 2, runs["en"].output
    assert runs["en"].output == (
        f"error: cannot check {store}: the disk refuses the opening of the chain database "
        f"{store}: {said}; that damages nothing, but nothing was checked: free space on that "
        "disk (or make it writable again), then run senim fsck again\n")
    assert said_in("kk", runs["kk"], 2) == (
        f"қате: {store} тексеру мүмкін болмады: диск жазуға көнбейді, ал қойманы ашу жазуды "
        f"қажет етеді ({kk}); бұл ештеңені бүлдірмейді, бірақ ештеңе тексерілмеді: сол "
        "дискіде орын босатыңыз (не оған қайтадан жазуға рұқсат беріңіз), содан кейін senim "
        "fsck командасын қайта іске қосыңыз\n")
    assert said_in("ru", runs["ru"], 2) == (
        f"ошибка: не удалось проверить {store}: диск не даёт записать, а открытие хранилища "
        f"требует записи ({ru}); это ничего не повреждает, но ничего не проверено: "
        "освободите место на этом диске (или снова разрешите запись на него), затем "
        "запустите senim fsck ещё раз\n")


def _access_refused(store: Path, refused: str, runs: dict[str, Result],
                    kk: str = "(оқуға не жазуға рұқсат жоқ)",
                    ru: str = "(нет прав на чтение или запись)") -> None:
    """The permission's own sentence in each language, and no word of free space."""
    assert runs["en"].exit_code == 2, runs["en"].output
    assert runs["en"].output == (
        f"error: cannot check {store}: the system refuses this user {refused}; that damages "
        "nothing, but nothing was checked: the store's files are not this user's to read or "
        "write, or are locked: run senim fsck as the user the node runs as, or fix the "
        "files' owner or mode, or unlock them\n")
    assert said_in("kk", runs["kk"], 2) == (
        f"қате: {store} тексеру мүмкін болмады: жүйе бұл пайдаланушыға қойма файлдарын оқуға "
        f"не жазуға рұқсат бермейді {kk}; бұл ештеңені бүлдірмейді, бірақ ештеңе "
        "тексерілмеді: файлдар бұл пайдаланушыныкі емес не құлыпталған: senim fsck "
        "командасын түйін жұмыс істейтін пайдаланушының атынан іске қосыңыз, не файлдардың "
        "иесін немесе рұқсаттарын түзетіңіз, не олардың құлпын ашыңыз\n")
    assert said_in("ru", runs["ru"], 2) == (
        f"ошибка: не удалось проверить {store}: система не даёт этому пользователю читать или "
        f"записывать файлы хранилища {ru}; это ничего не повреждает, но ничего не "
        "проверено: файлы не принадлежат этому пользователю или заблокированы: запустите "
        "senim fsck от имени пользователя, под которым работает узел, или исправьте "
        "владельца или права доступа файлов, или снимите с них блокировку\n")


def test_fsck_refused_the_opening_of_files_not_its_users_says_so_not_free_space(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config, store = stopped_node(tmp_path)
    said = f"IO error: {store}/000005.ldb: Permission denied"

    def not_this_users(*args: Any, **kwargs: Any) -> None:
        raise plyvel.IOError(said.encode())

    monkeypatch.setattr(plyvel, "DB", not_this_users)
    _access_refused(store, f"the opening of the chain database {store}: {said}",
                    fsck(config))


def test_fsck_refused_a_read_says_it_is_a_read_or_write_not_a_write(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """SENIM-WRITES, read at the opening, is the node's user's alone (0600): run as another
    user, fsck was told in Kazakh and Russian that the disk refuses a write."""
    config, store = stopped_node(tmp_path)
    def refused(path: Path, *args: Any, **kwargs: Any) -> FileRead:
        if path.name == WRITES_FILE:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
        return read_bounded(path, *args, **kwargs)

    monkeypatch.setattr(storage.write_count, "read_bounded", refused)
    _access_refused(store, f"the reading of {store / WRITES_FILE}: Permission denied",
                    fsck(config))


def test_fsck_refused_a_read_of_a_table_file_says_so_not_damage(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """LevelDB opens a table file at the first read that needs it, after the store opened:
    that read refused was said as damage (exit 1, with --resync advised, which gives no file
    to this user)."""
    config, store = stopped_node(tmp_path)
    said = f"IO error: {store}/000005.ldb: Permission denied"
    refuse_reads(monkeypatch, said.encode())
    _access_refused(store, f"a read of the chain database: {said}", fsck(config))


def test_fsck_refused_the_first_read_of_the_opening_says_so_not_damage(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The opening reads the store's write count: refused, fsck said the store does not open
    and is damaged (exit 1)."""
    config, store = stopped_node(tmp_path)
    said = f"IO error: {store}/000005.ldb: Operation not permitted"
    refuse_reads(monkeypatch, said.encode(), after_opening=False)
    _access_refused(store, f"a read of the chain database: {said}", fsck(config),
                    "(амалға рұқсат жоқ)", "(операция не разрешена)")


def test_fsck_on_a_really_full_disk_changes_nothing_and_checks_once_there_is_space(
        tmp_path: Path) -> None:
    """On a 1 MB tmpfs of its own, mounted in a mount namespace of its own (root on Linux,
    skipped elsewhere): the mount goes with the process, whatever fails or kills it, and no
    other process sees it (tests/cli/full_disk_fsck.py)."""
    if sys.platform != "linux" or os.geteuid() != 0 or not all(
            shutil.which(tool) for tool in ("unshare", "mount")):
        pytest.skip("mounting a tmpfs in a mount namespace of its own needs root on Linux")
    private = ["unshare", "--mount", "--propagation", "private"]
    tried = subprocess.run([*private, "true"], capture_output=True, text=True, check=False)
    if tried.returncode != 0:  # a container without the right to make one
        pytest.skip(f"cannot make a mount namespace: {tried.stderr}")
    checked = subprocess.run(
        [*private, sys.executable, "-m", "tests.cli.full_disk_fsck", str(tmp_path / "disk")],
        capture_output=True, text=True, check=False, timeout=120, cwd=REPOSITORY,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(
            filter(None, [str(REPOSITORY), os.environ.get("PYTHONPATH")]))})
    if checked.returncode == CANNOT_MOUNT:
        pytest.skip(f"cannot mount a tmpfs: {checked.stdout}")
    assert checked.returncode == 0, checked.stdout + checked.stderr
