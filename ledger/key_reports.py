"""Reports of a stolen key: each kept with the height it was made at and, from rules
version 9, the key that signed it, so that a report counts only while that key was
trusted when it was made.

A member reports an earlier key stolen with its current key. A thief holding a copy of
that current key can report an older, honest key stolen from block 1 too, and every grant
and batch of the honest key is doubted. Once the member moves to a new key and reports
the copied one stolen from the theft on, the thief's report was signed with a key
distrusted at its height, and counts for nothing: the member recovers on its own, without
a governance replacement (whose single height would distrust the member's new, honest key
as well).

A report only ever reports a key older than the one that signs it (the current key cannot
be reported), so a history settles from its newest key to its oldest in one pass.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

from ledger.errors import MalformedInput

# Reports kept per key; past this many the member asks governance instead (a thief could
# otherwise grow a member's history record without end).
MAX_REPORTS_PER_KEY = 8
PUBLIC_KEY_BYTES = 32


class KeyReport(NamedTuple):
    """A key reported stolen at `reported_at`, distrusted from `from_height`. `signer`: the
    key that signed the report (rules version 9); None for one recorded before, or for a
    height set otherwise (stored as reported at 0), which always counts."""

    reported_at: int
    from_height: int
    signer: bytes | None = None

    def to_array(self) -> list[Any]:
        fields: list[Any] = [self.reported_at, self.from_height]
        if self.signer is not None:  # a report without one encodes as before version 9
            fields.append(self.signer)
        return fields

    @classmethod
    def from_array(cls, value: Any) -> KeyReport:
        if not (isinstance(value, list) and len(value) in (2, 3)
                and all(isinstance(h, int) for h in value[:2])
                and (len(value) == 2 or (isinstance(value[2], bytes)
                                         and len(value[2]) == PUBLIC_KEY_BYTES))):
            raise MalformedInput("stored key report is malformed")
        return cls(value[0], value[1], value[2] if len(value) == 3 else None)


def counted_from(reports: Iterable[KeyReport],
                 trusted_at: Callable[[bytes, int], bool]) -> int | None:
    """The height `reports` distrust their key from: the earliest among those that count,
    a report counting unless `trusted_at(signer, reported_at)` says its signer was
    distrusted when it was made. None when none counts."""
    return min((r.from_height for r in reports
                if r.signer is None or trusted_at(r.signer, r.reported_at)), default=None)
