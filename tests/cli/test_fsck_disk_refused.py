"""`senim fsck` of a store on a full disk: opening a store writes (LevelDB folds its log
into a table), and the disk's refusal was said as a file the system cannot read (in
Kazakh and Russian; in English LevelDB's words alone), with no word that nothing is
damaged or what to do. Now it says so as the node does, exit 2 (not checked)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import plyvel
import pytest
from click.testing import CliRunner

from cli.main import main
from node.config import render_config
from storage.kv import LevelDBStore
from tests.cli.test_ministry_languages import said_in
from tests.node.node_folders import write_lone_validator


def stopped_node(root: Path) -> tuple[Path, Path]:
    """A stopped node's config and its store, which holds one write."""
    write_lone_validator(root)
    config = root / "node.toml"
    config.write_text(render_config("ministry-1", "node.key", "genesis.json", "data",
                                    "127.0.0.1:0", "127.0.0.1:0", []))
    store = root / "data" / "chain.ldb"
    store.parent.mkdir(mode=0o700)
    written = LevelDBStore(str(store))
    written.write({b"head": b"something stored"}, sync=True)
    written.close()
    return config, store


@pytest.mark.parametrize(("errno_words", "kk", "ru"), [
    ("No space left on device", "дискіде бос орын қалмады", "на диске не осталось места"),
    ("Disk quota exceeded", "дисктегі квота таусылды", "превышена дисковая квота"),
])
def test_fsck_on_a_full_disk_says_nothing_is_damaged_and_to_free_space(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, errno_words: str, kk: str,
        ru: str) -> None:
    config, store = stopped_node(tmp_path)
    before = sorted(path.name for path in store.iterdir())
    said = f"IO error: {store}/000007.ldb: {errno_words}"

    def full_disk(*args: Any, **kwargs: Any) -> None:
        raise plyvel.IOError(said.encode())

    monkeypatch.setattr(plyvel, "DB", full_disk)
    runs = {lang: CliRunner().invoke(main, ["fsck", "--config", str(config), "--lang", lang])
            for lang in ("en", "kk", "ru")}
    assert runs["en"].exit_code == 2, runs["en"].output
    assert runs["en"].output == (
        f"error: cannot check {store}: the disk refuses the opening of the chain database "
        f"{store}: {said}; nothing is damaged: free space on that disk (or make it writable "
        "again), then run senim fsck again\n")
    assert said_in("kk", runs["kk"], 2) == (
        f"қате: {store} тексеру мүмкін болмады: диск жазуға көнбейді, ал қойманы ашу жазуды "
        f"қажет етеді ({kk}); ештеңе бүлінбеген: сол дискіде орын босатыңыз (не оған "
        "қайтадан жазуға рұқсат беріңіз), содан кейін senim fsck командасын қайта іске "
        "қосыңыз\n")
    assert said_in("ru", runs["ru"], 2) == (
        f"ошибка: не удалось проверить {store}: диск не даёт записать, а открытие хранилища "
        f"требует записи ({ru}); ничего не повреждено: освободите место на этом диске (или "
        "снова разрешите запись на него), затем запустите senim fsck ещё раз\n")
    assert sorted(path.name for path in store.iterdir()) == before
