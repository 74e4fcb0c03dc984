"""Days as people type them, for the employment commands' --start and --end.

A credential states a day as YYYY-MM-DD (`ledger.academic.parse_date`), but an HR
officer in Kazakhstan writes 31.08.2026, and a spreadsheet may give 2026/08/31. Both
are unambiguous, so they are read and recorded as YYYY-MM-DD. A day written with
slashes day-first or month-first (31/08/2026, 08/31/2026) is refused rather than
guessed: 03/04/2026 is March or April depending on who typed it. A day before 1900 is
a mistyped year, refused as in an export (registrar.formats.EARLIEST_DAY).
"""

from __future__ import annotations

import datetime
import re

from cli.commands import refuse
from cli.errors import EXIT_BAD_INPUT
from cli.spoken import Day, Sentence
from registrar.formats import EARLIEST_DAY

_FORMS = (
    (re.compile(r"(\d{4})-(\d{2})-(\d{2})"), (1, 2, 3)),
    (re.compile(r"(\d{4})/(\d{1,2})/(\d{1,2})"), (1, 2, 3)),
    (re.compile(r"(\d{4})\.(\d{1,2})\.(\d{1,2})"), (1, 2, 3)),
    (re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})"), (3, 2, 1)),
)
_SLASHED_DAY_FIRST_OR_MONTH_FIRST = re.compile(r"\d{1,2}/\d{1,2}/\d{4}")


def typed_date(value: str, option: str) -> datetime.date:
    """The day `value` names (YYYY-MM-DD, DD.MM.YYYY, YYYY/MM/DD or YYYY.MM.DD), or a
    one-line error naming `option` and the forms it takes (in the command's language:
    cli.commands.refuse)."""
    text = value.strip()
    for pattern, (year, month, day) in _FORMS:
        found = pattern.fullmatch(text)
        if found is None:
            continue
        try:
            typed = datetime.date(int(found.group(year)), int(found.group(month)),
                                  int(found.group(day)))
        except ValueError:
            refuse(Sentence("rec.date.no_day", f"{option} {value!r} is no day of the calendar",
                            option=option, value=repr(value)), EXIT_BAD_INPUT)
        if typed < EARLIEST_DAY:  # 0001-01-01, or 1024 for 2024: as an export's is refused
            refuse(Sentence("rec.date.too_early", f"{option} {typed} is before "
                            f"{EARLIEST_DAY.year}: no record's day is so early; check the year",
                            option=option, day=Day(typed.isoformat()),
                            year=EARLIEST_DAY.year), EXIT_BAD_INPUT)
        return typed
    if _SLASHED_DAY_FIRST_OR_MONTH_FIRST.fullmatch(text):
        refuse(Sentence("rec.date.ambiguous", f"{option} {value!r} could be day/month or "
                        "month/day: write it as YYYY-MM-DD or DD.MM.YYYY", option=option,
                        value=repr(value)), EXIT_BAD_INPUT)
    refuse(Sentence("rec.date.format", f"{option} must be a day as YYYY-MM-DD or DD.MM.YYYY, "
                    f"got {value!r}", option=option, value=repr(value)), EXIT_BAD_INPUT)
