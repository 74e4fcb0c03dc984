"""A member's name as a reader takes it: the one definition, for the ledger and the CLI.

`readings` decides which names are one name: from rules version 14
(`ledger.rules_version.MEMBER_NAMES_UNIQUE_FROM`) the ledger refuses a new member one of
whose readings is a member's (`ledger.member_name_index`), and keeps an index keyed by
them; it refuses a name holding an invisible character (`invisible_marks`), or one
unassigned in Unicode 3.2 (`unassigned_marks`), too.
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

# Which Unicode a node decides with. Python 3.11, 3.12 and 3.13 (all supported) carry
# Unicode 14.0, 15.0 and 15.1: a character unassigned in one and assigned in the next
# (Egyptian hieroglyph format controls U+13439..U+1343F, Cf from 15.0; Cyrillic modifier
# letters U+1E030.., with compatibility decompositions from 15.0) was invisible, or read
# otherwise, on some nodes only, and those nodes found another block valid, or another
# state root. Every Python also ships the frozen Unicode 3.2 database (for IDNA), and by
# Unicode's stability policies NFKC (from 4.1) and case folding (from 5.0) of a text whose
# characters are all assigned in a version give the same result in every later version.
# So under rules version 14 a name holding a character unassigned in 3.2 is refused, the
# categories are taken from 3.2 too, and what `readings` returns for any name the ledger
# takes depends on characters of 3.2 alone: every supported Python decides alike.
# (`tests/node/test_member_names_unicode.py` pins what the policies promise, whitespace
# included, for this Python's database.)
UNICODE_FROZEN = unicodedata.ucd_3_2_0

# Characters a reader does not see, or that are no text: controls (NUL, tab), format
# characters (zero-width space and joiners, direction overrides such as U+202E), lone
# surrogates, private use (drawn as anything a font likes) and line and paragraph
# separators. A name holding one reads as the name without it but is another text.
INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Zl", "Zp"})
# Of these, the two Unicode 3.2 gave another category (the soft hyphen Pd, the zero-width
# space Zs) and later versions made Cf: invisible all the same.
INVISIBLE_SINCE_3_2 = frozenset("\u00ad\u200b")


def _invisible(char: str) -> bool:
    return UNICODE_FROZEN.category(char) in INVISIBLE_CATEGORIES or char in INVISIBLE_SINCE_3_2


def invisible_marks(text: str) -> str:
    """The invisible characters in `text` ("U+200B, U+0000"), each once, or ""."""
    return ", ".join(f"U+{ord(c):04X}" for c in dict.fromkeys(c for c in text if _invisible(c)))


def unassigned_marks(text: str) -> str:
    """The characters of `text` unassigned in Unicode 3.2 ("U+1E030"), each once, or "":
    an emoji, a letter or a mark added since, which nodes of other Pythons read otherwise."""
    return ", ".join(f"U+{ord(c):04X}" for c in dict.fromkeys(
        c for c in text if UNICODE_FROZEN.category(c) == "Cn"))


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
    Cyrillic "а") for "KazNU", `spaced` "КАЗНУ" for "Казну".

    A name holding a character unassigned in Unicode 3.2 (`unassigned_marks`) has one
    reading, itself as written: nodes of other Pythons would read it otherwise. Version 14
    refuses such a name; a member admitted so before it is indexed by it at the upgrade
    (`ledger.member_name_index.index_at_upgrade`), alike on every node."""
    if unassigned_marks(name):
        return (name,)
    letter, eye = spaced(name), as_read(name)
    return (letter,) if letter == eye else (letter, eye)
