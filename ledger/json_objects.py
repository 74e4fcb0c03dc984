"""JSON read as its reader sees it: an object that gives one key twice is refused.

Python's `json` (and a browser's JSON.parse) keeps the last of two values of one key; a
person reading the file, or a program of another kind, sees the first. A credential whose
"gpa" was given as "4.00" and then as the issued "3.70" verified as genuine and showed
3.70, while the file opened in an editor read 4.00 first.
"""

from __future__ import annotations

import json
from typing import Any


class DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(f"the key {key[:60]!r} is given twice in one object: a reader of "
                         "the text sees one value, a program another")
        self.key = key


def unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """`object_pairs_hook` for json.loads: DuplicateKey for a key given twice."""
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise DuplicateKey(key)
            seen.add(key)
    return obj


def loads(text: str | bytes) -> Any:
    """`json.loads`, refusing an object that gives one key twice (DuplicateKey)."""
    return json.loads(text, object_pairs_hook=unique_keys)
