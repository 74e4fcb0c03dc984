"""How a node whose chain store failed says so in its last line, and its exit code; and
the exit code of a node that stopped for an upgrade (`ledger.rules_version`)."""

from __future__ import annotations

import logging

from node.config import NodeConfig
from node.signed_mark import SignedMarkDamaged, SignedMarkUnusable
from storage.errors import AccessRefused, DiskRefused, StorageError

log = logging.getLogger("senim.daemon")

EXIT_DAMAGED = 3
EXIT_DISK_REFUSED = 74  # EX_IOERR: the disk refused a read or write; nothing is damaged
# The next block is under a rules version this release does not know: nothing is wrong
# with the store or the chain, and the same binary would stop at the same block again.
EXIT_UPGRADE_NEEDED = 5


class StoppedForUpgrade(Exception):
    """The engine stopped before a block it cannot judge; its last line said which, at
    which height, and that the operator must upgrade."""


class StoppedByStore(Exception):
    """The store failed after the node started: damage found, or a write the disk refused."""

    def __init__(self, cause: StorageError) -> None:
        super().__init__(str(cause))
        self.cause = cause


def store_failed(when: str, exc: StorageError, config: NodeConfig) -> int:
    """Log the last line of a node whose store failed ("cannot start" or "stopped") and
    return its exit code: a full or read-only disk is no damage, nor are files that are not
    this user's or are locked, and moving the store aside (--resync) would help neither."""
    if isinstance(exc, AccessRefused):  # free space would not help: the files' owner would
        log.error("%s: %s; nothing is damaged: the files of %s are not this user's to read or "
                  "write, or are locked: start the node as the user that owns them, or fix "
                  "their owner or mode, or unlock them, then start it again", when, exc,
                  config.data_dir)
        return EXIT_DISK_REFUSED
    if isinstance(exc, DiskRefused):
        log.error("%s: %s; nothing is damaged: free space on that disk (or make %s "
                  "writable again), then start the node again", when, exc, config.data_dir)
        return EXIT_DISK_REFUSED
    if isinstance(exc, SignedMarkDamaged):  # beside the chain database, not in it
        log.error("%s: %s", when, exc)
        return EXIT_DAMAGED
    if isinstance(exc, SignedMarkUnusable):  # a disk that fails under it (EIO): not the chain store
        log.error("%s: %s; check that disk, then start the node again", when, exc)
        return EXIT_DISK_REFUSED
    log.error("%s: the chain database is damaged: %s", when, exc)
    return EXIT_DAMAGED
