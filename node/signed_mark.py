"""What this validator last signed, kept beside its chain store rather than in it.

The replica's safety state (what it voted for at the height under way, and in which
view) is written in the chain store, in the same batch as each block. A store put back
from an older copy, or set aside by `senim node --resync`, took that memory with it: a
validator restarted so, at a height the network was still deciding, proposed another
block in the view it had proposed in, and its peers recorded evidence of equivocation
against its ministry. So each safety state written to the store is also written here,
in the data directory, which neither a copy of the store nor a resync touches; the node
starts from the later of the two (node.engine_signed).

The file holds two slots, each a header (magic, the chain's genesis hash, sequence,
length, CRC-32) and the state; a write goes to the slot the last one did not, so a write
cut short leaves the one before it whole. A mark of another chain (a new genesis started
in the same data directory) is none: it is written over at the first step. Writes are
not synced one by one: the store's own synced copy covers a crash, and this one must
only outlive a copy or a resync, both of which come long after the page cache has
written it out; it is synced when the node stops. (A
crash of the machine followed by a restore of an older store within seconds is what
it does not cover.)
"""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

from ledger.blocks import MAX_BLOCK_BYTES
from storage.errors import CorruptStateError, DiskRefused, StorageError
from storage.kv import refusal

SIGNED_MARK_NAME = "SENIM-SIGNED"
_MAGIC = b"SSM2"
_HEADER = struct.Struct(">4s32sQII")  # magic, genesis hash, sequence, length, CRC-32
# A prepared certificate holds the signed pre-prepare, whole block and all (up to
# MAX_BLOCK_BYTES), and a quorum's prepares: a slot holds that with room to spare; the
# file is sparse where nothing was written.
SLOT_BYTES = MAX_BLOCK_BYTES + 1024 * 1024


class SignedMarkDamaged(CorruptStateError):
    """The mark is damaged. Not the chain store's damage: `--resync`, the way out of that,
    sets the store aside, and with it the one other record of what this validator
    signed; so it is said apart, and a resync is refused while it lasts."""


class SignedMarkUnusable(StorageError):
    """The mark's file cannot be opened or written, for no refusal of this user's (a disk
    that fails, EIO). Not the chain store's damage either, nor the mark's: said apart."""


class SignedMark:
    """The file, open for the node's life."""

    def __init__(self, path: Path, genesis_hash: bytes) -> None:
        self.path = path
        self._genesis = genesis_hash
        try:  # refused, it was a traceback: its owner, mode or flag changed since checked
            self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise refusal(f"the opening of {path}", str(exc), exc.errno) or SignedMarkUnusable(
                f"cannot open {path}, which records what this validator last signed: "
                f"{exc.strerror or exc}") from exc
        self._sequence, self._state = _read(self._fd, path, genesis_hash)

    def load(self) -> bytes | None:
        """The last safety state written, or None if none ever was."""
        return self._state

    def save(self, state: bytes) -> None:
        if len(state) > SLOT_BYTES - _HEADER.size:
            raise ValueError(f"a safety state of {len(state)} bytes does not fit a slot")
        self._sequence += 1
        record = _HEADER.pack(_MAGIC, self._genesis, self._sequence, len(state),
                              zlib.crc32(state)) + state
        try:
            os.pwrite(self._fd, record, (self._sequence % 2) * SLOT_BYTES)
        except OSError as exc:
            raise _refused(self.path, exc) from exc
        self._state = state

    def close(self) -> None:
        if self._fd >= 0:
            try:
                os.fsync(self._fd)
            except OSError as exc:
                raise _refused(self.path, exc) from exc
            finally:
                os.close(self._fd)
                self._fd = -1


def _read(fd: int, path: Path, genesis_hash: bytes) -> tuple[int, bytes | None]:
    found: list[tuple[int, bytes]] = []
    damaged = 0
    for slot in (0, 1):
        head = os.pread(fd, _HEADER.size, slot * SLOT_BYTES)
        if head == bytes(len(head)):
            continue  # never written: past the file's end, or in its sparse part
        if len(head) < _HEADER.size:  # text written over the file ("garbage" > file):
            damaged += 1  # read as never written, it let --resync set the store aside
            continue
        magic, genesis, sequence, length, crc = _HEADER.unpack(head)
        if magic != _MAGIC or length > SLOT_BYTES - _HEADER.size:
            damaged += 1  # (read no further: a damaged length asked for 4 GiB)
            continue
        state = os.pread(fd, length, slot * SLOT_BYTES + _HEADER.size)
        if len(state) != length or zlib.crc32(state) != crc:
            damaged += 1
            continue
        if genesis == genesis_hash:  # another chain's mark says nothing of this one
            found.append((sequence, state))
    if not found and damaged:
        raise SignedMarkDamaged(
            f"{path}, which records what this validator last signed, is damaged: "
            "if the chain store beside it is this node's own and current (not set aside "
            "by --resync, nor put back from a copy: it holds the same record), delete the "
            "file and start again (it is written anew); else keep the node stopped")
    return max(found) if found else (0, None)


def check_mark(path: Path, genesis_hash: bytes) -> None:
    """For `senim fsck`: CorruptStateError if the mark at `path` is damaged (read only)."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        _read(fd, path, genesis_hash)
    finally:
        os.close(fd)


def _refused(path: Path, exc: OSError) -> SignedMarkUnusable | DiskRefused:
    return refusal(f"a write of {path}", str(exc), exc.errno) or SignedMarkUnusable(
        f"cannot write {path}, which records what this validator last signed: "
        f"{exc.strerror or exc}")
