"""A link the shell split: `senim verify http://…#docz=q1ZK yy_K…`, typed or pasted
without quotes, reaches the command as several arguments when a letter or a chat had put a
space inside the link. The pieces are the link's own characters with the space between
them removed, as the portal removes it from a link pasted in its box (cli.share_links
rejoined): they are read as the one link they were. What follows a link and cannot be a
piece of it (another link, a file, words) is refused in a sentence, not taken for a piece.

Words before a link are the label it was sent under ("Диплом: https://…", "Diploma -
https://…", "Аттестат №123 https://…"): left out, with a note saying so, as the portal
leaves them out of its box (cli.share_links.rejoined does it for one argument). One that
is, or is named as, a file is no label: which of the two was meant is asked, not guessed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable

import click

from cli.errors import EXIT_BAD_INPUT
from cli.share_links import WRAPPING, is_link
from cli.spoken import Sentence, echo, refuse
from cli.worded_command import WordedCommand

# A piece of a link: only what a URL may hold (RFC 3986's characters and "%"), and what
# wraps a link in a letter ("<…>", quotes, a full stop).
_PIECE = re.compile(r"[A-Za-z0-9._~:/?#\[\]@!$&'()*+,;=%<>\"«»“”„‘’-]+\Z")
# The most of an argument a refusal repeats: a pasted letter's line is enough to know it.
EXTRA_SHOWN_MAX = 40
# The longest extension a word named as a file ends in (".json", ".jsonld").
EXTENSION_CHARS_MAX = 6
# Where arguments_meant leaves the words it left out, for parse_args to say.
_LABEL_LEFT_OUT = "senim.link_label_left_out"


def _is_piece(arg: str) -> bool:
    if not _PIECE.match(arg) or arg.startswith("--") or is_link(arg):
        return False  # "--…" is an option (a mistyped one told as such), not base64url
    if not arg.strip(WRAPPING):
        return True  # "»." or ">" after a space: the link's wrapping
    try:
        return not os.path.lexists(arg)  # a file named after the link: two things given
    except (OSError, ValueError):
        return True


def _exists(word: str) -> bool:
    try:
        return os.path.lexists(word)
    except (OSError, ValueError):  # a NUL in it: no file's name
        return False


def _may_be_file(word: str) -> bool:
    """Whether a word before a link may be meant as the file to check, not the link's
    label: a file is there by that name, or the word is named as one."""
    if _exists(word):
        return True
    # named as one: with a folder in it, or ending in an extension of Latin letters and
    # digits, one a letter at least (".json", ".pdf"; not "т.б.", "№1.2" or "г.Алматы")
    stem, dot, extension = word.rpartition(".")
    return ("/" in word or os.sep in word or bool(
        stem and dot and len(extension) <= EXTENSION_CHARS_MAX and extension.isascii()
        and extension.isalnum() and not extension.isdigit()))


def shown_briefly(arg: str) -> str:
    """`arg` as a line repeats it: printable, and no more than EXTRA_SHOWN_MAX characters."""
    shown = "".join(c if c.isprintable() else "\N{REPLACEMENT CHARACTER}" for c in arg)
    return shown if len(shown) <= EXTRA_SHOWN_MAX else shown[:EXTRA_SHOWN_MAX] + "…"


class LinkCommand(WordedCommand):
    """A command whose one argument may be a link: a link the shell split at a space is
    given to it whole, and more after a link is refused (exit 2) in the reader's language."""

    def arguments_meant(self, ctx: click.Context, args: list[str]) -> list[str]:
        flags: set[str] = set()
        valued: set[str] = set()
        for param in self.get_params(ctx):
            if isinstance(param, click.Option):
                names = param.opts + param.secondary_opts
                (flags if param.is_flag or param.count else valued).update(names)

        def is_option(arg: str) -> bool:
            return arg.startswith("-") and (
                arg in flags or arg.split("=", 1)[0] in valued or arg.startswith("--"))

        args, label = _label_left_out(args, is_option, valued)
        meant: list[str] = []
        first = True  # the next argument that is no option is the command's FILE|LINK
        linked = False  # and it was a link
        options_end = False  # after "--" no argument is an option
        at = 0
        while at < len(args):
            arg = args[at]
            at += 1
            if not options_end and is_option(arg):
                meant.append(arg)
                options_end = arg == "--"
                if arg in valued and at < len(args):  # its value, whatever it looks like
                    meant.append(args[at])
                    at += 1
                continue
            if linked:
                refuse(Sentence("cli.link.extra", None, extra=shown_briefly(arg)), EXIT_BAD_INPUT)
            pieces = [arg]
            if first and is_link(arg):
                linked = True
                while at < len(args) and _is_piece(args[at]):
                    pieces.append(args[at])
                    at += 1
            first = False
            meant.append("".join(pieces))
        if label:
            ctx.meta[_LABEL_LEFT_OUT] = label
        return meant

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        rest = super().parse_args(ctx, args)
        label: list[str] | None = ctx.meta.pop(_LABEL_LEFT_OUT, None)
        if label:  # said once the link is the one argument and the options parsed: not
            # before a usage error (a --lang or --node mistyped), as if the link were checked
            echo(Sentence("cli.link.label_left_out", None, label=shown_briefly(" ".join(label))),
                 err=True, named=True)
        return rest


def _label_left_out(args: list[str], is_option: Callable[[str], bool], valued: set[str]
                    ) -> tuple[list[str], list[str]]:
    """`args` without the words before the first link, and those words: none when no
    argument that is no option is a link, or the first is. A word that may be a file
    (_may_be_file) is refused (exit 2), saying to give the file alone or the link in
    quotes."""
    positions: list[int] = []  # of the arguments that are neither options nor their values
    options_end = False
    at = 0
    while at < len(args):
        arg = args[at]
        if not options_end and is_option(arg):
            options_end = arg == "--"
            at += 2 if arg in valued else 1
            continue
        if not options_end and arg[:1] == "-" and arg[1:2].isascii() and arg[1:2].isalpha():
            at += 1  # an option mistyped ("-json", "-J"): click refuses it, not left out
            continue
        if is_link(arg):
            break
        positions.append(at)
        at += 1
    else:
        return args, []  # no link
    if not positions:
        return args, []  # the link comes first
    label = [args[at] for at in positions]
    for word in label:
        if _may_be_file(word):  # a file there is named whole, as click names one
            shown = word if _exists(word) else shown_briefly(word)
            refuse(Sentence("cli.link.file_before", None, file=shown), EXIT_BAD_INPUT)
    left_out = set(positions)
    return [arg for at, arg in enumerate(args) if at not in left_out], label
