"""Whether a whole structured record is sound, checked when a batch is hashed.

`ledger/academic.py` says how each structured field's value is written and reads one
value at a time; this module holds what is checked across the fields of one record
of each type before its batch is hashed: a transcript's course lines against its GPA
and total credits, an attestat's subject names and grades, a recognition's original
reference and recognised lines, an employment's dates. `record_check` does the same
once per shape of a batch's records (`ledger/credential_shapes.py`). What
verification adds later, with chain facts, is `ledger/record_checks.py`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from functools import partial

from ledger.academic import (
    COURSE_PREFIX,
    LINE_NAME,
    ORIGINAL_FIELD,
    RECOGNISED_PREFIX,
    SUBJECT_NAME,
    SUBJECT_PREFIX,
    CourseLine,
    RecognisedLine,
    decimal_part,
    parse_course_line,
    parse_date,
    parse_original,
    parse_recognised_line,
)
from ledger.errors import InvalidDocument

# Transcripts print the GPA rounded to two places.
GPA_TOLERANCE = Decimal("0.01")
# A subject's mark, or the outcome of one that carries none: passed on a pass/fail
# basis, or exempted from. Checked off chain only (the chain sees batch roots, and
# verification does not judge a grade), so admitting the two codes changes no ledger
# rule and needs no rules version.
SCHOOL_GRADES = ("1", "2", "3", "4", "5", "pass", "exempt")


def _check_lines(record: Mapping[str, str], prefix: str) -> list[str]:
    names = [n for n in record if n.startswith(prefix)]
    for name in names:
        if not LINE_NAME.fullmatch(name):
            raise InvalidDocument(f"{name!r} is not a line name ({prefix}01, {prefix}02, …)",
                                  "line_name", name=repr(name)[:80], prefix=prefix)
    names.sort(key=lambda n: (len(n), n))  # course.99 before course.100
    return names


def check_transcript(record: Mapping[str, str]) -> list[CourseLine]:
    """The course lines, each sound, and the GPA and total credits agreeing with them."""
    return _check_course_lines(record, _check_lines(record, COURSE_PREFIX))


def _check_course_lines(record: Mapping[str, str], names: Sequence[str]) -> list[CourseLine]:
    """check_transcript once its line names are known good and in order. The GPA is the
    credit-weighted mean of the lettered lines' points (a pass, or a word grade of the
    five-point scale, carries none); a transcript with no lettered line has no GPA to state."""
    lines = [parse_course_line(record[name], name) for name in names]
    if not lines:
        return lines
    if "total_credits" not in record:
        raise InvalidDocument("total_credits: a transcript with course lines must state it",
                              "total_credits_missing")
    credit_sum = lettered = weighted = Decimal(0)
    for line in lines:
        credit_sum += line.credits
        points = line.grade_points
        if points is not None:
            lettered += line.credits
            weighted += line.credits * points
    stated = decimal_part(record, "total_credits", "total_credits", Decimal(0), None, True)
    if stated != credit_sum:
        raise InvalidDocument(f"total_credits: the course lines add up to {credit_sum} "
                              f"credits, not {record['total_credits']}", "total_credits_sum",
                              sum=str(credit_sum), given=str(record["total_credits"])[:40])
    if not lettered:
        if "gpa" in record:
            raise InvalidDocument(f"gpa: no course line carries a letter grade, so there is "
                                  f"no GPA to state (got {record['gpa']})", "gpa_unlettered",
                                  given=str(record["gpa"])[:40])
        return lines
    if "gpa" not in record:
        raise InvalidDocument("gpa: a transcript with course lines graded by letter must "
                              "state it", "gpa_missing")
    gpa = decimal_part(record, "gpa", "gpa", Decimal(0), Decimal(4), True)
    assert gpa is not None
    mean = weighted / lettered
    if abs(mean - gpa) > GPA_TOLERANCE:
        raise InvalidDocument(f"gpa: the course lines give a GPA of {mean:.2f}, not "
                              f"{record['gpa']}", "gpa_mismatch", gpa=f"{mean:.2f}",
                              given=str(record["gpa"])[:40])
    return lines


def check_attestat(record: Mapping[str, str]) -> None:
    for name, value in record.items():
        if not name.startswith(SUBJECT_PREFIX):
            continue
        if not SUBJECT_NAME.fullmatch(name):
            raise InvalidDocument(f"{name!r} is not a subject name (subject.<code>: lower-case "
                                  "letters, digits and _)", "subject_name",
                                  name=repr(name)[:80])
        _check_school_grade(name, value)


def _check_school_grade(name: str, value: str) -> None:
    if value not in SCHOOL_GRADES:
        raise InvalidDocument(f"{name}: a school grade is a whole number from 1 to 5, "
                              f"pass or exempt (got {value!r})", "school_grade", name=name,
                              got=repr(value)[:40])


def check_recognition(record: Mapping[str, str]) -> list[RecognisedLine]:
    if ORIGINAL_FIELD not in record:
        raise InvalidDocument("a recognition must name its original transcript (field "
                              f"{ORIGINAL_FIELD!r})", "no_original", field=ORIGINAL_FIELD)
    parse_original(record[ORIGINAL_FIELD])
    names = _check_lines(record, RECOGNISED_PREFIX)
    if not names:
        raise InvalidDocument("a recognition must list at least one recognised course "
                              f"({RECOGNISED_PREFIX}01)", "no_recognised_lines")
    return [parse_recognised_line(record[name], name) for name in names]


def check_employment(record: Mapping[str, str]) -> None:
    for required in ("position", "organisation", "start_date"):
        if not str(record.get(required, "")).strip():
            raise InvalidDocument(f"{required}: an employment record must state it",
                                  "employment_required", field=required)
    start = parse_date(record["start_date"], "start_date")
    if "end_date" in record and parse_date(record["end_date"], "end_date") < start:
        raise InvalidDocument(f"end_date: {record['end_date']} is before the start "
                              f"({record['start_date']})", "end_before_start",
                              end=record["end_date"], start=record["start_date"])


def check_record(credential_type: str, record: Mapping[str, str]) -> None:
    """Refuse a record whose structured fields are unsound or contradict each other."""
    if credential_type == "transcript":
        check_transcript(record)
    elif credential_type == "attestat":
        check_attestat(record)
    elif credential_type == "recognition":
        check_recognition(record)
    elif credential_type == "employment":
        check_employment(record)


# The types whose records `check_record` looks into, and the field names it looks at
# (none: it looks at fixed names).
_CHECKED_PREFIXES: dict[str, tuple[str, ...]] = {
    "transcript": (COURSE_PREFIX,), "attestat": (SUBJECT_PREFIX,), "recognition": (),
    "employment": ()}

RecordCheck = Callable[[Mapping[str, str]], None]


def record_check(credential_type: str, names: Sequence[str]) -> RecordCheck | None:
    """`check_record` for records with these field names (in this order), or None when
    it would check nothing (a diploma; a transcript without course lines). A batch asks
    once per shape of its records, so what follows from the names alone (which are line
    names, their order, which are subjects) is done once, not once per record; the
    checks and their words are check_record's own."""
    prefixes = _CHECKED_PREFIXES.get(credential_type)
    if prefixes is None:
        return None
    checked = [name for name in names if name.startswith(prefixes)] if prefixes else []
    if prefixes and not checked:
        return None
    if credential_type == "transcript" and all(LINE_NAME.fullmatch(n) for n in checked):
        in_order = tuple(sorted(checked, key=lambda n: (len(n), n)))

        def check_lines(record: Mapping[str, str]) -> None:
            _check_course_lines(record, in_order)

        return check_lines
    if credential_type == "attestat" and all(SUBJECT_NAME.fullmatch(n) for n in checked):
        subjects = tuple(checked)

        def check_grades(record: Mapping[str, str]) -> None:
            for name in subjects:
                _check_school_grade(name, record[name])

        return check_grades
    return partial(check_record, credential_type)  # a bad name: check_record says which
