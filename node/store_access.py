"""Whether the node's user may use each file of its chain store and the mark of what it
signed, checked before anything is opened (node.start_checks, senim fsck).

Files another user owns (the node started once as root, say) or whose mode was changed
were found only once the node used them: LevelDB's opening had already rotated its LOG and
written a new MANIFEST, or the store was open when the mark refused, in a traceback. Asked
first, they are the AccessRefused such a refusal is anyway (exit 74, one line with the
cure: node.store_failures), naming the file, its owner and mode and the node's user, and
nothing on disk has changed."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from node.files import account
from node.signed_mark import SIGNED_MARK_NAME
from storage.errors import AccessRefused
from storage.kv import WRITES_FILE, refusal

# LevelDB's own diary of what it did: renamed and written anew at each opening (the folder's
# write permission does), never read.
_UNREAD = frozenset({"LOG", "LOG.old"})
# Written in place (the write count) or locked for writing (LOCK), not made anew.
_WRITTEN = frozenset({WRITES_FILE, "LOCK"})
_USE = {os.R_OK: "a read", os.R_OK | os.W_OK: "a read and write"}


def check_store_access(data_dir: Path, store: Path | None, mark_written: bool = True
                       ) -> None:
    """AccessRefused naming the mark in `data_dir`, or the first file of `store`, that this
    user may not use as the node will (`mark_written`: the node writes the mark; senim
    fsck only reads it)."""
    _check(data_dir / SIGNED_MARK_NAME, os.R_OK | os.W_OK if mark_written else os.R_OK)
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
        if name not in _UNREAD:
            _check(store / name, os.R_OK | os.W_OK if name in _WRITTEN else os.R_OK)


def _check(path: Path, mode: int) -> None:
    try:
        status = os.stat(path)
    except OSError:  # none yet (the mark, made at start), or gone since listed
        return
    if not stat.S_ISREG(status.st_mode) or _allowed(path, mode):
        return  # what is no regular file the store's opening refuses in its own words
    me, bits = os.geteuid(), status.st_mode & 0o7777
    if status.st_uid == me and _owner_may(bits, mode):  # its mode allows: a flag, a policy
        raise AccessRefused(f"the system refuses this user {_USE[mode]} of {path}: "
                            f"{os.strerror(errno.EPERM)} (its mode, {bits:04o}, allows "
                            "it: it is locked, by an immutable flag or a security policy)")
    raise AccessRefused(f"the system refuses this user {_USE[mode]} of {path}: "
                        f"{os.strerror(errno.EACCES)} (owner {account(status.st_uid)}, "
                        f"mode {bits:04o}; this user is {account(me)})")


def _allowed(path: Path, mode: int) -> bool:
    if os.access in os.supports_effective_ids:
        return os.access(path, mode, effective_ids=True)
    return os.access(path, mode)


def _owner_may(bits: int, mode: int) -> bool:
    return bool(bits & stat.S_IRUSR) and (not mode & os.W_OK or bool(bits & stat.S_IWUSR))
