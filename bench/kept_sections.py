"""Parts of BENCHMARKS.md that `scripts/bench` keeps when it writes the rest of the file.

Each sits between two markers of its own and is written by its own command
(`scripts/attack --record`, `scripts/bench --only registrar`) or by hand (the sessions'
measurements and what they found), so that a full `scripts/bench` run replaces only its
own tables and never drops what it did not measure.

A marker counts only on a line of its own, so a section's prose may quote another's
marker. A start marker with no end marker after it is an error, not a section that is
absent: writing the file then would drop everything after that start.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path


class BrokenMarkers(ValueError):
    """A kept section's start marker has no end marker after it, or two kept sections overlap."""


@dataclass(frozen=True)
class KeptSection:
    name: str

    @property
    def start(self) -> str:
        return f"<!-- {self.name}:start -->"

    @property
    def end(self) -> str:
        return f"<!-- {self.name}:end -->"

    def span(self, text: str) -> tuple[int, int] | None:
        """Where this section lies in `text`, its markers included; None if `text` has no
        start marker. BrokenMarkers if it has one with no end marker after it."""
        start = _line(self.start).search(text)
        if start is None:
            return None
        end = _line(self.end).search(text, start.end())
        if end is None:
            raise BrokenMarkers(f"{self.start} has no {self.end} on a line of its own after it")
        return start.start(), end.end()

    def found_in(self, text: str) -> str:
        """This section of `text`, its markers included, or "" if `text` has none."""
        where = self.span(text)
        return "" if where is None else text[where[0]:where[1]]

    def read_from(self, path: Path) -> str:
        """`found_in` the file at `path` ("" if there is none)."""
        return self.found_in(path.read_text() if path.exists() else "")

    def put_into(self, path: Path, section: str) -> None:
        """Write `section` (its markers included) into `path` in place of this section,
        or at the end of the file if it has none. BrokenMarkers, writing nothing, if any
        kept section's markers in `path` are broken."""
        text = path.read_text() if path.exists() else ""
        sections_in(text, KEPT_SECTIONS)
        where = self.span(text)
        replace_text(path, text[:where[0]] + section + text[where[1]:] if where is not None
                     else text.rstrip("\n") + "\n\n" + section + "\n")


def sections_in(text: str, sections: tuple[KeptSection, ...]) -> list[str]:
    """Each of `sections` as `text` holds it ("" if it holds none), in the order given.
    BrokenMarkers if any one's markers are broken or two of them overlap: what a writer
    keeps from `text` would then hold a section twice, or lose part of one."""
    spans = sorted((where, section.name) for section in sections
                   if (where := section.span(text)) is not None)
    for (first, name), (second, other) in pairwise(spans):
        if second[0] < first[1]:
            raise BrokenMarkers(f"the {name} and {other} sections overlap")
    return [section.found_in(text) for section in sections]


def kept_in(path: Path) -> list[str]:
    """`sections_in` the file at `path`, every kept section in KEPT_SECTIONS' order: a
    writer's check of the file's markers before minutes of measuring, and what it keeps."""
    return sections_in(path.read_text() if path.exists() else "", KEPT_SECTIONS)


def replace_text(path: Path, text: str) -> None:
    """Write `path` whole or not at all: a run stopped while writing leaves the old file
    (and its history written by hand), not half of the new one."""
    spare = path.with_name(f".{path.name}.tmp")
    try:
        spare.write_text(text)
    except BaseException:  # a full disk: the old file stands, and no spare is left beside it
        spare.unlink(missing_ok=True)
        raise
    os.replace(spare, path)


def _line(marker: str) -> re.Pattern[str]:
    return re.compile(rf"^{re.escape(marker)}[ \t]*$", re.MULTILINE)


REGISTRAR_EXPORTS = KeptSection("registrar-exports")
ATTACK_LAB = KeptSection("attack-lab")
# What each session measured and found, written by hand after the generated tables
# (BENCHMARKS.md's history: the tables hold only the latest full run).
MEASURED_BY_HAND = KeptSection("measured-by-hand")
KEPT_SECTIONS = (MEASURED_BY_HAND, REGISTRAR_EXPORTS, ATTACK_LAB)  # as a full run orders them
