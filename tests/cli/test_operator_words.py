"""The operator's commands' words without a node (`senim node`'s --help and usage errors,
`senim status`, `senim fsck`, `senim tls-cert`): every key they make up is in every
catalogue (test_issue_languages checks it with operator_keys), --help in kk and ru, and
no line of theirs written as an English literal; a storage or config error the catalogue
words is said in words, one it does not in a frame."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from cli import fsck_words
from cli.fsck_command import fsck_command
from cli.fsck_words import config_refusal, detail
from cli.language import Words, catalogue
from cli.main import main
from cli.node_info import node_command
from cli.node_status import DIRECTIONS, MODES, PHASES, status
from cli.tls_cert import tls_cert_command
from ledger.errors import ConfigError, MalformedInput
from node.config import config_from_document
from storage.errors import CorruptStateError
from tests.cli.test_config_words import config_codes
from tests.cli.test_ministry_words import ROOT, help_keys
from tests.cli.test_verifier_lines_translated import PRINTERS, english_in, english_literals

LANGS = ("kk", "ru")


def operator_keys() -> set[str]:
    """The catalogue keys these commands make up rather than name: each problem of a store
    (cli.fsck's `found.damaged("key", …)`), each kind of storage or config error, a
    consensus mode or phase, a peer's columns, each option's help."""
    source = (ROOT / "cli" / "fsck.py").read_text("utf-8")
    damage = set(re.findall(r'found\.damaged\(\s*"(\w+)"', source))
    assert len(damage) > 25, damage
    keys = {f"fsck.damage.{key}" for key in damage}
    keys |= {key for _pattern, key in fsck_words.DAMAGE_DETAILS}
    keys |= {f"fsck.config.{code}" for code in config_codes()} | {"fsck.config.genesis"}
    keys |= {"fsck.why.checksum_somewhere", "fsck.why.other", "fsck.config.other",
             "stat.scheduled.leaves", "stat.retired.later", "cli.help.node.language"}
    keys |= {f"stat.mode.{mode}" for mode in MODES} | {f"stat.phase.{p}" for p in PHASES}
    keys |= {f"stat.peer.{word}" for word in ("validator", "follower", "authenticated",
                                              "handshaking", "up", *DIRECTIONS)}
    commands: list[click.Command] = [node_command, status, fsck_command, tls_cert_command]
    return keys | help_keys(commands)


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("command", ["node", "status", "fsck", "tls-cert"])
def test_help_is_said_in_the_operators_language(command: str, lang: str) -> None:
    result = CliRunner().invoke(main, [command, "--help", "--lang", lang], prog_name="senim")
    assert result.exit_code == 0, result.output
    assert {"kk": "Қолданылуы: ", "ru": "Использование: "}[lang] in result.output
    assert not english_in(result.output), result.output


def test_a_usage_error_of_senim_node_is_said_in_the_operators_language() -> None:
    """Said by click before the daemon starts (its log lines stay English)."""
    result = CliRunner().invoke(main, ["node", "--config"], prog_name="senim",
                                env={"LANG": "ru_RU.UTF-8"})
    assert (result.exit_code, result.output) == (2, "ошибка: параметр --config указан "
                                                    "неверно: ему нужно значение (см. senim "
                                                    "node --help)\n")
    result = CliRunner().invoke(main, ["node", "--log-format", "xml", "--config", "x",
                                       "--lang", "kk"], prog_name="senim")
    assert (result.exit_code, result.output) == (2, "қате: --log-format мәні жарамсыз: мүмкін "
                                                    "мәндер — text, json (senim node --help "
                                                    "қараңыз)\n")
    english = CliRunner().invoke(main, ["node"], prog_name="senim", env={"LANG": "C"})
    assert english.exit_code == 2 and "Missing option '--config'" in english.output


@pytest.mark.parametrize(("error", "ru"), [
    ("LevelDB refuses a read: Corruption: block checksum mismatch: /srv/chain.ldb/000005.ldb",
     "у блока LevelDB в файле /srv/chain.ldb/000005.ldb не сходится контрольная сумма"),
    ("LevelDB refuses a scan: Corruption: bad block contents",
     "LevelDB обнаружил повреждение своих файлов"),
    ("state node at depth 7 fails its parent hash",
     "узел дерева состояния (на глубине 7) отсутствует или повреждён"),
    ("12 stored state nodes are unreachable",
     "к хранимым узлам дерева состояния нет пути от корня: 12"),
    ("stored value of state key 6d2f is unreadable, says no pattern",
     "stored value of state key 6d2f is unreadable, says no pattern"),
])
def test_a_storage_error_is_said_in_words_or_in_a_frame(error: str, ru: str) -> None:
    said = detail(CorruptStateError(error))
    assert (said.said(Words("ru")), str(said)) == (ru, error)


def test_a_record_that_does_not_decode_is_said_so_without_the_decoders_words() -> None:
    said = detail(MalformedInput("not canonical msgpack: Unpack failed: incomplete input"))
    assert said.said(Words("kk")) == "жазбаның пішімі дұрыс емес"
    assert str(said) == "not canonical msgpack: Unpack failed: incomplete input"


def _refused(document: dict[str, object]) -> ConfigError:
    with pytest.raises(ConfigError) as refused:
        config_from_document(document, Path("node.toml"))
    return refused.value


def test_a_config_error_is_said_by_its_field() -> None:
    refused = _refused({"storage": {"block_cash_mb": 8}})
    assert config_refusal(refused).said(Words("kk")) == (
        "storage.block_cash_mb: белгісіз кілт сөз; 'block_cache_mb' болуы мүмкін бе? "
        "([storage] бөлімінде барлары: block_cache_mb, state_nodes_cached, "
        "write_buffer_mb)")
    assert str(config_refusal(refused)) == str(refused)
    outside = _refused({"name": "x"})
    assert config_refusal(outside).said(Words("ru")) == (
        "name: не находится ни в одном разделе: его место — в [node]")
    assert config_refusal(ConfigError("x", "a refusal of no code")).said(
        Words("kk")) == "x: a refusal of no code"


def test_no_line_of_the_operators_commands_is_an_english_literal() -> None:
    modules: dict[str, set[str] | None] = {
        "cli.node_status": None, "cli.fsck": None, "cli.fsck_command": None,
        "cli.fsck_words": None, "cli.tls_cert": None, "cli.node_info": {"node_command"}}
    assert not [f"{name}.{place}" for name, functions in modules.items()
                for place in english_literals(ROOT / (name.replace(".", "/") + ".py"),
                                              functions, PRINTERS | {"style", "refuse"})]


def test_every_key_is_in_every_catalogue() -> None:
    for lang in ("en", *LANGS):
        assert sorted(operator_keys() - set(catalogue(lang))) == [], lang


@pytest.mark.parametrize("lang", LANGS)
def test_a_node_name_missing_or_of_many_lines_is_said_without_english(lang: str) -> None:
    """`senim fsck --lang ru` on a config without [node] name said 'файл настроек a.toml не
    подходит: node.name: is required (text)'."""
    from node.config_document import name_fault

    for fault in (name_fault(None), name_fault("two\nlines")):
        assert fault is not None
        refused = fault
        said = config_refusal(refused).said(Words(lang))
        assert said.startswith("node.name: ") and not english_in(said), said
        assert str(config_refusal(refused)) == str(refused)
