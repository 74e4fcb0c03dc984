"""A transcript's course lines as `senim verify` lists them, in the reader's language.

The verdict's checks say how many lines the holder showed; an employer checking a
transcript on the command line needs what they say, as the portal's table shows it: code,
title in the reader's language (else another), term, credits, grade and points. A grade
without a letter (a pass or fail, a word of the five-point scale) is a code in the
document and is said in the reader's language from the portal's catalogue (`grade.*`).
A line the verifier could not read as one (issued before lines were checked) is shown as
written.
"""

from __future__ import annotations

from typing import Any

from cli.language import Words

# What the document calls a grade without a letter: each has a `grade.<code>` in the
# catalogue (node/static/portal-verdict.js keeps the same list).
GRADE_CODES = ("pass", "fail", "exempt", "excellent", "good", "satisfactory",
               "unsatisfactory")


def grade_words(words: Words, grade: str) -> str:
    return words.t(f"grade.{grade}") if grade in GRADE_CODES else grade


def _line(words: Words, line: dict[str, Any]) -> str:
    number = str(line.get("field", "")).rpartition(".")[2].lstrip("0") or "?"
    if "code" not in line:
        return f"{number}. {line.get('text', '')}"
    title = next((line[key] for key in (f"title_{words.language}", "title_en", "title_ru",
                                        "title_kk") if line.get(key)), "")
    parts = [" ".join(filter(None, (str(line["code"]), str(title))))]
    if line.get("term") is not None:
        parts.append(f"{words.t('column.term')} {line['term']}")
    parts.append(f"{words.t('column.credits')} {line.get('credits', '')}")
    grade = grade_words(words, str(line.get("grade", "")))
    if line.get("numeric") is not None:
        grade += f" ({line['numeric']})"
    parts.append(f"{words.t('column.grade')} {grade}")
    if line.get("points") is not None:
        parts.append(f"{words.t('column.points')} {line['points']}")
    return f"{number}. " + " · ".join(parts)


def course_lines(words: Words, facts: object) -> list[str]:
    """The lines to print after the checks: a heading, then each course line shown."""
    lines = facts.get("course_lines") if isinstance(facts, dict) else None
    if not isinstance(lines, list) or not lines:
        return []
    return [f"{words.t('table.courses')}:",
            *(f"  {_line(words, line)}" for line in lines if isinstance(line, dict))]
