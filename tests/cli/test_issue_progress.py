"""`senim issue`'s progress: a bar on a terminal, plain lines in a log (cron, a scheduler)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from cli import job_folder
from cli.progress import progress
from tests.cli.test_issue_job import FakeNode, prepare


def test_writing_credentials_into_a_log_says_one_line_per_tenth(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(job_folder, "PROGRESS_FROM", 10)
    prepare(tmp_path, FakeNode(), count=25)
    err = capsys.readouterr().err  # captured: not a terminal, as under cron
    assert "\r" not in err and "\x1b" not in err  # no bar redrawn in place
    lines = err.splitlines()
    assert lines[0] == "writing credentials: 3 of 25 docs (10%)"
    assert lines[-1] == "writing credentials: 25 of 25 docs (100%)"
    assert len(lines) == 10


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_the_bar_is_drawn_in_place() -> None:
    out = Terminal()
    assert list(progress(range(300), "writing credentials", 300, "doc", stream=out)) == list(
        range(300))
    assert "\r" in out.getvalue() and "300/300" in out.getvalue()


def test_a_short_step_says_nothing_and_a_tiny_one_says_what_it_reached() -> None:
    quiet = io.StringIO()
    assert list(progress(range(5), "x", 5, "doc", quiet=True, stream=quiet)) == list(range(5))
    assert quiet.getvalue() == ""
    log = io.StringIO()
    list(progress(range(3), "x", 3, "doc", stream=log))
    assert log.getvalue().splitlines() == ["x: 1 of 3 docs (30%)", "x: 2 of 3 docs (60%)",
                                           "x: 3 of 3 docs (100%)"]
