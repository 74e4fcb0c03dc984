"""Every line a verifier-facing command prints (senim verify, prove, share, disclose,
export-vc), its refusals and usage errors included, in the reader's language from the
catalogue (node/static/i18n/, and cli/words/ for what only the command line says;
cli.language.catalogue): an HR officer who reads Kazakh or Russian is not handed
an English error for a file that is not there or a node that is down.

A `Sentence` is a catalogue key with its values, said in whichever language prints it.
Errors raised deep in the client (cli.client, cli.node_answers, cli.remote) carry one,
so the line that reports them can say it in the officer's language; in English the
command line keeps its own, more technical wording (an operating system's or a node's
own message), which a Sentence made with its `english` carries as written. Exit codes
are the same in every language.
"""

from __future__ import annotations

import os
import re
import stat
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn

import click

from cli.entry import lang_given
from cli.errors import EXIT_BAD_INPUT
from cli.language import Words, catalogue, language_from_environment, speak, spoken_language
from ledger.errors import InvalidDocument, MalformedInput
from node.i18n import LANGUAGE_ALIASES


class Sentence:
    """A catalogue key and its values; a value may itself be a Sentence."""

    def __init__(self, key: str, english: str | None = None, /, **params: object) -> None:
        # (positional only: a value may be named `key` or `english`, as a node's refusal
        # params may be, cli.refusals)
        self.key = key
        self.english = english  # the command line's own English, said as written
        self.params: Mapping[str, object] = params

    def said(self, words: Words) -> str:
        if words.language == "en" and self.english is not None:
            return self.english
        return words.t(self.key, **{
            name: value.said(words) if isinstance(value, Sentence | Moment | Day) else value
            for name, value in self.params.items()})

    def __str__(self) -> str:
        return self.said(Words("en"))


class Joined(Sentence):
    """Sentences said one after the other, in the reader's language."""

    def __init__(self, parts: list[Sentence], separator: str = "") -> None:
        super().__init__("gov.joined", separator.join(str(part) for part in parts))
        self.parts, self.separator = parts, separator

    def said(self, words: Words) -> str:
        return self.separator.join(part.said(words) for part in self.parts)


