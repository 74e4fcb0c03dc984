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

What they do not catch: letters drawn as Latin ones beyond the map below ("KazɴU", its
"ɴ" a Latin small capital; Armenian, Cherokee or IPA look-alikes), digits drawn as letters
("0" and "O", "1" and "l"), other confusable punctuation, and combining marks stacked on
a letter. The CLI refuses a word mixing Latin and Cyrillic; the ledger takes such names,
and a verifier shows the issuer's id beside its name. And one rare false refusal: the map
sends capital "Н" to "H" and small "һ" to "h" before case is folded, so 'ТОО "ШАНАР"' and
'ТОО "Шаһар"' (Kazakh "city") are one name; the second is refused beside the first.

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
# Default-ignorable characters (drawn as nothing) assigned in 3.2 that 3.2's categories
# do not mark as above, listed literally so every Python agrees (no database carries the
# property): the soft hyphen (Pd in 3.2) and zero-width space (Zs in 3.2), both Cf later;
# the combining grapheme joiner (Mn); the Hangul fillers (Lo); the Khmer inherent vowels
# U+17B4-U+17B5 (Mc in 3.2); the Mongolian free variation selectors (Mn); the variation selectors
# U+FE00-U+FE0F (Mn); and the braille blank U+2800 (So), which shows as a space that
# `spaced` does not trim.
DEFAULT_IGNORABLE_NOT_CF = frozenset(
    "\u00ad\u200b\u034f\u115f\u1160\u17b4\u17b5\u180b\u180c\u180d\u3164\uffa0\u2800"
    + "".join(chr(c) for c in range(0xFE00, 0xFE10)))


def _invisible(char: str) -> bool:
    return (UNICODE_FROZEN.category(char) in INVISIBLE_CATEGORIES
            or char in DEFAULT_IGNORABLE_NOT_CF)


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
# A capital I and a small l are one stroke, drawn alike ("KlMEP" beside "KIMEP"): both,
# and the Cyrillic and Greek capital I, read as "|". Not as "l": "KIMEP" read "klmep"
# would be `spaced`'s reading of "KLMEP", and two names whose capitals differ would be one.
_DRAWN_AS_LATIN = str.maketrans(
    "АВЕКМНОРСТУХІЈЅаеорсухіјѕһԁ" "ΑΒΕΖΗΙΚΜΝΟΡΤΥΧοκρ" "Il",
    "ABEKMHOPCTYX|JSaeopcyxijshd" "ABEZH|KMNOPTYXokp" "||")
# Dashes and apostrophes drawn as the ASCII ones: hyphen, non-breaking hyphen, figure and
# en dash, minus, hyphen bullet, small and fullwidth hyphen-minus; right and left single
# quotes, modifier apostrophe and prime, grave and acute accents, prime. Mapped before
# NFKC too, since NFKC makes the acute accent a space and a combining mark.
_PUNCTUATION = str.maketrans(
    "\u2010\u2011\u2012\u2013\u2212\u2043\ufe63\uff0d" "\u2019\u2018\u02bc\u02b9\u0060\u00b4\u2032",
    "--------" + "'" * 7)
_DRAWN_ALIKE = _DRAWN_AS_LATIN | _PUNCTUATION


def as_read(name: str) -> str:
    """`name` as an eye reads it: each letter drawn as a Latin one taken for it, each dash
    as "-" and each apostrophe as "'", then as `spaced` reads it."""
    return spaced(unicodedata.normalize("NFKC", name.translate(_PUNCTUATION))
                  .translate(_DRAWN_ALIKE))


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
