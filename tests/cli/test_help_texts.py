"""What `senim … --help` says of the options every operator uses."""

from __future__ import annotations

from collections.abc import Iterator

import click
import pytest
from click.testing import CliRunner

from cli.language import Words
from cli.main import COMMANDS, main
from cli.worded_command import WordedHelp


def _commands(group: click.Group, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    # Through the group, not its `commands`: senim's commands are loaded when asked for.
    context = click.Context(group)
    for name in group.list_commands(context):
        command = group.get_command(context, name)
        assert command is not None, name
        if isinstance(command, click.Group):
            yield from _commands(command, (*path, name))
        else:
            yield (*path, name)


def _command_at(path: tuple[str, ...]) -> click.Command:
    command: click.Command = main
    for name in path:
        assert isinstance(command, click.Group)
        found = command.get_command(click.Context(command), name)
        assert found is not None
        command = found
    return command


def test_each_command_is_loaded_under_its_own_name() -> None:
    context = click.Context(main)
    assert set(COMMANDS) <= set(main.list_commands(context))
    for name, (module, _attribute) in COMMANDS.items():
        command = main.get_command(context, name)
        assert command is not None and command.name == name, (name, command)
        assert command.callback is not None and command.callback.__module__ == module, name


@pytest.mark.parametrize("path", sorted(_commands(main)), ids=" ".join)
def test_every_node_option_says_what_it_is_and_that_senim_node_sets_it(
        path: tuple[str, ...]) -> None:
    command = _command_at(path)
    option = next((p for p in command.params if p.name in ("node_url", "nodes")), None)
    if option is None:
        pytest.skip("asks no node")
    shown = CliRunner().invoke(main, [*path, "--help"], terminal_width=200).output
    line = next(x for x in shown.splitlines() if x.strip().startswith("--node"))
    assert isinstance(option, click.Option) and option.envvar == "SENIM_NODE"
    assert option.help, f"senim {' '.join(path)} --node has no help text"
    assert "$SENIM_NODE" in line, line


@pytest.mark.parametrize("path", [("node",), ("consortium", "create")])
def test_every_option_of_the_operators_commands_has_help(path: tuple[str, ...]) -> None:
    shown = CliRunner().invoke(main, [*path, "--help"], terminal_width=200).output
    options = [x.strip() for x in shown.split("Options:")[1].splitlines()
               if x.strip().startswith("--")]
    # an option line with nothing after its name and metavar but '[required]'
    bare = [x for x in options if len(x.replace("[required]", "").split(None, 2)) < 3]
    assert not bare, bare


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_no_help_shows_a_default_click_keeps_for_itself(lang: str) -> None:
    """`senim verify --help --lang ru` said '[по умолчанию: $SENIM_NODE или
    Sentinel.UNSET]' once --node could be given again: an option given several times has
    no default of click's own unless it names one."""
    for path in sorted(_commands(main)):
        shown = CliRunner().invoke(main, [*path, "--help", "--lang", lang],
                                   terminal_width=200).output
        assert "Sentinel" not in shown and "UNSET" not in shown, (path, shown)
        if path == ("verify",):
            assert "http://127.0.0.1:8101" in shown, shown


@pytest.mark.parametrize("lang", ["kk", "ru"])
def test_every_option_has_its_words_in_kazakh_and_russian(lang: str) -> None:
    """An option with no words of the language's was listed bare in its --help (`senim
    verify --help --lang ru` gave --challenge and --domain no line, where English says
    what they are for)."""
    words, bare = Words(lang), []
    for path in sorted(_commands(main)):
        command = _command_at(path)
        assert isinstance(command, WordedHelp), path
        help_name = command.help_key or str(command.name)
        for param in command.params:
            if not isinstance(param, click.Option) or param.hidden:
                continue
            option = "help" if "--help" in param.opts else param.name
            if not any(words.has(key) for key in (f"cli.help.{help_name}.{option}",
                                                  f"cli.help.any.{option}")):
                bare.append((*path, option))
    assert not bare, bare


@pytest.mark.parametrize(("language", "taken"), [
    ("kk", "ФАЙЛ|СІЛТЕМЕ"), ("ru", "ФАЙЛ|ССЫЛКА"), ("en", "FILE|LINK")])
def test_verify_names_what_it_takes_a_file_or_a_link_in_every_language(
        language: str, taken: str) -> None:
    """`senim verify` takes a file or a link: its usage line and a missing argument say both
    in the reader's language, as the English does (kk and ru said only ФАЙЛ)."""
    runner = CliRunner()
    shown = runner.invoke(main, ["verify", "--help", "--lang", language])
    assert shown.exit_code == 0, shown.output
    assert f"] {taken}\n" in shown.output.splitlines(keepends=True)[0]
    missing = runner.invoke(main, ["verify", "--lang", language])
    assert missing.exit_code == 2
    assert taken in missing.output
