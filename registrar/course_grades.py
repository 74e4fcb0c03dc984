"""A transcript's course line graded without a letter of the credit scale: passed or
failed on a pass/fail basis (physical education, internships: `зачтено`, `сынақ`,
`есептелді`, `pass`), or a word of the five-point scale that older transcripts carry
(`отлично`, `өте жақсы`, `excellent`...). Registrar systems export the word as the
office typed it, in Kazakh, Russian or English.

Each is recorded as a code (`pass`, `fail`, `excellent`, `good`, `satisfactory`,
`unsatisfactory`), as an attestat's pass is (registrar.school_outcomes): one outcome
reads alike whatever the university's language, and a verifier words it in the
reader's. Such a line carries no grade points, so the GPA is the mean of the lettered
lines alone; its credits count in total_credits as any line's. A numeric grade beside
a word must lie in the word's band of the credit scale (`BANDS`). The same table is in
ledger.academic (this package knows nothing of the chain).

Words are looked up folded as an attestat's are (case, ё, a closing full stop, spaces,
Kazakh letters typed on a Russian keyboard), so `не зачтено` folds to `незачтено`, a
fail, never to a pass.
"""

from __future__ import annotations

from collections.abc import Collection

from registrar.phrases import Phrase, phrase
from registrar.school_outcomes import EXEMPT, folded, school_outcome

PASS, FAIL = "pass", "fail"
EXCELLENT, GOOD, SATISFACTORY, UNSATISFACTORY = ("excellent", "good", "satisfactory",
                                                 "unsatisfactory")

# code -> the numeric grades (%) it may carry: [low, below). отлично is A and A-, хорошо
# B+ to C+, удовлетворительно C to D, неудовлетворительно FX and F; a pass needs a D's 50.
BANDS: dict[str, tuple[int, int]] = {
    PASS: (50, 101), FAIL: (0, 50),
    EXCELLENT: (90, 101), GOOD: (70, 90), SATISFACTORY: (50, 70), UNSATISFACTORY: (0, 50),
}

# Folded forms (see registrar.school_outcomes.folded).
_WORDS: dict[str, str] = {
    **dict.fromkeys(("сынак", "есептелди", "есептелген", "зачтено", "зачет", "зач",
                     "passed"), PASS),
    **dict.fromkeys(("незачтено", "незачет", "незач", "есептелмеди", "есептелмеген",
                     "failed"), FAIL),
    **dict.fromkeys(("отлично", "отл", "отежаксы"), EXCELLENT),
    **dict.fromkeys(("хорошо", "хор", "жаксы"), GOOD),
    **dict.fromkeys(("удовлетворительно", "удовл", "удов", "уд", "канагаттанарлык"),
                    SATISFACTORY),
    **dict.fromkeys(("неудовлетворительно", "неудовл", "неуд", "канагаттанарлыксыз"),
                    UNSATISFACTORY),
    **{code: code for code in BANDS},
}
WORDS_SHOWN = ("зачтено", "сынақ", "не зачтено", "отлично", "хорошо", "удовлетворительно",
               "өте жақсы", "жақсы", "қанағаттанарлық", "pass", "excellent")


def course_grade_code(value: str) -> str | None:
    """The code of a word grade or a pass/fail outcome, or None for anything else."""
    return _WORDS.get(folded(value))


def exempted(value: str) -> bool:
    """Whether the word says the student was exempted from the course: no grade at all."""
    return school_outcome(value) == EXEMPT


# Cyrillic letters that look like the Latin letters of the credit scale.
_LOOKALIKES = str.maketrans("АВСХ", "ABCX")
_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2212"


def letter_hint(value: str, letters: Collection[str]) -> Phrase | None:
    """What is wrong with a value that is nearly one of the grade `letters`: Cyrillic
    look-alikes (`В+` typed on the Russian layout), lower case, or a dash for the hyphen."""
    upper = value.upper()
    retyped = upper.translate(_LOOKALIKES)
    for dash in _DASHES:
        retyped = retyped.replace(dash, "-")
    if retyped not in letters:
        return None
    if retyped != upper.translate(_LOOKALIKES):
        return phrase("reg.grade.dash", f"{value!r} has a dash where a grade letter has a "
                      f"hyphen (-): type {retyped}", value=value, letter=retyped)
    if upper != retyped:
        return phrase("reg.grade.cyrillic", f"{value!r} is written with Cyrillic letters: "
                      f"type {retyped} on the Latin keyboard layout", value=value,
                      letter=retyped)
    return phrase("reg.grade.capital", f"{value!r}: a grade letter is a capital ({retyped})",
                  value=value, letter=retyped)
