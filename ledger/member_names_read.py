"""A member's name as a reader takes it: the one definition, for the ledger and the CLI.

`as_read` decides which names are one name: from rules version 14
(`ledger.rules_version.MEMBER_NAMES_UNIQUE_FROM`) the ledger refuses a new member whose
name reads as a member's (`ledger.member_name_index`), and keeps an index keyed by it.
Changing what it returns for any name (a letter added to the map, another
normalisation) changes which blocks are valid and the state root of every chain under
that version: it is frozen per rules version, and a change needs a new one (with this
function kept for the versions before it). The CLI compares names with it too
(`cli.member_names`), so that `senim add-member` refuses before signing what the ledger
would refuse.

Pure: no IO.
"""

from __future__ import annotations

import unicodedata


def spaced(name: str) -> str:
    """`name` as read: composed (NFC), case folded, spaces trimmed and each run of them
    one space."""
    return " ".join(unicodedata.normalize("NFC", name).split()).casefold()


# Letters of Cyrillic and Greek drawn as a Latin letter is (each case its own: Cyrillic
# lower "н" looks like no "h"), for telling names that read alike but match nowhere: a
# ministry admitting "Каѕрі" (all Cyrillic) beside "Kaspi", or "ΕΝU" (Greek) beside "ENU".
_DRAWN_AS_LATIN = str.maketrans(
    "АВЕКМНОРСТУХІЈЅаеорсухіјѕһԁ" "ΑΒΕΖΗΙΚΜΝΟΡΤΥΧοκρ",
    "ABEKMHOPCTYXIJSaeopcyxijshd" "ABEZHIKMNOPTYXokp")


def as_read(name: str) -> str:
    """`name` as an eye reads it: each letter drawn as a Latin one taken for it, then as
    `spaced` reads it."""
    return spaced(unicodedata.normalize("NFC", name).translate(_DRAWN_AS_LATIN))
