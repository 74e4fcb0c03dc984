"""A link the shell split: `senim verify http://…#docz=q1ZK yy_K…`, typed or pasted
without quotes, reaches the command as several arguments when a letter or a chat had put a
space inside the link. The pieces are the link's own characters with the space between
them removed, as the portal removes it from a link pasted in its box (cli.share_links
rejoined): they are read as the one link they were. What follows a link and cannot be a
piece of it (another link, a file, words) is refused in a sentence, not taken for a piece.
"""

from __future__ import annotations

import os
import re

import click

from cli.errors import EXIT_BAD_INPUT
from cli.share_links import WRAPPING, is_link
from cli.spoken import Sentence, WordedCommand, refuse

# A piece of a link: only what a URL may hold (RFC 3986's characters and "%"), and what
# wraps a link in a letter ("<…>", quotes, a full stop).
_PIECE = re.compile(r"[A-Za-z0-9._~:/?#\[\]@!$&'()*+,;=%<>\"«»“”„‘’-]+\Z")
# The most of an argument a refusal repeats: a pasted letter's line is enough to know it.
EXTRA_SHOWN_MAX = 40


def _is_piece(arg: str) -> bool:
    if not _PIECE.match(arg) or arg.startswith("--") or is_link(arg):
        return False  # "--…" is an option (a mistyped one told as such), not base64url
    if not arg.strip(WRAPPING):
        return True  # "»." or ">" after a space: the link's wrapping
    try:
        return not os.path.lexists(arg)  # a file named after the link: two things given
    except (OSError, ValueError):
        return True


def _shown(arg: str) -> str:
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
        meant: list[str] = []
        first = True  # the next argument that is no option is the command's FILE|LINK
        linked = False  # and it was a link
        options_end = False  # after "--" no argument is an option
        at = 0
        while at < len(args):
            arg = args[at]
            at += 1
            if not options_end and arg.startswith("-") and (
                    arg in flags or arg.split("=", 1)[0] in valued or arg.startswith("--")):
                meant.append(arg)
                options_end = arg == "--"
                if arg in valued and at < len(args):  # its value, whatever it looks like
                    meant.append(args[at])
                    at += 1
                continue
            if linked:
                refuse(Sentence("cli.link.extra", None, extra=_shown(arg)), EXIT_BAD_INPUT)
            pieces = [arg]
            if first and is_link(arg):
                linked = True
                while at < len(args) and _is_piece(args[at]):
                    pieces.append(args[at])
                    at += 1
            first = False
            meant.append("".join(pieces))
        return meant
