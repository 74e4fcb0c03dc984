"""No-break spaces inside a name, recorded as plain spaces; inside an id, kept and said.
Hyphens other than the keyboard's (U+2010, and the no-break U+2011 Word puts in to keep
a double surname on one line) alike: recorded as the keyboard's "-", or kept and said.

A copy from a web page (&nbsp;) or Word brings U+00A0 between a name's words, and a
typographer's narrow (U+202F) or figure (U+2007) space; each looks like a space on
screen, in the dry run too, but is not what anyone typing the name writes. Hashed into
the credential as written, the name then differed from the same name typed. A value of
a text field is recorded with a plain space for each. A hyphen U+2010 or U+2011 is drawn
as the keyboard's hyphen-minus, and is recorded as one the same way (a dash, en or
figure, is a dash as written, and kept).

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
OTHER_HYPHENS = "\u2010\u2011"  # a hyphen, and a no-break one, drawn as "-"
_OTHER_HYPHEN = re.compile(f"[{OTHER_HYPHENS}]")
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
    hyphen: bool = False  # a hyphen other than the keyboard's, not a no-break space


class PlainSpaces:
    """The columns whose values held a no-break space or another hyphen, in the order
    first met."""

    def __init__(self) -> None:
        self._columns: dict[tuple[str, bool, bool], PlainSpaced] = {}
        # values past MAX_COLUMNS_SAID columns, by (kept, hyphen): said as one count each
        self._more: dict[tuple[bool, bool], int] = {}

    def plain(self, row: int, column: str, value: str) -> str:
        """`value` with a plain space for each no-break one and "-" for each other hyphen,
        which are noted."""
        if _NO_BREAK.search(value):
            self._note(row, column, kept=False, hyphen=False)
            value = _NO_BREAK.sub(" ", value)
        if _OTHER_HYPHEN.search(value):
            self._note(row, column, kept=False, hyphen=True)
            value = _OTHER_HYPHEN.sub("-", value)
        return value

    def keep(self, row: int, column: str, value: str) -> str:
        """`value` as written; a no-break space or another hyphen in it is noted as kept."""
        if _NO_BREAK.search(value):
            self._note(row, column, kept=True, hyphen=False)
        if _OTHER_HYPHEN.search(value):
            self._note(row, column, kept=True, hyphen=True)
        return value

    def _note(self, row: int, column: str, *, kept: bool, hyphen: bool) -> None:
        """Count a value of `column`, or past MAX_COLUMNS_SAID columns, one of the rest."""
        key = (column, kept, hyphen)
        seen = self._columns.get(key)
        if seen is not None:
            seen.count += 1
        elif len(self._columns) < MAX_COLUMNS_SAID:
            self._columns[key] = PlainSpaced(column, row, 1, kept, hyphen)
        else:
            self._more[kept, hyphen] = self._more.get((kept, hyphen), 0) + 1

    def found(self) -> tuple[PlainSpaced, ...]:
        """The columns said one by one, then the values past them as one line each
        (column "", first row 0)."""
        more = [PlainSpaced("", 0, self._more[kept, hyphen], kept, hyphen)
                for hyphen in (False, True) for kept in (False, True)
                if self._more.get((kept, hyphen))]
        return (*self._columns.values(), *more)


def plain_spaces_said(found: tuple[PlainSpaced, ...]) -> list[Phrase]:
    """One line a column, for the dry run and the real run alike."""
    return [_said(spaced) for spaced in found]


def _said(spaced: PlainSpaced) -> Phrase:
    if spaced.hyphen:
        return _hyphens_said(spaced)
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


def _hyphens_said(spaced: PlainSpaced) -> Phrase:
    what = "hold a hyphen other than the keyboard's (U+2010, or the no-break U+2011)"
    if not spaced.column:
        if spaced.kept:
            return phrase("reg.value.other_hyphens_kept_more", f"{spaced.count} more "
                          f"value(s) of other id columns {what}, each kept as written",
                          count=spaced.count)
        return phrase("reg.value.other_hyphens_more", f"{spaced.count} more value(s) of "
                      f"other columns {what}, each recorded as the keyboard's hyphen (-)",
                      count=spaced.count)
    if spaced.kept:
        return phrase("reg.value.other_hyphens_kept", f"column {spaced.column!r}: "
                      f"{spaced.count} value(s) {what} (first in row {spaced.first_row}), "
                      "kept as written, since an id is recorded and matched exactly as the "
                      "records system holds it", column=spaced.column, count=spaced.count,
                      row=spaced.first_row)
    return phrase("reg.value.other_hyphens", f"column {spaced.column!r}: {spaced.count} "
                  f"value(s) {what} (first in row {spaced.first_row}), each recorded as the "
                  "keyboard's hyphen (-)", column=spaced.column, count=spaced.count,
                  row=spaced.first_row)
