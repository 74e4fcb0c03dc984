"""Parts of BENCHMARKS.md that `scripts/bench` keeps when it writes the rest of the file.

Each sits between two markers of its own and is written by its own command
(`scripts/attack --record`, `scripts/bench --only registrar`) or by hand (the sessions'
measurements and what they found), so that a full `scripts/bench` run replaces only its
own tables and never drops what it did not measure.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class KeptSection:
    name: str

    @property
    def start(self) -> str:
        return f"<!-- {self.name}:start -->"

    @property
    def end(self) -> str:
        return f"<!-- {self.name}:end -->"

    def found_in(self, text: str) -> str:
        """This section of `text`, its markers included, or "" if `text` has none."""
        start, end = text.find(self.start), text.find(self.end)
        return text[start:end + len(self.end)] if start != -1 and end > start else ""

    def read_from(self, path: Path) -> str:
        """`found_in` the file at `path` ("" if there is none)."""
        return self.found_in(path.read_text() if path.exists() else "")

    def put_into(self, path: Path, section: str) -> None:
        """Write `section` (its markers included) into `path` in place of this section,
        or at the end of the file if it has none."""
        text = path.read_text() if path.exists() else ""
        old = self.found_in(text)
        path.write_text(text.replace(old, section, 1) if old
                        else text.rstrip("\n") + "\n\n" + section + "\n")


REGISTRAR_EXPORTS = KeptSection("registrar-exports")
ATTACK_LAB = KeptSection("attack-lab")
# What each session measured and found, written by hand between the generated header and
# the generated tables (BENCHMARKS.md's history: the tables hold only the latest run).
MEASURED_BY_HAND = KeptSection("measured-by-hand")
