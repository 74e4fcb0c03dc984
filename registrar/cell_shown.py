"""A cell's value as text, as Excel shows it: whole numbers without ".0", other numbers
with at most 15 significant digits (Excel's own precision, so 3.5000000000000004 reads
3.5), a percentage as its registrar reads it (0.5 in a "0%" cell is 50), dates as
YYYY-MM-DD (with the time only if it is not midnight). An IIN stored as a number loses
its leading zeros inside Excel (one for those born 2001-2009, up to three for 2000); it
is then 9 to 11 digits and reported, never padded back by guessing. A whole number
whose cell has a number format of zeros alone ("000000000000") reads as Excel shows
it, with that many digits."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal

# A number format of zeros alone ("000000000000"): Excel shows a whole number with as
# many digits, leading zeros put back, as offices format a column of IINs or codes
# stored as numbers.
_ZEROS = re.compile(r"0+")


# What a number format holds that Excel shows as written, not as a sign: quoted text and
# an escaped character ("%" in 0"%" or 0\% is a percent sign, not a percentage).
_LITERALS = re.compile(r'"[^"]*"|\\.')


def _percentage(number_format: str | None) -> bool:
    """Whether Excel shows a number in this format as a percentage: 0.5 as 50%."""
    return number_format is not None and "%" in _LITERALS.sub("", number_format)


def cell_text(value: object, number_format: str | None = None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"  # refused as it is read (xlsx_rows)
    if isinstance(value, int | float) and _percentage(number_format):
        # as Excel shows it: 0.5 in a "0%" cell is the 50 its registrar reads
        shown = (Decimal(repr(value)) * 100).normalize()
        return format(shown, "f")
    width = len(number_format) if number_format and _ZEROS.fullmatch(number_format) else 0
    if isinstance(value, int):
        return str(value).zfill(width) if value >= 0 else str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value)).zfill(width) if value >= 0 else str(int(value))
        return format(value, ".15g")
    if isinstance(value, datetime.datetime):
        if value.time() == datetime.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    return str(value)


def number_text(value: str) -> str:
    """A number cell's stored value as Excel shows it (cell_text)."""
    try:
        return cell_text(float(value)) or value
    except (ValueError, OverflowError):
        return value
