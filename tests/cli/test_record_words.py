"""The record, key and consortium commands' words without a node (`senim employment
start | end`, `senim recognise`, `senim anchor`, `senim keygen`, `senim key`, `senim
consortium`): every key they make up is in every catalogue (test_issue_languages checks
it with record_keys), --help in kk and ru, and no line of theirs written as an English
literal."""

from __future__ import annotations

import re

import click
import pytest
from click.testing import CliRunner

import cli.records
from cli.admin import anchor
from cli.consortium import consortium_group
from cli.consortium_words import GENESIS_FIELD_WORDS, GENESIS_FILE_WORDS, UNFIT_WORDS
from cli.keys import key_group, keygen
from cli.language import catalogue
from cli.main import main
from cli.record_inputs import LEDGER_REFUSALS
from cli.records import employment_group, recognise_command
from ledger.transactions import CREDENTIAL_TYPES
from tests.cli.test_ministry_words import ROOT, help_keys, literals_in

LANGS = ("kk", "ru")


def record_keys() -> set[str]:
    """The catalogue keys these commands make up rather than name: the file they read
    (rec.what.*), a credential's type, a ledger refusal's sentence, each option's help."""
    keys = {f"rec.what.{what}" for what in ("employment", "original", "courses")}
    keys |= set(LEDGER_REFUSALS.values()) | {"rec.file.not_utf8"}
    # why an issuance is refused (ledger.records.Accreditations.why_not), said by its code
    why_not = (ROOT / "ledger" / "records.py").read_text("utf-8")
    codes = set(re.findall(r'return "([a-z_]+)", \(?f?"', why_not))
    assert {"type_not_accredited", "issuer_suspended", "accreditation_ended"} <= codes, codes
    keys |= {f"refusal.{code}" for code in codes}
    keys |= {f"type.{kind}" for kind in CREDENTIAL_TYPES}
    keys |= {"cli.help.employment", "cli.help.key", "tx.what.key_rotation",
             "tx.what.compromise_report", "cli.help.consortium", "min.consortium.not_toml"}
    keys |= {*GENESIS_FIELD_WORDS.values(), *GENESIS_FILE_WORDS.values(), *UNFIT_WORDS.values()}
    commands: list[click.Command] = [*employment_group.commands.values(), recognise_command,
                                     anchor, *key_group.commands.values(), keygen,
                                     *consortium_group.commands.values()]
    return keys | help_keys(commands)


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("command", [("employment", "start"), ("employment", "end"),
                                     ("recognise",), ("employment",), ("anchor",),
                                     ("key", "rotate"), ("key", "report-compromise"),
                                     ("key",), ("keygen",), ("consortium", "create"),
                                     ("consortium", "fingerprint"), ("consortium",)])
def test_help_is_said_in_the_officers_language(command: tuple[str, ...], lang: str) -> None:
    from tests.cli.test_verifier_lines_translated import english_in

    result = CliRunner().invoke(main, [*command, "--help", "--lang", lang], prog_name="senim")
    assert result.exit_code == 0, result.output
    assert {"kk": "Қолданылуы: ", "ru": "Использование: "}[lang] in result.output
    assert not english_in(result.output), result.output


def test_a_usage_error_is_said_in_the_officers_language() -> None:
    result = CliRunner().invoke(main, ["employment", "start", "--full-name", "А", "--lang",
                                       "kk"], prog_name="senim")
    assert result.exit_code == 2
    assert result.output.startswith("қате: --key көрсетілмеген"), result.output
    result = CliRunner().invoke(main, ["employment", "stat"], prog_name="senim",
                                env={"LANG": "ru_RU.UTF-8"})
    assert result.exit_code == 2
    assert result.output.startswith("ошибка: в senim employment нет команды stat"), \
        result.output


def test_no_line_of_the_record_commands_is_an_english_literal() -> None:
    assert not literals_in({"cli.records": None, "cli.record_inputs": None,
                            "cli.typed_dates": None, "cli.admin": {"anchor"},
                            "cli.keys": None, "cli.consortium": None,
                            "cli.consortium_words": None})


@pytest.mark.parametrize("lang", LANGS)
def test_ctrl_c_in_employment_start_says_a_sent_transaction_may_commit(
        monkeypatch: pytest.MonkeyPatch, lang: str) -> None:
    """Not "it wrote a file at most": it may have sent the record's batch."""
    def interrupted(*_args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli.records, "typed_date", interrupted)
    result = CliRunner().invoke(main, ["employment", "start", "--key", "k", "--full-name", "A",
                                       "--position", "P", "--organisation", "O", "--start",
                                       "2025-01-01", "--out", "o.json", "--lang", lang])
    assert result.exit_code == 130
    assert result.output.splitlines() == [catalogue(lang)["cli.interrupted.sending"]]


@pytest.mark.parametrize(("command", "said"), [
    (["keygen"], "ошибка: не указан ФАЙЛ (см. senim keygen --help)"),
    (["governance", "vote"], "ошибка: не указан ИД_ПРЕДЛОЖЕНИЯ (см. senim governance vote "
                             "--help)"),
    (["revoke", "x", "--key", "k", "--reason", "bogus"],
     "ошибка: недопустимое значение --reason: допустимы issued_in_error, superseded, fraud, "
     "court_decision, withdrawn_by_issuer, other (см. senim revoke --help)"),
    (["verify", "x", "--timeout", "-1"], "ошибка: значение --timeout вне допустимого "
                                         "диапазона: 0 < x ≤ 31536000 (см. senim verify --help)")])
def test_a_usage_error_names_what_the_help_names(command: list[str], said: str) -> None:
    """A missing argument by the name its Russian help gives it (it was 'не указан PATH'
    beside a help saying ФАЙЛ), and a bad choice or number with what it takes, as the
    English error says (Russian and Kazakh said only 'недопустимое значение')."""
    result = CliRunner().invoke(main, [*command, "--lang", "ru"], prog_name="senim")
    assert result.exit_code == 2, result.output
    assert result.output.strip() == said
