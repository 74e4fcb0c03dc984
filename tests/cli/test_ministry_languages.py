"""The ministry's commands in the official's language: `senim governance propose | vote |
list | revoke`, `accredit`, `suspend`, `add-member`, `members` and `evidence list`, run
against an in-process node (the real engine on its thread, a lone validator, its API on
loopback) with --lang kk and ru, and with LANG=ru_RU.UTF-8: each success and each refusal
(a node's refusal code, a misspelt, short, unknown or ambiguous proposal id, a vote on a
closed or an expired proposal, a key that is no ministry's, a node down) comes out in
Kazakh or Russian, no English sentence among it, no traceback, with English's exit code.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner, Result

from cli.client import NodeClient
from cli.commands import load_key_or_fail, submit_and_report
from cli.language import forget_spoken, speak
from cli.main import main
from cli.proposal_ids import resolve_proposal_id
from ledger.chain import Chain
from ledger.credentials import IssuedBatch
from ledger.identity import KeyPair
from ledger.payloads import AnchorPayload
from node.files import save_key
from storage.kv import MemoryStore
from tests.cli.test_consortium_revocation_cli import consortium_genesis, kaznu_retired
from tests.cli.test_verifier_lines_translated import english_in
from tests.node.api_server import api_core, serving_url
from tests.node.conftest import commit, documents_of, keys_from
from tests.node.engine_node import running_engine

LANGS = ("kk", "ru")
DOWN = "http://127.0.0.1:1"  # nothing listens on port 1: refused at once
KAZAKH_LETTERS = set("әғқңөұүһі")
# Names the chain holds as their members gave them (English ones among them), said as
# they are in every language: not the command's words.
NAMES = re.compile(r"Ministry of (Science|Education|Justice)|Satbayev University \w+")
PREFIX = {"kk": "қате: ", "ru": "ошибка: "}


@dataclass
class Official:
    url: str
    folder: Path
    chain: Chain
    kaznu: IssuedBatch  # diplomas of the retired KazNU
    kbtu: IssuedBatch  # one of KBTU, still a member

    def key(self, name: str) -> str:
        path = self.folder / f"{name}.key"
        if not path.exists():
            save_key(path, keys_from(name))
        return str(path)

    def file(self, batch: IssuedBatch, index: int, name: str) -> str:
        path = self.folder / f"{name}.json"
        path.write_text(json.dumps(documents_of(batch)[index]), encoding="utf-8")
        return str(path)


@pytest.fixture
async def official(tmp_path: Path) -> AsyncIterator[Official]:
    """The consortium-revocation tests' consortium under rules version 4: three ministries,
    KazNU retired, KBTU a member; the node then runs."""
    core = api_core(keys_from("ministry"), consortium_genesis(4), MemoryStore())
    kaznu, kbtu = kaznu_retired(core.chain, ["Aigerim", "Daniyar", "Yerlan"])
    async with running_engine(core), serving_url(core) as url:
        yield Official(url, tmp_path, core.chain, kaznu, kbtu)


async def senim(*args: str, env: dict[str, str] | None = None) -> Result:
    """The CLI blocks on HTTP: it runs on a thread while the loop serves the node."""
    return await asyncio.get_running_loop().run_in_executor(
        None, lambda: CliRunner().invoke(main, list(args), env=env, prog_name="senim"))


def prose(output: str) -> str:
    return NAMES.sub("X", output)


def said_in(lang: str, result: Result, code: int) -> str:
    """`result`'s output, checked: exit `code`, no traceback, no English sentence, and
    Kazakh written with its own letters."""
    output = result.output
    assert result.exit_code == code, (lang, output)
    assert result.exception is None or isinstance(result.exception, SystemExit), output
    assert "Traceback" not in output
    assert output.strip(), lang
    assert not english_in(prose(output)), (lang, output)
    if lang == "kk":
        assert KAZAKH_LETTERS & set(output.lower()), output
    return output


async def refused_in_every_language(*args: str, code: int | None = None) -> dict[str, str]:
    """A refusal, run in English, Kazakh and Russian: one "error:" line in each language's
    words, non-zero and the same exit code, nothing English in kk or ru."""
    english = await senim(*args, "--lang", "en")
    assert english.exit_code != 0 and "Traceback" not in english.output, english.output
    if code is not None:
        assert english.exit_code == code, english.output
    said = {"en": english.output}
    for lang in LANGS:
        output = said_in(lang, await senim(*args, "--lang", lang), english.exit_code)
        assert output.splitlines()[-1].startswith(PREFIX[lang]), (lang, output)
        said[lang] = output
    return said


def proposal_id(output: str) -> str:
    found = re.search(r"\b[0-9a-f]{64}\b", output)
    assert found, output
    return found[0]


async def test_governance_propose_vote_and_list_speak_kk_and_ru(official: Official) -> None:
    node = ("--node", official.url)
    proposed = said_in("kk", await senim(
        "governance", "propose", "--key", official.key("ministry"), "--action",
        "add-validator", "--member", "KBTU", *node, "--lang", "kk"), 0)
    assert "ұсыныстың идентификаторы:" in proposed
    first = proposal_id(proposed)
    listed = said_in("ru", await senim("governance", "list", *node, "--lang", "ru"), 0)
    assert f"Предложение {first}: включить «KBTU» в число валидаторов с блока" in listed
    assert "ещё не голосовали: X и X." in prose(listed)
    listed = said_in("kk", await senim("governance", "list", *node, "--lang", "kk"), 0)
    assert f"{first} ұсынысы: «KBTU» мүшесін валидаторлар қатарына қосу" in listed
    # the same change proposed again, by name, is sent to vote for the open one
    again = await refused_in_every_language(
        "governance", "propose", "--key", official.key("ministry2"), "--action",
        "add-validator", "--member", "kbtu", *node, code=1)
    assert f"{first} ұсынысы осыны ұсынып қойған" in again["kk"]
    # a key that is no voter's: the node's refusal code said as a sentence
    notvoter = await refused_in_every_language(
        "governance", "propose", "--key", official.key("kbtu"), "--action", "retire-member",
        "--member", "KazNU", "--effective-height", "300", *node, code=1)
    assert "предлагать и голосовать могут только министерства" in notvoter["ru"]
    assert "(not_a_voter)" in notvoter["kk"]
    await refused_in_every_language("governance", "propose", "--key",
                                    official.key("ministry"), "--action", "retire-member",
                                    "--name", "X", *node, code=2)
    await refused_in_every_language("governance", "propose", "--key",
                                    official.key("ministry"), "--action", "retire-member",
                                    "--member", "KBTU", "--effective-height", "3", *node,
                                    code=2)
    await refused_in_every_language("governance", "list", "--node", DOWN, code=3)

    # a misspelt id, one too short, one no proposal starts with
    for given, code in (("zz" + first[2:8], 2), (first[:2], 2), ("ffff" if first[0] != "f"
                                                                  else "0000", 1)):
        await refused_in_every_language("governance", "vote", "--key",
                                        official.key("ministry2"), given, *node, code=code)
    voted = said_in("ru", await senim("governance", "vote", "--key", official.key("ministry2"),
                                      first[:8], *node, "--lang", "ru"), 0)
    assert f"предложение {first[:16]}…: включить «KBTU» в число валидаторов" in voted
    assert "Одобрено в блоке" in voted
    closed = await refused_in_every_language("governance", "vote", "--key",
                                             official.key("ministry3"), first[:8], *node,
                                             code=1)
    # the node's specifics said too: the height it was approved at
    assert re.search(r"ұсыныс \d+-блокта бекітіліп қойған: дауыс енді қажет емес "
                     r"\(proposal_closed\)", closed["kk"]), closed["kk"]
    await refused_in_every_language("governance", "vote", "--key", official.key("ministry3"),
                                    first, "--node", DOWN, code=3)


async def test_a_vote_on_an_expired_proposal_is_refused_unsent(official: Official) -> None:
    node = ("--node", official.url)
    head = official.chain.height
    proposed = await senim("governance", "propose", "--key", official.key("ministry"),
                           "--action", "retire-member", "--member", "KBTU",
                           "--effective-height", str(head + 6), *node)
    assert proposed.exit_code == 0, proposed.output
    expired = proposal_id(proposed.output)
    while official.chain.height <= head + 6:  # past its voting: empty blocks, a few
        commit(official.chain, [])
    refused = await refused_in_every_language("governance", "vote", "--key",
                                              official.key("ministry2"), expired[:6], *node,
                                              code=1)
    assert refused["ru"].splitlines()[-1].startswith("ошибка: голос не отправлен: предложение")
    assert "Срок истёк: голосование закрылось в блоке" in refused["ru"]
    assert "Мерзімі өтті" in refused["kk"]


def test_an_ambiguous_prefix_names_the_candidates_in_the_officials_language(
        capsys: pytest.CaptureFixture[str]) -> None:
    listed = [{"proposal_id": "abcd" + f"{n:060x}", "status": "open", "action": "retire_member",
               "member_id": "ee" * 20, "name": f"University {n}", "effective_height": 50}
              for n in (1, 2)]

    class Listing:
        base_url = "http://127.0.0.1:8101"

        def request(self, _method: str, _path: str) -> dict[str, Any]:
            return {"proposals": listed}

    for lang, said in (("kk", "abcd деп 2 ұсыныстың идентификаторы басталады"),
                       ("ru", "с abcd начинаются идентификаторы нескольких предложений (2)")):
        speak(lang)
        with pytest.raises(SystemExit) as stopped:
            resolve_proposal_id(Listing(), "abcd")  # type: ignore[arg-type]
        assert stopped.value.code == 2
        error = capsys.readouterr().err
        assert said in error, error
        assert {"kk": "«University 2» мүшесін консорциумнан шығару",
                "ru": "вывести «University 2» из консорциума"}[lang] in error, error
        assert not english_in(re.sub(r"University \d", "X", error)), error


async def test_governance_revoke_and_its_dry_run_speak_kk_and_ru(official: Official) -> None:
    node = ("--node", official.url)
    files = [official.file(official.kaznu, i, f"kaznu-{i}") for i in range(3)]
    kbtu = official.file(official.kbtu, 0, "kbtu")
    dry = said_in("ru", await senim("governance", "revoke", "--key", official.key("ministry"),
                                    *files[:2], "--reason", "fraud", "--dry-run", *node,
                                    "--lang", "ru"), 0)
    assert "Были бы отозваны документы, выданные «KazNU» (2), причина: мошенничество:" in dry
    assert "Ничего не отправлено (--dry-run): можно отозвать 2 из 2 файлов." in dry
    mixed = said_in("kk", await senim("governance", "revoke", "--key", official.key("ministry"),
                                      *files[:2], kbtu, "--reason", "fraud", "--dry-run",
                                      *node, "--lang", "kk"), 1)
    assert f"{kbtu} кері қайтарылмайды: басқа ұйым берген: «KBTU»" in mixed
    proposed = said_in("kk", await senim("governance", "revoke", "--key",
                                         official.key("ministry"), *files[:2], "--reason",
                                         "fraud", *node, "--lang", "kk"), 0)
    assert "ұсыныстың идентификаторы:" in proposed and "2 құжат кері қайтарылады" in proposed
    twice = await refused_in_every_language("governance", "revoke", "--key",
                                            official.key("ministry3"), files[0], "--reason",
                                            "fraud", *node, code=1)
    assert "уже предлагает предложение" in twice["ru"]
    await refused_in_every_language("governance", "revoke", "--key", official.key("ministry"),
                                    kbtu, "--reason", "fraud", *node, code=1)
    (official.folder / "empty.json").write_text("")
    await refused_in_every_language("governance", "revoke", "--key", official.key("ministry"),
                                    str(official.folder / "empty.json"), "--reason", "fraud",
                                    *node, code=2)
    await refused_in_every_language("governance", "revoke", "--key", official.key("ministry"),
                                    str(official.folder / "none.json"), "--reason", "fraud",
                                    *node, code=2)


async def test_accredit_suspend_and_add_member_speak_kk_and_ru(official: Official) -> None:
    node = ("--node", official.url)
    ministry = official.key("ministry")
    granted = said_in("ru", await senim("accredit", "--key", ministry, "--issuer", "KBTU",
                                        "--types", "transcript", *node, "--lang", "ru"), 0)
    assert re.search(r"^аккредитация: транзакция [0-9a-f]{16}… записана в цепочку, блок \d+$",
                     granted, re.M), granted
    await refused_in_every_language("accredit", "--key", official.key("kbtu"), "--issuer",
                                    "KBTU", *node, code=1)
    await refused_in_every_language("accredit", "--key", ministry, "--issuer", "Nobody",
                                    *node, code=2)
    over = await refused_in_every_language("accredit", "--key", ministry, "--issuer", "KBTU",
                                           "--from", "2020-01-01", "--until", "2021-01-01",
                                           *node, code=2)
    assert "(күні — 2021 жылғы 1 қаңтар)" in over["kk"]
    await refused_in_every_language("accredit", "--key", ministry, "--issuer", "KBTU",
                                    "--from", "2020-13-01", *node, code=2)

    suspended = said_in("kk", await senim("suspend", "--key", ministry, "--issuer", "KBTU",
                                          "--reason", "investigation", *node, "--lang", "kk"),
                        0)
    assert "-блоктан бастап тоқтатылды: ұйым содан кейін қол қойғанның бәрі" in suspended
    await refused_in_every_language("suspend", "--key", official.key("kbtu"), "--issuer",
                                    "KBTU", "--reason", "investigation", *node, code=1)
    await refused_in_every_language("suspend", "--key", ministry, "--issuer", "KBTU",
                                    "--reason", "bogus", *node, code=2)
    await refused_in_every_language("suspend", "--key", str(official.folder / "no.key"),
                                    "--issuer", "KBTU", "--reason", "other", *node, code=2)

    for lang, name in (("kk", "Satbayev University Almaty"), ("ru", "Satbayev University Aktau")):
        key = KeyPair.generate().public_key.hex()
        added = said_in(lang, await senim("add-member", "--key", ministry, "--name", name,
                                          "--role", "university", "--public-key", key, *node,
                                          "--lang", lang), 0)
        assert {"kk": "жаңа мүше: «", "ru": "новый участник: «"}[lang] in added
    taken = await refused_in_every_language("add-member", "--key", ministry, "--name", " kbtu",
                                            "--role", "school", "--public-key",
                                            KeyPair.generate().public_key.hex(), *node, code=2)
    assert "— уже название участника: «KBTU»" in taken["ru"]
    await refused_in_every_language("add-member", "--key", ministry, "--name", "Nazarbayev",
                                    "--role", "school", "--public-key", "abc", *node, code=2)
    await refused_in_every_language("add-member", "--key", official.key("kbtu"), "--name",
                                    "Nazarbayev", "--role", "school", "--public-key",
                                    KeyPair.generate().public_key.hex(), *node, code=1)

    members = said_in("kk", await senim("members", *node, "--lang", "kk"), 0)
    assert "KBTU (университет): мүше" in members
    assert "тоқтатылған (тексеру жүріп жатыр)" in members
    members = said_in("ru", await senim("members", *node, env={"LANG": "ru_RU.UTF-8"}), 0)
    assert "KazNU (университет): выведен из консорциума в блоке" in members
    await refused_in_every_language("members", "--node", DOWN, code=3)
    await refused_in_every_language("members", "--node", "127.0.0.1:8101", code=2)


async def test_evidence_list_speaks_kk_and_ru(official: Official) -> None:
    said = said_in("ru", await senim("evidence", "list", "--node", official.url,
                                     env={"LANG": "ru_RU.UTF-8"}), 0)
    assert said.strip() == ("доказательств в цепочке нет: ни один валидатор не уличён в "
                            "двойном голосовании")
    said_in("kk", await senim("evidence", "list", "--node", official.url, "--lang", "kk"), 0)
    listed = await senim("evidence", "list", "--node", official.url, "--json", "--lang", "kk")
    assert listed.exit_code == 0 and json.loads(listed.output) == []  # machine output as is
    await refused_in_every_language("evidence", "list", "--node", DOWN, code=3)
    await refused_in_every_language("evidence", "list", "--node", "127.0.0.1:8101", code=2)


async def test_a_mistyped_command_of_a_group_is_refused_in_the_officials_language() -> None:
    said = await refused_in_every_language("governance", "vot", code=2)
    assert said["kk"].strip() == ("қате: senim governance ішінде vot командасы жоқ (оның "
                                  "командалары: list, propose, revoke, vote)")
    await refused_in_every_language("evidence", "lst", code=2)


async def test_lang_before_the_command_of_a_group_is_the_commands() -> None:
    """`senim governance --lang kk list` was refused (in Kazakh) for an option the group
    lacks, though --lang is said to go anywhere on the command line."""
    for group, command in (("governance", "list"), ("evidence", "list")):
        for lang in LANGS:
            said = said_in(lang, await senim(group, "--lang", lang, command, "--node", DOWN),
                           3)
            assert said.splitlines()[-1].startswith(PREFIX[lang]), said
            said_in(lang, await senim(group, f"--lang={lang}", command, "--node", DOWN), 3)
        english = await senim(group, "--lang", "en", command, "--node", DOWN)
        assert english.exit_code == 3 and "cannot reach" in english.output, english.output


def test_a_command_that_speaks_only_english_stays_english(tmp_path: Path) -> None:
    """The transaction lines the ministry's commands share (cli.commands) are said in the
    reader's language only by a command that speaks it: `senim anchor`, English only then,
    printed under a Russian locale one Russian line among its English ones. (A command of
    the test's own: every `senim` command that sends a transaction now speaks kk and ru.)"""
    @click.command("plain")
    @click.option("--key", "key_path", type=click.Path(path_type=Path))
    def plain(key_path: Path) -> None:
        keys = load_key_or_fail(key_path)
        click.echo("anchoring")
        submit_and_report(NodeClient(DOWN), keys, AnchorPayload(b"\x01" * 32), "anchor")

    key = tmp_path / "k.key"
    save_key(key, keys_from("kbtu"))
    forget_spoken()
    result = CliRunner().invoke(plain, ["--key", str(key)], env={"LANG": "ru_RU.UTF-8"})
    assert result.exit_code == 3, result.output
    assert result.output.splitlines()[-1].startswith("error: anchor not sent: cannot reach"), \
        result.output
    result = CliRunner().invoke(plain, ["--key", str(tmp_path / "none.key")],
                                env={"LANG": "ru_RU.UTF-8"})
    assert result.output == f"error: {tmp_path / 'none.key'}: key file not found\n", \
        result.output


async def test_heights_no_proposal_can_have_are_refused_in_the_officials_language(
        official: Official) -> None:
    """An effective height past the farthest a proposal may name, or an expiry after the
    change it closes the votes of: refused before signing, in the official's words."""
    node = ("--node", official.url)
    propose = ("governance", "propose", "--key", official.key("ministry"), "--action",
               "retire-member", "--member", "KBTU", *node)
    for heights in (("--effective-height", str(10**25)), ("--effective-height", "200000"),
                    ("--expiry-height", "150"), ("--expiry-height", str(10**25))):
        said = await refused_in_every_language(*propose, *heights, code=2)
        assert heights[1] in said["kk"], said


async def test_a_day_before_1970_is_refused_in_the_officials_language(
        official: Official) -> None:
    """It was 'транзакция дұрыс құрылмаған — accreditation start (ms) must be an integer
    in [0, …]': the payload's own check, in English."""
    said = await refused_in_every_language(
        "accredit", "--key", official.key("ministry"), "--issuer", "KBTU", "--types",
        "diploma", "--from", "1969-12-31", "--until", "2030-01-01", "--node", official.url,
        code=2)
    assert "1969-12-31" in said["kk"] and "1970-01-01" in said["ru"], said
