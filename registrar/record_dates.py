"""The dates of one record against each other and against today: what an export can
hold that every verifier would read wrongly once it is on chain, or that no student's
record can hold (a diploma awarded before its holder was born, or in 2099)."""

from __future__ import annotations

import datetime

from registrar.iin import birth_date_of
from registrar.phrases import Phrase, phrase

# An employment record holds its start and, once known, its end: until its start a
# verifier reads it as current employment ("currently employed … from" a day to come),
# an end after today reads as over an employment that goes on, and an end before the
# start is no period at all.
START_FIELD, END_FIELD = "start_date", "end_date"
# The chain states an employment's end with its first and last days counted from
# 1970-01-01 (ledger.payloads_credentials), never fewer: a current employment that
# started earlier could be issued, but its end could never be recorded.
FIRST_ENDABLE_START = datetime.date(1970, 1, 1)
# The day a diploma, attestat, certificate or transcript was awarded or issued. It may
# come after the day it is issued on chain (a class's documents made before the
# ceremony), but not by more than this: a later one is a mistyped year (2099, or 2062
# for 2026), which every verifier would show as written.
AWARDED_FIELDS = ("graduation_date", "issue_date")
MAX_DAYS_AHEAD = 366


def unendable_phrase(start: str) -> Phrase:
    return phrase("reg.dates.unendable", f"starts before {FIRST_ENDABLE_START.isoformat()} "
                  "and has no end_date: the chain counts an employment's days from then, so "
                  "its end could never be recorded (senim employment end); if it is over, "
                  "give its end_date too", start=start,
                  earliest=FIRST_ENDABLE_START.isoformat())


def date_problems(credential_type: str, record: dict[str, str], today: datetime.date
                  ) -> list[tuple[str, str, Phrase]]:
    """(field, problem code, message) for each date of `record` that cannot stand;
    its dates are already YYYY-MM-DD (registrar.formats)."""
    if credential_type != "employment" or START_FIELD not in record:
        return awarded_problems(record, today)
    start = datetime.date.fromisoformat(record[START_FIELD])
    if start > today:
        return [(START_FIELD, "in-future", phrase(
            "reg.dates.starts_later", f"starts after today ({today.isoformat()}): until that "
            "day every verifier would read it as current employment; issue it on or after its "
            "first day", today=today.isoformat()))]
    end = record.get(END_FIELD)
    if end is None and start < FIRST_ENDABLE_START:
        return [(START_FIELD, "too-early", unendable_phrase(record[START_FIELD]))]
    if end is not None and datetime.date.fromisoformat(end) < start:
        return [(END_FIELD, "inconsistent", phrase(
            "reg.dates.ends_first", f"ends before it starts ({record[START_FIELD]})",
            start=record[START_FIELD]))]
    if end is not None and datetime.date.fromisoformat(end) > today:
        return [(END_FIELD, "in-future", phrase(
            "reg.dates.ends_later", f"ends after today ({today.isoformat()}): every verifier "
            "would read the employment as over, though it goes on until then; leave end_date "
            "empty and record the end on or after its last day (senim employment end)",
            today=today.isoformat()))]
    return []


def awarded_problems(record: dict[str, str], today: datetime.date
                     ) -> list[tuple[str, str, Phrase]]:
    """An awarded day (AWARDED_FIELDS) on or before its holder's birth (the birth_date
    given, else the one the IIN encodes), or more than MAX_DAYS_AHEAD days after today."""
    found: list[tuple[str, str, Phrase]] = []
    birth = record.get("birth_date") or (birth_date_of(record["iin"]) if "iin" in record
                                         else None)
    latest = today + datetime.timedelta(days=MAX_DAYS_AHEAD)
    for name in AWARDED_FIELDS:
        day = record.get(name)
        if day is None:
            continue
        if birth is not None and day <= birth:
            found.append((name, "inconsistent", phrase(
                "reg.dates.before_birth", f"{day} is not after the birth date, {birth}: "
                "check the year of each", day=day, birth=birth)))
        elif datetime.date.fromisoformat(day) > latest:
            found.append((name, "in-future", phrase(
                "reg.dates.far_ahead", f"{day} is more than a year after today "
                f"({today.isoformat()}): a mistyped year? Check it", day=day,
                today=today.isoformat())))
    return found
