"""click commands that speak the reader's language: --help from the catalogue
(`cli.help.<command>.<option>`), usage errors in the --lang the command line gives (read
before click parses it) or the locale's, and a file argument that is not there, cannot be
read or is a folder, refused in words. In English click's own text, as before; exit 2 in every
language. The words are `cli.spoken`'s Sentences; a group does the same in
`cli.worded_group`.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from cli.entry import lang_given
from cli.errors import EXIT_BAD_INPUT
from cli.language import Words, language_from_environment, speak
from cli.spoken import Sentence, os_reason, refuse, spoken
from node.i18n import LANGUAGE_ALIASES


def language_in(args: Sequence[str]) -> str | None:
    """The --lang the command line gives, read before click parses it (None: none, or one
    no language is known by)."""
    given = lang_given(args)
    return None if given is None else LANGUAGE_ALIASES.get(given.strip().lower())


def write_help_head(formatter: click.HelpFormatter, ctx: click.Context, words: Words,
                    name: str, after_options: str) -> None:
    """The usage line (`[OPTIONS]` in words, then `after_options`) and the command's or
    group's description, as a command's and a group's --help begin alike."""
    formatter.write_usage(ctx.command_path,
                          f"[{words.t('cli.help.meta.options')}] {after_options}".rstrip(),
                          prefix=f"{words.t('cli.help.usage')}: ")
    formatter.write_paragraph()
    with formatter.indentation():
        formatter.write_text(words.t(f"cli.help.{name}"))


def usage_sentence(exc: click.UsageError, command: str) -> Sentence:
    """A usage error of `command` in words: what click found wrong (a missing or unknown
    option, a value it refuses, an extra argument), or the Sentence the error carries."""
    carried = getattr(exc, "sentence", None)
    if isinstance(carried, Sentence):
        return Sentence("cli.usage.wrapped", None, what=carried, command=command)
    if isinstance(exc, click.MissingParameter) and exc.param is not None:
        return Sentence("cli.usage.missing", None, name=_param_name(exc.param),
                        command=command)
    if isinstance(exc, click.NoSuchOption):
        return Sentence("cli.usage.no_such_option", None, name=exc.option_name,
                        command=command)
    if isinstance(exc, click.BadOptionUsage):
        return Sentence("cli.usage.option_value", None, name=exc.option_name,
                        command=command)
    if isinstance(exc, click.BadParameter) and exc.param is not None:
        kind = exc.param.type
        if isinstance(kind, click.Choice):  # the values it takes, as English names them
            return Sentence("cli.usage.bad_choice", None, name=_param_name(exc.param),
                            choices=", ".join(str(c) for c in kind.choices), command=command)
        if isinstance(kind, click.FloatRange | click.IntRange) and (
                kind.min is not None or kind.max is not None):
            return Sentence("cli.usage.bad_range", None, name=_param_name(exc.param),
                            range=_range(kind), command=command)
        return Sentence("cli.usage.bad_value", None, name=_param_name(exc.param),
                        command=command)
    extra = re.match(r"Got unexpected extra arguments? \((.*)\)$", exc.message)
    if extra:
        return Sentence("cli.usage.extra", None, args=extra[1], command=command)
    return Sentence("cli.usage.other", None, command=command)


def _range(kind: click.FloatRange | click.IntRange) -> str:
    """A number's range as mathematics writes it, the same in every language."""
    def number(value: float) -> str:
        return str(int(value)) if float(value).is_integer() else f"{value}"
    low = "" if kind.min is None else f"{number(kind.min)} {'<' if kind.min_open else '≤'} "
    high = "" if kind.max is None else f" {'<' if kind.max_open else '≤'} {number(kind.max)}"
    return f"{low}x{high}"


class _ArgumentName(Sentence):
    """A missing argument as its command's --help names it in the reader's language
    (ФАЙЛ, ИД_ПРЕДЛОЖЕНИЯ): 'не указан PATH' named what the help never showed."""

    def __init__(self, param: click.Argument) -> None:
        super().__init__("cli.help.meta.file")
        self.param = param

    def said(self, words: Words) -> str:
        if words.language == "en":
            return self.param.human_readable_name
        return argument_words(self.param, words)


def argument_words(param: click.Argument, words: Words) -> str:
    """An argument as --help names it: by its name's words (PROPOSAL_ID), a file or a
    link where it takes either (`senim verify`'s FILE|LINK), else as the file it mostly is."""
    key = ("cli.help.meta.file_or_link" if param.metavar == "FILE|LINK"
           else f"cli.help.meta.{param.name}")
    return words.t(key if words.has(key) else "cli.help.meta.file")


