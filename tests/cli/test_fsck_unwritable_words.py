"""`senim fsck` of a store whose lock it cannot take (a read-only disk, a folder another
user owns) says in Kazakh and Russian what it says in English, the cure with it: the
folder must be writable by the user running the node. kk and ru said instead that LevelDB
locks the folder even to check, and no cure. A lock file this user may not open (EACCES)
is said with its owner and mode instead, as any store file refused."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from cli.main import main
from storage.kv import LevelDBStore
from tests.cli.test_ministry_languages import said_in
from tests.node.test_refused_start import node_folder

SAID = {
    errno.EROFS: {
        "kk": "{store} пайдалану мүмкін емес: {lock}: файл жүйесі тек оқуға арналған; түйін "
              "тізбегін сол жерге жазады, сондықтан бұл қалтаға оны іске қосатын пайдаланушы "
              "жаза алуы керек",
        "ru": "не удаётся использовать {store}: {lock}: файловая система только для чтения; "
              "узел записывает туда свою цепочку, поэтому в эту папку должен иметь право "
              "записи пользователь, от имени которого он запущен"},
    errno.EACCES: {
        "kk": "{store} пайдалану мүмкін емес: {lock}: оқуға не жазуға рұқсат жоқ; түйін "
              "тізбегін сол жерге жазады, сондықтан бұл қалтаға оны іске қосатын пайдаланушы "
              "жаза алуы керек",
        "ru": "не удаётся использовать {store}: {lock}: нет прав на чтение или запись; узел "
              "записывает туда свою цепочку, поэтому в эту папку должен иметь право записи "
              "пользователь, от имени которого он запущен"},
}


@pytest.mark.parametrize("code", list(SAID))
def test_a_lock_refused_to_fsck_says_the_cure_in_every_language(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int) -> None:
    config = node_folder(tmp_path, "127.0.0.1:0", "127.0.0.1:0")
    store = tmp_path / "data" / "chain.ldb"
    store.mkdir(parents=True)
    used = LevelDBStore(str(store))
    used.write({b"k": b"v"})
    used.close()
    if code == errno.EACCES:  # its mode refuses the write (a refusal its mode allows is a lock)
        (store / "LOCK").chmod(0o444)
    opened = os.open

    def refusing(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        # simulated: the tests may run as root, whom modes do not stop
        if Path(path) == store / "LOCK" and flags & (os.O_RDWR | os.O_WRONLY):
            raise OSError(code, os.strerror(code), str(path))
        return opened(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", refusing)
    runs = {lang: CliRunner().invoke(main, ["fsck", "--config", str(config), "--lang", lang])
            for lang in ("en", "kk", "ru")}
    assert runs["en"].exit_code == 2, runs["en"].output
    if code == errno.EACCES:  # a lock file this user may not open names its owner and mode
        assert (f"the system refuses this user a read and write of {store / 'LOCK'}: "
                "Permission denied (owner ") in runs["en"].output, runs["en"].output
        return
    assert runs["en"].output.endswith(
        f"cannot use {store}: {store / 'LOCK'}: {os.strerror(code)}; the node writes its "
        "chain there, so the folder must be writable by the user running it\n"), runs["en"].output
    for lang in ("kk", "ru"):
        said = said_in(lang, runs[lang], 2)
        assert said.endswith(SAID[code][lang].format(store=store, lock=store / "LOCK") + "\n"), \
            said
