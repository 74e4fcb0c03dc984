"""The honours column: whether a diploma or an attestat is one with distinction.

Offices fill it with a yes or a no in their language, or with the distinction's name,
and it was recorded as typed: a diploma read "Honours: нет", or "x". Here a value is
one of the words below, each read as a reader of the list means it:
- a distinction, recorded in the words of the language it was written in, one way
  each ("С отличием", "диплом с отличием" and "да" are "с отличием"), so that one
  honour reads alike on every document of an office;
- an attestat's gold mark, Алтын белгі (its name in Kazakh and Russian alike);
- a no ("нет", "жоқ", "no", "без отличия"): no honours, the field left out, as an
  empty cell leaves it.
Anything else ("x", "+", "1", a remark) is refused, the accepted words listed: what
it means is the registrar's to say, not ours to guess.

Words are looked up folded as grades are (registrar.school_outcomes.folded: case, ё,
spaces, a closing full stop, Kazakh letters typed on a Russian keyboard).
"""

from __future__ import annotations

from registrar.phrases import Phrase, phrase
from registrar.school_outcomes import folded

NO_HONOURS = ""  # what a no-word is recorded as: nothing (registrar.validate leaves it out)
WITH_DISTINCTION_RU = "с отличием"
WITH_DISTINCTION_KK = "үздік"
WITH_DISTINCTION_EN = "with distinction"
WITH_HONOURS_EN = "with honours"
GOLD_MARK = "Алтын белгі"

_WORDS: dict[str, str] = {
    **dict.fromkeys(("да", "с отличием", "диплом с отличием", "аттестат с отличием",
                     "отличие"), WITH_DISTINCTION_RU),
    **dict.fromkeys(("иә", "ия", "үздік", "үздік диплом", "үздік аттестат"),
                    WITH_DISTINCTION_KK),
    **dict.fromkeys(("yes", "with distinction", "distinction"), WITH_DISTINCTION_EN),
    **dict.fromkeys(("with honours", "with honors", "honours", "honors"), WITH_HONOURS_EN),
    **dict.fromkeys(("алтын белгі", "altyn belgi"), GOLD_MARK),
    **dict.fromkeys(("нет", "без отличия", "жоқ", "no", "none"), NO_HONOURS),
}
_FOLDED = {folded(word): recorded for word, recorded in _WORDS.items()}
YES_SHOWN = ("да", "с отличием", "иә", "үздік", "yes", "with distinction", "with honours",
             "Алтын белгі")
NO_SHOWN = ("нет", "без отличия", "жоқ", "no")


def honours_value(value: str) -> str | None:
    """What trimmed `value` is recorded as (NO_HONOURS for a no), or None for a value
    that is none of the words."""
    return _FOLDED.get(folded(value))


def honours_phrase(value: str) -> Phrase:
    yes, no = ", ".join(YES_SHOWN), ", ".join(NO_SHOWN)
    return phrase("reg.honours.unknown", f"{value!r} says neither whether there are honours "
                  f"nor which: write one of {yes} for a distinction, or {no} (or leave the "
                  "cell empty) for none", value=value, yes=yes, no=no)