def _param_name(param: click.Parameter) -> str | Sentence:
    if isinstance(param, click.Argument):
        return _ArgumentName(param)
    return max(param.opts, key=len) if param.opts else str(param.name)


def _metavar(param: click.Parameter, words: Words) -> str:
    """What an option takes, in words ("FILE", "URL", "SECONDS"), for --help."""
    if isinstance(param, click.Option) and param.is_flag:
        return ""
    if param.name == "language":
        return "kk|ru|en"
    if isinstance(param.type, click.Choice):  # its values, as click shows them
        return "[" + "|".join(str(choice) for choice in param.type.choices) + "]"
    kind = ("file" if isinstance(param.type, click.Path) else
            "seconds" if isinstance(param.type, click.FloatRange) else
            "number" if isinstance(param.type, click.types.IntParamType) else
            "url" if param.name in ("node_url", "nodes", "status_base") else "text")
    return words.t(f"cli.help.meta.{kind}")


class WordedHelp(click.Command):
    """--help in the reader's language (the catalogue's cli.help.<command>.<option>); in
    English click's own, as before."""

    # The catalogue's name for the command, when its own is not enough: `senim governance
    # revoke` and `senim revoke` are both "revoke" to click.
    help_key: str | None = None

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        words = spoken()
        if words.language == "en":
            super().format_help(ctx, formatter)
            return
        name = self.help_key or str(self.name)
        taken = [argument_words(param, words)
                 for param in self.get_params(ctx) if isinstance(param, click.Argument)]
        write_help_head(formatter, ctx, words, name, " ".join(taken))
        rows = []
        for param in self.get_params(ctx):
            if not isinstance(param, click.Option) or param.hidden:
                continue
            option = "help" if "--help" in param.opts else param.name
            keys = [f"cli.help.{name}.{option}", f"cli.help.any.{option}"]
            text = next((words.t(key) for key in keys if words.has(key)), "")
            if param.required:
                text += f"  [{words.t('cli.help.required')}]"
            elif param.show_default and param.default is not None:
                default = (", ".join(map(str, param.default))
                           if isinstance(param.default, list | tuple) else param.default)
                shown = (words.t("cli.help.env_or", env=f"${param.envvar}", value=default)
                         if isinstance(param.envvar, str)
                         else f"{default:g}" if isinstance(default, float) else str(default))
                text += f"  [{words.t('cli.help.default', value=shown)}]"
            rows.append((" ".join([max(param.opts, key=len), _metavar(param, words)]).strip(),
                         text))
        with formatter.section(words.t("cli.help.options")):
            formatter.write_dl(rows)


class WordedCommand(WordedHelp):
    """A command whose usage errors are said in the reader's language: the --lang given
    (read before the options are parsed, since a usage error stops the parsing), else the
    locale. English keeps click's own usage message; exit 2 in every language."""

    reads_lang_first = True  # cli.language's --lang callback keeps what parse_args read

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        speak(language_in(args) or language_from_environment())
        args = self.arguments_meant(ctx, args)
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as exc:
            if spoken().language == "en":
                raise
            refuse(usage_sentence(exc, ctx.command_path), EXIT_BAD_INPUT)

    def arguments_meant(self, ctx: click.Context, args: list[str]) -> list[str]:
        """The arguments as the reader meant them, before click parses them (a command may
        mend or refuse, in the reader's language, what a shell made of them)."""
        return args


class WordedPath(click.Path):
    """click.Path whose refusals (no such file, a folder) carry a Sentence to be said in
    the reader's language; in English click's own message, as before."""

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> Any:
        try:
            return super().convert(value, param, ctx)
        except click.BadParameter as exc:
            exc.sentence = _path_refusal(os.fsdecode(value))  # type: ignore[attr-defined]
            raise


def _path_refusal(path: str) -> Sentence:
    try:
        mode = Path(path).stat().st_mode
    except FileNotFoundError:
        return Sentence("cli.file.missing", None, path=path)
    except OSError as exc:
        return Sentence("cli.file.unreadable", None, path=path, why=os_reason(exc))
    if stat.S_ISDIR(mode):
        return Sentence("cli.file.folder", None, path=path)
    return Sentence("cli.file.unreadable", None, path=path,
                    why=Sentence("cli.os.permission", None))
