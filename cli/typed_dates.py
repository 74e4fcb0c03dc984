"""Days as people type them, for the employment commands' --start and --end.

A credential states a day as YYYY-MM-DD (`ledger.academic.parse_date`), but an HR
officer in Kazakhstan writes 31.08.2026, and a spreadsheet may give 2026/08/31. A day
is read as an export's date column reads it (registrar.formats.read_day: the same
forms taken, the same refused, a day written with slashes day-first or month-first
among them, as 03/04/2026 is March or April depending on who typed it), and recorded as
YYYY-MM-DD. A day before 1900 is a mistyped year, refused as in an export
(registrar.formats.EARLIEST_DAY).
"""

from __future__ import annotations

import datetime

from cli.commands import refuse
from cli.errors import EXIT_BAD_INPUT
from cli.issue_words import sentence
from cli.spoken import Day, Sentence
from registrar.formats import EARLIEST_DAY, FormatError, read_day


def typed_date(value: str, option: str) -> datetime.date:
    """The day `value` names (YYYY-MM-DD, DD.MM.YYYY, YYYY/MM/DD or YYYY.MM.DD), or a
    one-line error naming `option` and why (in the command's language:
    cli.commands.refuse)."""
    try:
        typed = read_day(value.strip())
    except FormatError as exc:
        key = exc.said.key if exc.said is not None else ""
        if key == "reg.date.no_such":
            refuse(Sentence("rec.date.no_day", f"{option} {value!r} is no day of the calendar",
                            option=option, value=repr(value)), EXIT_BAD_INPUT)
        if key == "reg.date.ambiguous":
            refuse(Sentence("rec.date.ambiguous", f"{option} {value!r} could be day/month or "
                            "month/day: write it as YYYY-MM-DD or DD.MM.YYYY", option=option,
                            value=repr(value)), EXIT_BAD_INPUT)
        if key in ("reg.date.with_time", "reg.date.short_year", "reg.date.excel_day"):
            refuse(Sentence("rec.value.bad", f"{option}: {exc}", option=option,
                            why=sentence(exc.said) if exc.said else str(exc)), EXIT_BAD_INPUT)
        refuse(Sentence("rec.date.format", f"{option} must be a day as YYYY-MM-DD or "
                        f"DD.MM.YYYY, got {value!r}", option=option, value=repr(value)),
               EXIT_BAD_INPUT)
    if typed < EARLIEST_DAY:  # 0001-01-01, or 1024 for 2024: as an export's is refused
        refuse(Sentence("rec.date.too_early", f"{option} {typed} is before "
                        f"{EARLIEST_DAY.year}: no record's day is so early; check the year",
                        option=option, day=Day(typed.isoformat()),
                        year=EARLIEST_DAY.year), EXIT_BAD_INPUT)
    return typed
