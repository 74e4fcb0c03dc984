"""A LevelDB handle whose reads the system refuses, as LevelDB words it: LevelDB opens a
table file at the first read that needs it, so a file this user may not read (or one that
is locked) is refused then, long after the store opened."""

from __future__ import annotations

from typing import Any

import plyvel
import pytest

from storage.kv import WRITE_COUNT_KEY


class ReadsRefused:
    """`db`, but each read raises `error(reason)`; `spared` keys are read as before."""

    def __init__(self, db: Any, reason: bytes, error: type[plyvel.Error] = plyvel.IOError,
                 spared: frozenset[bytes] = frozenset()) -> None:
        self._db, self._reason, self._error, self._spared = db, reason, error, spared

    def get(self, key: bytes, *args: Any, **kwargs: Any) -> bytes | None:
        if key in self._spared:
            value: bytes | None = self._db.get(key, *args, **kwargs)
            return value
        raise self._error(self._reason)

    def iterator(self, *args: Any, **kwargs: Any) -> Any:
        raise self._error(self._reason)

    def snapshot(self) -> ReadsRefused:
        return ReadsRefused(self._db.snapshot(), self._reason, self._error, self._spared)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._db, name)


def refuse_reads(monkeypatch: pytest.MonkeyPatch, reason: bytes,
                 after_opening: bool = True) -> None:
    """Every store opened from now on is refused its reads; `after_opening`, all but the
    one the opening makes (its write count), so the store opens and is refused later."""
    opened = plyvel.DB
    spared = frozenset({WRITE_COUNT_KEY}) if after_opening else frozenset()

    def refusing(*args: Any, **kwargs: Any) -> ReadsRefused:
        return ReadsRefused(opened(*args, **kwargs), reason, spared=spared)

    monkeypatch.setattr(plyvel, "DB", refusing)
