"""The dates of one record against each other and against today: what an export can
hold that every verifier would read wrongly once it is on chain."""

from __future__ import annotations

import datetime

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
        return []
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
