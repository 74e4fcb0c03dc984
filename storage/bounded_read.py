"""A file's bytes read within a named limit, refusing what is no regular file.

Here rather than in `node.files` (which re-exports it) because the store reads a file of
its own at open (`storage.write_count.WRITES_FILE`) and `storage` imports nothing of `node`.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path


class UnfitFile(ValueError):
    """A file refused unread: not a regular file, or larger than its limit. `fault` says
    what is wrong with it in a few words ('a named pipe, not a regular file'), for a
    caller whose own sentence names the file otherwise; `too_large` which of the two it
    is, for a caller that says it in another language."""

    def __init__(self, message: str, fault: str, too_large: bool) -> None:
        super().__init__(message)
        self.fault = fault
        self.too_large = too_large


@dataclass(frozen=True)
class FileRead:
    data: bytes
    status: os.stat_result  # of the file read (not of whatever its path names later)


def read_bounded(path: Path, limit: int, what: str) -> FileRead:
    """The bytes of the regular file `path` if it holds at most `limit` (`what` names it in
    the refusal): at most limit + 1 bytes are read, so a file that grows while read, or
    reports no size (as /proc's do), is refused too. OSError as `open` raises it."""
    # O_NONBLOCK: opening a named pipe for reading waits for a writer, forever if none
    # comes; its type is refused before anything is read (a regular file ignores the flag).
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    try:
        status = os.fstat(fd)
        if not stat.S_ISREG(status.st_mode):
            raise UnfitFile(not_regular(path, status.st_mode, what),
                            f"{file_kind(status.st_mode)}, not a regular file", False)
        if status.st_size > limit:
            raise UnfitFile(_too_large(path, what, limit, status.st_size),
                            f"larger than a {what} may be ({limit:,} bytes at most)", True)
        chunks: list[bytes] = []
        left = limit + 1
        while left > 0:
            chunk = os.read(fd, left)
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        if left <= 0:
            raise UnfitFile(_too_large(path, what, limit, None),
                            f"larger than a {what} may be ({limit:,} bytes at most)", True)
        return FileRead(b"".join(chunks), status)
    finally:
        os.close(fd)


def not_regular(path: Path, mode: int, what: str) -> str:
    """Why a path whose file has `mode` (no regular file) is refused as the `what`."""
    return f"{path} is {file_kind(mode)}, not a regular file; give the path of the {what} itself"


def _too_large(path: Path, what: str, limit: int, size: int | None) -> str:
    """`size`: what the file says it holds, None when it said less than was read."""
    held = "" if size is None else f" {size:,} bytes,"
    return (f"{path} holds{held} more than a {what} may ({limit:,} bytes at most): is it "
            "the right file?")


def file_kind(mode: int) -> str:
    """What a file of `mode` is, in words ('a named pipe')."""
    for test, name in ((stat.S_ISDIR, "a folder"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISFIFO, "a named pipe"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "no regular file"
