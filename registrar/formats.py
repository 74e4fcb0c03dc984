"""Value formats a schema may name. Each check takes trimmed, non-empty text and
returns the value to record (normalised only where documented) or raises
FormatError with a sentence for the registrar.

Normalisations (the only places a value is not kept as written, besides the composed
Unicode form, NFC, every value is read in: registrar.validate, and a no-break space
inside a text value, recorded as a plain one, and a hyphen U+2010 or U+2011 as "-":
registrar.plain_spaces):
- an IIN written in groups (spaces or dashes between its digits) becomes 12 digits;
- dates written DD.MM.YYYY (common in Kazakh and Russian exports), YYYY/MM/DD or
  YYYY.MM.DD become YYYY-MM-DD (read_day);
- numbers written with a decimal comma (Russian-locale Excel) get a decimal point;
- a number's digits of another script (fullwidth ３, Arabic-Indic ٣) are recorded as
  ASCII digits, as a date's are (ascii_digits);
- a school grade or a term is recorded as the whole number it is: 05 as 5, as the
  ledger reads a school grade (ledger.academic_checks.SCHOOL_GRADES: "1" to "5").
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from decimal import Decimal

from registrar.course_grades import WORDS_SHOWN, course_grade_code, exempted, letter_hint
from registrar.excel_marks import apostrophe_phrase, excel_error_name, excel_mark_phrase
from registrar.honours import honours_phrase, honours_value
from registrar.iin import iin_digits, iin_phrase
from registrar.phrases import Phrase, phrase
from registrar.school_outcomes import EXEMPT_WORDS_SHOWN, PASS_WORDS_SHOWN, school_outcome
from registrar.value_characters import CODE_WORD, mixed_phrase, unsafe_phrase

# Same bound as a credential field value (ledger.credentials.MAX_FIELD_VALUE),
# restated here because this module knows nothing of the chain.
MAX_VALUE_CHARS = 10_000
MAX_CODE_CHARS = 40

# The Kazakh credit system's letters (Ministry of Education order No. 152, 2011):
# letter -> (points, lowest numeric grade in %). FX is a failing mark that allows
# a re-take; F is a plain fail; both carry 0 points.
GRADE_SCALE: dict[str, tuple[Decimal, int]] = {
    "A": (Decimal("4.0"), 95), "A-": (Decimal("3.67"), 90),
    "B+": (Decimal("3.33"), 85), "B": (Decimal("3.0"), 80), "B-": (Decimal("2.67"), 75),
    "C+": (Decimal("2.33"), 70), "C": (Decimal("2.0"), 65), "C-": (Decimal("1.67"), 60),
    "D+": (Decimal("1.33"), 55), "D": (Decimal("1.0"), 50),
    "FX": (Decimal("0"), 25), "F": (Decimal("0"), 0),
}


class FormatError(ValueError):
    """Its message in English; `said`: the same as a phrase the registrar's language says;
    `code`: the problem's code (an Excel error's is the same from a CSV as from a
    workbook, which finds it before any value is checked)."""

    def __init__(self, message: str | Phrase, code: str = "bad-format") -> None:
        super().__init__(str(message))
        self.said = message if isinstance(message, Phrase) else None
        self.code = code


# The forms of a day, each (pattern, groups of its year, month and day): ISO; day first,
# as Kazakhstan and Russia write it, with or without leading zeros (1.9.2024 as typed
# into a text cell); year first with slashes or dots, as a spreadsheet may give it. Never
# month first: 03/04/2026 is March or April depending on who typed it.
_DAY_FORMS = (
    (re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})"), (1, 2, 3)),
    (re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})"), (3, 2, 1)),
    (re.compile(r"(\d{4})/(\d{1,2})/(\d{1,2})"), (1, 2, 3)),
    (re.compile(r"(\d{4})\.(\d{1,2})\.(\d{1,2})"), (1, 2, 3)),
)
_SLASHED_DAY_OR_MONTH_FIRST = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
_SHORT_YEAR = re.compile(r"\d{1,2}\.\d{1,2}\.\d{2}")
# A day with a time after it: 1C writes its dates "01.09.2024 0:00:00", and a workbook's
# date cell holding a time reads "2024-09-01 10:30:00" (registrar.cell_shown.cell_text); a
# system's timestamp (ISO 8601) may add a fraction of a second and its zone
# ("2025-02-01T10:30:00.000Z", "…+05:00").
_WITH_TIME = re.compile(r"(\S+)[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?"
                        r"(Z|[+-]\d{2}(?::?\d{2})?)?")
# A time with no day: a cell formatted as a time reads "10:30:00" (registrar.workbook).
_TIME_ONLY = re.compile(r"\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?")
# Excel counts days from 1900: 10000 is 1927-05-18, 99999 is 2173-10-14.
_EXCEL_DAY = re.compile(r"[1-9]\d{4}")
# Day 0 of Excel's count, as its day numbers from 1900-03-01 on mean (it counts a
# 29 February 1900 that never was).
_EXCEL_EPOCH = datetime.date(1899, 12, 30)
# No record's day (a birth, a graduation, an employment's first or last day) is earlier:
# one that is is a mistyped year (0001-01-01 or 1024 typed for 2024).
EARLIEST_DAY = datetime.date(1900, 1, 1)
DECIMALS_MAX = 9
_DECIMAL = re.compile(rf"\d{{1,9}}(?:[.,]\d{{1,{DECIMALS_MAX}}})?")
# More decimals than that: a formula's result as Excel keeps it (15 significant digits)
_TOO_PRECISE = re.compile(rf"\d{{1,9}}[.,]\d{{{DECIMALS_MAX + 1},20}}")
_INTEGER = re.compile(r"\d{1,3}")
# A long number as Excel shows it in a General cell, and saves it so in a CSV ("9,90101E+11"),
# and as a workbook cell of 16 digits or more reads (registrar.cell_shown.cell_text).
_SCIENTIFIC = re.compile(r"\d(?:[.,]\d+)?E\+\d{2,3}", re.IGNORECASE)


def _text(value: str) -> str:
    if len(value) > MAX_VALUE_CHARS:
        raise FormatError(phrase("reg.value.too_long", f"longer than {MAX_VALUE_CHARS} "
                                 "characters", max=MAX_VALUE_CHARS))
    mixed = mixed_phrase(value)
    if mixed:
        raise FormatError(mixed)
    return value


def _scientific(value: str) -> None:
    if _SCIENTIFIC.fullmatch(value):
        raise FormatError(phrase(
            "reg.value.scientific", f"{value} is a number in Excel's scientific notation, its "
            "last digits lost: in Excel give the column the number format 0 (000000000000 "
            "for IINs) and save again, or export it from the records system as text",
            value=value))


def _code(value: str) -> str:
    _scientific(value)  # a student id or diploma number Excel took for a number
    if len(value) > MAX_CODE_CHARS:
        raise FormatError(phrase("reg.value.code_too_long", f"a code is at most "
                                 f"{MAX_CODE_CHARS} characters", max=MAX_CODE_CHARS))
    mixed = mixed_phrase(value, CODE_WORD)  # a student id typed so escapes the duplicate check
    if mixed:
        raise FormatError(mixed)
    return value


# An IIN's last six digits (its century-and-sex digit, serial and check digit) as a
# number of six significant digits leaves them: Excel's scientific notation, 9.80303E+11.
_ROUNDED_TAIL = "000000"


def _iin(value: str) -> str:
    """Twelve digits, recorded so however they were grouped (registrar.iin.iin_digits):
    "0101 0150 0013" from an ID card is the IIN 010101500013, one student, not two."""
    _scientific(value)
    digits = iin_digits(value)
    if len(digits) == 12 and digits.isdigit() and digits.endswith(_ROUNDED_TAIL):
        # A number Excel showed as 9.80303E+11 and read back (a CSV it saved, opened
        # again) ends so, and one in eleven of them passes the check digit. Only this tail
        # is refused: a century digit of 0, 7, 8 or 9 passes iin_phrase as before (the
        # IINs of foreign nationals are not settled here), so one with its serial and
        # check digit zeros too would be refused by this line alone.
        raise FormatError(phrase(
            "reg.iin.rounded", f"{value} ends in six zeros, as an IIN Excel showed in "
            "scientific notation (9.80303E+11) and read back as a number ends: its last "
            "digits were lost; export the IINs from the records system again, as text",
            value=value))
    problem = iin_phrase(digits)
    if problem:
        raise FormatError(problem)
    return digits


def read_day(value: str) -> datetime.date:
    """The day trimmed `value` names, as every command reads one (an export's date
    column, `senim employment start --start`, `end --end`: cli.typed_dates):
    YYYY-MM-DD, DD.MM.YYYY, YYYY/MM/DD or YYYY.MM.DD (day and month of one or two
    digits), a midnight after it as 1C writes it; FormatError for anything
    else, saying why where it can (a time of day, a two-digit year, day/month or
    month/day with slashes, Excel's number of the day). A day before 1900 is the
    caller's to refuse (early_phrase)."""
    timed = _WITH_TIME.fullmatch(value)
    if timed is not None:
        # a zone's midnight is no day of its own: it may be the day before here
        if timed[6] is not None or any(int(part or 0) for part in timed.groups()[1:5]):
            raise FormatError(phrase(
                "reg.date.with_time", f"{value} holds a time as well as a day: give the day "
                "alone (format the column as a date without the time)", value=value,
                day=timed[1]))
        value = timed[1]  # midnight: the day alone, as 1C means it
    for pattern, (year, month, day) in _DAY_FORMS:
        found = pattern.fullmatch(value)
        if found is None:
            continue
        try:
            return datetime.date(int(found[year]), int(found[month]), int(found[day]))
        except ValueError as exc:
            raise FormatError(phrase("reg.date.no_such", f"no such date: {value}",
                                     value=value)) from exc
    if _SHORT_YEAR.fullmatch(value):
        raise FormatError(phrase("reg.date.short_year", f"{value}: the year has two digits; "
                                 "write all four (DD.MM.YYYY)", value=value))
    slashed = _SLASHED_DAY_OR_MONTH_FIRST.fullmatch(value)
    if slashed:
        meant = _slashed_day(int(slashed[1]), int(slashed[2]), int(slashed[3]))
        if meant is not None:  # 30/06/2026: only one reading, but a column of them is
            # read alike or not at all (03/04 beside it would be March or April)
            raise FormatError(phrase(
                "reg.date.slashed", f"{value}: a day with slashes is not read, as 03/04 "
                f"is March or April depending on who typed it: write it as "
                f"{meant:%d.%m.%Y} or {meant.isoformat()}", value=value,
                dotted=f"{meant:%d.%m.%Y}", iso=meant.isoformat()))
        raise FormatError(phrase("reg.date.ambiguous", f"{value} could be day/month or "
                                 "month/day: write it as YYYY-MM-DD or DD.MM.YYYY",
                                 value=value))
    if _EXCEL_DAY.fullmatch(value):
        excel = _EXCEL_EPOCH + datetime.timedelta(days=int(value))
        raise FormatError(phrase(
            "reg.date.excel_day", f"a date is YYYY-MM-DD (or DD.MM.YYYY); {value} looks like "
            f"Excel's number of the day ({excel.isoformat()}, if it is one): format the column "
            "as a date", value=value, day=excel.isoformat()))
    if _TIME_ONLY.fullmatch(value):
        raise FormatError(phrase("reg.date.time_only", f"{value} is a time of day, with no "
                                 "day: give the day as YYYY-MM-DD or DD.MM.YYYY (a cell "
                                 "formatted as a time shows no date)", value=value))
    raise FormatError(phrase("reg.date.format", "a date is YYYY-MM-DD (or DD.MM.YYYY)"))


def _slashed_day(first: int, second: int, year: int) -> datetime.date | None:
    """The one day a slashed date can be, when one of its parts cannot be a month."""
    day, month = (first, second) if first > 12 >= second else \
        (second, first) if second > 12 >= first else (0, 0)
    try:
        return datetime.date(year, month, day) if day else None
    except ValueError:
        return None


def _date(value: str) -> str:
    day = read_day(value)
    if day < EARLIEST_DAY:
        raise FormatError(early_phrase(value))
    return day.isoformat()


def early_phrase(value: str) -> Phrase:
    return phrase("reg.date.too_early", f"{value} is before {EARLIEST_DAY.year}: no record's "
                  "day is so early; check the year", value=value, year=EARLIEST_DAY.year)


def decimal_of(value: str) -> Decimal:
    if not _DECIMAL.fullmatch(value):
        if _TOO_PRECISE.fullmatch(value):  # a formula's result, as Excel keeps it
            decimals = len(re.split("[.,]", value)[1])
            raise FormatError(phrase(
                "reg.number.too_precise", f"a number of {decimals} decimals, more than a "
                f"value here may have ({DECIMALS_MAX}): a formula's result? Round it (in "
                "Excel, =ROUND(cell;2)) and export again", decimals=decimals,
                max=DECIMALS_MAX))
        raise FormatError(phrase("reg.number.not_a_number",
                                 "not a number (digits, one decimal point or comma)"))
    return Decimal(value.replace(",", "."))


def ascii_digits(value: str) -> str:
    """`value` with each decimal digit of another script as its ASCII digit: `\\d` and
    int() read "３,５" and "٣.٥" as 3.5, and a date so read is recorded as ASCII digits
    (read_day); a number kept as written would be recorded as "３.５"."""
    if value.isascii():
        return value
    return "".join(str(int(c)) if c.isdecimal() else c for c in value)


def _bounded(low: Decimal, high: Decimal | None, low_open: bool, what: Phrase
             ) -> Callable[[str], str]:
    def check(value: str) -> str:
        number = decimal_of(value)
        if number < low or (low_open and number == low) or (high is not None and number > high):
            raise FormatError(what)
        return ascii_digits(value).replace(",", ".")
    return check


def _grade(value: str) -> str:
    """A letter of the credit scale as written, or the code of a pass/fail outcome or of a
    word grade (registrar.course_grades)."""
    if value in GRADE_SCALE:
        return value
    code = course_grade_code(value)
    if code is not None:
        return code
    if exempted(value):
        raise FormatError(phrase(
            "reg.grade.exempted", f"{value!r} is an exemption, no grade: a transcript lists "
            "the courses taken, each with its grade (leave this course out)", value=value))
    hint = letter_hint(value, GRADE_SCALE)
    if hint is not None:
        raise FormatError(hint)
    mixed = None if _INTEGER.fullmatch(value) else mixed_phrase(value)  # "зачтенo", Latin o
    letters, words = ", ".join(GRADE_SCALE), ", ".join(WORDS_SHOWN)
    english = (f"a course grade is a letter ({letters}), a pass or fail, or a word grade "
               f"({words})")
    if mixed:
        raise FormatError(phrase("reg.grade.unknown_mixed", f"{mixed}: {english}",
                                 mixed=mixed, letters=letters, words=words))
    raise FormatError(phrase("reg.grade.unknown", english, letters=letters, words=words))


def _school_grade(value: str) -> str:
    if _INTEGER.fullmatch(value) and 1 <= int(value) <= 5:
        return str(int(value))
    outcome = school_outcome(value)
    if outcome is not None:
        return outcome
    if not _INTEGER.fullmatch(value):
        mixed = mixed_phrase(value)  # "зачтенo" with a Latin o: say so, not "unknown word"
        if mixed:
            raise FormatError(phrase("reg.school_grade.mixed", f"{mixed} (a pass or an "
                                     "exemption is written in Cyrillic)", mixed=mixed))
    passed, exempt = ", ".join(PASS_WORDS_SHOWN), ", ".join(EXEMPT_WORDS_SHOWN)
    raise FormatError(phrase("reg.school_grade.unknown", "a school grade is a whole number "
                             f"from 1 to 5, or a subject passed ({passed}) or exempted from "
                             f"({exempt})", passed=passed, exempt=exempt))


def _honours(value: str) -> str:
    """A distinction's words as registrar.honours records them; "" for a no."""
    recorded = honours_value(value)
    if recorded is None:
        raise FormatError(honours_phrase(value))
    return recorded


def _term(value: str) -> str:
    if not (_INTEGER.fullmatch(value) and 1 <= int(value) <= 20):
        raise FormatError(phrase("reg.term.range", "a term is a whole number from 1 to 20"))
    return str(int(value))


FORMATS: dict[str, Callable[[str], str]] = {
    "text": _text,
    "code": _code,
    "iin": _iin,
    "date": _date,
    "gpa": _bounded(Decimal(0), Decimal(4), False,
                    phrase("reg.gpa.range", "a GPA is between 0 and 4")),
    "points": _bounded(Decimal(0), Decimal(4), False,
                       phrase("reg.points.range", "grade points are between 0 and 4")),
    "ects": _bounded(Decimal(0), None, True,
                     phrase("reg.ects.range", "ECTS credits are a positive number")),
    "percent": _bounded(Decimal(0), Decimal(100), False,
                        phrase("reg.percent.range", "a numeric grade is 0 to 100")),
    "grade": _grade,
    "school_grade": _school_grade,
    "term": _term,
    "honours": _honours,
}


# Formats whose values are numbers: one value may be written several ways.
NUMBER_FORMATS = frozenset({"gpa", "points", "ects", "percent", "school_grade", "term"})


def same_value(format_name: str, first: str, other: str) -> bool:
    """Whether two values `check_value` gave for one field are one value: numbers by
    what they are (3.11 and 3.110, 5 and 5.0), anything else as it will be recorded
    (dates are YYYY-MM-DD by then, however they were written)."""
    if first == other:
        return True
    if format_name not in NUMBER_FORMATS or not (
            _DECIMAL.fullmatch(first) and _DECIMAL.fullmatch(other)):
        return False  # a school grade may be "pass" or "exempt", compared as written
    return Decimal(first) == Decimal(other)


def check_value(format_name: str, value: str, from_text: bool = False) -> str:
    """The value as it will be recorded; FormatError when it does not fit. `from_text`:
    read from a text export (CSV), where a formula or an Excel error is only text too."""
    bad = unsafe_phrase(value) or (excel_mark_phrase(value, format_name) if from_text
                                   else apostrophe_phrase(value, format_name))
    if bad:
        raise FormatError(bad, "excel-error" if from_text and excel_error_name(value)
                          else "bad-format")
    return FORMATS[format_name](value)
