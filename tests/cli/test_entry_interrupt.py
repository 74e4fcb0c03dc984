"""A Ctrl-C while `senim` imports the project ends it, even when it lands in code Python
runs for itself and then drops (a module lock's weakref callback): the command ran to
its end, after an "Exception ignored ... KeyboardInterrupt" traceback."""

from __future__ import annotations

import builtins
import os
import signal
import sys
import weakref
from typing import Any

import pytest

from cli import entry
from node.start_interrupt import (
    RAISED_WHILE_STARTING,
    StoppedWhileStarting,
    stop_signals_interrupt,
)


class Collected:
    pass


def signal_in_a_weakref_callback(signum: int) -> None:
    """`signum` to this process from inside a weakref callback, where Python prints what
    its handler raises as unraisable and goes on."""
    thing = Collected()
    ref = weakref.ref(thing, lambda _ref: os.kill(os.getpid(), signum))
    del thing  # the callback runs here; the handler, at its next instruction
    assert ref() is None


def importing_main_with(signum: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """`from cli.main import main` sends `signum` from a weakref callback first."""
    real_import = builtins.__import__

    def importing(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "cli.main":
            signal_in_a_weakref_callback(signum)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", importing)


def test_a_ctrl_c_python_drops_while_importing_still_interrupts(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    importing_main_with(signal.SIGINT, monkeypatch)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    earlier_hook = sys.unraisablehook
    with pytest.raises(KeyboardInterrupt):
        entry._imported_main()
    assert "Exception ignored" not in capsys.readouterr().err
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert sys.unraisablehook is earlier_hook  # pytest's own, say: put back as it was


@pytest.mark.parametrize("signum", RAISED_WHILE_STARTING)
def test_a_sigterm_python_drops_while_a_node_imports_still_stops_it(
        signum: signal.Signals, monkeypatch: pytest.MonkeyPatch) -> None:
    # `senim node` makes SIGTERM and SIGHUP raise StoppedWhileStarting, a
    # KeyboardInterrupt: dropped there, the node went on to start.
    restore = signal.getsignal(signum)
    try:
        signal.signal(signum, signal.SIG_DFL)
        stop_signals_interrupt()
        importing_main_with(signum, monkeypatch)
        with pytest.raises(StoppedWhileStarting) as stopped:
            entry._imported_main()
        assert stopped.value.received == signum
    finally:
        signal.signal(signum, restore)


def test_without_a_ctrl_c_main_is_imported() -> None:
    from cli.main import main

    assert entry._imported_main() is main
