"""The Kazakh individual identification number (IIN, ЖСН/ИИН).

Twelve digits: YYMMDD of birth, a century-and-sex digit, four serial digits and
a check digit computed from the first eleven (weights 1..11 mod 11; if that
gives 10, weights 3..11,1,2; a second 10 means no valid number has that prefix).
"""

from __future__ import annotations

import datetime
import re

from registrar.phrases import Phrase, phrase

_FIRST_WEIGHTS = tuple(range(1, 12))
_SECOND_WEIGHTS = (3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2)


def check_digit(first_eleven: str) -> int | None:
    """The check digit for eleven digits, or None when the prefix cannot be valid."""
    if len(first_eleven) != 11 or not first_eleven.isascii() or not first_eleven.isdigit():
        raise ValueError("an IIN prefix is eleven ASCII digits")
    digits = [int(c) for c in first_eleven]
    for weights in (_FIRST_WEIGHTS, _SECOND_WEIGHTS):
        remainder = sum(d * w for d, w in zip(digits, weights, strict=True)) % 11
        if remainder != 10:
            return remainder
    return None


# What brings back the leading zeros of numbers Excel stores as numbers: setting the
# column's format to Text after the fact changes no number already in it.
LOST_ZEROS_FIX = (" (Excel keeps a number without them: give the column the custom number "
                  "format {zeros} and save again, or export it from the records system as "
                  "text)")


# What an IIN is written grouped with: spaces, as on an ID card (0110 2051 0003), a
# no-break, thin or narrow space (Excel's thousands separator in a Russian or Kazakh
# locale; a word processor's), any other space of Unicode's (category Zs), and dashes
# (hyphen, non-breaking hyphen, figure dash, en dash). Only these: anything else inside
# (a dot, a letter, a zero-width space) is left for the checks to refuse.
_GROUPING = re.compile("[ \u00a0\u1680\u2000-\u200a\u202f\u205f\u3000\\-\u2010-\u2013]")


def iin_digits(text: str) -> str:
    """`text` trimmed, with the spaces and dashes an IIN is grouped by taken out: the IIN
    every command records, and checks (iin_phrase), however it was typed."""
    return _GROUPING.sub("", text.strip())


def lost_zero(text: str) -> str | None:
    """The IIN that `text` was before Excel, keeping it as a number, dropped its leading
    zeros (9 to 11 digits, zero-padded to a valid IIN), else None. Only for finding the
    same student given twice: the row is still refused for the value as written."""
    digits = iin_digits(text)
    if not (digits.isascii() and digits.isdigit() and 9 <= len(digits) < 12):
        return None
    padded = digits.zfill(12)
    return padded if iin_phrase(padded) is None else None


def iin_phrase(text: str) -> Phrase | None:
    """Why `text` is not a valid IIN, or None when it is."""
    if not (text.isascii() and text.isdigit()):
        return phrase("reg.iin.digits", "an IIN is 12 digits")
    zeros = "0" * 12
    if len(text) == 11:
        return phrase("reg.iin.lost_zero", "an IIN is 12 digits; this has 11: a leading zero "
                      "was probably lost" + LOST_ZEROS_FIX.format(zeros=zeros), zeros=zeros)
    if 9 <= len(text) < 11 and iin_phrase(text.zfill(12)) is None:  # born 2000-2009
        return phrase("reg.iin.lost_zeros", f"an IIN is 12 digits; this has {len(text)}: "
                      f"{12 - len(text)} leading zeros were probably lost"
                      + LOST_ZEROS_FIX.format(zeros=zeros), length=len(text),
                      lost=12 - len(text), zeros=zeros)
    if len(text) != 12:
        return phrase("reg.iin.length", f"an IIN is 12 digits; this has {len(text)}",
                      length=len(text))
    expected = check_digit(text[:11])
    if expected is None or expected != int(text[11]):
        return phrase("reg.iin.check_digit", "the IIN's check digit is wrong (a typo "
                      "in the number?)")
    return None


def birth_date_of(iin: str) -> str | None:
    """The ISO birth date a valid IIN encodes, or None when its century digit is not 1-6
    (the digit also encodes sex: 1/2 for the 19th century, 3/4 the 20th, 5/6 the 21st)."""
    century_digit = int(iin[6])
    if not 1 <= century_digit <= 6:
        return None
    year = 1800 + 100 * ((century_digit - 1) // 2) + int(iin[:2])
    try:
        return datetime.date(year, int(iin[2:4]), int(iin[4:6])).isoformat()
    except ValueError:
        return None


def make_iin(birth_yymmdd: str, century_sex: int, serial: int) -> str | None:
    """Build an IIN for test data and samples; None when that serial has no check digit."""
    prefix = f"{birth_yymmdd}{century_sex}{serial:04d}"
    digit = check_digit(prefix)
    return None if digit is None else f"{prefix}{digit}"
