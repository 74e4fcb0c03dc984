"""A damaged store is refused or reported, never served: bits flipped in each kind of file.

A small real store is built once with the real Chain on LevelDB (a lone
validator certifies each block). Each case copies it, damages one file at a
seeded position, then opens it as the node does (`Chain` plus the certificate
check). Either the open refuses with CorruptStateError, or every answer the
node would give (blocks, certificates, state values and proofs, transaction
locations, credential verdicts) equals the undamaged store's answer or is a
CorruptStateError; and whenever an answer was refused, `senim fsck`'s check
reports damage too. A wrong answer fails the test.
"""

from __future__ import annotations

import os
import random
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from cli.fsck import check_store
from storage.errors import CorruptStateError
from storage.kv import WRITES_FILE, LevelDBStore
from tests.storage.damaged_store import (
    DAMAGED,
    SEED,
    Pristine,
    ask_everything,
    damaged_copy,
    open_like_node,
)

POSITIONS_PER_FILE = 20


def _flip_bit(path: Path, position: int, bit: int) -> None:
    with path.open("r+b") as file:
        file.seek(position)
        byte = file.read(1)[0]
        file.seek(position)
        file.write(bytes((byte ^ (1 << bit),)))


def _outcome(copy: Path, pristine: Pristine, what: str) -> str:
    """'refused', 'reported' (some answers refused, fsck finds damage) or 'sound'."""
    try:
        kv, chain = open_like_node(copy, pristine.net)
    except CorruptStateError:
        return "refused"
    try:
        got = ask_everything(chain, pristine)
    finally:
        kv.close()
    wrong = [key for key, value in got.items()
             if value != DAMAGED and value != pristine.answers[key]]
    assert not wrong, f"{what}: wrong answers for {[(k, got[k]) for k in wrong[:5]]}"
    if DAMAGED not in got.values():
        return "sound"
    try:
        kv = LevelDBStore(str(copy))
    except CorruptStateError:
        return "reported"  # the store no longer even opens: as loud as a report gets
    try:
        problems = check_store(kv, pristine.net.genesis).problems
    finally:
        kv.close()
    assert problems, f"{what}: answers were refused but fsck found nothing"
    return "reported"


def _files(store: Path, match: Callable[[str], bool]) -> list[Path]:
    found = sorted(path for path in store.iterdir() if match(path.name))
    assert found, f"no such file in {sorted(p.name for p in store.iterdir())}"
    return found


FILE_KINDS: dict[str, Callable[[str], bool]] = {
    "table": lambda name: name.endswith((".ldb", ".sst")),
    "log": lambda name: name.endswith(".log"),
    "manifest": lambda name: name.startswith("MANIFEST-"),
    "current": lambda name: name == "CURRENT",
    "write-count": lambda name: name == WRITES_FILE,
}


@pytest.mark.parametrize("kind", list(FILE_KINDS))
def test_flipped_bits_are_refused_or_reported_never_served(
        kind: str, pristine: Pristine, tmp_path: Path) -> None:
    rng = random.Random(f"{SEED}-{kind}")
    outcomes: dict[str, int] = {}
    for case in range(POSITIONS_PER_FILE):
        copy = damaged_copy(pristine, tmp_path, f"case{case}")
        target = rng.choice(_files(copy, FILE_KINDS[kind]))
        position, bit = rng.randrange(target.stat().st_size), rng.randrange(8)
        _flip_bit(target, position, bit)
        outcome = _outcome(copy, pristine, f"{target.name} byte {position} bit {bit}")
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        shutil.rmtree(copy)
    if kind in ("log", "manifest", "current", "write-count"):
        # Read whole at open, each under a checksum or a strict format.
        assert outcomes == {"refused": POSITIONS_PER_FILE}
    else:
        # A table's blocks are checked as they are read; a flip in a block no answer
        # reads (or in the bloom filter, which is skipped when damaged) stays quiet.
        assert outcomes.get("sound", 0) < POSITIONS_PER_FILE, outcomes


@pytest.mark.parametrize("keep", [0.0, 0.3, 0.7, 0.99])
def test_a_cut_short_log_is_refused(keep: float, pristine: Pristine, tmp_path: Path) -> None:
    """LevelDB takes a log cut short for a crash mid-write and drops its tail quietly;
    the write count beside the store says acknowledged blocks were lost."""
    copy = damaged_copy(pristine, tmp_path, "cut")
    (log,) = _files(copy, FILE_KINDS["log"])
    os.truncate(log, int(log.stat().st_size * keep))
    with pytest.raises(CorruptStateError, match=r"lost \d+ acknowledged write"):
        open_like_node(copy, pristine.net)


@pytest.mark.parametrize("lost", ["CURRENT", "table", "MANIFEST", WRITES_FILE])
def test_a_lost_file_is_refused_and_no_new_store_is_made(
        lost: str, pristine: Pristine, tmp_path: Path) -> None:
    copy = damaged_copy(pristine, tmp_path, "lost")
    kind = {"CURRENT": "current", "table": "table", "MANIFEST": "manifest",
            WRITES_FILE: "write-count"}[lost]
    for path in _files(copy, FILE_KINDS[kind]):
        path.unlink()
    before = sorted(path.name for path in copy.iterdir())
    with pytest.raises(CorruptStateError):
        open_like_node(copy, pristine.net)
    if lost != WRITES_FILE:  # (without it LevelDB opens, folding its log, before the refusal)
        after = {path.name for path in copy.iterdir()} - {"LOCK", "LOG", "LOG.old"}
        assert after <= set(before), "a refused open must not start a new store"


def test_a_new_store_is_made_only_in_an_empty_directory(tmp_path: Path) -> None:
    LevelDBStore(str(tmp_path / "fresh")).close()
    (tmp_path / "empty").mkdir()
    LevelDBStore(str(tmp_path / "empty")).close()
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "000005.ldb").write_bytes(b"old table")
    with pytest.raises(CorruptStateError, match="CURRENT file is missing"):
        LevelDBStore(str(tmp_path / "used"))
    assert sorted(p.name for p in (tmp_path / "used").iterdir()) == ["000005.ldb"]
