"""A unique value (a student id, a diploma number) as a reader of the list sees it.

Two ids that differ only in letter case ("ab-12", "AB-12") or in a Cyrillic letter typed
for the Latin one it looks like (А/A, В/B, Е/E, К/K, М/M, Н/H, О/O, Р/P, С/C, Т/T, Х/X,
and the Kazakh Ү/Y, І/I, Һ/H, Ә/Ə, Ө/Ɵ) read as one id to the registrar checking the
list, and to whoever types it into a verifier: two rows holding them are one student
twice, which comparing the text as written missed. Only the duplicate check compares
so: each value is recorded, hashed and matched on chain exactly as written, so an id
already issued verifies as before. (A single id mixing the two alphabets is refused
on its own: registrar.formats.mixed_phrase.)
"""

from __future__ import annotations

from registrar.headers import field_label
from registrar.phrases import Phrase, phrase

# Capital Cyrillic letters -> the Latin capital drawn the same (after str.upper, so
# small letters and the Latin ə/ɵ fold alike). Қ, Ғ, Ң, Ұ have no Latin double.
_LATIN_TWIN = str.maketrans({
    "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P",
    "С": "C", "Т": "T", "Х": "X", "У": "Y", "Ү": "Y", "І": "I", "Һ": "H", "Ј": "J",
    "Ѕ": "S", "Ԛ": "Q", "Ԝ": "W", "Ә": "\u018f", "Ө": "\u019f", "Ё": "\u00cb",
})


def look_key(value: str) -> str:
    """`value` folded to how it looks: capitals, each Cyrillic look-alike as its Latin twin."""
    return value.upper().translate(_LATIN_TWIN)


def lookalike_phrase(field: str, row: int, first: str, value: str) -> Phrase:
    """Row `row` holds `first` and this row `value`, which look alike (look_key)."""
    return phrase("reg.row.duplicate_lookalike", f"the same {field} as row {row} ({first} "
                  f"there, {value} here): they differ only in letter case or in Cyrillic "
                  "and Latin letters that look alike, so they name one student: give each "
                  "student one id, typed the same way everywhere", field=field,
                  label=field_label(field), row=row, first=first, value=value)
