"""A member's name as a reader takes it: the one definition, for the ledger and the CLI.

`readings` decides which names are one name: from rules version 14
(`ledger.rules_version.MEMBER_NAMES_UNIQUE_FROM`) the ledger refuses a new member one of
whose readings is a member's (`ledger.member_name_index`), and keeps an index keyed by
them; it refuses a name holding an invisible character (`invisible_marks`) too.
Changing what these return for any name (a letter added to the map, another
normalisation) changes which blocks are valid and the state root of every chain under
that version: they are frozen per rules version, and a change needs a new one (with these
functions kept for the versions before it). The CLI compares names with them too
(`cli.member_names`), so that `senim add-member` refuses before signing what the ledger
would refuse.

What they do not catch: letters of other blocks drawn as Latin ones beyond the map below
("KazɴU", its "ɴ" a Latin small capital; Armenian, Cherokee or IPA look-alikes) and
combining marks stacked on a letter. The CLI refuses a word mixing Latin and Cyrillic;
the ledger takes such names, and a verifier shows the issuer's id beside its name.

Pure: no IO.
"""

from __future__ import annotations

import unicodedata

# Characters a reader does not see, or that are no text: controls (NUL, tab), format
# characters (zero-width space and joiners, direction overrides such as U+202E), lone
# surrogates, private use (drawn as anything a font likes) and line and paragraph
# separators. A name holding one reads as the name without it but is another text.
INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Zl", "Zp"})


def invisible_marks(text: str) -> str:
    """The invisible characters in `text` ("U+200B, U+0000"), each once, or ""."""
    return ", ".join(f"U+{ord(c):04X}" for c in dict.fromkeys(
        c for c in text if unicodedata.category(c) in INVISIBLE_CATEGORIES))


def spaced(name: str) -> str:
    """`name` as read letter for letter: compatibility-composed (NFKC: a fullwidth "Ｋ" or
    a mathematical bold "𝐊" is "K"), case folded, spaces trimmed and each run of them one
    space."""
    # NFKC again after casefold: folding may leave a text no longer normalised ("ǰ")
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())
    return " ".join(folded.split())


# Letters of Cyrillic and Greek drawn as a Latin letter is (each case its own: Cyrillic
# lower "н" looks like no "h"), for telling names that read alike but match nowhere: a
# ministry admitting "Каѕрі" (all Cyrillic) beside "Kaspi", or "ΕΝU" (Greek) beside "ENU".
# Mapped before case is folded, so it alone would read "КазНУ" and "Казну" as two names
# ("KaзHУ", "Kaзну"): `readings` holds `spaced` too, which folds case first.
_DRAWN_AS_LATIN = str.maketrans(
    "АВЕКМНОРСТУХІЈЅаеорсухіјѕһԁ" "ΑΒΕΖΗΙΚΜΝΟΡΤΥΧοκρ",
    "ABEKMHOPCTYXIJSaeopcyxijshd" "ABEZHIKMNOPTYXokp")


def as_read(name: str) -> str:
    """`name` as an eye reads it: each letter drawn as a Latin one taken for it, then as
    `spaced` reads it."""
    return spaced(unicodedata.normalize("NFKC", name).translate(_DRAWN_AS_LATIN))


def readings(name: str) -> tuple[str, ...]:
    """The ways `name` is read (`spaced`, `as_read`), each once: two names are one when
    they share one. Both, since neither alone holds the other: `as_read` tells "KаzNU" (a
    Cyrillic "а") for "KazNU", `spaced` "КАЗНУ" for "Казну"."""
    letter, eye = spaced(name), as_read(name)
    return (letter,) if letter == eye else (letter, eye)
