"""`senim --help`, and what `senim` says before a command is named, in the reader's
language: the group's description, each command's short help and its options in Kazakh
or Russian (--lang anywhere on the command line, else the locale), English as click
writes it; the exit code the same in every language."""

from __future__ import annotations

import pytest
from click.testing import CliRunner, Result

from cli.language import Words
from cli.main import COMMANDS, main
from tests.cli.test_verifier_lines_translated import english_in

LANGS = ("kk", "ru")
USAGE = {"kk": "Қолданылуы: senim ", "ru": "Использование: senim "}


def senim(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, list(args), prog_name="senim", env=env)


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("args", [["--help"], ["--lang", "{lang}", "--help"],
                                  ["--help", "--lang", "{lang}"], ["--lang={lang}", "--help"]])
def test_senim_help_is_said_in_the_chosen_language(lang: str, args: list[str]) -> None:
    """`senim --help` was click's English under LANG=kk_KZ.UTF-8, and `senim --lang ru
    --help` 'Error: No such option: --lang'."""
    env = {"LANG": {"kk": "kk_KZ.UTF-8", "ru": "ru_RU.UTF-8"}[lang]} if args == ["--help"] \
        else {"LANG": "C"}
    result = senim(*[arg.format(lang=lang) for arg in args], env=env)
    assert result.exit_code == 0, result.output
    assert result.output.startswith(USAGE[lang]), result.output
    assert not english_in(result.output), result.output
    words = Words(lang)
    assert words.t("cli.help.senim") in result.output
    listed = {line.split()[0] for line in result.output.splitlines()
              if line.startswith("  ") and not line.startswith("   ")}
    assert set(COMMANDS) <= listed, listed
    # each command by its own description's first words, in the language asked for
    assert words.t("cli.help.verify").split(" (")[0] in result.output


def test_english_help_is_clicks_own() -> None:
    for args in (["--help"], ["--lang", "en", "--help"]):
        result = senim(*args, env={"LANG": "C"})
        assert result.exit_code == 0, result.output
        assert result.output.startswith("Usage: senim [OPTIONS] COMMAND [ARGS]...")
        assert "verify      Check a credential (or an anchored document)" in result.output


@pytest.mark.parametrize("lang", LANGS)
def test_before_a_command_is_named_senim_speaks_the_chosen_language(lang: str) -> None:
    bare = senim(env={"LANG": {"kk": "kk_KZ.UTF-8", "ru": "ru_RU.UTF-8"}[lang]})
    assert bare.exit_code == senim(env={"LANG": "C"}).exit_code == 2
    assert bare.output.startswith(USAGE[lang]) and not english_in(bare.output)
    for args in (["nosuch"], ["--bogus"]):
        english = senim(*args, "--lang", "en")
        refused = senim(*args, "--lang", lang)
        assert refused.exit_code == english.exit_code == 2, refused.output
        assert refused.output.startswith({"kk": "қате: ", "ru": "ошибка: "}[lang])
        assert not english_in(refused.output), refused.output
    # a --lang before the command is the command's
    moved = senim("--lang", lang, "verify", "--help")
    assert moved.exit_code == 0 and moved.output.startswith(USAGE[lang]), moved.output
    version = senim("--lang", lang, "--version")
    assert (version.exit_code, version.output) == (0, "senim, version 0.1.0\n")


@pytest.mark.parametrize("args", [["--lang", "xx"], ["--lang=xx"], ["governance", "--lang", "xx"]])
def test_a_language_no_one_speaks_is_named_before_a_command_is(args: list[str]) -> None:
    """`senim --lang xx` printed the whole help, exit 2, and never named 'xx'."""
    result = CliRunner().invoke(main, args, prog_name="senim", env={"LANG": "C"})
    assert result.exit_code == 2, result.output
    assert result.output.strip() == ("error: --lang must be one of kk, ru, en (Kazakh, "
                                     "Russian, English), not 'xx'")


def test_the_english_help_lists_lang_as_the_others_do() -> None:
    result = CliRunner().invoke(main, ["--help"], prog_name="senim", env={"LANG": "C"})
    assert result.exit_code == 0
    options = result.output.split("Options:", 1)[1].split("Commands:", 1)[0]
    assert options.lstrip().startswith("--lang kk|ru|en  The language it speaks"), options
