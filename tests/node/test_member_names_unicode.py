"""Rules version 14 reads member names alike on every supported Python (3.11-3.13, whose
Unicode databases are 14.0, 15.0 and 15.1). A name holding a character unassigned in the
frozen Unicode 3.2 database (`unicodedata.ucd_3_2_0`) is refused: U+13439, an Egyptian
hieroglyph format control from 15.0, was invisible (Cf) on a 3.12 node and unassigned on
a 3.11 one, which took it; U+1E030, a Cyrillic modifier letter from 15.0, was NFKC-read
as "а" on one and left as it is on the other, so the name index differed. The pins below
hold what Unicode's stability policies promise for the characters of 3.2, for this
Python's database: a later Python breaking them would change which blocks are valid."""

from __future__ import annotations

import unicodedata

import pytest

from cli.language import Words
from cli.refusals import refusal
from ledger.chain import Chain
from ledger.errors import ConfigError
from ledger.genesis import genesis_from_json
from ledger.member_name_index import member_name_keys, name_holder, reading_key
from ledger.member_names_read import (
    _DRAWN_ALIKE,
    _PUNCTUATION,
    DEFAULT_IGNORABLE_NOT_CF,
    INVISIBLE_CATEGORIES,
    invisible_marks,
    readings,
    unassigned_marks,
)
from ledger.payloads import RulesVersionAction
from ledger.rules import load_member
from ledger.rules_version import MEMBER_NAMES_UNIQUE_FROM
from storage.kv import MemoryStore
from tests.node.conftest import admission, admission_action, commit, keys_from, make_tx
from tests.node.test_governance import approve, commit_until, make_council, proposal
from tests.node.test_ledger_refusals import assert_refused

BEFORE = MEMBER_NAMES_UNIQUE_FROM - 1
OLD = unicodedata.ucd_3_2_0
# Each with a character assigned from Unicode 15.0: an Egyptian hieroglyph format control
# (Cf there), a Cyrillic modifier letter (NFKC "а" there), and an emoji (6.0)
NEWER = ["Kaz\U00013439NU", "K\U0001e030zNU", "KazNU \U0001f393"]
HONEST = ["Әл-Фараби атындағы Қазақ ұлттық университеті",
          "Л.Н. Гумилев атындағы Еуразия ұлттық университеті",
          "АО «Казахстанско-Британский технический университет»",
          "Satbayev University", "Qazaq ulttyq universiteti", "KIMEP",
          "№ 12 мектеп-гимназия",
          "ӘәҒғҚқҢңӨөҰұҮүҺһІі", "Ä Ğ Ñ Ö Ş Ü Ū İ ı", "Шығыс “Өркен” — 2 – 3 ’ \"0\"",
          "Российский университет дружбы народов имени Патриса Лумумбы — Ёё"]
# NFKC of a character of 3.2 that Corrigendum #4 (Unicode 4.0.1, before the policy froze
# normalisation in 4.1) changed: 3.2's tables map these otherwise, every later one so.
CORRECTED = {"\U0002f868": "\u36fc", "\U0002f874": "\u5f53", "\U0002f91f": "\U000243ab",
             "\U0002f95f": "\u7aee", "\U0002f9bf": "\u45d7"}
# The characters of 3.2 that str.split() splits at (`spaced` collapses them)
SPACES = frozenset("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003"
                   "\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")


def _assigned() -> list[str]:
    return [chr(i) for i in range(0x110000) if OLD.category(chr(i)) not in ("Cn", "Cs")]


@pytest.mark.parametrize("name", NEWER)
def test_a_name_holding_a_character_newer_than_unicode_3_2_is_refused_under_14(
        name: str) -> None:
    council = make_council(rules_version=MEMBER_NAMES_UNIQUE_FROM)
    chain = Chain(MemoryStore(), council.genesis)
    refused = assert_refused(chain, make_tx(council.ministry, admission(
        keys_from("newer"), name, "university")), "member_name_character")
    assert refused.params == {"name": name, "marks": unassigned_marks(name)}
    assert str(refused.params["marks"]).startswith("U+1")
    assert_refused(chain, proposal(council.ministry, admission_action(
        keys_from("newer"), name, "school"), chain.height + 10, chain.height + 8),
        "member_name_character")
    document = council.genesis.to_json()
    document["members"][3]["name"] = name
    del document["members"][3]["member_id"]
    with pytest.raises(ConfigError) as raised:
        genesis_from_json(document)
    assert raised.value.code == "name_character"
    document["rules_version"] = BEFORE  # an older version's genesis keeps taking it
    genesis_from_json(document)


@pytest.mark.parametrize("name", NEWER)
def test_version_13_takes_it_and_the_upgrade_indexes_it_as_written(name: str) -> None:
    council = make_council(rules_version=BEFORE)
    chain = Chain(MemoryStore(), council.genesis)
    newer = keys_from("newer")
    commit(chain, [make_tx(council.ministry, admission(newer, name, "university"))])
    member = load_member(chain.state, newer.member_id)
    assert member is not None and member.name == name
    # its one reading is its text: what this Python's NFKC and casefold make of a newer
    # character another Python's make otherwise
    assert readings(name) == (name,) and member_name_keys(name) == (reading_key(name),)
    effective = chain.height + 6
    approve(chain, council, RulesVersionAction(MEMBER_NAMES_UNIQUE_FROM), effective)
    commit_until(chain, effective)
    assert name_holder(chain.state, name) == newer.member_id
    assert name_holder(chain.state, name.lower()) is None


