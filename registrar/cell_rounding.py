"""Whether a number format shows every decimal a cell's number holds.

A value pasted from a computed column keeps all its digits: 3.4566 under "0.00" is
shown 3.46 and 4.5 under "0" is shown 5 (Excel rounds half away from zero), while the
stored value, which nobody saw, is what would be issued. Such a cell is refused
(registrar.cell_looks). Decided in decimal arithmetic, never by float: the number as
Excel keeps it (15 significant digits, as registrar.cell_shown reads it) against the
decimal places of the format's section: its 0, # and ? after the decimal point, a "%"
showing the number times 100. Digits all shown (3.4 under "0.00" is 3.40, the same
number) are accepted; "General", "@", dates, times, fractions ("# ?/?") and scientific
notation ("0.00E+00", which a column of IINs stored whole may have: its digits are read
as stored, registrar.cell_shown) are not judged here.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation

from registrar.phrases import Phrase, phrase

# Decimal arithmetic wide enough for any number a cell holds as Excel keeps it (15
# significant digits, its exponent within a double's): no rounding of our own
_EXACT = Context(prec=60, rounding=ROUND_HALF_UP)
_DATE_CODES = frozenset("ymdhsYMDHS")
_PLACES = frozenset("0#?")


@dataclass(frozen=True)
class Places:
    """What of a number one format section shows."""

    decimals: int  # digit places after the decimal point
    percents: int  # "%" signs: each shows the number times 100


def places(pieces: list[str]) -> Places | None:
    """The places of a section (its pieces as registrar.cell_looks splits a format);
    None for one not judged here: General, text, a date or time, a fraction,
    scientific notation, or a section of no digit place."""
    decimals = integers = percents = 0
    point = False
    for piece in pieces:
        lowered = piece.lower()
        if lowered in ("general", "am/pm", "a/p", "e+", "e-") or piece in ("@", "/") or (
                piece[0] in _DATE_CODES) or (
                piece[0] == "[" and piece[1:-1].lower().strip("hms") == ""):
            return None
        if piece in _PLACES:
            decimals, integers = (decimals + 1, integers) if point else (
                decimals, integers + 1)
        elif piece == ".":
            point = True
        elif piece == "%":
            percents += 1
    if decimals == integers == 0:
        return None
    return Places(decimals, percents)


def _shown(number: Decimal, decimals: int) -> Decimal | None:
    """The number Excel shows of `number` to `decimals` places, or None when it shows
    every digit of it."""
    last = number.normalize(_EXACT).as_tuple().exponent  # finite: an int
    if not isinstance(last, int) or last >= -decimals:
        return None
    return number.quantize(Decimal(1).scaleb(-decimals), context=_EXACT)


def rounded_phrase(at: Places | None, value: int | float, held: str) -> Phrase | None:
    """Why a cell holding `value` (`held`: as it would be issued) shows fewer of its
    digits under a section of places `at`; None when it shows them all."""
    if at is None or isinstance(value, int):
        return None  # a whole number shows whole under any places
    try:
        number = Decimal(format(value, ".15g"))  # as Excel keeps it, and cell_text reads it
        if not number.is_finite():  # inf, nan: read elsewhere
            return None
        number = number.scaleb(2 * at.percents, _EXACT)
        rounded = _shown(number, at.decimals)
    except (InvalidOperation, ValueError, OverflowError):
        return None
    if rounded is None:
        return None
    sign = "%" * at.percents
    shows, holds = f"{rounded:f}{sign}", f"{held}{sign}"
    return phrase("reg.sheet.rounded", f"Excel shows {shows} but the cell holds {holds}, "
                  f"which would be issued: round the value (=ROUND, or type it) or show "
                  f"more decimals", shows=shows, value=holds)
