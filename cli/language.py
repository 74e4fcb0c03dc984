"""The language a verifier-facing command speaks (`--lang kk|ru|en`), and its words.

The words are the portal's (node.i18n): the same sentence in the same three languages
whether an HR officer drops the file on a node's page or runs `senim verify`. What only
the command line says (`cli.`, and `senim issue`'s `issue.` and `reg.`, `revoke.`,
`supersede.`) is in cli/words/, so that the page a phone loads does not carry it. English
output stays the command line's own, more technical wording (block heights, hashes),
which scripts and operators already read; Kazakh and Russian say the portal's sentences.
Only what people read is translated: exit codes and `--json` are the same in every
language.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from functools import cache
from importlib import resources
from typing import Any, NoReturn, TypeVar

import click

from cli.errors import EXIT_BAD_INPUT
from node.i18n import LANGUAGE_ALIASES, LANGUAGES
from node.i18n import catalogue as portal_catalogue

Command = TypeVar("Command", bound=Callable[..., Any])
# POSIX: the first of these that is set and not empty names the messages' locale.
LOCALE_VARIABLES = ("LC_ALL", "LC_MESSAGES", "LANG")
PLACEHOLDER = re.compile(r"\{(\w+)\}")  # as portal-language.js reads them
NODE_TIME = re.compile(r"^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2}) UTC$")
# The keys only the command line says; the portal's catalogue holds none of them. `gov.`,
# `min.`, `tx.` and `refusal.` are the ministry's commands' (governance, accredit, suspend,
# add-member, members, evidence), their transactions' outcome and a node's refusal codes;
# `rec.` is `senim employment start|end` and `senim recognise`'s, `key.` `senim key`'s and
# `senim keygen`'s; `stat.`, `fsck.` and `tls.` the operator's `senim status`, `senim fsck`
# and `senim tls-cert`'s.
COMMAND_LINE_PREFIXES = ("cli.", "issue.", "reg.", "revoke.", "supersede.", "gov.", "min.",
                         "tx.", "refusal.", "rec.", "key.", "stat.", "fsck.", "tls.", "doc.")


def command_line_words(language: str) -> dict[str, str]:
    """cli/words/{language}.json: the sentences only the command line says."""
    path = resources.files("cli") / "words" / f"{language}.json"
    words: dict[str, str] = json.loads(path.read_text("utf-8"))
    return words


@cache
def catalogue(language: str) -> dict[str, str]:
    """Every key the command line may say in `language`: the portal's and its own."""
    return {**portal_catalogue(language), **command_line_words(language)}


def language_from_environment(environ: Mapping[str, str] | None = None) -> str:
    """kk_KZ.UTF-8 -> kk, ru_RU (or any ru_*) -> ru, anything else (C, en_US, de_DE) -> en."""
    environ = os.environ if environ is None else environ
    for name in LOCALE_VARIABLES:
        value = environ.get(name, "")
        if value:
            primary = re.split(r"[_.@-]", value, maxsplit=1)[0].lower()
            return LANGUAGE_ALIASES.get(primary, "en")
    return "en"


# The language of the command running in this process (cli.spoken): chosen before its
# options are parsed, so that a usage error is said in it too.
_SPOKEN: list[str] = []


def speak(language: str) -> None:
    _SPOKEN[:] = [language]


def forget_spoken() -> None:
    """No command's language chosen: the locale's again (a process that runs several
    commands, as tests do)."""
    _SPOKEN.clear()


def language_chosen() -> bool:
    """Whether the running command chose its language (one that speaks kk, ru and en did,
    from --lang or the locale); a command that speaks only English chose none."""
    return bool(_SPOKEN)


def spoken_language() -> str:
    return _SPOKEN[0] if _SPOKEN else language_from_environment()


def refuse_unknown_language(value: str) -> NoReturn:
    """One line and exit 2, as every other usage error here, said in the locale's
    language."""
    words = Words(language_from_environment())
    click.secho(f"{words.t('cli.error')}: " + words.t(
        "cli.usage.lang", languages=", ".join(LANGUAGES), value=repr(value)),
        fg="red", err=True)
    sys.exit(EXIT_BAD_INPUT)


def _chosen(ctx: click.Context, _param: click.Parameter, value: str | None) -> str:
    if value is None:
        # A command that read --lang before parsing (cli.worded_command.WordedCommand) keeps
        # what it read: "--node --lang kk" gives --node the value "--lang", and still asks
        # for Kazakh. Any other takes the locale's.
        language = (spoken_language() if getattr(ctx.command, "reads_lang_first", False)
                    else language_from_environment())
    else:
        found = LANGUAGE_ALIASES.get(value.strip().lower())
        if found is None:
            refuse_unknown_language(value)
        language = found
    speak(language)
    return language


def lang_option(command: Command) -> Command:
    return lang_option_saying(
        "The language it speaks, errors included: Kazakh, Russian or English. Default: "
        "from LC_ALL, LC_MESSAGES or LANG (kk_KZ: Kazakh, ru_*: Russian, else English)."
    )(command)


def lang_option_saying(help: str) -> Callable[[Command], Command]:
    """--lang, its --help line in English `help` (`senim node`'s: its log stays English)."""
    return click.option("--lang", "language", default=None, callback=_chosen,
                        metavar="kk|ru|en", help=help)


class Words:
    """The catalogue of one language, with dates and times said as the portal says them."""

    def __init__(self, language: str) -> None:
        self.language = language
        self.table = catalogue(language)

    def has(self, key: str) -> bool:
        return key in self.table

    def t(self, key: str, /, **params: Any) -> str:
        """The text of `key`, each {name} replaced (a brace that names nothing given, like
        the «{» of a sentence about pasting JSON, stays as written)."""
        text = self.table[key]
        return PLACEHOLDER.sub(
            lambda m: str(params[m.group(1)]) if m.group(1) in params else m.group(0), text)

    def date(self, when: str | None) -> str:
        """A calendar day ("YYYY-MM-DD") as written, or a node's UTC time as the local day."""
        moment = _node_time(when)
        day = moment.astimezone().strftime("%Y-%m-%d") if moment else (when or "")
        m = re.match(r"^(\d{4})-(\d{2})-(\d{2})", day)
        if not m or not _is_day(int(m[1]), int(m[2]), int(m[3])):
            # as written: a document's own day (an employment's start) is whatever its
            # issuer hashed, which no verification reads as a date
            return when or ""
        return self.t("date.format", day=str(int(m[3])), month=self.t(f"month.{int(m[2])}"),
                      year=m[1])

    def time(self, when: str | None) -> str:
        """A node's UTC time as the local time of day, with the zone's offset: a printout
        read later, elsewhere, is not ambiguous."""
        moment = _node_time(when)
        if moment is None:
            return ""
        local = moment.astimezone()
        return self.t("time.zoned", time=local.strftime("%H:%M"), zone=_zone(local))

    def datetime(self, when: str | None) -> str:
        if _node_time(when) is None:
            return self.date(when)
        return self.t("date.datetime", date=self.date(when), time=self.time(when))


def _node_time(when: str | None) -> datetime | None:
    m = NODE_TIME.match(when or "")
    if not m:
        return None
    year, month, day, hour, minute, second = (int(part) for part in m.groups())
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:  # "2026-02-31 …" matches the pattern, and is no moment
        return None


def _is_day(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def _zone(local: datetime) -> str:
    """"UTC", "UTC+5", "UTC-3:30", as portal-language.js names a zone."""
    offset = local.utcoffset()
    minutes = 0 if offset is None else int(offset.total_seconds() // 60)
    if minutes == 0:
        return "UTC"
    sign = "+" if minutes > 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")
