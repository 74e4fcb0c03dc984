"""A unique value (a student id, a diploma number) as a reader of the list sees it.

Two ids that differ only in letter case ("ab-12", "AB-12"), in a no-break space for a
plain one (as a copy from a web page brings it), or in a Cyrillic letter typed for the
Latin one it looks like (А/A, В/B, Е/E, К/K, М/M, Н/H, О/O, Р/P, С/C, Т/T, Х/X, У/Y,
and the Kazakh Ү/Y, І/I, Һ/H, Ә/Ə, Ө/Ɵ) read as one id to the registrar checking the
list, and to whoever types it into a verifier: two rows holding them are one student
twice, which comparing the text as written missed. The comparison goes letter by letter:
each pair is one letter (after case folding) or a Cyrillic letter and its Latin twin,
never two different Cyrillic letters (У and Ү, Н and Һ look like the same Latin letter
but not like each other) nor two different Latin ones. Only the duplicate check compares
so: each value is recorded, hashed and matched on chain exactly as written, so an id
already issued verifies as before. (A single id mixing the two alphabets is refused
on its own: registrar.value_characters.mixed_phrase.)
"""

from __future__ import annotations

from registrar.headers import field_label
from registrar.phrases import Phrase, phrase

# Capital Cyrillic letters -> the Latin capital drawn the same, where that Latin letter
# has no other Cyrillic double (after str.upper, so small letters and the Latin ə/ɵ fold
# alike). Қ, Ғ, Ң, Ұ have no Latin double.
_ONLY_TWIN = str.maketrans({
    "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "О": "O", "Р": "P", "С": "C",
    "Т": "T", "Х": "X", "І": "I", "Ј": "J", "Ѕ": "S", "Ԛ": "Q", "Ԝ": "W", "Ә": "\u018f",
    "Ө": "\u019f", "Ё": "\u00cb",
})
# Two Cyrillic letters each look like Y and like H: look_key keeps them as written, since
# they differ from each other, and a Latin Y or H matches either (_twins).
# A no-break space (U+00A0, U+202F, U+2007) looks like a space, and a hyphen U+2010 or
# U+2011 like "-": an id holding one, kept as written (registrar.plain_spaces), is the
# same id typed with a plain space or hyphen.
_PLAIN_SPACE = str.maketrans({**dict.fromkeys("\u00a0\u202f\u2007", " "),
                              **dict.fromkeys("\u2010\u2011", "-")})
_SHARED_TWIN = {"У": "Y", "Ү": "Y", "Н": "H", "Һ": "H"}
_SHARED_FOLD = str.maketrans(_SHARED_TWIN)
_SHARED_LETTERS = frozenset(_SHARED_TWIN) | frozenset(_SHARED_TWIN.values())
# Spellings of one Latin form that differ only in У/Ү/Y or Н/Һ/H, each compared letter by
# letter with a new value of that form; past this many a new spelling is still caught
# when repeated (by its look_key) but not compared with later twins of its Latin form.
MAX_SHARED_SPELLINGS = 16


def look_key(value: str) -> str:
    """`value` folded to how it looks: capitals, each Cyrillic letter that is the only
    double of a Latin letter as that Latin letter, a no-break space as a space, a hyphen
    U+2010 or U+2011 as "-". Equal keys look alike; unequal keys may still, where one
    holds Y or H and the other a Cyrillic double of it (_twins)."""
    return value.upper().translate(_ONLY_TWIN).translate(_PLAIN_SPACE)


def _twins(key: str, other: str) -> bool:
    """Whether two look_keys of one Latin form (same length) look alike letter by letter:
    equal, or a Latin Y/H against a Cyrillic letter drawn like it."""
    return all(a == b or _SHARED_TWIN.get(a) == b or _SHARED_TWIN.get(b) == a
               for a, b in zip(key, other, strict=True))


class FirstHolders:
    """The values of one unique field seen so far, each with the first row holding it."""

    def __init__(self) -> None:
        self._first: dict[str, tuple[int, str]] = {}  # look_key -> first row and value
        # Latin form -> look_keys of its spellings with У/Ү/Н/Һ/Y/H (MAX_SHARED_SPELLINGS)
        self._spellings: dict[str, list[str]] = {}

    def first(self, row: int, value: str) -> tuple[int, str]:
        """The earlier row and value that `value` looks like, else (`row`, `value`),
        remembered."""
        key = look_key(value)
        held = self._first.get(key)
        if held is not None:
            return held
        if not _SHARED_LETTERS.isdisjoint(key):
            spellings = self._spellings.setdefault(key.translate(_SHARED_FOLD), [])
            for other in spellings:
                if _twins(key, other):
                    return self._first[other]
            if len(spellings) < MAX_SHARED_SPELLINGS:
                spellings.append(key)
        self._first[key] = (row, value)
        return row, value


def lookalike_phrase(field: str, row: int, first: str, value: str) -> Phrase:
    """Row `row` holds `first` and this row `value`, which look alike (FirstHolders)."""
    return phrase("reg.row.duplicate_lookalike", f"the same {field} as row {row} ({first} "
                  f"there, {value} here): they differ only in letter case or in Cyrillic "
                  "and Latin letters that look alike, so they name one student: give each "
                  "student one id, typed the same way everywhere", field=field,
                  label=field_label(field), row=row, first=first, value=value)
