"""Structured academic records inside credential documents.

A transcript's course lines, an attestat's subject grades and a recognition's
recognised courses are each their own salted field, so a holder hides them one
by one and the document still verifies:

- `course.NN` (NN = 01, 02, ... 999): compact JSON text of one course line,
  `{"code", "credits", "grade", "numeric", "points", "term", "title_en",
  "title_kk", "title_ru"}`, every value text (the registrar parser writes exactly
  this, keys sorted, separators without spaces; optional parts left out); the grade
  is a letter of the credit scale or, for a line graded without one, a code
  (`UNLETTERED_GRADES`);
- `subject.<code>`: an attestat grade, a whole number 1..5 as text, or `pass` or
  `exempt` for a subject passed without a mark or exempted from;
- `recognised.NN`: compact JSON of `{"from_code", "as_code", "credits", ...}`;
- `original`: compact JSON naming the credential a recognition refers to.

These are field VALUES: they live only in documents. This module says how each is
written and reads one at a time; the ledger checks a whole record's fields against
each other when a batch is hashed (`ledger.academic_checks.check_record`), before
anything is submitted; the chain never sees them.
"""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from ledger.errors import InvalidDocument

# Kazakh credit scale: letter -> (points, lowest numeric grade of its band).
GRADE_SCALE: dict[str, tuple[Decimal, int]] = {
    "A": (Decimal("4.0"), 95), "A-": (Decimal("3.67"), 90),
    "B+": (Decimal("3.33"), 85), "B": (Decimal("3.0"), 80), "B-": (Decimal("2.67"), 75),
    "C+": (Decimal("2.33"), 70), "C": (Decimal("2.0"), 65), "C-": (Decimal("1.67"), 60),
    "D+": (Decimal("1.33"), 55), "D": (Decimal("1.0"), 50),
    "FX": (Decimal("0"), 25), "F": (Decimal("0"), 0),
}
_BANDS = sorted(((low, letter) for letter, (_, low) in GRADE_SCALE.items()), reverse=True)
# A course line graded without a letter, as a code worded by verifiers in the reader's
# language: passed or failed on a pass/fail basis (physical education, internships), or
# a word of the five-point scale older transcripts carry. Such a line carries no grade
# points, so it is left out of the GPA; its credits count in total_credits as any line's
# do. Each maps to the numeric grades (%) it may carry: [low, below), the credit scale's
# bands (отлично is A and A-, хорошо B+ to C+, удовлетворительно C to D,
# неудовлетворительно FX and F; a pass needs the 50 a D does). Document values only,
# checked when a batch is hashed: no ledger rule reads a grade.
UNLETTERED_GRADES: dict[str, tuple[int, int]] = {
    "pass": (50, 101), "fail": (0, 50),
    "excellent": (90, 101), "good": (70, 90), "satisfactory": (50, 70),
    "unsatisfactory": (0, 50),
}
MAX_CODE_CHARS = 32
MAX_TITLE_CHARS = 300
MAX_TERM = 20
# A class shares its curriculum: the same line text at the same place recurs across
# students, so parsed lines are cached (values are immutable; bounded here).
COURSE_LINE_CACHE = 8192

COURSE_PREFIX = "course."
SUBJECT_PREFIX = "subject."
RECOGNISED_PREFIX = "recognised."
ORIGINAL_FIELD = "original"
LINE_NAME = re.compile(r"(course|recognised)\.(\d{2,3})")
SUBJECT_NAME = re.compile(r"subject\.[a-z][a-z0-9_]{0,59}")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_HEX = re.compile(r"[0-9a-f]+")

COURSE_PARTS = ("code", "title_kk", "title_ru", "title_en", "term", "credits", "grade",
                "numeric", "points")
RECOGNISED_PARTS = ("from_code", "from_field", "as_code", "as_title_kk", "as_title_ru",
                    "as_title_en", "credits", "grade")


