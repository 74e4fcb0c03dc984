"""A class file and `senim issue` run against the in-memory node of test_issue_job (the
`work` fixture, tests/cli/conftest.py), for the tests of the issued-students registry
(test_issued_registry, test_issued_registry_folders)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from bench.registrar_exports import DIPLOMA_HEADER, diploma_rows, write_csv
from cli.main import main
from tests.cli.test_issue_job import AccreditedNode

STUDENTS = list(diploma_rows(5))


def export(path: Path, indexes: list[int]) -> Path:
    write_csv(path, DIPLOMA_HEADER, iter([STUDENTS[i] for i in indexes]))
    return path


def issue(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["issue", "--key", "enu.key", "--type", "diploma", *args])
    assert "Traceback" not in result.output and not isinstance(result.exception, AssertionError)
    return result.exit_code, result.output


def left_pending(folder: Path, node: AccreditedNode, indexes: tuple[int, ...] = (0, 1, 2),
                 out: str = "first") -> None:
    """Students `indexes` (in class.csv) issued into the job folder `out`, whose batch
    the node never commits: the job times out pending (exit 75)."""
    export(folder / "class.csv", list(indexes))
    node.quorum = False
    code, output = issue("--input", "class.csv", "--out", out, "--timeout", "1")
    assert code == 75, output
    node.quorum = True


def stopped_once_signed(folder: Path, node: AccreditedNode,
                        monkeypatch: pytest.MonkeyPatch) -> Path:
    """Students 0-2 in the job `first`, killed once its batch was signed, before its send."""
    def stopped_at(name: str) -> None:
        if name == "prepared":
            raise SystemExit(137)

    with monkeypatch.context() as patched:
        patched.setattr("cli.job_folder.crash_point", stopped_at)
        code, output = issue("--input", str(export(folder / "class.csv", [0, 1, 2])),
                             "--out", "first")
    assert code == 137 and not node.mempool and not node.batches, output
    return (folder / "first").resolve()
