"""Ctrl-C during `senim issue --dry-run`: one line, exit 130 (the real-SIGINT runs of a
job are tests/e2e/test_issue_interrupted.py)."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

import cli.issuing as issuing
from cli.errors import EXIT_INTERRUPTED
from cli.main import main
from tests.e2e.test_cli_lifecycle import write_graduates_csv


@pytest.fixture(autouse=True)
def sigint_kept() -> Iterator[None]:
    """The command ignores a second Ctrl-C while it says what it stopped; not pytest's."""
    handler = signal.getsignal(signal.SIGINT)
    yield
    signal.signal(signal.SIGINT, handler)


def test_ctrl_c_during_a_dry_run_says_nothing_was_issued(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_graduates_csv(tmp_path / "class.csv", 3, seed=1)

    def interrupted(*_: object, **__: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(issuing, "check_export", interrupted)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["issue", "--dry-run", "--type", "diploma", "--input",
                                       "class.csv"])
    assert result.exit_code == EXIT_INTERRUPTED, result.output
    assert result.output.strip().splitlines() == [
        "interrupted: the dry run stopped; nothing was issued or sent"]

