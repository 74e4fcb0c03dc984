"""A sentence for the registrar that can be said in Kazakh, Russian or English.

registrar/ knows nothing of the command line or its catalogue (cli/words/): a
problem it finds carries its English sentence, as always, and with it a `Phrase`: the
catalogue key the command line says it by in the registrar's language, and the values
that sentence names (cli/issue_words.py turns it into a cli.spoken.Sentence). English
output stays the sentence written here, so scripts and tests that read it see no change.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Phrase:
    """`key`: the catalogue's key ("reg.iin.digits"); `english`: the sentence as the
    command line says it in English; `params`: the values its placeholders name."""

    key: str
    english: str
    params: tuple[tuple[str, str | int | Phrase], ...] = ()

    def __str__(self) -> str:
        return self.english

    def items(self) -> Iterator[tuple[str, str | int | Phrase]]:
        return iter(self.params)


def phrase(key: str, english: str, **params: str | int | Phrase) -> Phrase:
    return Phrase(key, english, tuple(params.items()))

