"""A Ctrl-C while `senim` imports the project ends it, even when it lands in code Python
runs for itself and then drops (a module lock's weakref callback): the command ran to
its end, after an "Exception ignored ... KeyboardInterrupt" traceback."""

from __future__ import annotations

import builtins
import os
import signal
import weakref
from typing import Any

import pytest

from cli import entry


class Collected:
    pass


def ctrl_c_in_a_weakref_callback() -> None:
    """SIGINT to this process from inside a weakref callback, where Python prints what
    it raises as unraisable and goes on."""
    thing = Collected()
    ref = weakref.ref(thing, lambda _ref: os.kill(os.getpid(), signal.SIGINT))
    del thing  # the callback runs here; the handler, at its next instruction
    assert ref() is None


@pytest.fixture
def main_imported_with_a_dropped_ctrl_c(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def importing(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "cli.main":
            ctrl_c_in_a_weakref_callback()
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", importing)


def test_a_ctrl_c_python_drops_while_importing_still_interrupts(
        main_imported_with_a_dropped_ctrl_c: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    with pytest.raises(KeyboardInterrupt):
        entry._imported_main()
    assert "Exception ignored" not in capsys.readouterr().err
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_without_a_ctrl_c_main_is_imported() -> None:
    from cli.main import main

    assert entry._imported_main() is main
