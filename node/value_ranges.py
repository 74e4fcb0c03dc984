"""The state's values asked of several peers at once, each peer a range of keys.

A values question names a key and asks for the values after it, in key order
(`node.state_wire`); the joiner knows its tree's leaves, but a leaf holds a key's hash,
not the key, so where the keys lie is not known in advance. So the key space is cut as
the copy goes: one range at first, and while more questions may be open than there are
ranges to ask, a range is cut in two, the first half keeping its open question. Keys
come in kinds that share a long prefix (a credential batch's: `b:`, its issuer's id, then
a hash), so a range's last answer shows where its keys vary: past the prefix its first and
last key share. A range reaching past that prefix's keys is cut where they end; else
the widest range (by its keys' leading KEY_SPLIT_BYTES) is cut at its middle, where
hashes spread evenly. Cutting the whole key space by halves instead asked about
300 answers more for a million batches, most of them for keys nobody holds, each
answered with keys another range's answer brought too.

A range is the keys after `after` up to and including `end` (None: to the last). An
answer for the keys after A that brought keys up to L (or to the last, if it says its
scan is over) covers every range within A to L: those are done, and one that begins in
it and has no question open goes on from L. An answer may so run past its range's end:
every value is still checked against its leaf (`storage.state_transfer`), and one
already in is passed over. A range is cut only while more values are missing than the
ranges' next answers would bring, so the last few values are not cut for. That every
value arrived is checked once all ranges are done (`StateImport.missing_values`), as
with one range: a peer that left values out, or said "done" early, is found then.
"""

from __future__ import annotations

from dataclasses import dataclass

from node.state_wire import VALUE_RANGES_MAX

# Leading bytes of keys compared when a range is cut: the longest kind prefix (`b:` and
# an issuer's 32-byte id) and 6 bytes of the hash after it, far finer than any cut needs.
KEY_SPLIT_BYTES = 40
_KEY_SPACE_END = 1 << (8 * KEY_SPLIT_BYTES)


@dataclass(eq=False)  # each range is itself: two may hold the same keys for a moment
class ValueRange:
    after: bytes  # the values after this key are still to come (b"": from the first)
    end: bytes | None  # the range's last key; None: the last there is
    asked: bool = False  # a question for it is open
    kind: bytes = b""  # the prefix its last answer's first and last keys shared


class ValueRanges:
    """The ranges of one pass over the values; at most VALUE_RANGES_MAX."""

    def __init__(self) -> None:
        self._ranges: list[ValueRange] = [ValueRange(b"", None)]

    @property
    def done(self) -> bool:
        return not self._ranges

    def __len__(self) -> int:
        return len(self._ranges)

    def to_ask(self, values_missing: int, values_per_answer: int) -> ValueRange | None:
        """A range to ask for now: one with no question open, else a cut of one range
        (where its kind's keys end, if one reaches past them, else the widest at its
        middle) if more than `values_per_answer` values for each range are
        `values_missing`; None if there is none."""
        for value_range in self._ranges:
            if not value_range.asked:
                value_range.asked = True
                return value_range
        if (not self._ranges or len(self._ranges) >= VALUE_RANGES_MAX
                or values_missing <= values_per_answer * len(self._ranges)):
            return None
        cut_at = [(r, _kind_end(r)) for r in self._ranges]
        cut_from, middle = next(((r, end) for r, end in cut_at if end is not None),
                                (max(self._ranges, key=_width), None))
        middle = middle or _middle(cut_from)
        if middle is None:
            return None
        kind = b"" if middle.startswith(cut_from.kind + b"\xff") else cut_from.kind
        cut = ValueRange(middle, cut_from.end, asked=True, kind=kind)
        cut_from.end = middle
        self._ranges.insert(self._ranges.index(cut_from) + 1, cut)
        return cut

    def answered(self, value_range: ValueRange, keys: tuple[bytes, bytes] | None,
                 scan_over: bool) -> None:
        """An answer for `value_range` checked out: it brought the values after its
        `after` from the first to the last of `keys` (None: none), and `scan_over` if
        the serving peer's scan reached the last key."""
        value_range.asked = False
        last_key = None if keys is None else keys[1]
        if keys is not None and keys[0] != keys[1]:
            value_range.kind = _shared_prefix(*keys)
        start = value_range.after
        reached = value_range.after if last_key is None else max(value_range.after, last_key)
        kept = []
        for other in self._ranges:
            if other.after < start or (other.after >= reached and not scan_over):
                kept.append(other)  # begins outside what the answer covered
            elif not scan_over and (other.end is None or other.end > reached):
                if not other.asked:  # covered in part: goes on from there
                    other.after = reached
                kept.append(other)
        self._ranges = kept

    @staticmethod
    def given_back(value_range: ValueRange) -> None:
        """Its question went unanswered or its answer did not check: ask it again."""
        value_range.asked = False


def _shared_prefix(first: bytes, last: bytes) -> bytes:
    length = 0
    while length < min(len(first), len(last)) and first[length] == last[length]:
        length += 1
    return first[:length]


def _kind_end(value_range: ValueRange) -> bytes | None:
    """A key past every key of the range's kind, if the range reaches beyond them."""
    kind = value_range.kind
    end = kind + b"\xff" * KEY_SPLIT_BYTES
    if not kind or not value_range.after.startswith(kind) or value_range.after >= end:
        return None
    if value_range.end is not None and value_range.end <= end:
        return None
    return end


def _fraction(key: bytes) -> int:
    """Where `key` lies in the key space, by its leading KEY_SPLIT_BYTES."""
    return int.from_bytes(key[:KEY_SPLIT_BYTES].ljust(KEY_SPLIT_BYTES, b"\0"), "big")


def _width(value_range: ValueRange) -> int:
    end = _KEY_SPACE_END if value_range.end is None else _fraction(value_range.end)
    return end - _fraction(value_range.after)


def _middle(value_range: ValueRange) -> bytes | None:
    """A key strictly between the range's `after` and `end`, near the middle; None if
    their leading bytes leave no room."""
    if _width(value_range) < 2:
        return None
    middle = _fraction(value_range.after) + _width(value_range) // 2
    # Trailing zero bytes dropped: the shorter key sorts the same against every other
    return middle.to_bytes(KEY_SPLIT_BYTES, "big").rstrip(b"\0")
