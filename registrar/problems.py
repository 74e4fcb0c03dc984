"""What goes wrong in an export, said by row and column as the registrar sees them."""

from __future__ import annotations

from dataclasses import dataclass, field

from registrar.phrases import Phrase, phrase

# A file with thousands of faults needs fixing at the source, not a longer list.
MAX_PROBLEMS = 1000


@dataclass(frozen=True)
class Problem:
    """`row` counts as a spreadsheet does (header = row 1) or, for JSON, the item's
    position in the list starting at 1; None when the fault is the whole file's."""

    row: int | None
    column: str | None
    code: str
    message: str
    # the message as the command line says it in the registrar's language (None: said
    # in English in every language)
    said: Phrase | None = field(default=None, compare=False)

    def __str__(self) -> str:
        where = []
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        place = ", ".join(where) if where else "file"
        return f"{place}: {self.message} [{self.code}]"


class ProblemList:
    """Collects problems up to MAX_PROBLEMS, then only counts them; the code of every
    problem, listed or not, is kept (a set bounded by the fixed codes problems are given,
    a few dozen), so that what the file's problems are can be judged past the list."""

    def __init__(self, limit: int = MAX_PROBLEMS) -> None:
        self._items: list[Problem] = []
        self._limit = limit
        self.unlisted = 0
        self.codes: set[str] = set()  # of every problem, listed or not

    def add(self, row: int | None, column: str | None, code: str, message: str | Phrase
            ) -> None:
        self.codes.add(code)
        if len(self._items) < self._limit:
            said = message if isinstance(message, Phrase) else None
            self._items.append(Problem(row, column, code, str(message), said))
        else:
            self.unlisted += 1

    def lead_instead_of(self, codes: set[str], row: int | None, column: str | None, code: str,
                        message: str | Phrase) -> None:
        """A problem put first, in place of the listed ones of `codes`: a finding that
        makes them beside the point (they are not counted, and their codes are kept only
        while more problems went unlisted, whose codes are not known)."""
        kept = [item for item in self._items if item.code not in codes]
        if not self.unlisted:
            self.codes -= codes
        self._items = []
        self.add(row, column, code, message)
        self._items.extend(kept[:self._limit - 1])
        self.unlisted += len(kept) - len(self._items) + 1

    def __bool__(self) -> bool:
        return bool(self._items)

    @property
    def count(self) -> int:
        """Every problem found, listed or not."""
        return len(self._items) + self.unlisted

    def result(self) -> list[Problem]:
        items = list(self._items)
        if self.unlisted:
            english = f"{self.unlisted} more problems not listed"
            items.append(Problem(None, None, "too-many-problems", english,
                                 phrase("reg.too_many", english, count=self.unlisted)))
        return items
