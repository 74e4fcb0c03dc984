"""What the API answers when the system refuses the node's user a read of the node's own
files while it serves (an operator's chmod or chown of a table file, files another user
owns, a lock): `store_unreadable`, not `store_damaged`. Nothing is damaged, and damage's
cures (another copy, --resync) give no file to this user; the owner or mode does.

LevelDB opens a table file at the first read that needs it, so such a refusal comes long
after the store opened, on whichever request first reads there, and on every later one
that does: the operator hears of it once a file (and again while it lasts: RETOLD_AFTER_S),
not once a request, and of at most TOLD_MAX files in that time, the rest in one line."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from storage.errors import AccessRefused

log = logging.getLogger("senim.api")
V = TypeVar("V")

STORE_UNREADABLE = "store_unreadable"
UNREADABLE_ANSWER = ("this node's own files are not readable by the node's user (their owner "
                     "or mode, or a lock); nothing is damaged; ask another node (its operator "
                     "has been told)")
# What the node's log says of such a refusal, here and in block-sync serving's line.
UNREADABLE_CURE = ("nothing is damaged: the node's files are not readable by the node's user: "
                   "fix their owner or mode (or unlock them)")


# A refusal is said again after this long while it lasts (an operator who missed the line,
# or fixed one file and not another, hears of it again), and at once for another file.
RETOLD_AFTER_S = 600.0
# At most this many files are said (one line each) in RETOLD_AFTER_S, then one line for
# all the others (an operator's chown -R of a store of thousands of tables would otherwise
# be a line a request); as many refusals and refused requests are remembered, no more.
TOLD_MAX = 64


class UnreadableStoreLog:
    """Tells the node's log that its files are refused to it: each refusal (it names the
    file) once, again after RETOLD_AFTER_S if it lasts, and afresh once a request refused
    is answered again (the files were fixed: block-sync serving, too, says a refusal
    afresh after a read succeeds). Past TOLD_MAX
    files in RETOLD_AFTER_S, the others are said together, in one line."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._told: dict[str, float] = {}  # a refusal as said, and when: oldest first
        self._refused: dict[str, None] = {}  # the requests refused since, oldest first
        self._more_told_at: float | None = None  # when the line for all the others was
        self._more_unsaid = 0  # refusals past TOLD_MAX not said, since that line

    def refused(self, method: str, path: str, exc: AccessRefused) -> None:
        request, said, now = f"{method} {path}", str(exc), self._clock()
        _remember(self._refused, request, None)
        told = self._told.get(said)
        if told is not None and now - told < RETOLD_AFTER_S:
            return  # every request that reads there meets it: one line, not a flood
        while self._told and now - next(iter(self._told.values())) >= RETOLD_AFTER_S:
            del self._told[next(iter(self._told))]  # due again anyway
        if len(self._told) >= TOLD_MAX:
            self._tell_of_more(request, now)
            return
        _remember(self._told, said, now)
        log.error("not answering %s, nor any other request that reads this file (said once "
                  "a file and every %d minutes while it lasts; each is counted in "
                  "senim_store_unreadable): %s; %s", request, RETOLD_AFTER_S // 60, exc,
                  UNREADABLE_CURE)

    def _tell_of_more(self, request: str, now: float) -> None:
        self._more_unsaid += 1
        if self._more_told_at is not None and now - self._more_told_at < RETOLD_AFTER_S:
            return
        log.error("not answering %s either, nor others: more than %d of the node's files "
                  "are refused to it within %d minutes, and the rest are not said one by "
                  "one (refusals not said since this line last was: %d; each is counted in "
                  "senim_store_unreadable); %s", request, TOLD_MAX, RETOLD_AFTER_S // 60,
                  self._more_unsaid, UNREADABLE_CURE)
        self._more_told_at, self._more_unsaid = now, 0

    def answered(self, method: str, path: str) -> None:
        """A request answered (2xx or 3xx): one refused before means the files were fixed,
        so a refusal after it is news again."""
        if self._refused and f"{method} {path}" in self._refused:
            log.warning("answering %s %s again: the node's files are readable again",
                        method, path)
            self._told.clear()
            self._refused.clear()
            self._more_told_at, self._more_unsaid = None, 0


def _remember(memory: dict[str, V], key: str, value: V) -> None:
    memory.pop(key, None)  # to the end: the most recent
    memory[key] = value
    while len(memory) > TOLD_MAX:
        del memory[next(iter(memory))]
