"""Whether a workbook's first sheet is a list of people or an order's cover page kept
before the list (registrar.export names the second so): told by its rows holding an IIN."""

from __future__ import annotations

from registrar.iin import birth_date_of, iin_digits, iin_phrase, lost_zero
from registrar.rows import MAX_TITLE_CELLS, passes

# Rows holding an IIN that make a first sheet a list of people, not a cover page: one
# number on a cover (a phone, an order's number) may pass an IIN's checks by chance.
# One row is enough when it stands in a table as a student's does (fills_a_table):
# a class of one (a transfer, an external exam) is a list too.
IIN_ROWS = 2
# A header cell holding this many digits holds a number no column is named by: an IIN or
# a BIN (9 digits, of an IIN Excel dropped three leading zeros of, are the fewest _is_iin
# takes), a phone. An academic year's 8 are a column's name ("2025-2026 оқу жылы").
IDENTIFIER_DIGITS = 9


class PeopleRows:
    """The rows of a workbook's first sheet, as they are read, each with what it holds,
    its problems or not: counted while they hold an IIN, in any column, up to IIN_ROWS;
    the nearest row above each with more than MAX_TITLE_CELLS values kept, the header
    or a row below it (a list's title may stand where the header was looked for)."""

    def __init__(self) -> None:
        self._iin_rows = 0
        self._iin_in_table = False  # one of them stands in a table (fills_a_table)
        self._wide: list[str] | None = None  # the nearest row above of more than two values

    @property
    def holds_iins(self) -> bool:
        """Whether the rows read are a list of people: IIN_ROWS of them hold an IIN, or
        one does standing in a table under the row above it, as one student's row does."""
        return self._iin_rows >= IIN_ROWS or self._iin_in_table

    def header(self, keys: tuple[str, ...]) -> None:
        """The header row, above every row read (an IIN in it is a title's, not a row's)."""
        self._above([key.strip() for key in keys])

    def row(self, cells: list[str | None]) -> None:
        """The next row read below the header."""
        values = [(cell or "").strip() for cell in cells]
        if not self.holds_iins and any(_is_iin(value) for value in values):
            self._iin_rows += 1
            self._iin_in_table = self._wide is not None and fills_a_table(values, self._wide)
        self._above(values)

    def _above(self, values: list[str]) -> None:
        if sum(1 for value in values if value) > MAX_TITLE_CELLS:
            self._wide = values


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


def _is_iin(value: str) -> bool:
    """Whether `value` is a valid IIN, or one Excel dropped leading zeros of, whose first
    six digits are a birth date: a cover page's BIN has the same check digit (one number
    in eleven passes it), but its day is 40 to 69, the kind of entity it names."""
    digits = iin_digits(value)
    if not 9 <= len(digits) <= 12:
        return False
    iin = digits if iin_phrase(digits) is None else lost_zero(digits)
    return iin is not None and birth_date_of(iin) is not None
