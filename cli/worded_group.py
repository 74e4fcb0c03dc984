"""A group of commands that speak the reader's language (`senim governance`, `senim
evidence`): what the group itself says (an unknown command, a usage error, its --help) is
said in the language the command line asks for (--lang anywhere on it, else the locale),
as its commands say theirs (cli.worded_command.WordedCommand); in English click's own, as
before.
"""

from __future__ import annotations

import sys

import click

from cli.entry import lang_given
from cli.errors import EXIT_BAD_INPUT
from cli.language import language_from_environment, refuse_unknown_language, speak
from cli.spoken import Sentence, refuse, spoken
from cli.worded_command import language_in, usage_sentence, write_help_head
from node.i18n import LANGUAGE_ALIASES


def _without_lang(args: list[str]) -> list[str]:
    """`args` without a --lang and its value (`senim governance --lang kk` asks for the
    group's help in Kazakh, not for an option the group lacks)."""
    kept, skip = [], False
    for arg in args:
        if skip:
            skip = False
        elif arg == "--lang":
            skip = True
        elif not arg.startswith("--lang="):
            kept.append(arg)
    return kept


def _lang_after_command(args: list[str]) -> list[str]:
    """`args` with a --lang written before the command's name moved after it: the group has
    no --lang of its own, each of its commands has, so `senim governance --lang kk list`
    is `senim governance list --lang kk` (click refused it as an unknown option)."""
    lead: list[str] = []
    moved: list[str] = []
    index = 0
    while index < len(args):  # each step moves past one argument or two
        arg = args[index]
        if arg == "--lang" and index + 1 < len(args):
            moved += args[index:index + 2]
            index += 2
        elif arg.startswith("--lang="):
            moved.append(arg)
            index += 1
        elif arg.startswith("-"):
            lead.append(arg)
            index += 1
        else:
            return [*lead, arg, *moved, *args[index + 1:]]
    return _without_lang(args)  # no command to take it: `senim --lang kk --version`


class WordedGroup(click.Group):
    reads_lang_first = True  # cli.main says a Ctrl-C in it in the reader's language
    # The catalogue's name for the group (cli.help.<help_key>), when its own is not it.
    help_key: str | None = None

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        speak(language_in(args) or language_from_environment())
        bare = _without_lang(args)
        if not bare and args:  # `senim --lang xx`: the help, exit 2, and no word of 'xx'
            asked = lang_given(args)
            if asked is not None and asked.strip().lower() not in LANGUAGE_ALIASES:
                refuse_unknown_language(asked)
        if bare == ["--help"] and (spoken().language != "en" or bare != args):
            # click took `--lang en --help` for an unknown option of the group
            click.echo(ctx.get_help())
            sys.exit(0)
        if not bare and spoken().language != "en":
            # as click does in English (NoArgsIsHelpError): the help on stderr, exit 2
            click.echo(ctx.get_help(), err=True)
            sys.exit(EXIT_BAD_INPUT)
        try:
            return super().parse_args(ctx, _lang_after_command(args))
        except click.UsageError as exc:
            if spoken().language == "en":
                raise
            refuse(usage_sentence(exc, ctx.command_path), EXIT_BAD_INPUT)

    def resolve_command(self, ctx: click.Context, args: list[str]
                        ) -> tuple[str | None, click.Command | None, list[str]]:
        try:
            return super().resolve_command(ctx, args)
        except click.UsageError:
            if spoken().language == "en":
                raise
            refuse(Sentence("cli.usage.no_such_command", None, name=args[0] if args else "",
                            command=ctx.command_path,
                            commands=", ".join(self.list_commands(ctx))), EXIT_BAD_INPUT)

    def command_help_key(self, command: str) -> str:
        """The catalogue key of a command's help, as the group lists it."""
        return f"cli.help.{self.help_key or self.name}.{command}"

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        words = spoken()
        if words.language == "en":
            super().format_help(ctx, formatter)
            return
        write_help_head(formatter, ctx, words, self.help_key or str(self.name),
                        f"{words.t('cli.help.meta.command')} "
                        f"[{words.t('cli.help.meta.args')}]...")
        # --lang is each command's, taken anywhere on the command line (parse_args)
        options = [("--lang kk|ru|en", words.t("cli.help.any.language"))]
        options += [(max(param.opts, key=len), words.t(f"cli.help.any.{_option_name(param)}"))
                    for param in self.get_params(ctx) if isinstance(param, click.Option)]
        with formatter.section(words.t("cli.help.options")):
            formatter.write_dl(options)
        rows = [(command, _first_sentence(words.t(self.command_help_key(command))))
                for command in self.list_commands(ctx)]
        with formatter.section(words.t("cli.help.commands")):
            formatter.write_dl(rows)

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """click's English options, with --lang first, as the other languages list it (it
        is read from the command line before click sees it, so click never listed it)."""
        rows = [("--lang kk|ru|en", spoken().t("cli.help.any.language"))]
        rows += [record for param in self.get_params(ctx)
                 if (record := param.get_help_record(ctx)) is not None]
        with formatter.section("Options"):
            formatter.write_dl(rows)
        self.format_commands(ctx, formatter)


def _first_sentence(text: str) -> str:
    return text.split(". ", 1)[0].split("; ", 1)[0].rstrip(".")


def _option_name(param: click.Parameter) -> str:
    """An option's name in the catalogue (click names its own --help otherwise)."""
    return "help" if "--help" in param.opts else str(param.name)
