"""Ctrl-C during `senim issue --dry-run` and while any command waits for a node: one
line, exit 130 (the real-SIGINT runs of a job are tests/e2e/test_issue_interrupted.py)."""

from __future__ import annotations

import importlib
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

import cli.issue_dry_run as issue_dry_run
from cli.errors import EXIT_INTERRUPTED
from cli.main import main
from tests.e2e.processes import HOST, free_port, senim_executable
from tests.e2e.test_cli_lifecycle import write_graduates_csv

DEADLINE_S = 30.0


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

    monkeypatch.setattr(issue_dry_run, "check_export", interrupted)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["issue", "--dry-run", "--type", "diploma", "--input",
                                       "class.csv"])
    assert result.exit_code == EXIT_INTERRUPTED, result.output
    assert result.output.strip().splitlines() == [
        "interrupted: the dry run stopped; nothing was issued or sent"]



@pytest.mark.parametrize("command", [["node", "--config", "node.toml"], ["status"]])
def test_ctrl_c_while_a_command_is_imported_says_nothing_was_done(
        command: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """A command's module is imported when it is asked for, up to seconds (the node's
    aiohttp): a Ctrl-C then was told as a node stopped while starting, or as a command
    whose transaction may still commit, when nothing at all had been done."""
    def interrupted(name: str) -> object:
        raise KeyboardInterrupt

    monkeypatch.setattr(importlib, "import_module", interrupted)
    monkeypatch.delitem(main.commands, command[0], raising=False)  # imported before
    result = CliRunner().invoke(main, command)
    assert result.exit_code == EXIT_INTERRUPTED, result.output
    assert result.output.strip().splitlines() == [
        "interrupted: stopped while starting; nothing was done"]


def test_ctrl_c_while_any_command_waits_for_a_node_is_one_line_and_exit_130() -> None:
    """A real SIGINT to `senim status` waiting on a node that accepted the connection and
    says nothing: click's own handling said 'Aborted!' and exited 1. It reads only: it
    said 'a transaction it had already sent may still commit' while it spoke English alone."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind((HOST, free_port()))
        server.listen()
        server.settimeout(DEADLINE_S)  # the deadline for the command to connect
        env = dict(os.environ, NO_COLOR="1", LC_ALL="C.UTF-8")  # status speaks the locale's
        process = subprocess.Popen(
            [senim_executable(), "status", "--node",
             f"http://{HOST}:{server.getsockname()[1]}"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            stdin=subprocess.DEVNULL,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        try:
            connection, _ = server.accept()
            with connection:
                process.send_signal(signal.SIGINT)
                out, err = process.communicate(timeout=DEADLINE_S)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert process.returncode == EXIT_INTERRUPTED, (out, err)
    assert err.splitlines() == ["interrupted: stopped before it finished; it changed "
                                "nothing"], err


@pytest.mark.parametrize(("args", "env", "said"), [
    (["status", "--lang", "ru"], {}, "прервано: команда остановлена при запуске; она ничего "
                                     "не изменила"),
    (["verify", "x.json"], {"LC_ALL": "", "LANG": "kk_KZ.UTF-8"}, "тоқтатылды: команда іске "
     "қосылып жатқанда тоқтады; ол ештеңені өзгертпеді"),
    (["status", "--lang=en"], {"LANG": "ru_RU.UTF-8"}, "interrupted: stopped while starting; "
                                                       "nothing was done")])
def test_ctrl_c_while_senim_itself_is_imported_is_said_in_the_readers_language(
        args: list[str], env: dict[str, str], said: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """Before any catalogue can be read the line was English whatever --lang or the
    locale asked for."""
    import cli.entry

    def interrupted() -> object:
        raise KeyboardInterrupt

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(cli.entry, "_imported_main", interrupted)
    monkeypatch.setattr(sys, "argv", ["senim", *args])
    with pytest.raises(SystemExit) as ended:
        cli.entry.run()
    assert ended.value.code == EXIT_INTERRUPTED
    assert capsys.readouterr().err.splitlines() == [said]


def test_ctrl_c_while_a_command_is_imported_is_said_in_the_readers_language(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(name: str) -> object:
        raise KeyboardInterrupt

    monkeypatch.setattr(importlib, "import_module", interrupted)
    monkeypatch.delitem(main.commands, "status", raising=False)  # imported before
    result = CliRunner().invoke(main, ["status", "--lang", "kk"])
    assert result.exit_code == EXIT_INTERRUPTED, result.output
    assert result.output.strip().splitlines() == [
        "тоқтатылды: команда іске қосылып жатқанда тоқтады; ол ештеңені өзгертпеді"]
