"""A registry made before it kept each credential's recorded values (the `recorded`
table, registrar.issued) is read as it is, even where it cannot be written (an immutable
file, a read-only copy) or another `senim issue` holds its write lock: what it lacks is
made by the next job recorded in it."""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import registrar.issued
from registrar.issued import REGISTRY_NAME
from tests.cli.issued_registry_work import STUDENTS, export, issue
from tests.cli.test_issue_job import AccreditedNode
from tests.cli.test_issued_registry_rows import with_values


def made_before(registry: Path) -> None:
    """`registry` as a release before `recorded` (and its index) left it."""
    connection = sqlite3.connect(registry, isolation_level=None)
    try:
        connection.execute("DROP TABLE IF EXISTS recorded")
        connection.execute("DROP INDEX IF EXISTS issued_by_credential")
    finally:
        connection.close()


@contextlib.contextmanager
def immutable(path: Path) -> Iterator[None]:
    """`path` made unwritable even by root (chattr +i); skipped where that is refused."""
    if shutil.which("chattr") is None:
        pytest.skip("no chattr here")
    made = subprocess.run(["chattr", "+i", str(path)], capture_output=True, text=True,
                          check=False)
    if made.returncode != 0:
        pytest.skip(f"cannot make a file immutable here: {made.stderr}")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)


@contextlib.contextmanager
def write_locked(path: Path) -> Iterator[None]:
    """`path`'s write lock held, as by another `senim issue` recording its job."""
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        yield
    finally:
        holder.close()


@pytest.mark.parametrize("held", [immutable, write_locked])
def test_an_older_registry_is_read_where_it_cannot_be_written(
        work: tuple[Path, AccreditedNode], monkeypatch: pytest.MonkeyPatch,
        held: Callable[[Path], contextlib.AbstractContextManager[None]]) -> None:
    folder, node = work
    code, output = issue("--input", str(export(folder / "c1.csv", [0, 1, 2])), "--out", "c1")
    assert code == 0, output
    registry = folder / REGISTRY_NAME
    made_before(registry)
    monkeypatch.setattr(registrar.issued, "_BUSY_TIMEOUT_S", 2.0)  # a lock waited out fails
    # student 1 issued before; student 0's IIN with a new student id names someone else
    rows = with_values(export(folder / "c2.csv", [1, 3]), 1, iin=STUDENTS[0]["iin"])
    with held(registry):
        for extra in ((), ("--corrections",)):
            code, output = issue("--input", str(rows), "--dry-run", *extra)
            assert code == 2 and "not a readable" not in output, output
            assert "row 3, column 'iin'" in output and "[issued-mismatch]" in output, output
            assert ("row 2, column 'iin'" in output) is not bool(extra)
    # the next job recorded makes what the registry lacked, and it knows every student
    code, output = issue("--input", str(export(folder / "c3.csv", [3])), "--out", "c3")
    assert code == 0, output
    connection = sqlite3.connect(registry)
    try:
        names = {name for (name,) in connection.execute("SELECT name FROM sqlite_master")}
        assert {"recorded", "issued_by_credential"} <= names
    finally:
        connection.close()
    code, output = issue("--input", str(export(folder / "c4.csv", [0, 3])), "--dry-run")
    assert code == 2 and output.count("[already-issued]") == 4, output
    assert len(node.batches) == 2