def line_text(parts: Mapping[str, str]) -> str:
    """The canonical value of a line field: compact JSON, keys sorted, as the registrar
    parser writes it (so its output and a hand-made line hash alike)."""
    return json.dumps(dict(parts), ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _json_object(text: str, what: str, allowed: tuple[str, ...]) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise InvalidDocument(f"{what}: must be a JSON object (the line's parts)",
                              "line_not_object", where=what)
    unknown = sorted(set(value) - set(allowed))
    if unknown:
        raise InvalidDocument(f"{what}: unknown parts {unknown} (known: "
                              f"{', '.join(allowed)})", "line_unknown_parts", where=what,
                              parts=", ".join(repr(name)[:40] for name in unknown[:8]),
                              known=", ".join(allowed))
    return value


def _text(parts: Mapping[str, Any], key: str, what: str, max_chars: int,
          required: bool = False) -> str | None:
    value = parts.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > max_chars:
        raise InvalidDocument(f"{what}: {key} must be text of 1 to {max_chars} characters",
                              "line_text", where=what, part=key, most=max_chars)
    return value


def decimal_part(parts: Mapping[str, Any], key: str, what: str, low: Decimal,
                 high: Decimal | None, required: bool = False) -> Decimal | None:
    """parts[key] as a number from low to high (None: no bound above), or None when it
    is absent and not required; InvalidDocument names `what` and the key."""
    value = parts.get(key)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise InvalidDocument(f"{what}: {key} must be a number", "line_number", where=what,
                              part=key)
    try:
        number = Decimal(str(value).replace(",", "."))
    except InvalidOperation:
        raise InvalidDocument(f"{what}: {key} is not a number ({value!r})", "line_number",
                              where=what, part=key) from None
    if not number.is_finite() or number < low or (high is not None and number > high):
        bound = f"{low} to {high}" if high is not None else f"at least {low}"
        raise InvalidDocument(f"{what}: {key} must be {bound} (got {value})",
                              "line_range" if high is not None else "line_at_least",
                              where=what, part=key, low=str(low), high=str(high),
                              got=str(value)[:40])
    return number


def _grade(parts: Mapping[str, Any], what: str, required: bool = True) -> str | None:
    grade = parts.get("grade")
    if grade is None and not required:
        return None
    if grade not in GRADE_SCALE and grade not in UNLETTERED_GRADES:
        raise InvalidDocument(f"{what}: grade must be one of {', '.join(GRADE_SCALE)}, or "
                              f"{', '.join(UNLETTERED_GRADES)} (got {grade!r})", "line_grade",
                              where=what, grades=", ".join((*GRADE_SCALE, *UNLETTERED_GRADES)),
                              got=repr(grade)[:40])
    return str(grade)


def grade_points(grade: str) -> Decimal | None:
    """The points a line's grade carries towards the GPA; None for an unlettered one."""
    scale = GRADE_SCALE.get(grade)
    return None if scale is None else scale[0]


def numeric_problem(grade: str, numeric: Decimal) -> str | None:
    """Why a numeric grade (%) does not fall in the grade's band, or None."""
    if grade in GRADE_SCALE:
        band = next(letter for low, letter in _BANDS if numeric >= low)
        return None if band == grade else f"a numeric grade of {numeric} is {band}, not {grade}"
    low, below = UNLETTERED_GRADES[grade]
    if low <= numeric < below:
        return None
    return (f"a numeric grade of {numeric} is not {grade} ({low} to "
            f"{min(below - 1, 100)} is)")


@dataclass(frozen=True)
class CourseLine:
    code: str
    credits: Decimal
    grade: str
    title_kk: str | None = None
    title_ru: str | None = None
    title_en: str | None = None
    term: int | None = None
    numeric: Decimal | None = None
    points: Decimal | None = None

    @property
    def grade_points(self) -> Decimal | None:
        """Towards the GPA; None for a line graded without a letter."""
        return grade_points(self.grade)

    def to_json(self) -> dict[str, Any]:
        points = self.points if self.points is not None else self.grade_points
        return {"code": self.code, "credits": str(self.credits), "grade": self.grade,
                "title_kk": self.title_kk, "title_ru": self.title_ru,
                "title_en": self.title_en, "term": self.term,
                "numeric": None if self.numeric is None else str(self.numeric),
                "points": None if points is None else str(points)}


@lru_cache(maxsize=COURSE_LINE_CACHE)
def parse_course_line(text: str, what: str = "course line") -> CourseLine:
    """One transcript course line from its field value; InvalidDocument names the part."""
    parts = _json_object(text, what, COURSE_PARTS)
    code = _text(parts, "code", what, MAX_CODE_CHARS, required=True)
    credits = decimal_part(parts, "credits", what, Decimal(0), None, required=True)
    if credits is None or credits <= 0:
        raise InvalidDocument(f"{what}: credits must be a positive number", "line_credits",
                              where=what)
    grade = _grade(parts, what)
    assert code is not None and grade is not None
    numeric = decimal_part(parts, "numeric", what, Decimal(0), Decimal(100))
    points = decimal_part(parts, "points", what, Decimal(0), Decimal(4))
    term = decimal_part(parts, "term", what, Decimal(1), Decimal(MAX_TERM))
    if term is not None and term != term.to_integral_value():
        raise InvalidDocument(f"{what}: term must be a whole number", "line_term", where=what)
    carried = grade_points(grade)
    if points is not None and points != carried:
        if carried is None:
            raise InvalidDocument(f"{what}: grade {grade} carries no points (it is no letter)",
                                  "line_no_points", where=what, grade=grade)
        raise InvalidDocument(f"{what}: grade {grade} carries {carried} points, not {points}",
                              "line_points", where=what, grade=grade, points=str(carried),
                              given=str(points))
    if numeric is not None:
        problem = numeric_problem(grade, numeric)
        if problem is not None:
            raise InvalidDocument(f"{what}: {problem}", "line_numeric", where=what,
                                  grade=grade, numeric=str(numeric))
    return CourseLine(code, credits, grade,
                      _text(parts, "title_kk", what, MAX_TITLE_CHARS),
                      _text(parts, "title_ru", what, MAX_TITLE_CHARS),
                      _text(parts, "title_en", what, MAX_TITLE_CHARS),
                      None if term is None else int(term), numeric, points)


@dataclass(frozen=True)
class RecognisedLine:
    """One course of the original transcript recognised as one of the receiver's own."""

    from_code: str
    as_code: str
    credits: Decimal
    from_field: str | None = None
    as_title_kk: str | None = None
    as_title_ru: str | None = None
    as_title_en: str | None = None
    grade: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"from_code": self.from_code, "from_field": self.from_field,
                "as_code": self.as_code, "credits": str(self.credits),
                "as_title_kk": self.as_title_kk, "as_title_ru": self.as_title_ru,
                "as_title_en": self.as_title_en, "grade": self.grade}


