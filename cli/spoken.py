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
are the same in every language. The commands whose --help and usage errors are said so
are cli.worded_command's.
"""

from __future__ import annotations

import re
import stat
import sys
from collections.abc import Mapping, Sequence
from typing import NoReturn

import click

from cli.language import Words, catalogue, spoken_language
from ledger.errors import InvalidDocument, MalformedInput


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
    override, a line break that would forge a line) said as U+FFFD, as cli.client_answers.node_line
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
