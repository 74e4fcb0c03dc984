"""The words of Senim's verdicts in Kazakh, Russian and English: one catalogue,
node/static/i18n/{kk,ru,en}.json, which the portal's page loads in the browser and
`senim verify` reads here, so that a sentence and its translations live in one place.

Sentences only the command line says (an offline proof's refusals, a stale or
untrusted answer, `senim issue`'s lines and the problems registrar/ finds in an export)
are in cli/words/ (cli.language.catalogue adds them to these), so the page does not
download them.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

LANGUAGES = ("kk", "ru", "en")
DEFAULT_LANGUAGE = "en"
# Browsers and people write Kazakh in more than one way.
LANGUAGE_ALIASES = {"kz": "kk", "kk": "kk", "ru": "ru", "en": "en"}


@cache
def catalogue(language: str) -> dict[str, str]:
    """Every key's text in `language` (one of LANGUAGES), read once per process."""
    if language not in LANGUAGES:
        raise ValueError(f"no catalogue for {language!r}")
    path = resources.files("node") / "static" / "i18n" / f"{language}.json"
    words: dict[str, str] = json.loads(path.read_text("utf-8"))
    return words
