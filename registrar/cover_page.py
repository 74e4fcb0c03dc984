"""Whether a workbook's first sheet is a list of people or an order's cover page kept
before the list (registrar.export names the second so): told by its rows holding an IIN,
by whether any of its rows stands in a table, and by whether a later sheet holds a list.

A cover page's lines hold a title, or a label and its value; but an order may lay out its
commission or signatories as a table of one, `Должность | Ф.И.О. | ИИН` over one row,
which looks as a class of one does. What a cover has that a class of one has not is the
list behind it: a first sheet holding fewer than IIN_ROWS IIN rows is a cover when a later
visible sheet holds people (`later_sheet_holds_people`: as many IIN rows, or a header of
known columns), or when none of its rows stands in a table; otherwise it is the list, a
class of one of two columns too. Later sheets are looked at only when the first sheet's
header names no column the schema or mapping knows, and read with a bound
(registrar.later_sheets).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from registrar.iin import birth_date_of, iin_digits, iin_phrase, lost_zero
from registrar.rows import HEADER_KNOWN_COLUMNS, MAX_TITLE_CELLS, passes

# Rows holding an IIN that make a first sheet a list of people, not a cover page: one
# number on a cover (a phone, an order's number) may pass an IIN's checks by chance.
# Fewer make a list when a row stands in a table as a student's does (fills_a_table) and
# no later sheet holds people: a class of one (a transfer, an external exam) is a list too.
IIN_ROWS = 2
# Below a first sheet's header that names no known column, the rows holding a cell read
# whole, values past the header too, for PeopleRows to judge (the rest are read no wider
# than the header: registrar.far_values.rows_below): a cover page is some tens of lines,
# and a list behind a title shows its IIN_ROWS IIN rows within its first rows.
ROWS_JUDGED_WHOLE = 100
# Of a later sheet, the rows looked at for people: its header (below title rows) and
# the first students' rows under it.
LATER_ROWS_LOOKED = 24
# Later sheets looked at, the first so many visible ones after the first sheet.
LATER_SHEETS_LOOKED = 8
# A header cell holding this many digits holds a number no column is named by: an IIN or
# a BIN (9 digits, of an IIN Excel dropped three leading zeros of, are the fewest _is_iin
# takes), a phone. An academic year's 8 are a column's name ("2025-2026 оқу жылы").
IDENTIFIER_DIGITS = 9


class PeopleRows:
    """The rows of a workbook's first sheet, as they are read, each with what it holds,
    its problems or not: counted while they hold an IIN, in any column, up to IIN_ROWS;
    the nearest row above each with more than MAX_TITLE_CELLS values kept, the header
    or a row below it (a list's title may stand where the header was looked for), and
    the row just above it. `later_list`: a later visible sheet holds people (set by
    whoever reads the workbook: later_sheet_holds_people)."""

    def __init__(self) -> None:
        self._iin_rows = 0
        self._tabled = False  # a row stands in a table (fills_a_table, fills_a_pair)
        self._wide: list[str] | None = None  # the nearest row above of more than two values
        self._previous: list[str] = []  # the row just above
        self.later_list = False

    @property
    def may_be_cover(self) -> bool:
        """Whether the rows read hold too few IINs to be a list by that alone."""
        return self._iin_rows < IIN_ROWS

    @property
    def a_cover(self) -> bool:
        """Whether the rows read are a cover page kept before the list: fewer than
        IIN_ROWS of them hold an IIN, and a later sheet holds people, or no row stands in
        a table as a student's does (under the row above it: one of many values, or a
        pair of labels over a pair of values)."""
        return self.may_be_cover and (self.later_list or not self._tabled)

    def header(self, keys: tuple[str, ...]) -> None:
        """The header row, above every row read (an IIN in it is a title's, not a row's)."""
        self._above([key.strip() for key in keys])

    def row(self, cells: list[str | None]) -> None:
        """The next row read below the header."""
        values = [(cell or "").strip() for cell in cells]
        if self.may_be_cover and any(_is_iin(value) for value in values):
            self._iin_rows += 1
        if not self._tabled:
            self._tabled = ((self._wide is not None and fills_a_table(values, self._wide))
                            or fills_a_pair(values, self._previous))
        self._above(values)

    def _above(self, values: list[str]) -> None:
        if sum(1 for value in values if value) > MAX_TITLE_CELLS:
            self._wide = values
        self._previous = values


def _a_name(cell: str) -> bool:
    """Whether a cell above a value may name its column: it holds no number of
    IDENTIFIER_DIGITS digits, however written, nor a date. A "№", "#" or empty cell over
    a row number, or an academic year, heads a class list's column as a name does."""
    return (sum(1 for c in cell if c.isdigit()) < IDENTIFIER_DIGITS
            and not passes("date", cell))


def fills_a_table(values: list[str], above: list[str]) -> bool:
    """Whether a row stands in a table under `above`, the nearest row above it holding
    more than MAX_TITLE_CELLS values, as a student's row does and no line of a cover page
    does: it holds more than MAX_TITLE_CELLS values itself (a cover's lines hold a title,
    or a label and its value), and no cell above them holds a number of nine digits or
    more, or a date (`_a_name`): a form's "Университет | КазНУ | БИН | 040740…" line
    holds values. So one student's row, with its name and programme beside the IIN under
    a header, tells a class of one from a cover page holding one IIN (a rector's, under
    the order's one-line title)."""
    held = [index for index, value in enumerate(values) if value]
    return len(held) > MAX_TITLE_CELLS and all(
        _a_name(above[index] if index < len(above) else "") for index in held)


def fills_a_pair(values: list[str], above: list[str]) -> bool:
    """Whether a row of two values stands in a table of two columns: the row just above
    holds two values in the same columns, names (`_a_name`), as a header's "ИИН | ФИО" over
    a class of one's row does. A cover's "Ректор | Смағұлов Ә." over "ИИН | 0501…" is
    such a pair too: a list behind the sheet tells it a cover (PeopleRows.a_cover)."""
    held = [index for index, value in enumerate(values) if value]
    return len(held) == MAX_TITLE_CELLS and held == [
        index for index, value in enumerate(above) if value] and all(
        _a_name(above[index]) for index in held)


def later_sheet_holds_people(sheets: Iterable[Iterable[list[str]]],
                             known_columns: Callable[[tuple[str, ...]], int]) -> bool:
    """Whether any of the later sheets' rows (each sheet's first LATER_ROWS_LOOKED, as
    text) hold a list as a first sheet does: IIN_ROWS rows holding an IIN, or a row naming
    HEADER_KNOWN_COLUMNS columns the schema or mapping knows. One IIN (a curator's, a
    signatory's) is no list."""
    for rows in sheets:
        iin_rows = 0
        for values in rows:
            if known_columns(tuple(values)) >= HEADER_KNOWN_COLUMNS:
                return True
            iin_rows += any(_is_iin(value.strip()) for value in values)
            if iin_rows >= IIN_ROWS:
                return True
    return False


def _is_iin(value: str) -> bool:
    """Whether `value` is a valid IIN, or one Excel dropped leading zeros of, whose first
    six digits are a birth date: a cover page's BIN has the same check digit (one number
    in eleven passes it), but its day is 40 to 69, the kind of entity it names."""
    digits = iin_digits(value)
    if not 9 <= len(digits) <= 12:
        return False
    iin = digits if iin_phrase(digits) is None else lost_zero(digits)
    return iin is not None and birth_date_of(iin) is not None
