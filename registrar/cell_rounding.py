"""Whether a number format shows every decimal a cell's number holds.

A value pasted from a computed column keeps all its digits: 3.4566 under "0.00" is
shown 3.46 and 4.5 under "0" is shown 5 (Excel rounds half away from zero), while the
stored value, which nobody saw, is what would be issued. Such a cell is refused
(registrar.cell_looks). Decided in decimal arithmetic, never by float: the number as
Excel keeps it (15 significant digits, as registrar.cell_shown reads it) against the
decimal places of the format's section: its 0, # and ? after the decimal point, a "%"
showing the number times 100. Digits all shown (3.4 under "0.00" is 3.40, the same
number) are accepted. Scientific notation of one digit before its point ("0.00E+00")
shows that digit and its decimals: 3.4566 is shown 3.46E+00 and refused, while a whole
number (a column of IINs stored whole: its digits are read as stored,
registrar.cell_shown) is accepted under it; a mantissa of more digit places ("##0.0E+0",
Excel's engineering notation) is not judged. "General", "@", dates, times and fractions
("# ?/?", whose shown digits depend on the denominator Excel finds) are not judged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation

from registrar.phrases import Phrase, phrase

# Decimal arithmetic wide enough for any number a cell holds as Excel keeps it (15
# significant digits, its exponent within a double's): no rounding of our own
_EXACT = Context(prec=60, rounding=ROUND_HALF_UP)
_DATE_CODES = frozenset("ymdhsYMDHS")
_PLACES = frozenset("0#?")
# elapsed time: "[h]", "[mm]", "[SS]"; an empty or unclosed bracket is none
ELAPSED = re.compile(r"\[(?:h+|m+|s+)\]", re.IGNORECASE)


@dataclass(frozen=True)
class Places:
    """What of a number one format section shows."""

    decimals: int  # digit places after the decimal point
    percents: int  # "%" signs: each shows the number times 100
    exponent: str = ""  # scientific notation's "E+", "e-"... as written ("": none)
    exponent_digits: int = 1  # the exponent's "0" places: the fewest digits it shows


def places(pieces: list[str]) -> Places | None:
    """The places of a section (its pieces as registrar.cell_looks splits a format);
    None for one not judged here: General, text, a date or time, a fraction, scientific
    notation of other than one digit before its point, or a section of no digit place."""
    decimals = integers = percents = exponent_digits = 0
    point = False
    exponent = ""
    for piece in pieces:
        lowered = piece.lower()
        if lowered in ("general", "am/pm", "a/p") or piece in ("@", "/") or (
                piece[0] in _DATE_CODES) or ELAPSED.fullmatch(piece):
            return None
        if lowered in ("e+", "e-"):
            if exponent or integers != 1 or percents:
                return None
            exponent = piece
        elif exponent:
            exponent_digits += piece == "0"
            percents += piece == "%"
        elif piece in _PLACES:
            decimals, integers = (decimals + 1, integers) if point else (
                decimals, integers + 1)
        elif piece == ".":
            point = True
        elif piece == "%":
            percents += 1
    if decimals == integers == 0 or (exponent and percents):
        return None
    return Places(decimals, percents, exponent, max(exponent_digits, 1))


def _shown(number: Decimal, decimals: int) -> Decimal | None:
    """The number Excel shows of `number` to `decimals` places, or None when it shows
    every digit of it."""
    last = number.normalize(_EXACT).as_tuple().exponent  # finite: an int
    if not isinstance(last, int) or last >= -decimals:
        return None
    return number.quantize(Decimal(1).scaleb(-decimals), context=_EXACT)


def _scientific(number: Decimal, at: Places) -> str | None:
    """What Excel shows of `number` in scientific notation of one digit before its
    point, or None when that shows every digit of it (a whole number is not judged)."""
    if number == number.to_integral_value(context=_EXACT) or number.is_zero():
        return None
    power = number.adjusted()
    mantissa = _shown(number.scaleb(-power, _EXACT), at.decimals)
    if mantissa is None:
        return None
    if abs(mantissa) >= 10:  # 9.996 to two places: 10.00, shown as 1.00 of the next power
        power += 1
        mantissa = mantissa.scaleb(-1, _EXACT).quantize(mantissa, context=_EXACT)
    sign = "-" if power < 0 else "+" if at.exponent[1] == "+" else ""
    return f"{mantissa:f}{at.exponent[0]}{sign}{abs(power):0{at.exponent_digits}d}"


def rounded_phrase(at: Places | None, value: int | float, held: str,
                   minus_shown: bool = False) -> Phrase | None:
    """Why a cell holding `value` (`held`: as it would be issued) shows fewer of its
    digits under a section of places `at`; None when it shows them all. A negative
    number is quoted with a minus only where Excel adds one (`minus_shown`: a format of
    one section); a section of its own for negatives shows its own signs ("-",
    "(3.46)", none), which are not guessed here."""
    if at is None or isinstance(value, int):
        return None  # a whole number shows whole under any places
    try:
        number = Decimal(format(value, ".15g"))  # as Excel keeps it, and cell_text reads it
        if not number.is_finite():  # inf, nan: read elsewhere
            return None
        number = abs(number).scaleb(2 * at.percents, _EXACT)
        if at.exponent:
            shown = _scientific(number, at)
        else:
            rounded = _shown(number, at.decimals)
            shown = None if rounded is None else f"{rounded:f}"
    except (InvalidOperation, ValueError, OverflowError):
        return None
    if shown is None:
        return None
    sign = "%" * at.percents
    minus = "-" if minus_shown and value < 0 else ""
    shows, holds = f"{minus}{shown}{sign}", f"{held}{sign}"
    return phrase("reg.sheet.rounded", f"Excel shows {shows} but the cell holds {holds}, "
                  f"which would be issued: round the value (=ROUND, or type it) or show "
                  f"more decimals", shows=shows, value=holds)