def test_honest_names_are_of_unicode_3_2_and_admitted_under_14() -> None:
    council = make_council(rules_version=MEMBER_NAMES_UNIQUE_FROM)
    chain = Chain(MemoryStore(), council.genesis)
    for name in HONEST:
        assert unassigned_marks(name) == invisible_marks(name) == "", name
    admitted = [(keys_from(f"honest{i}"), name) for i, name in enumerate(HONEST)]
    commit(chain, [make_tx(council.ministry, admission(keys, name, "university"))
                   for keys, name in admitted])
    for keys, name in admitted:
        assert name_holder(chain.state, name) == keys.member_id, name
        assert name_holder(chain.state, name.lower()) == keys.member_id, name


def _readings_by_3_2(name: str) -> tuple[str, ...]:
    """`readings` with 3.2's NFKC (str's casefold, stable by policy for 3.2's letters)."""
    def spaced(text: str) -> str:
        return " ".join(OLD.normalize("NFKC", OLD.normalize("NFKC", text).casefold()).split())
    letter = spaced(name)
    eye = spaced(OLD.normalize("NFKC", name.translate(_PUNCTUATION)).translate(_DRAWN_ALIKE))
    return (letter,) if letter == eye else (letter, eye)


@pytest.mark.parametrize("name", [
    *HONEST, "KazNU", "  kaznu ", "K\u0430zNU", "\uff2b\uff41\uff5a\uff2e\uff35",
    "\U0001d40a\U0001d41a\U0001d433\U0001d40d\U0001d414", "ǰ Straße ﬁ", "Ⅻ ㈱ ｶ", "КАЗНУ"])
def test_readings_are_what_unicode_3_2_reads(name: str) -> None:
    assert readings(name) == _readings_by_3_2(name)


def test_nfkc_of_every_character_of_3_2_is_3_2s_or_its_correction() -> None:
    """Normalisation stability (from 4.1): a Python whose NFKC of a character of 3.2
    differs from these reads a name otherwise than every node before it."""
    differ = {c: unicodedata.normalize("NFKC", c) for c in _assigned()
              if unicodedata.normalize("NFKC", c) != OLD.normalize("NFKC", c)}
    assert differ == CORRECTED


def test_the_invisible_characters_and_spaces_of_3_2_are_this_pythons() -> None:
    """Which characters of 3.2 are invisible, and which `spaced` collapses as spaces, is
    what this Python's database says too: 3.2's categories, and the two it gave another
    and the default-ignorable ones they do not mark, listed, decide it on every node."""
    for char in _assigned():
        mine = (unicodedata.category(char) in INVISIBLE_CATEGORIES
                or char in DEFAULT_IGNORABLE_NOT_CF)
        assert bool(invisible_marks(char)) == mine, f"U+{ord(char):04X}"
        assert char.isspace() == (char in SPACES), f"U+{ord(char):04X}"
    assert all(OLD.category(c) not in INVISIBLE_CATEGORIES for c in DEFAULT_IGNORABLE_NOT_CF)


# "KazNU" with a character drawn as nothing that no category of 3.2 marks: combining
# grapheme joiner, Hangul fillers, Khmer inherent vowels, Mongolian and other variation
# selectors, and the braille blank (drawn as a space, not trimmed)
IGNORABLE = ["KazNU\u034f", "Kaz\u115fNU", "Kaz\u1160NU", "Kaz\u17b4NU", "KazNU\u17b5",
             "Kaz\u180bNU", "Kaz\u180cNU", "KazNU\u180d", "Kaz\u3164NU", "Kaz\uffa0NU",
             "KazNU\u2800", *(f"KazNU{chr(c)}" for c in range(0xFE00, 0xFE10))]


@pytest.mark.parametrize("name", IGNORABLE)
def test_a_default_ignorable_character_is_refused_under_14_and_taken_under_13(
        name: str) -> None:
    council = make_council(rules_version=MEMBER_NAMES_UNIQUE_FROM)
    chain = Chain(MemoryStore(), council.genesis)
    refused = assert_refused(chain, make_tx(council.ministry, admission(
        keys_from("ignorable"), name, "university")), "member_name_invisible")
    (hidden,) = set(name) - set("KazNU")
    assert refused.params["marks"] == f"U+{ord(hidden):04X}"
    older = make_council(rules_version=BEFORE)
    chain = Chain(MemoryStore(), older.genesis)
    taken = keys_from("ignorable")
    commit(chain, [make_tx(older.ministry, admission(taken, name, "university"))])
    member = load_member(chain.state, taken.member_id)
    assert member is not None and member.name == name


@pytest.mark.parametrize("lang", ["kk", "ru"])
def test_the_refusal_is_said_naming_the_character(lang: str) -> None:
    said = refusal("member_name_character", "english",
                   {"name": NEWER[1], "marks": "U+1E030"}).said(Words(lang))
    assert "U+1E030" in said and "english" not in said, said
