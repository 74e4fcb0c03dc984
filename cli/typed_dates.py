"""Days as people type them, for the employment commands' --start and --end.

A credential states a day as YYYY-MM-DD (`ledger.academic.parse_date`), but an HR
officer in Kazakhstan writes 31.08.2026, and a spreadsheet may give 2026/08/31. A day
is read as an export's date column reads it (registrar.formats.read_day: the same
forms taken, the same refused, a day written with slashes day-first or month-first
among them, as 03/04/2026 is March or April depending on who typed it), and recorded as
YYYY-MM-DD. A day before 1900 is a mistyped year, refused as in an export
(registrar.formats.EARLIEST_DAY).

A day with a time of day is refused as an export's is, not read as its day: the record
keeps the day for good, and a time copied from a system that stamps in UTC may belong to
the next or the previous local day ("2025-01-31 20:30" UTC is 1 February in Astana), so
the officer is asked for the day, in a sentence for a typed option rather than the
export's advice to format a spreadsheet's column (midnight, as 1C writes a day, is read).
"""

from __future__ import annotations

import datetime

from cli.commands import refuse
from cli.errors import EXIT_BAD_INPUT
from cli.issue_words import sentence
from cli.spoken import Day, Sentence
from registrar.formats import EARLIEST_DAY, FormatError, read_day


def _refuse_time(value: str, typed_day: str, option: str) -> None:
    """A day with a time of day after it ("2025-02-01 10:30", copied from a system that
    stamps when a contract was entered): refused, as an export's row with one is, saying
    what to give instead; the advice an export's gets (format the column as a date) is
    for a spreadsheet. Returns when what comes before the time is no day either, for the
    caller's plainer refusal. `typed_day`: the day as typed, before the time."""
    try:
        read_day(typed_day)
    except FormatError:
        return
    refuse(Sentence("rec.date.with_time", f"{option} {value!r} holds a time of day as well: "
                    f"a record states only the day, so give the day alone ({option} "
                    f"{typed_day})", option=option, value=repr(value), day=typed_day),
           EXIT_BAD_INPUT)


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
        if key == "reg.date.with_time" and exc.said is not None:
            _refuse_time(value.strip(), str(dict(exc.said.items())["day"]), option)
        if key == "reg.date.excel_day" and exc.said is not None:
            day = dict(exc.said.items())["day"]
            refuse(Sentence("rec.date.excel_day", f"{option} {value!r} looks like Excel's "
                            f"number of a day ({day}, if it is one): give the day itself, as "
                            "YYYY-MM-DD or DD.MM.YYYY", option=option, value=repr(value),
                            day=Day(str(day))), EXIT_BAD_INPUT)
        if key == "reg.date.short_year":
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