class Moment:
    """A node's UTC time ("2026-12-03 13:27:09 UTC"), as a Sentence's value: in English as
    written, else as the portal says it, in the reader's zone (cli.language.Words)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def said(self, words: Words) -> str:
        return self.text if words.language == "en" else words.datetime(self.text)


class Day:
    """A calendar day as the chain states it (a UTC day: "2026-09-01", or a node's time at
    its midnight, "2026-09-01 00:00:00 UTC"), as a Sentence's value: in English as
    written, else as the portal says a date. The day itself, not the reader's local one:
    an accreditation covers UTC days."""

    def __init__(self, text: str) -> None:
        self.text = text

    def said(self, words: Words) -> str:
        return self.text if words.language == "en" else words.date(self.text[:10])


def spoken() -> Words:
    """The words of the running command's language (the locale's when none was chosen)."""
    return Words(spoken_language())


def say(sentence: Sentence | str) -> str:
    return sentence.said(spoken()) if isinstance(sentence, Sentence) else sentence


def printable(text: str) -> str:
    """`text`, a line made of what a node or a file named (a member's name, a field's
    value), with each character that is no printable one (an escape sequence, a bidi
    override, a line break that would forge a line) said as U+FFFD, as cli.client.node_line
    says it; its length kept (a line of the command's own may be long)."""
    return "".join(c if c.isprintable() else "\N{REPLACEMENT CHARACTER}" for c in text)


def echo(sentence: Sentence, err: bool = False, named: bool = False) -> None:
    """The sentence on one line; `named`: it names what a node or a file wrote, which is
    printed as printable characters only."""
    said = say(sentence)
    click.echo(printable(said) if named else said, err=err)


def warn(sentence: Sentence) -> None:
    """One yellow line on stderr, "warning: …" in the reader's language (printable: what a
    node or a file named in it stays on its line)."""
    words = spoken()
    click.secho(printable(words.t("cli.warning", why=sentence.said(words))), fg="yellow",
                err=True)


def refuse(sentence: Sentence, code: int) -> NoReturn:
    """One red line on stderr, as cli.errors.fail writes it, in the reader's language
    (printable: a name a node or a file gave, a file's own name, stays on its line)."""
    words = spoken()
    click.secho(printable(f"{words.t('cli.error')}: {sentence.said(words)}"), fg="red",
                err=True)
    sys.exit(code)


def reason(exc: BaseException, fallback: str, **params: object) -> Sentence:
    """What `exc` says: its own Sentence when it carries one, else `fallback` (a key whose
    English is the exception's message as written). A ledger's MalformedInput that codes
    what is wrong is said by its code wherever its message was to be said (a value of
    `params` that is the message)."""
    carried = getattr(exc, "sentence", None)
    if isinstance(carried, Sentence):
        return carried
    said: Sentence | None = None
    if isinstance(exc, MalformedInput) and exc.code is not None:
        said = problem_said(str(exc), exc.code, exc.params)
    elif isinstance(exc, InvalidDocument):
        said = document_problem(exc)
    if said is not None:
        params = {name: said if value == str(exc) else value for name, value in params.items()}
    return Sentence(fallback, str(exc), **params)


def document_problem(exc: InvalidDocument) -> Sentence:
    """What is wrong with a credential document (or a record made into one), by the code
    the ledger gives it (`doc.problem.<code>`, with its params; an offline proof's refusal
    `cli.proof.<code>`), the record it is in first; in English the message as written. One
    of no code, or of a code this release does not know, is the general sentence."""
    return problem_of(str(exc), exc.code, exc.params)


def problem_of(english: str, code: str | None, given: Mapping[str, object]) -> Sentence:
    """`document_problem` of a problem as a check carries it (ledger.verification.Check)."""
    for key in (f"doc.problem.{code}", f"cli.proof.{code}"):
        if code is not None and key in catalogue("en"):
            params = {name: value for name, value in given.items() if name != "record"}
            said = Sentence(key, english, **params)
            if "record" in given:
                return Sentence("doc.problem.in_record", english, record=given["record"],
                                why=said)
            return said
    return Sentence("doc.problem.other", english)


def problem_said(english: str, problem: str | None, params: Mapping[str, object]) -> Sentence:
    """What is wrong with a transaction, as the ledger's MalformedInput codes it (its
    `code`, here `problem`, and `params`): `tx.problem.<code>`, naming the field by its word
    (`tx.field.<name>`). A problem of no code, or of one this release does not know, is
    the catalogue's general sentence (in English the message as written)."""
    key = f"tx.problem.{problem}"
    if problem is None or key not in catalogue("en"):
        return Sentence("tx.problem.other", english, why=english)
    values = dict(params)
    if isinstance(values.get("field"), str):
        values["field"] = field_word(str(values["field"]))
    return Sentence(key, english, **values)


def not_credential(path: object, exc: InvalidDocument, english: str | None = None
                   ) -> Sentence:
    """A file refused as a credential: why, by the problem's code (the general sentence
    for a file no credential at all, or a problem of no code); `english` as written."""
    if exc.code is None or exc.code == "not_credential":
        return Sentence("cli.file.not_credential", english or str(exc), path=path)
    return Sentence("cli.file.not_credential_why", english or str(exc), path=path,
                    why=document_problem(exc))


def first_match(patterns: Sequence[tuple[re.Pattern[str], str]], text: str
                ) -> tuple[str, dict[str, str]] | None:
    """The catalogue key of the first pattern that matches all of `text` (an error's English
    words), with what its named groups found ("" for one that found nothing)."""
    for pattern, key in patterns:
        found = pattern.fullmatch(text)
        if found is not None:
            return key, {name: value or "" for name, value in found.groupdict().items()}
    return None


def field_word(field: str) -> Sentence:
    """A transaction's field by its word: "first untrusted height" as
    `tx.field.first_untrusted_height`; one the ledger names with its place in a list
    ("revoked credential 3 leaf index") by its last words that have one (`leaf_index`)."""
    words = re.findall(r"[a-z0-9]+", field.lower())
    for start in range(len(words)):
        key = "tx.field." + "_".join(words[start:])
        if key in catalogue("en"):
            return Sentence(key)
    return Sentence("tx.field.other")


def os_reason(exc: OSError) -> Sentence:
    """Why the system refused a file, in words (its strerror in English)."""
    english = exc.strerror or str(exc)
    if isinstance(exc, PermissionError):
        return Sentence("cli.os.permission", english)
    if isinstance(exc, FileNotFoundError):
        return Sentence("cli.os.missing", english)
    if isinstance(exc, IsADirectoryError):
        return Sentence("cli.os.folder", english)
    return Sentence("cli.os.other", english)


def kind_of(mode: int) -> Sentence:
    """A path that is no regular file, by what it is (node.files words it in English)."""
    for test, name in ((stat.S_ISDIR, "folder"), (stat.S_ISCHR, "character_device"),
                       (stat.S_ISBLK, "block_device"), (stat.S_ISFIFO, "named_pipe"),
                       (stat.S_ISSOCK, "socket")):
        if test(mode):
            return Sentence(f"cli.kind.{name}")
    return Sentence("cli.kind.other")


def _language_in(args: Sequence[str]) -> str | None:
    """The --lang the command line gives, read before click parses it (None: none, or one
    no language is known by)."""
    given = lang_given(args)
    return None if given is None else LANGUAGE_ALIASES.get(given.strip().lower())


def _usage_sentence(exc: click.UsageError, command: str) -> Sentence:
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
        key = f"cli.help.meta.{self.param.name}"
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
        # an argument by its name's words (PROPOSAL_ID), else as the file it mostly is
        taken = [words.t(f"cli.help.meta.{param.name}") if words.has(
                     f"cli.help.meta.{param.name}") else words.t("cli.help.meta.file")
                 for param in self.get_params(ctx) if isinstance(param, click.Argument)]
        formatter.write_usage(ctx.command_path, " ".join(
                                  [f"[{words.t('cli.help.meta.options')}]", *taken]),
                              prefix=f"{words.t('cli.help.usage')}: ")
        formatter.write_paragraph()
        with formatter.indentation():
            formatter.write_text(words.t(f"cli.help.{name}"))
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
        speak(_language_in(args) or language_from_environment())
        args = self.arguments_meant(ctx, args)
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as exc:
            if spoken().language == "en":
                raise
            refuse(_usage_sentence(exc, ctx.command_path), EXIT_BAD_INPUT)

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
