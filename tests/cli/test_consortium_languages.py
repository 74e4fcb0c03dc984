"""`senim consortium create | fingerprint` in the ministry official's language (--lang kk
and ru, LANG=ru_RU.UTF-8): the genesis made and its fingerprint, and the refusals of a
members file (an --out there already, a key no members file has, a role there is none of,
too few validators, no TOML, Windows-1251) and of a file that is no genesis, each one
sentence in Kazakh or Russian, no English sentence, English's exit code."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from cli.main import main
from node.files import save_key
from tests.cli.test_ministry_languages import PREFIX, said_in
from tests.node.conftest import keys_from

LANGS = ("kk", "ru")
MEMBERS = """chain_id = "senim-kz"
genesis_time = "2026-09-01T00:00:00+05:00"

[[members]]
name = "Ministry of Science"
role = "ministry"
key = "ministry.key"
validator = true

[[members]]
name = "ҚазҰУ"
role = "{role}"
key = "kaznu.key"
"""


def senim(*args: str, lang: str) -> Result:
    return CliRunner().invoke(main, [*args, "--lang", lang], prog_name="senim")


def refused(*args: str, code: int) -> dict[str, str]:
    said = {}
    assert senim(*args, lang="en").exit_code == code
    for lang in LANGS:
        output = said_in(lang, senim(*args, lang=lang), code)
        assert output.startswith(PREFIX[lang]) and len(output.splitlines()) == 1, output
        said[lang] = output
    return said


@pytest.fixture
def members(tmp_path: Path) -> Path:
    for who in ("ministry", "kaznu"):
        save_key(tmp_path / f"{who}.key", keys_from(who))
    path = tmp_path / "members.toml"
    path.write_text(MEMBERS.format(role="university"), "utf-8")
    return path


def test_consortium_create_and_fingerprint_speak_kk_and_ru(members: Path) -> None:
    out = members.with_name("genesis.json")
    create = ("consortium", "create", "--members", str(members), "--out", str(out))
    made = said_in("kk", senim(*create, "--allow-no-fault-tolerance", lang="kk"), 0)
    assert "'senim-kz' тізбегінің генезисі: мүшелер саны — 2, валидаторлар саны — 1;" in made
    assert "басқару: өзгеріске 1 министрліктің 1-і қол қояды" in made
    fingerprint = made.rsplit("цифрлық ізі: ", 1)[1].split("  (")[0]
    printed = said_in("ru", CliRunner().invoke(main, ["consortium", "fingerprint", str(out)],
                                               env={"LANG": "ru_RU.UTF-8"}), 0)
    assert printed.strip() == f"отпечаток генезиса цепочки senim-kz: {fingerprint}"

    exists = refused(*create, "--allow-no-fault-tolerance", code=2)
    assert "генезис консорциума случайно не заменяется" in exists["ru"]
    again = (*create[:-1], str(out.with_name("again.json")))
    few = refused(*again, code=2)
    assert "PBFT нужно 4, чтобы пережить один сбой" in few["ru"]
    members.write_text(MEMBERS.format(role="college"), "utf-8")
    role = refused(*again, "--allow-no-fault-tolerance", code=2)
    assert "members[1].role: допустимо одно из значений: " in role["ru"]
    members.write_text("mebmers = 1\n" + MEMBERS.format(role="university"), "utf-8")
    assert "белгісіз кілт сөз 'mebmers'" in refused(*again, code=2)["kk"]
    members.write_text(MEMBERS.format(role="university").replace("ҚазҰУ", "КазНУ"), "cp1251")
    assert "текст не в кодировке UTF-8" in refused(*again, code=2)["ru"]
    members.write_text("[[members]\n", "utf-8")
    refused(*again, code=2)
    refused("consortium", "fingerprint", str(members), code=2)
    refused("consortium", "fingerprint", str(members.with_name("none.json")), code=2)
