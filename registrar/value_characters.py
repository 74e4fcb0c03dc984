"""What characters a value may hold, whatever its format (registrar.formats): no control
character, lone surrogate or invisible formatting character (`unsafe_phrase`, and
`shown`, which writes each as its code), and no word that mixes Latin and Cyrillic
letters (`mixed_phrase`). Each finding is a Phrase the registrar's language says.
"""

from __future__ import annotations

import itertools
import re
import unicodedata

from registrar.phrases import Phrase, phrase

# Unicode categories Cc (controls), Cs (lone surrogates, which UTF-8 cannot carry) and
# Cf (invisible formatting: soft hyphen, zero-width spaces and joiners, direction marks
# and overrides, a BOM inside the text), Cf as of Unicode 15.
_FORMAT = ("\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890-\u0891\u08e2\u180e\u200b-\u200f"
           "\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd"
           "\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001"
           "\U000e0020-\U000e007f")
_UNSAFE = re.compile(f"[\x00-\x1f\x7f-\x9f\ud800-\udfff{_FORMAT}]")


def shown(text: str) -> str:
    """`text` with each character `unsafe_phrase` refuses written as its code ("ИИН<U+200B>"),
    so that a line naming it shows what is there, and no direction mark reorders it."""
    return _UNSAFE.sub(lambda found: f"<U+{ord(found[0]):04X}>", text)


def unsafe_phrase(text: str) -> Phrase | None:
    """A control character (tab and line breaks included), a lone surrogate or an
    invisible formatting character has no place in a document value: the last can
    be neither seen on a dry run nor typed by whoever checks the document."""
    found = _UNSAFE.search(text)
    if found is None:
        return None
    point = ord(found[0])
    code = f"U+{point:04X}"
    if 0xD800 <= point <= 0xDFFF:
        return phrase("reg.value.surrogate", f"contains {code}, half of a UTF-16 pair without "
                      "its other half (the export is damaged)", char=code)
    if point in (0x0A, 0x0D):
        return phrase("reg.value.line_break", f"contains a line break, the control character "
                      f"{code} (Alt+Enter in an Excel cell): put the value on one line",
                      char=code)
    if point < 0xA0:
        return phrase("reg.value.control", f"contains the control character {code}",
                      char=code)
    name = unicodedata.name(found[0], "")
    named = f"{code}{' ' + name if name else ''}"
    # kk and ru say the code alone: Unicode names its characters in English only
    return phrase("reg.value.invisible", f"contains {named}, an invisible formatting "
                  "character (often pasted from a web page or Word): delete it", char=code)


WORD = re.compile(r"[^\W\d_]+")
# A code's parts joined by punctuation are one word: "ЖБ-B" is a series with a Latin B.
CODE_WORD = re.compile(r"\S+")
# Latin-1 to Latin Extended-B, IPA Extensions (ə U+0259 and ɵ U+0275 look like the
# Kazakh ә and ө, and some keyboard layouts type them) and Latin Extended Additional.
_LATIN = re.compile("[A-Za-z\u00c0-\u02af\u1e00-\u1eff]")
_CYRILLIC = re.compile("[\u0400-\u052f\u1c80-\u1c8f\u2de0-\u2dff\ua640-\ua69f]")


# Letters of Kazakh and Russian and the Latin letters drawn alike, each alphabet's.
_LATIN_LOOKALIKES = frozenset("AaBCcEeHhIiKMOoPpTXxYyəɵ")
_CYRILLIC_LOOKALIKES = frozenset("АаВСсЕеНһІіКМОоРрТХхУуҮәө")


def _mixed_word(value: str, words: re.Pattern[str]) -> tuple[str, str, re.Pattern[str]] | None:
    """The first word of `value` mixing Latin and Cyrillic letters, the script of fewer
    letters in it, and that script's letters."""
    if not (_LATIN.search(value) and _CYRILLIC.search(value)):
        return None  # most values: one script throughout
    for word in words.findall(value):
        latin, cyrillic = _LATIN.findall(word), _CYRILLIC.findall(word)
        if latin and cyrillic:
            return (word, "latin", _LATIN) if len(latin) <= len(cyrillic) else (
                word, "cyrillic", _CYRILLIC)
    return None


def mixed_phrase(value: str, words: re.Pattern[str] = WORD) -> Phrase | None:
    """Why a word of `value` mixes Latin and Cyrillic letters, or None. Many look alike
    (А/A, е/e, і/i, о/o, Р/P, с/c, ә/ə): one typed on the other keyboard layout reads
    right but matches no other record of the name, or of the code."""
    mixed = _mixed_word(value, words)
    return None if mixed is None else _mixed_said(*mixed)


def _mixed_said(word: str, script: str, odd: re.Pattern[str]) -> Phrase:
    letters = " ".join(dict.fromkeys(odd.findall(word)))
    return phrase(f"reg.value.mixed_{script}", f"the word {word!r} mixes Latin and "
                  f"Cyrillic letters ({script.capitalize()}: {letters}): retype it on "
                  "one keyboard layout", word=word, letters=letters)


_SCRIPTS = (("latin", _LATIN, _LATIN_LOOKALIKES), ("cyrillic", _CYRILLIC, _CYRILLIC_LOOKALIKES))


def lookalike_typed_phrase(value: str) -> Phrase | None:
    """mixed_phrase's finding for a word whose letters of one alphabet are all drawn as
    letters of the other ("іin", "ІD" with a Kazakh І; "ИИH", "ЖCH", "Hoмер" with Latin
    letters): typed, in part, on the other keyboard layout. When both alphabets' letters
    are so drawn, the one of fewer letters is said. A word joining an acronym to a word
    of the other alphabet ("КредитыECTS", "GPAбалл", "КурсPhD"; `_glued_acronym`) is no
    name mistyped, nor is one holding letters of each alphabet drawn in no other
    ("ПәнCode": П, d), and gets None."""
    if not (_LATIN.search(value) and _CYRILLIC.search(value)):
        return None
    for word in WORD.findall(value):
        if not (_LATIN.search(word) and _CYRILLIC.search(word)) or _glued_acronym(word):
            continue
        typed = [(script, pattern) for script, pattern, alike in _SCRIPTS
                 if set(pattern.findall(word)) <= alike]
        if typed:  # both ("Cс"): the alphabet of fewer letters in the word
            return _mixed_said(word, *min(typed, key=lambda one: len(one[1].findall(word))))
    return None


def _glued_acronym(word: str) -> bool:
    """Whether `word` holds a run of one alphabet with two capitals or more beside a small
    letter of the other ("КредитыECTS", "GPAбалл", "КурсPhD"): an acronym written on
    to a word. A capital beside a capital ("ЖCH", "ЕСТS") is no such boundary."""
    def script_of(letter: str) -> str:
        return "latin" if _LATIN.match(letter) else (
            "cyrillic" if _CYRILLIC.match(letter) else "other")

    runs = ["".join(run) for _, run in itertools.groupby(word, key=script_of)]
    for index, run in enumerate(runs):
        if sum(letter.isupper() for letter in run) < 2:
            continue
        before = runs[index - 1][-1] if index > 0 else ""
        after = runs[index + 1][0] if index + 1 < len(runs) else ""
        if before.islower() or after.islower():
            return True
    return False
