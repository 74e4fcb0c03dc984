"""No-break spaces inside a value, recorded as plain spaces.

A copy from a web page (&nbsp;) or Word brings U+00A0 between a name's words, and a
typographer's narrow (U+202F) or figure (U+2007) space; each looks like a space on
screen, in the dry run too, but is not what anyone typing the name writes. Hashed into
the credential as written, the name then differed from the same name typed, and a
student id so written from the same id typed (a duplicate not found). A value of a
text or code field is recorded with a plain space for each; the dry run and the real
run say so by column: how many values, and the first row (`PlainSpaces`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from registrar.phrases import Phrase, phrase

NO_BREAK_SPACES = "\u00a0\u202f\u2007"
_NO_BREAK = re.compile(f"[{NO_BREAK_SPACES}]")
# Formats whose values are recorded as written; the others read numbers, dates, IINs
# (which take any space between digit groups) or words of a closed list.
PLAIN_SPACED_FORMATS = frozenset({"text", "code"})
# Columns said at most: a schema's fields, however many header shapes a JSON file has.
MAX_COLUMNS_SAID = 64


@dataclass
class PlainSpaced:
    """A column some of whose values held a no-break space: the first row, how many."""

    column: str
    first_row: int
    count: int


class PlainSpaces:
    """The columns whose values held a no-break space, in the order first met."""

    def __init__(self) -> None:
        self._columns: dict[str, PlainSpaced] = {}

    def plain(self, row: int, column: str, value: str) -> str:
        """`value` with a plain space for each no-break one, which is noted."""
        if not _NO_BREAK.search(value):
            return value
        seen = self._columns.get(column)
        if seen is not None:
            seen.count += 1
        elif len(self._columns) < MAX_COLUMNS_SAID:
            self._columns[column] = PlainSpaced(column, row, 1)
        return _NO_BREAK.sub(" ", value)

    def found(self) -> tuple[PlainSpaced, ...]:
        return tuple(self._columns.values())


def plain_spaces_said(found: tuple[PlainSpaced, ...]) -> list[Phrase]:
    """One line a column, for the dry run and the real run alike."""
    return [phrase("reg.value.no_break_spaces", f"column {spaced.column!r}: {spaced.count} "
                   f"value(s) hold a no-break space (first in row {spaced.first_row}), each "
                   "recorded as a plain space", column=spaced.column, count=spaced.count,
                   row=spaced.first_row) for spaced in found]
