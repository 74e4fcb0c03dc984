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

A refusal names the option as it was typed, `--start 2025-02-01` or, for a field given
with --field, `--field end_date=2025-02-01` (TypedOption), so that the day it asks for
can be typed as it reads.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from cli.commands import refuse
from cli.errors import EXIT_BAD_INPUT
from cli.issue_words import sentence
from cli.spoken import Day, Sentence
from registrar.formats import EARLIEST_DAY, FormatError, read_day


@dataclass(frozen=True)
class TypedOption:
    """An option that takes a day, as the officer types it with its value."""

    name: str  # "--start"; "--field end_date"
    joiner: str = " "  # between the name and the value: "=" for --field NAME=VALUE

    @classmethod
    def field(cls, name: str) -> TypedOption:
        return cls(f"--field {name}", "=")

    def given(self, value: str) -> str:
        """The option with `value`, as typed: "--start '1 Feb'", "--field end_date=2025-02-01"."""
        return f"{self.name}{self.joiner}{value}"

    def __str__(self) -> str:
        return self.name


def _refuse_time(value: str, typed_day: str, option: TypedOption) -> None:
    """A day with a time of day after it ("2025-02-01 10:30", copied from a system that
    stamps when a contract was entered): refused, as an export's row with one is, saying
    what to give instead; the advice an export's gets (format the column as a date) is
    for a spreadsheet. Returns when what comes before the time is no day either, for the
    caller's plainer refusal. `typed_day`: the day as typed, before the time."""
    try:
        read_day(typed_day)
    except FormatError:
        return
    given, instead = option.given(repr(value)), option.given(typed_day)
    refuse(Sentence("rec.date.with_time", f"{given} holds a time of day as well: a record "
                    f"states only the day, so give the day alone ({instead})", given=given,
                    instead=instead), EXIT_BAD_INPUT)


def typed_date(value: str, typed_option: TypedOption | str) -> datetime.date:
    """The day `value` names (YYYY-MM-DD, DD.MM.YYYY, YYYY/MM/DD or YYYY.MM.DD), or a
    one-line error naming the option (a TypedOption, or an option's name taking its value
    after a space) and why (in the command's language: cli.commands.refuse)."""
    option = (typed_option if isinstance(typed_option, TypedOption)
              else TypedOption(typed_option))
    given = option.given(repr(value))
    try:
        typed = read_day(value.strip())
    except FormatError as exc:
        key = exc.said.key if exc.said is not None else ""
        if key == "reg.date.no_such":
            refuse(Sentence("rec.date.no_day", f"{given} is no day of the calendar",
                            given=given), EXIT_BAD_INPUT)
        if key == "reg.date.ambiguous":
            refuse(Sentence("rec.date.ambiguous", f"{given} could be day/month or month/day: "
                            "write it as YYYY-MM-DD or DD.MM.YYYY", given=given),
                   EXIT_BAD_INPUT)
        if key == "reg.date.with_time" and exc.said is not None:
            _refuse_time(value.strip(), str(dict(exc.said.items())["day"]), option)
        if key == "reg.date.excel_day" and exc.said is not None:
            day = dict(exc.said.items())["day"]
            refuse(Sentence("rec.date.excel_day", f"{given} looks like Excel's number of a "
                            f"day ({day}, if it is one): give the day itself, as YYYY-MM-DD or "
                            "DD.MM.YYYY", given=given, day=Day(str(day))), EXIT_BAD_INPUT)
        if key in ("reg.date.short_year", "reg.date.time_only", "reg.date.slashed"):
            refuse(Sentence("rec.value.bad", f"{option}: {exc}", option=option.name,
                            why=sentence(exc.said) if exc.said else str(exc)), EXIT_BAD_INPUT)
        refuse(Sentence("rec.date.format", f"{option} must be a day as YYYY-MM-DD or "
                        f"DD.MM.YYYY, got {value!r}", option=option.name, value=repr(value)),
               EXIT_BAD_INPUT)
    if typed < EARLIEST_DAY:  # 0001-01-01, or 1024 for 2024: as an export's is refused
        refuse(Sentence("rec.date.too_early", f"{option.given(typed.isoformat())} is before "
                        f"{EARLIEST_DAY.year}: no record's day is so early; check the year",
                        option=option.name, day=Day(typed.isoformat()),
                        year=EARLIEST_DAY.year), EXIT_BAD_INPUT)
    return typed
