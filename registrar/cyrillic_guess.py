"""Which single-byte Cyrillic encoding a text export that is not UTF-8 is in.

charset-normalizer, asked alone, misjudges a short export: a header and a row or
two saved by Russian-locale Excel as "CSV" (cp1251) was guessed as mac-cyrillic,
cp1250, cp1257 or shift_jis about one time in twenty, and refused. Here each
encoding an office's export is really in is tried instead, and its reading judged
as an export's text: names and words of Cyrillic letters (capital first or all
capitals), ASCII, and the few signs offices type (№ « » — …).

The encodings tried: cp1251 (Windows Excel in a Russian or Kazakh locale), KZ-1048
(the Kazakh standard that puts ә ғ қ ң ө ұ ү һ where cp1251 has Serbian and
Ukrainian letters) and mac-cyrillic (Excel for Mac's "CSV"). Russian lower-case
letters are the same bytes in all three, so a file of those alone reads the same
whichever it is. When two readings that differ both look like text (a capital
only mac-cyrillic reads as a letter, or Ukrainian letters that KZ-1048 reads as
Kazakh ones), the file is ambiguous: the registrar says which with --encoding.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

# Signs a Russian or Kazakh export holds besides letters: no-break space, №, quotes,
# dashes, the ellipsis, the soft hyphen (refused in a value, by row, later), °.
_SIGNS = frozenset("\u00a0№«»–—…‘’“”„•·°±§©®™\u00ad")
_RUSSIAN = frozenset("абвгдеёжзийклмнопрстуфхцчшщъыьэюя"
                     "АБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯ")
# Ukrainian letters a name may hold (і is Kazakh too); not ґ, nor Belarusian ў: where
# KZ-1048 reads ө and ұ, so that a Kazakh name needs no --encoding for them.
_UKRAINIAN = frozenset("ІіЇїЄє")
# Ukrainian has none of these, so a word holding them and ї or є is no Ukrainian one.
_NOT_UKRAINIAN = frozenset("ыэёъЫЭЁЪ")
# Ukrainian writes ї after a vowel, an apostrophe or first, never after a consonant
# ("Айгїл" is KZ-1048's "Айгүл" read as cp1251).
_CONSONANTS = frozenset("бвгджзйклмнпрстфхцчшщБВГДЖЗЙКЛМНПРСТФХЦЧШЩ")
_KAZAKH = frozenset("ӘәҒғҚқҢңӨөҰұҮүҺһІі")
# What each encoding's reading may hold beyond ASCII and _SIGNS.
CANDIDATES: dict[str, frozenset[str]] = {
    "cp1251": _RUSSIAN | _UKRAINIAN,
    "kz1048": _RUSSIAN | _KAZAKH,
    "mac-cyrillic": _RUSSIAN | _UKRAINIAN,
}
_SHAPES = re.compile(r"U+|l+|Ul+|Ul{2,}U{1,3}")
# The best reading is taken only when at most one word in this many is odd (a name
# such as "МакДональд" is one); another encoding's text, such as KOI8-R's,
# is odd in most words.
WORDS_A_ODDITY = 4


@dataclass(frozen=True)
class Guess:
    """`encoding` when one reading is clearly the export's; else `rivals`, the
    encodings whose differing readings look alike (empty: none looks like text)."""

    encoding: str | None
    rivals: tuple[str, ...] = ()


@dataclass(frozen=True)
class Reading:
    text: str
    odd: int  # words and signs unlike an export's text
    words: int  # words holding Cyrillic letters


def read_as(head: bytes, encoding: str) -> Reading | None:
    """`head` read in `encoding` and judged; None when it holds a character no export
    in that encoding holds (a control character, a letter of another alphabet, a
    sign offices do not type) or a byte the encoding lacks."""
    try:
        text = head.decode(encoding)
    except UnicodeDecodeError:
        return None
    letters = CANDIDATES[encoding]
    odd = words = 0
    word: list[str] = []
    before = previous = ""
    for char in text + "\n":
        if char.isascii():
            if not char.isprintable() and char not in "\t\r\n":
                return None
        elif char not in letters and char not in _SIGNS:
            return None
        if char.isalpha():
            odd += _glued(before, previous, char)
            word.append(char)
        elif word:
            if not all(c.isascii() for c in word):
                words += 1
                odd += _word_oddities(word)
            word = []
        before, previous = previous, char
    return Reading(text, odd, words)


def _glued(before: str, sign: str, letter: str) -> int:
    """1 when `sign`, between `before` and `letter`, stands where a sign does not: a
    capital that another encoding holds at that byte (mac-cyrillic's Т read as
    cp1251's ’, its И as €)."""
    if sign in "\u00a0\u00ad№" or sign not in _SIGNS:
        return 0
    if sign in "«„“‘":
        return 1 if letter.islower() else 0  # an opening quote, before a word
    if sign in "’”" and before.isalpha():
        return 0  # an apostrophe (д’Арк) or a closing quote
    return 1


def _word_oddities(word: list[str]) -> int:
    cyrillic = [c for c in word if not c.isascii()]
    odd = 1 if len(cyrillic) < len(word) else 0  # Latin and Cyrillic in one word
    if any(c in "ЇїЄє" for c in cyrillic) and any(c in _NOT_UKRAINIAN for c in cyrillic):
        odd += 1
    if any(c in "Її" and b in _CONSONANTS for b, c in itertools.pairwise(cyrillic)):
        odd += 1
    shape = "".join("U" if c.isupper() else "l" for c in cyrillic if c.isalpha())
    # "Иванов", "ИВАНОВ", "иванов", "КазНУ"; not KOI8-R's "йБЮМНБЮ" read as cp1251
    return odd + (0 if _SHAPES.fullmatch(shape) else 1)


def guess_cyrillic(head: bytes) -> Guess:
    """The encoding of `head` (a file's first bytes, no BOM, not UTF-8) among
    CANDIDATES; see the module's docstring."""
    judged = {name: reading for name in CANDIDATES
              if (reading := read_as(head, name)) is not None}
    if not judged:
        return Guess(None)
    best = min(judged.values(), key=lambda reading: reading.odd)
    if best.odd * WORDS_A_ODDITY > best.words:
        return Guess(None)
    rivals = [name for name, reading in judged.items()
              if reading.text != best.text and reading.odd <= best.odd]
    if rivals:
        return Guess(None, tuple(
            name for name, reading in judged.items() if reading is best or name in rivals))
    # the first candidate that reads as the best does is named (cp1251 before the rest)
    return Guess(next(name for name, reading in judged.items() if reading.text == best.text))
