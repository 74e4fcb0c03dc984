"""The store's count of its write batches, kept inside the store and in WRITES_FILE beside
it (storage.kv.LevelDBStore writes both): the file is what tells, at the next opening,
that LevelDB dropped synced batches from a log cut short.

A missing file is said as the loss it is (checked_write_count catches FileNotFoundError:
damage once the store has counted a write, none before); any other OSError of the file
passes, and storage.kv says it as the refusal or damage it is, with the rest of the
store's."""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

from storage.bounded_read import UnfitFile, read_bounded
from storage.errors import CorruptStateError

# Counts the store's write batches, inside the store and in WRITES_FILE beside it.
WRITE_COUNT_KEY = b"\x00senim:kv-writes"
# The count of the last synced batch and its CRC-32. LevelDB drops the tail of a
# log it finds cut short or with a damaged last record as if the writer had
# crashed there, so only this file, kept outside the log, can tell that
# acknowledged blocks were lost.
WRITES_FILE = "SENIM-WRITES"
_WRITES_RECORD = struct.Struct(">QI")
# All it ever holds is one record; a larger file is damaged, and is refused unread
# (a folder, a named pipe or a device in its place too: a pipe was waited on forever).
WRITES_FILE_BYTES_MAX = _WRITES_RECORD.size


def write_count_record(count: int) -> bytes:
    head = count.to_bytes(8, "big")
    return _WRITES_RECORD.pack(count, zlib.crc32(head))


def checked_write_count(folder: Path, raw: bytes | None) -> int:
    """The store's own write count (`raw`, as stored under WRITE_COUNT_KEY), after
    checking against WRITES_FILE in `folder` that it lost no synced batch."""
    stored = 0 if raw is None else int.from_bytes(raw, "big")
    try:
        record = read_bounded(folder / WRITES_FILE, WRITES_FILE_BYTES_MAX,
                              "write count").data
    except FileNotFoundError:
        if stored:
            raise CorruptStateError(
                f"{folder} has lost its {WRITES_FILE} file, which vouches that no "
                "acknowledged write was lost") from None
        return stored
    except UnfitFile as exc:
        raise CorruptStateError(f"{folder / WRITES_FILE} is damaged: it is {exc.fault}; "
                                "it vouches that no acknowledged write was lost") from exc
    if not record and not stored:  # opened before, but closed before its first write
        return 0
    if len(record) != _WRITES_RECORD.size or record != write_count_record(
            _WRITES_RECORD.unpack(record)[0]):
        raise CorruptStateError(f"{folder / WRITES_FILE} is damaged")
    synced = _WRITES_RECORD.unpack(record)[0]
    if stored < synced:
        raise CorruptStateError(
            f"the chain database lost {synced - stored} acknowledged write batches "
            "(its log was cut short or damaged)")
    return stored


def write_count_to(fd: int, count: int, synced: bool) -> None:
    """Write `count` over the record in WRITES_FILE, open as `fd` (`synced`: and sync it)."""
    os.pwrite(fd, write_count_record(count), 0)
    if synced:
        os.fsync(fd)