def parse_recognised_line(text: str, what: str = "recognised line") -> RecognisedLine:
    parts = _json_object(text, what, RECOGNISED_PARTS)
    from_code = _text(parts, "from_code", what, MAX_CODE_CHARS, required=True)
    as_code = _text(parts, "as_code", what, MAX_CODE_CHARS, required=True)
    credits = decimal_part(parts, "credits", what, Decimal(0), None, required=True)
    if credits is None or credits <= 0:
        raise InvalidDocument(f"{what}: credits must be a positive number", "line_credits",
                              where=what)
    from_field = _text(parts, "from_field", what, 16)
    if from_field is not None and not LINE_NAME.fullmatch(from_field):
        raise InvalidDocument(f"{what}: from_field must name a course line (course.NN)",
                              "line_from_field", where=what)
    assert from_code is not None and as_code is not None
    return RecognisedLine(from_code, as_code, credits, from_field,
                          _text(parts, "as_title_kk", what, MAX_TITLE_CHARS),
                          _text(parts, "as_title_ru", what, MAX_TITLE_CHARS),
                          _text(parts, "as_title_en", what, MAX_TITLE_CHARS),
                          _grade(parts, what, required=False))


@dataclass(frozen=True)
class OriginalRef:
    """The credential a recognition refers to: its issuer, its batch and its place in it
    (with the audit path, so a verifier proves it is in that batch without the document)."""

    issuer: bytes
    credential_type: str
    batch_root: bytes
    target_hash: bytes
    index: int
    size: int
    path: tuple[bytes, ...]

    def to_text(self) -> str:
        return json.dumps({"issuer": self.issuer.hex(), "type": self.credential_type,
                           "batch_root": self.batch_root.hex(),
                           "target_hash": self.target_hash.hex(), "index": self.index,
                           "size": self.size, "path": [p.hex() for p in self.path]},
                          sort_keys=True, separators=(",", ":"))


def _hex_bytes(value: Any, what: str, size: int) -> bytes:
    if not isinstance(value, str) or len(value) != 2 * size or not _HEX.fullmatch(value):
        raise InvalidDocument(f"{what} must be {size} bytes of lower-case hex",
                              "original_reference")
    return bytes.fromhex(value)


MAX_PATH = 64


def parse_original(text: str) -> OriginalRef:
    what = "the original reference"
    parts = _json_object(text, what, ("issuer", "type", "batch_root", "target_hash", "index",
                                      "size", "path"))
    index, size, path = parts.get("index"), parts.get("size"), parts.get("path")
    if not (isinstance(index, int) and isinstance(size, int) and not isinstance(index, bool)
            and 0 <= index < size and isinstance(path, list) and len(path) <= MAX_PATH):
        raise InvalidDocument(f"{what} must give index < size and an audit path",
                              "original_reference")
    ctype = parts.get("type")
    if ctype != "transcript":
        raise InvalidDocument(f"{what} must name a transcript (got {ctype!r})",
                              "original_not_transcript", got=repr(ctype)[:40])
    return OriginalRef(_hex_bytes(parts.get("issuer"), f"{what}: issuer", 20), ctype,
                       _hex_bytes(parts.get("batch_root"), f"{what}: batch_root", 32),
                       _hex_bytes(parts.get("target_hash"), f"{what}: target_hash", 32),
                       index, size,
                       tuple(_hex_bytes(p, f"{what}: path entry", 32) for p in path))


def parse_date(value: str, what: str) -> datetime.date:
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        raise InvalidDocument(f"{what} must be a date YYYY-MM-DD (got {value!r})",
                              "date_format", where=what, got=repr(value)[:40])
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise InvalidDocument(f"{what}: no such date {value!r}", "date_none", where=what,
                              got=repr(value)[:40]) from None


def day_number(date: datetime.date) -> int:
    """Days since 1970-01-01: how the chain states an employment's start and end."""
    return (date - datetime.date(1970, 1, 1)).days


def date_of_day(number: int) -> str:
    return (datetime.date(1970, 1, 1) + datetime.timedelta(days=number)).isoformat()
