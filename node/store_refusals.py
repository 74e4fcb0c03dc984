"""What the API answers when the system refuses the node's user a read of the node's own
files while it serves (an operator's chmod or chown of a table file, files another user
owns, a lock): `store_unreadable`, not `store_damaged`. Nothing is damaged, and damage's
cures (another copy, --resync) give no file to this user; the owner or mode does.

LevelDB opens a table file at the first read that needs it, so such a refusal comes long
after the store opened, on whichever request first reads there, and on every later one
that does: the operator hears of it once, not once a request."""

from __future__ import annotations

import logging

from storage.errors import AccessRefused

log = logging.getLogger("senim.api")

STORE_UNREADABLE = "store_unreadable"
UNREADABLE_ANSWER = ("this node's own files are not readable by the node's user (their owner "
                     "or mode, or a lock); nothing is damaged; ask another node (its operator "
                     "has been told)")


class UnreadableStoreLog:
    """Tells the node's log, once while the node runs, that its files are refused to it."""

    def __init__(self) -> None:
        self._told = False

    def refused(self, method: str, path: str, exc: AccessRefused) -> None:
        if self._told:  # every request that reads there meets it: one line, not a flood
            return
        self._told = True
        log.error("not answering %s %s, nor any other request that reads these files (said "
                  "once; each is counted in senim_store_unreadable): %s; nothing is damaged: "
                  "the node's files are not readable by the node's user: fix their owner or "
                  "mode (or unlock them)", method, path, exc)
