"""Whether a workbook's first sheet is a list of people or an order's cover page kept
before the list (registrar.export names the second so): told by its rows holding an IIN."""

from __future__ import annotations

from registrar.iin import birth_date_of, iin_digits, iin_phrase, lost_zero
from registrar.rows import MAX_TITLE_CELLS, NUMBER_DIGITS, passes

# Rows holding an IIN that make a first sheet a list of people, not a cover page: one
# number on a cover (a phone, an order's number) may pass an IIN's checks by chance.
# One row is enough when it stands in a table as a student's does (fills_a_table):
# a class of one (a transfer, an external exam) is a list too.
IIN_ROWS = 2


class PeopleRows:
    """The rows read holding an IIN, in any column, up to IIN_ROWS of them."""

    def __init__(self) -> None:
        self._iin_rows = 0
        self._iin_in_table = False  # one of them stands in a table (fills_a_table)

    @property
    def holds_iins(self) -> bool:
        """Whether the rows read are a list of people: IIN_ROWS of them hold an IIN, or
        one does standing in a table under the header, as one student's row does."""
        return self._iin_rows >= IIN_ROWS or self._iin_in_table

    def row(self, values: list[str], keys: tuple[str, ...]) -> None:
        """A row's trimmed values, under the header `keys`."""
        if not self.holds_iins and any(_is_iin(value) for value in values):
            self._iin_rows += 1
            self._iin_in_table = fills_a_table(values, keys)


def _a_name(cell: str) -> bool:
    """Whether a header cell names a column: it holds a letter and nothing a student's row
    holds (an IIN, a date, a number of NUMBER_DIGITS digits however written)."""
    digits = sum(1 for c in cell if c.isdigit())
    letters = sum(1 for c in cell if c.isalpha())
    return (letters > 0 and not (digits >= NUMBER_DIGITS and digits >= letters)
            and not passes("date", cell))


def fills_a_table(values: list[str], keys: tuple[str, ...]) -> bool:
    """Whether a row stands in a table under its header as a student's row does, which
    no line of a cover page does: it holds more than MAX_TITLE_CELLS values (a cover's
    lines hold a title, or a label and its value), each under a header cell, and every
    header cell over them names a column (`_a_name`): a form's "Университет | КазНУ |
    БИН | 040740…" line, read as a header, holds values. So one student's row, with its
    name, programme and dates beside the IIN, tells a class of one from a cover page
    holding one IIN (a rector's on an order)."""
    held = [index for index, value in enumerate(values) if value]
    return len(held) > MAX_TITLE_CELLS and all(
        index < len(keys) and _a_name(keys[index].strip()) for index in held)


def _is_iin(value: str) -> bool:
    """Whether `value` is a valid IIN, or one Excel dropped leading zeros of, whose first
    six digits are a birth date: a cover page's BIN has the same check digit (one number
    in eleven passes it), but its day is 40 to 69, the kind of entity it names."""
    digits = iin_digits(value)
    if not 9 <= len(digits) <= 12:
        return False
    iin = digits if iin_phrase(digits) is None else lost_zero(digits)
    return iin is not None and birth_date_of(iin) is not None
