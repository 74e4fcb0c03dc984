"""An attestat subject that carries no mark: passed (a pass/fail subject, such as
physical education or self-knowledge in some years) or exempted from (on medical
grounds, say). Schools' e-journals (Kundelik, Bilimal, 1C) export the word as the
class teacher typed it, in Kazakh or Russian: `сынақ`, `есептелді`, `зачтено`,
`зачёт`, `осв.`, `босатылған`, `освобождена`...

Each is recorded as the code `pass` or `exempt` (the document's value, which
`ledger.academic_checks` accepts beside 1 to 5), so one outcome reads alike whatever
the school's language and a verifier's labels translate it.

A word is looked up after folding what an export varies in without changing the word:
case, ё written е, a closing full stop of an abbreviation, spaces, the form
`освобожден(а)` of a printed template, and Kazakh letters typed on a Russian keyboard
(қ as к, ы kept, і as и, ғ as г...). Latin letters are never folded: `зачтенo` with a
Latin o is refused (registrar.formats), as it would be in a name.
"""

from __future__ import annotations

import re

PASS = "pass"
EXEMPT = "exempt"

# Kazakh letters a Russian layout lacks, as typed without them.
_KAZAKH_ON_RUSSIAN = str.maketrans({"ә": "а", "ғ": "г", "қ": "к", "ң": "н", "ө": "о",
                                    "ұ": "у", "ү": "у", "һ": "х", "і": "и", "ё": "е"})

# Folded forms (see `folded`). Kazakh: сынақ (a pass/fail test passed), есептелді /
# есептелген (counted); босатылған / босатылды (exempted). Russian: зачтено, зачёт and
# their abbreviations; освобождён / освобождена and theirs.
_WORDS: dict[str, str] = {
    **dict.fromkeys(("сынак", "есептелди", "есептелген", "зачтено", "зачет", "зач"), PASS),
    **dict.fromkeys(("босатылган", "босатылды", "освобожден", "освобождена",
                     "освобожден(а)", "освобожд", "осв"), EXEMPT),
}
PASS_WORDS_SHOWN = ("сынақ", "есептелді", "зачтено", "зачёт")
EXEMPT_WORDS_SHOWN = ("босатылған", "освобождён(а)")

_SPACES = re.compile(r"\s+")


def folded(value: str) -> str:
    text = _SPACES.sub("", value.lower().translate(_KAZAKH_ON_RUSSIAN))
    return text[:-1] if text.endswith(".") else text


def school_outcome(value: str) -> str | None:
    """`pass` or `exempt` for a word meaning so (or for the code itself, as a JSON export
    made from Senim documents holds it), None for anything else."""
    if value in (PASS, EXEMPT):
        return value
    return _WORDS.get(folded(value))
