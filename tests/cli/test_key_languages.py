"""`senim keygen` and `senim key rotate | report-compromise` in the member's language, run
against an in-process node (tests/cli/test_record_languages.py's) with --lang kk and ru
and LANG=ru_RU.UTF-8: each success, and refusals (a key file there already, a folder, the
current key given as the new one, another member's key, a height that is none, the current
key reported as stolen, a node down) in Kazakh or Russian, no English sentence, no
traceback, English's exit code.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.main import main
from node.files import load_key
from tests.cli.test_ministry_languages import DOWN, refused_in_every_language, said_in, senim
from tests.cli.test_record_languages import Office, running_office
from tests.cli.test_verifier_lines_translated import english_in


def test_keygen_speaks_kk_and_ru(tmp_path: Path) -> None:
    made = CliRunner().invoke(main, ["keygen", str(tmp_path / "me.key"), "--lang", "kk"])
    assert made.exit_code == 0, made.output
    public = load_key(tmp_path / "me.key").public_key.hex()
    assert made.output.splitlines()[1] == f"ашық кілт: {public}", made.output
    for args, said in (([str(tmp_path / "me.key")], "уже существует; ключ не будет перезаписан"),
                       ([str(tmp_path)], "— это папка: укажите путь к самому файлу ключа")):
        refused = CliRunner().invoke(main, ["keygen", *args], env={"LANG": "ru_RU.UTF-8"})
        assert refused.exit_code == 2 and said in refused.output, refused.output
        assert refused.output.startswith("ошибка: ") and not english_in(refused.output)


@pytest.fixture
async def office(tmp_path: Path) -> AsyncIterator[Office]:
    async with running_office(tmp_path) as running:
        yield running


async def test_key_rotate_and_report_compromise_speak_kk_and_ru(office: Office) -> None:
    node = ("--node", office.url)
    old = office.key("employer")
    old_public = load_key(Path(old)).public_key.hex()
    await refused_in_every_language("key", "rotate", "--key", old, "--new-key", old, *node,
                                    code=2)
    other = await refused_in_every_language("key", "rotate", "--key", old, "--new-key",
                                            office.key("university"), *node, code=1)
    assert "(key_in_use)" in other["kk"]
    await refused_in_every_language("key", "rotate", "--key", old, "--new-key",
                                    office.new("never.key"), "--node", DOWN, code=3)
    new = office.new("kaspi-2.key")
    rotated = said_in("kk", await senim("key", "rotate", "--key", old, "--new-key", new, *node,
                                        "--lang", "kk"), 0)
    assert re.search(r"^кілт \d+-блокта ауыстырылды: ", rotated), rotated
    assert f'[node] key = "{new}" баптауымен' in rotated
    assert f"--old-public-key {old_public} --from-height H (H — ескі кілттің" in rotated

    report = ("key", "report-compromise", "--key", new, "--old-public-key", old_public)
    await refused_in_every_language(*report, "--old-key", old, "--from-height", "1", *node,
                                    code=2)
    height = await refused_in_every_language(*report, "--from-height", "первый", *node, code=2)
    assert "--from-height — номер блока, 1 или больше; получено: 'первый'" in height["ru"]
    await refused_in_every_language("key", "report-compromise", "--key", new, "--old-key", new,
                                    "--from-height", "1", *node, code=2)
    await refused_in_every_language(*report, "--from-height", "1", "--node", DOWN, code=3)
    reported = said_in("ru", await senim(*report, "--from-height", "1", *node,
                                         env={"LANG": "ru_RU.UTF-8"}), 0)
    assert f"подписанные ключом {old_public[:16]}… начиная с блока 1" in reported
