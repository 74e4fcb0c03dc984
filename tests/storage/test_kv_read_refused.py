"""A read the system refuses for permission (a table file not this user's, or locked) is
no damage: it was CorruptStateError, so fsck said the store was damaged (exit 1) and the
node sent its operator to --resync (exit 3), which gives no file to this user. A read
LevelDB finds corrupt is still damage."""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from pathlib import Path

import plyvel
import pytest

from storage.errors import AccessRefused, CorruptStateError
from storage.kv import LevelDBStore
from tests.storage.refused_reads import ReadsRefused

READS: dict[str, Callable[[LevelDBStore], object]] = {
    "get": lambda store: store.get(b"k"),
    "scan": lambda store: list(store.iterate_prefix(b"")),
    "snapshot get": lambda store: store.snapshot().get(b"k"),
    "snapshot scan": lambda store: list(store.snapshot().iterate_prefix(b"")),
}


@pytest.mark.parametrize("read", READS)
@pytest.mark.parametrize("code", [errno.EACCES, errno.EPERM])
def test_a_read_refused_for_permission_is_access_refused(tmp_path: Path, read: str,
                                                         code: int) -> None:
    store = LevelDBStore(str(tmp_path / "db"))
    store.write({b"k": b"1"})
    real = store._db
    said = f"IO error: db/000005.ldb: {os.strerror(code)}"
    store._db = ReadsRefused(real, said.encode())
    with pytest.raises(AccessRefused) as refused:
        READS[read](store)
    what = "a scan" if read.endswith("scan") else "a read"
    assert str(refused.value) == f"the system refuses this user {what} of the chain " \
        f"database: {said}"
    store._db = real
    assert store.get(b"k") == b"1"
    store.close()


@pytest.mark.parametrize("read", READS)
@pytest.mark.parametrize(("error", "said"), [
    (plyvel.CorruptionError, b"Corruption: block checksum mismatch: db/000005.ldb"),
    # a corruption that happens to hold a refusal's words is damage still
    (plyvel.CorruptionError, b"Corruption: bad entry in block: Permission denied"),
    (plyvel.IOError, b"IO error: db/000005.ldb: Input/output error"),
])
def test_a_read_refused_for_another_reason_is_damage(
        tmp_path: Path, read: str, error: type[plyvel.Error], said: bytes) -> None:
    store = LevelDBStore(str(tmp_path / "db"))
    real = store._db
    store._db = ReadsRefused(real, said, error)
    with pytest.raises(CorruptStateError) as refused:
        READS[read](store)
    assert not isinstance(refused.value, AccessRefused)
    store._db = real
    store.close()
