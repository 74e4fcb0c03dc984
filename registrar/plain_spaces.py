"""No-break spaces inside a name, recorded as plain spaces; inside an id, kept and said.

A copy from a web page (&nbsp;) or Word brings U+00A0 between a name's words, and a
typographer's narrow (U+202F) or figure (U+2007) space; each looks like a space on
screen, in the dry run too, but is not what anyone typing the name writes. Hashed into
the credential as written, the name then differed from the same name typed. A value of
a text field is recorded with a plain space for each.

A code field's value (a student id, a diploma number), and the value of any field the
schema lists as unique, is recorded, hashed and matched exactly as written
(registrar.lookalike): the issuer's registry keeps the keyed hash of each unique one
(registrar.issued), so an id issued with a no-break space before must be found again,
as written, or its student would be refused as another one, and a correction could
never reach them. Such a value is kept as written and said; the
duplicate check inside a file still sees it as the same id typed (lookalike.look_key).
The dry run and the real run say both by column: how many values, the first row
(`PlainSpaces`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from registrar.phrases import Phrase, phrase

NO_BREAK_SPACES = "\u00a0\u202f\u2007"
_NO_BREAK = re.compile(f"[{NO_BREAK_SPACES}]")
# Formats whose values are recorded as written, a no-break space made plain; the others
# read numbers, dates, IINs (which take any space between digit groups) or words of a
# closed list. A `code` is an id, matched exactly: kept as written (KEPT_FORMATS).
PLAIN_SPACED_FORMATS = frozenset({"text"})
KEPT_FORMATS = frozenset({"code"})
# Columns said one by one at most: a schema's fields, however many header shapes a JSON
# file has; the values of the columns past them are counted together (`PlainSpaces.more`).
MAX_COLUMNS_SAID = 64


@dataclass
class PlainSpaced:
    """A column some of whose values held a no-break space: the first row, how many, and
    whether each was kept as written (an id) rather than recorded with a plain space."""

    column: str
    first_row: int
    count: int
    kept: bool = False


class PlainSpaces:
    """The columns whose values held a no-break space, in the order first met."""

    def __init__(self) -> None:
        self._columns: dict[str, PlainSpaced] = {}
        # values past MAX_COLUMNS_SAID columns, made plain or kept: said as one count each
        self.more_plain = self.more_kept = 0

    def plain(self, row: int, column: str, value: str) -> str:
        """`value` with a plain space for each no-break one, which is noted."""
        if not _NO_BREAK.search(value):
            return value
        if not self._note(row, column, kept=False):
            self.more_plain += 1
        return _NO_BREAK.sub(" ", value)

    def keep(self, row: int, column: str, value: str) -> str:
        """`value` as written; a no-break space in it is noted as kept."""
        if _NO_BREAK.search(value) and not self._note(row, column, kept=True):
            self.more_kept += 1
        return value

    def _note(self, row: int, column: str, *, kept: bool) -> bool:
        """Count a value of `column`; False if the column is past MAX_COLUMNS_SAID."""
        key = ("kept " if kept else "plain ") + column
        seen = self._columns.get(key)
        if seen is not None:
            seen.count += 1
        elif len(self._columns) < MAX_COLUMNS_SAID:
            self._columns[key] = PlainSpaced(column, row, 1, kept)
        else:
            return False
        return True

    def found(self) -> tuple[PlainSpaced, ...]:
        """The columns said one by one, then the values past them as one line each
        (column "", first row 0)."""
        more = [PlainSpaced("", 0, count, kept) for count, kept in
                ((self.more_plain, False), (self.more_kept, True)) if count]
        return (*self._columns.values(), *more)


def plain_spaces_said(found: tuple[PlainSpaced, ...]) -> list[Phrase]:
    """One line a column, for the dry run and the real run alike."""
    return [_said(spaced) for spaced in found]


def _said(spaced: PlainSpaced) -> Phrase:
    if not spaced.column:
        if spaced.kept:
            return phrase("reg.value.no_break_spaces_kept_more", f"{spaced.count} more "
                          "value(s) of other id columns hold a no-break space, each kept as "
                          "written", count=spaced.count)
        return phrase("reg.value.no_break_spaces_more", f"{spaced.count} more value(s) of "
                      "other columns hold a no-break space, each recorded as a plain space",
                      count=spaced.count)
    if spaced.kept:
        return phrase("reg.value.no_break_spaces_kept", f"column {spaced.column!r}: "
                      f"{spaced.count} value(s) hold a no-break space (first in row "
                      f"{spaced.first_row}), kept as written, since an id is recorded and "
                      "matched exactly as the records system holds it", column=spaced.column,
                      count=spaced.count, row=spaced.first_row)
    return phrase("reg.value.no_break_spaces", f"column {spaced.column!r}: {spaced.count} "
                  f"value(s) hold a no-break space (first in row {spaced.first_row}), each "
                  "recorded as a plain space", column=spaced.column, count=spaced.count,
                  row=spaced.first_row)
