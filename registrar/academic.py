"""Course lines of a transcript: a line agrees with itself, and the transcript's
GPA and total credits agree with its lines.

- points, when given, are the letter's points on the Kazakh credit scale; a line graded
  without a letter (a pass or fail, a word grade: registrar.course_grades) carries none;
- a numeric grade, when given, lies in the grade's band (A 95–100, A- 90–94, ...,
  D 50–54, FX 25–49, F 0–24; pass 50–100, отлично 90–100...);
- total_credits is the sum of every line's credits (failed lines included);
- gpa is the credit-weighted mean of the lettered lines' points, within 0.01
  (transcripts print it rounded to two places); a transcript none of whose lines
  carries a letter states none.
"""

from __future__ import annotations

from decimal import Decimal

from registrar.course_grades import BANDS
from registrar.formats import GRADE_SCALE
from registrar.phrases import Phrase, phrase

GPA_TOLERANCE = Decimal("0.01")
_BANDS = sorted(((low, letter) for letter, (_, low) in GRADE_SCALE.items()), reverse=True)


def letter_for(numeric: Decimal) -> str:
    return next(letter for low, letter in _BANDS if numeric >= low)


def line_problem(parts: dict[str, str]) -> tuple[str, Phrase] | None:
    """(part, sentence) when a course line contradicts itself."""
    grade = parts["grade"]
    if grade not in GRADE_SCALE:
        if "points" in parts:
            return "points", phrase(
                "reg.line.no_points", f"a course graded {grade} carries no points (only a "
                "letter grade counts in the GPA): leave its points empty", grade=grade)
        low, below = BANDS[grade]
        if "numeric" in parts and not low <= Decimal(parts["numeric"]) < below:
            high = min(below - 1, 100)
            return "numeric", phrase(
                "reg.line.numeric_band", f"a numeric grade of {parts['numeric']} is not "
                f"{grade} ({low} to {high} is)", numeric=parts["numeric"], grade=grade,
                low=low, high=high)
        return None
    points, _ = GRADE_SCALE[grade]
    if "points" in parts and Decimal(parts["points"]) != points:
        return "points", phrase("reg.line.points", f"grade {grade} carries {points} points, "
                                f"not {parts['points']}", grade=grade, want=str(points),
                                got=parts["points"])
    if "numeric" in parts and letter_for(Decimal(parts["numeric"])) != grade:
        numeric = parts["numeric"]
        letter = letter_for(Decimal(numeric))
        return "numeric", phrase("reg.line.numeric_letter", f"a numeric grade of {numeric} is "
                                 f"{letter}, not {grade}", numeric=numeric, letter=letter,
                                 grade=grade)
    return None


def totals_problems(lines: list[dict[str, str]], gpa: str | None, total_credits: str
                    ) -> list[tuple[str, Phrase]]:
    """(field, sentence) for each total that its lines contradict, or that they call
    for and the record lacks (`gpa` None: the record states no GPA)."""
    credits = [Decimal(line["credits"]) for line in lines]
    found = []
    credit_sum = sum(credits, Decimal(0))
    if credit_sum != Decimal(total_credits):
        found.append(("total_credits", phrase(
            "reg.totals.credits", f"the course lines add up to {credit_sum} credits, not "
            f"{total_credits}", sum=str(credit_sum), got=total_credits)))
    lettered = [(c, GRADE_SCALE[line["grade"]][0]) for c, line in zip(credits, lines,
                                                                       strict=True)
                if line["grade"] in GRADE_SCALE]
    lettered_credits = sum((c for c, _ in lettered), Decimal(0))
    if not lettered_credits:
        if lines and gpa is not None:
            found.append(("gpa", phrase(
                "reg.totals.no_gpa", "no course line carries a letter grade, so there is no "
                f"GPA to state (got {gpa}): leave it empty", got=gpa)))
        return found
    if gpa is None:
        found.append(("gpa", phrase("reg.totals.gpa_required", "gpa is required: the course "
                                    "lines graded by letter give one")))
        return found
    mean = sum((c * points for c, points in lettered), Decimal(0)) / lettered_credits
    if abs(mean - Decimal(gpa)) > GPA_TOLERANCE:
        found.append(("gpa", phrase("reg.totals.gpa", f"the course lines give a GPA of "
                                    f"{mean:.2f}, not {gpa}", mean=f"{mean:.2f}", got=gpa)))
    return found
