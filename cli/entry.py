"""The `senim` console script: `cli.main` imported inside a guard.

Importing the command asked for takes up to a second (click, the ledger, aiohttp
for the node); a Ctrl-C then would end in a Python traceback from whichever import it hit.
This module imports nothing heavy itself, so the guard is in place at once.
"""

from __future__ import annotations

import codecs
import os
import signal
import sys
from collections.abc import Sequence
from types import FrameType
from typing import Any

EXIT_INTERRUPTED = 130  # as cli.errors says, which this module must not import yet


def _json_escaped(error: UnicodeError) -> tuple[str, int]:
    """What a console cannot show, as JSON's own escapes: '\\u00e1' for 'á', a surrogate
    pair for a character past U+FFFF. Python's backslashreplace writes '\\xe1' and
    '\\U0001f600', which no JSON reader takes: a name in the Kazakh Latin alphabet (Á, á,
    none of them in cp1251) made senim verify --json print what was no JSON."""
    if not isinstance(error, UnicodeEncodeError):
        raise error
    escaped = []
    for char in error.object[error.start:error.end]:  # bounded: the characters refused
        code = ord(char)
        if code > 0xFFFF:
            code -= 0x10000
            escaped.append(f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}")
        else:
            escaped.append(f"\\u{code:04x}")
    return "".join(escaped), error.end


JSON_ESCAPE = "senim-json-escape"
codecs.register_error(JSON_ESCAPE, _json_escaped)


def _unencodable_replaced() -> None:
    """A console whose encoding lacks a character the command prints (a Windows code page
    such as cp1251 or cp866, or a legacy kk_KZ PT154 or ru_RU KOI8-R locale: none has
    '✔', and only PT154 the Kazakh letters) gets it escaped as JSON escapes it ('\\u04d9':
    `_json_escaped`), rather than the command ending in a UnicodeEncodeError traceback in
    place of its verdict. Escaped, not replaced by '?': --json output stays the same JSON
    (an escape inside a string is JSON's own), with no letter of a name lost."""
    stdout = sys.stdout
    if getattr(stdout, "errors", None) == "strict" and hasattr(stdout, "reconfigure"):
        stdout.reconfigure(errors=JSON_ESCAPE)


def _runs_node(argv: list[str]) -> bool:
    """Whether the command line is `senim node ...` (node_options says it fully, once
    imported: this asks before importing anything)."""
    return next((word for word in argv if not word.startswith("-")), None) == "node"


def _imported_main() -> Any:
    """`cli.main.main`, imported with a stop noted as well as raised: a Ctrl-C (or, for
    `senim node`, a SIGTERM or SIGHUP, node.start_interrupt) that lands in code Python
    runs for itself while importing (a module lock's weakref callback) is printed as
    "Exception ignored" and dropped, and the command then ran to its end. So what such
    code drops is kept, off the terminal, and raised again once the import is over (a
    SIGINT noted by the handler too, in case Python drops it elsewhere). A SIGINT this
    process was started ignoring (a background job's) stays ignored."""
    noted: list[KeyboardInterrupt] = []
    earlier_hook = sys.unraisablehook

    def on_sigint(_signum: int, _frame: FrameType | None) -> None:
        noted.append(KeyboardInterrupt())
        raise noted[-1]

    def hook(unraisable: Any) -> None:
        if isinstance(unraisable.exc_value, KeyboardInterrupt):
            noted.append(unraisable.exc_value)
        else:
            earlier_hook(unraisable)

    previous = signal.getsignal(signal.SIGINT)
    if previous is signal.default_int_handler:
        signal.signal(signal.SIGINT, on_sigint)
    sys.unraisablehook = hook
    try:
        from cli.main import main
    finally:
        if previous is signal.default_int_handler:
            signal.signal(signal.SIGINT, previous)
        sys.unraisablehook = earlier_hook
    if noted:
        raise noted[-1]
    return main


# Said before the catalogues can be read (cli.words: cli.interrupted.*): a Ctrl-C while
# the command is being imported. Kept here, with the language told as cli.language tells
# it, so that it is said in the reader's language too (it was English in every one).
STOPPED_WHILE_STARTING = {
    "en": "interrupted: stopped while starting; nothing was done",
    "kk": "тоқтатылды: команда іске қосылып жатқанда тоқтады; ол ештеңені өзгертпеді",
    "ru": "прервано: команда остановлена при запуске; она ничего не изменила"}
_LANGUAGES = {"kk": "kk", "kz": "kk", "ru": "ru", "en": "en"}  # node.i18n.LANGUAGE_ALIASES


def lang_given(args: Sequence[str]) -> str | None:
    """The value of the first --lang the command line gives, as given (before a `--`);
    None if it gives none. Read before click parses it (cli.spoken, cli.worded_group)."""
    for index, arg in enumerate(args):
        if arg == "--":
            return None
        if arg.startswith("--lang="):
            return arg.split("=", 1)[1]
        if arg == "--lang" and index + 1 < len(args):
            return args[index + 1]
    return None


def language_asked(args: list[str]) -> str:
    """--lang as the command line gives it, else the locale's (LC_ALL, LC_MESSAGES, LANG),
    else English: as cli.language chooses, without importing it."""
    given = lang_given(args)
    if given is not None:
        return _LANGUAGES.get(given.strip().lower(), "en")
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name, "")
        if value:
            primary = value.replace(".", "_").replace("@", "_").replace("-", "_")
            return _LANGUAGES.get(primary.split("_", 1)[0].lower(), "en")
    return "en"


def run() -> None:
    _unencodable_replaced()
    try:
        if _runs_node(sys.argv[1:]):
            # SIGTERM and SIGHUP say that the start was stopped, as a Ctrl-C does
            from node.start_interrupt import stop_signals_interrupt
            stop_signals_interrupt()
        main = _imported_main()
    except KeyboardInterrupt as exc:
        # `senim node` says it as its log lines are said (a JSON line when they are JSON)
        from node.start_interrupt import node_options, say_interrupted
        node = node_options(sys.argv[1:])
        if node is not None:
            sys.exit(say_interrupted(*node, exc))
        else:
            sys.stderr.write(STOPPED_WHILE_STARTING[language_asked(sys.argv[1:])] + "\n")
        sys.exit(EXIT_INTERRUPTED)
    from cli.closed_pipe import quiet_when_reader_gone
    with quiet_when_reader_gone():  # a usage error said to a closed stderr, say
        try:
            main()
        finally:
            # click ends with SystemExit: what print() left buffered is flushed here, where
            # a reader gone is caught, rather than at exit ("Exception ignored ...")
            sys.stdout.flush()


if __name__ == "__main__":  # `python -m cli.entry`, as `python -m cli` and `senim`
    run()
