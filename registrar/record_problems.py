"""What a whole record must satisfy once each of its values is sound on its own: the
birth date its IIN encodes, how many lines and entries of each group it holds, its
totals against its course lines, its dates against each other and today, its size."""

from __future__ import annotations

import datetime

from registrar.academic import totals_problems
from registrar.iin import birth_date_of
from registrar.phrases import Phrase, phrase
from registrar.record_dates import date_problems
from registrar.schema import MAX_RECORD_FIELDS, EachGroup, LineGroup, Schema


def record_problems(schema: Schema, record: dict[str, str], courses: list[dict[str, str]],
                    sound: bool, today: datetime.date, rows: str = ""
                    ) -> list[tuple[str | None, str, Phrase]]:
    """(field, or None for the whole row; code; sentence) for each fault. Counts and
    totals only when `sound` (nothing dropped before) and no fault found here before
    them: a dropped bad line would skew them. `rows` names the rows its lines came from
    ("2-5"), when they are rows of their own."""
    found: list[tuple[str | None, str, Phrase]] = []
    if "iin" in record and "birth_date" in record:
        encoded = birth_date_of(record["iin"])
        if encoded is not None and encoded != record["birth_date"]:
            found.append(("birth_date", "inconsistent", phrase(
                "reg.iin.birth_date", f"the IIN gives the birth date {encoded}",
                date=encoded)))
    counts: list[tuple[LineGroup | EachGroup, int]] = [
        (g, sum(f.startswith(g.prefix + ".") for f in record)) for g in schema.lines]
    counts += [(e, sum(f.startswith(e.prefix + ".") for f in record)) for e in schema.each]
    for entries, count in counts:
        if sound and not found and not entries.min_items <= count <= entries.max_items:
            found.append((None, "line-count", _from_rows(phrase(
                "reg.record.entries", f"needs {entries.min_items} to {entries.max_items} "
                f"{entries.prefix} entries; has {count}", low=entries.min_items,
                high=entries.max_items, group=entries.prefix, count=count), rows)))
    if sound and not found and schema.check_totals and "total_credits" in record:
        found += [(field, "inconsistent", _from_rows(message, rows)) for field, message in
                  totals_problems(courses, record.get("gpa"), record["total_credits"])]
    found += date_problems(schema.credential_type, record, today)
    if len(record) > MAX_RECORD_FIELDS:
        found.append((None, "too-many-fields", phrase(
            "reg.record.too_many_fields", f"a record holds at most {MAX_RECORD_FIELDS} fields",
            max=MAX_RECORD_FIELDS)))
    return found


def _from_rows(said: Phrase, rows: str) -> Phrase:
    """`said` of a record formed from rows of one course each, naming those rows."""
    if not rows:
        return said
    return phrase("reg.record.from_rows", f"{said.english} (this student's rows: {rows})",
                  what=said, rows=rows)
