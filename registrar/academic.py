"""Course lines of a transcript: a line agrees with itself, and the transcript's
GPA and total credits agree with its lines.

- points, when given, are the letter's points on the Kazakh credit scale;
- a numeric grade, when given, lies in the letter's band (A 95–100, A- 90–94, ...,
  D 50–54, FX 25–49, F 0–24);
- total_credits is the sum of every line's credits (failed lines included);
- gpa is the credit-weighted mean of the lines' points, within 0.01 (transcripts
  print it rounded to two places).
"""

from __future__ import annotations

from decimal import Decimal

from registrar.formats import GRADE_SCALE

GPA_TOLERANCE = Decimal("0.01")
_BANDS = sorted(((low, letter) for letter, (_, low) in GRADE_SCALE.items()), reverse=True)


def letter_for(numeric: Decimal) -> str:
    return next(letter for low, letter in _BANDS if numeric >= low)


def line_problem(parts: dict[str, str]) -> tuple[str, str] | None:
    """(part, sentence) when a course line contradicts itself."""
    letter = parts["grade"]
    points, _ = GRADE_SCALE[letter]
    if "points" in parts and Decimal(parts["points"]) != points:
        return "points", f"grade {letter} carries {points} points, not {parts['points']}"
    if "numeric" in parts and letter_for(Decimal(parts["numeric"])) != letter:
        numeric = parts["numeric"]
        return "numeric", f"a numeric grade of {numeric} is {letter_for(Decimal(numeric))}, " \
                          f"not {letter}"
    return None


def totals_problems(lines: list[dict[str, str]], gpa: str, total_credits: str
                    ) -> list[tuple[str, str]]:
    """(field, sentence) for each total that its lines contradict."""
    credits = [Decimal(line["credits"]) for line in lines]
    found = []
    credit_sum = sum(credits, Decimal(0))
    if credit_sum != Decimal(total_credits):
        found.append(("total_credits", f"the course lines add up to {credit_sum} credits, "
                                       f"not {total_credits}"))
    if credit_sum > 0:
        weighted = sum((c * GRADE_SCALE[line["grade"]][0] for c, line in zip(
            credits, lines, strict=True)), Decimal(0))
        mean = weighted / credit_sum
        if abs(mean - Decimal(gpa)) > GPA_TOLERANCE:
            found.append(("gpa", f"the course lines give a GPA of {mean:.2f}, not {gpa}"))
    return found
