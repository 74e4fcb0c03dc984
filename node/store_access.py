"""Whether the node's user may use each file of its chain store and the mark of what it
signed, checked before anything is opened (node.start_checks, senim fsck).

Files another user owns (the node started once as root, say) or whose mode was changed
were found only once the node used them: LevelDB's opening had already rotated its LOG and
written a new MANIFEST, or the store was open when the mark refused, in a traceback. Asked
first, they are the AccessRefused such a refusal is anyway (exit 74, one line with the
cure: node.store_failures), naming the file, its owner and mode and the node's user, and
nothing on disk has changed.

A file the node writes in place is opened for writing (and closed, changing nothing), not
only asked of os.access: an append-only flag refuses that opening but not access(2), and the
errno of the opening tells a read-only disk (EROFS, said where the lock is taken, as
ever: start_checks.refuse_store_in_use) from a refusal to this user (EACCES, EPERM). A
refusal is said by the file's owner and mode when its mode refuses this user, else as a
lock (a flag or a security policy), whichever errno the system gave."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ledger.errors import ConfigError
from node.files import account
from node.signed_mark import SIGNED_MARK_NAME
from storage.bounded_read import file_kind
from storage.errors import AccessRefused
from storage.kv import ACCESS_ERRNOS, WRITES_FILE, refusal

# Not asked here: LevelDB's own diary of what it did (LOG, LOG.old), renamed and written
# anew at each opening (the folder's write permission does), never read; and LOCK, opened
# for writing next, where the lock is taken (start_checks.refuse_store_in_use), which says
# its refusal in the same words. Opened and closed here, it would drop an fcntl lock this
# process held on it (any descriptor's close does).
_NOT_ASKED = frozenset({"LOG", "LOG.old", "LOCK"})
# Written in place (the write count), not made anew.
_WRITTEN = frozenset({WRITES_FILE})
# ConfigError's code for a mark that is no regular file (senim fsck words it)
MARK_NOT_A_FILE = "mark_not_a_file"


class FileRefused(AccessRefused):
    """One file refused to this user, with what its line names kept apart, so that
    senim fsck can say it in the operator's language: the use refused ('read' or 'read
    and write'), the file, and either its owner and mode and this user, when the mode
    refuses the use (`locked` False), or its mode only, which allows the use (`locked`:
    a flag or a security policy refused)."""

    def __init__(self, path: Path, written: bool, code: int, status: os.stat_result) -> None:
        self.path, self.written = path, written
        self.mode = status.st_mode & 0o7777
        self.owner, self.user = account(status.st_uid), account(os.geteuid())
        # Said by its mode whatever the errno: an immutable file whose mode refuses too is
        # the mode's to fix first, and a security policy's EACCES is no owner's or mode's.
        self.locked = _mode_grants(status, written)
        use = "a read and write" if written else "a read"
        if self.locked:
            held = (f"its mode, {self.mode:04o}, allows it: it is locked, by an immutable or "
                    "append-only flag or a security policy")
        else:
            held = f"owner {self.owner}, mode {self.mode:04o}; this user is {self.user}"
        super().__init__(f"the system refuses this user {use} of {path}: "
                         f"{os.strerror(code)} ({held})")


def check_store_access(data_dir: Path, store: Path | None, mark_written: bool = True
                       ) -> None:
    """AccessRefused naming the mark in `data_dir`, or the first file of `store`, that this
    user may not use as the node will (`mark_written`: the node writes the mark; senim
    fsck only reads it); ConfigError (MARK_NOT_A_FILE) for a mark that is no file."""
    _check_mark_kind(data_dir / SIGNED_MARK_NAME)
    _check(data_dir / SIGNED_MARK_NAME, mark_written)
    if store is None:
        return
    try:
        names = sorted(os.listdir(store))
    except OSError as exc:  # none yet (made at start), or one its opening refuses in words
        refused = refusal(f"a read of {store}", str(exc.strerror or exc), exc.errno)
        if isinstance(refused, AccessRefused):  # its folder's own mode
            raise refused from exc
        return
    for name in names:
        if name not in _NOT_ASKED:
            _check(store / name, name in _WRITTEN)


def access_refused(path: Path, written: bool, exc: OSError) -> FileRefused | None:
    """The refusal `exc` of an opening of `path` (for writing too: `written`) in words
    naming its owner and mode; None if it is no refusal of this user's access (a read-only
    disk, a file gone)."""
    if exc.errno not in ACCESS_ERRNOS:
        return None
    try:
        status = os.stat(path)
    except OSError:
        return None
    return FileRefused(path, written, exc.errno, status)


def _check(path: Path, written: bool) -> None:
    if not written and _readable(path):
        return  # nearly every file: one call (a store holds thousands of tables)
    try:
        status = os.stat(path)
    except OSError:  # none yet (the mark, made at start), or gone since listed
        return
    if not stat.S_ISREG(status.st_mode):
        return  # a store file (the mark's kind is asked first): LevelDB's opening says it
    try:
        # never waiting: a file swapped for a FIFO since its stat would hold the start
        os.close(os.open(path, (os.O_RDWR if written else os.O_RDONLY) | os.O_CLOEXEC
                         | os.O_NONBLOCK | os.O_NOCTTY))
    except OSError as exc:
        refused = access_refused(path, written, exc)
        if refused is not None:
            raise refused from exc


def _check_mark_kind(path: Path) -> None:
    """A mark that is no regular file (a folder) is refused: its opening failed, and was
    said as the chain database damaged (--resync: a traceback)."""
    try:
        status = os.stat(path)
    except OSError:  # none yet: made at start
        return
    if not stat.S_ISREG(status.st_mode):
        raise ConfigError("node.data_dir", f"{path}, which records what this validator last "
                          f"signed, is {file_kind(status.st_mode)}, not a file: move it away "
                          "(the node writes the file anew from its chain store)",
                          MARK_NOT_A_FILE, path=str(path), mode=status.st_mode)


def _mode_grants(status: os.stat_result, written: bool) -> bool:
    """Whether the owner, group or other bits that apply to this user grant it the use."""
    if status.st_uid == os.geteuid():
        read, write = stat.S_IRUSR, stat.S_IWUSR
    elif status.st_gid == os.getegid() or status.st_gid in os.getgroups():
        read, write = stat.S_IRGRP, stat.S_IWGRP
    else:
        read, write = stat.S_IROTH, stat.S_IWOTH
    needed = read | (write if written else 0)
    return status.st_mode & needed == needed


def _readable(path: Path) -> bool:
    if os.access in os.supports_effective_ids:
        return os.access(path, os.R_OK, effective_ids=True)
    return os.access(path, os.R_OK)
