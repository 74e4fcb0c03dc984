"""The node's log lines carry its name as the operator wrote it."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from node.logs import setup_logging


@pytest.fixture
def restored_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.parametrize("name", ["ENU 100%", "enu %(asctime)s", "kaznu-1"])
def test_a_node_name_with_a_percent_sign_is_logged_as_written(
        name: str, restored_logging: None, capsys: pytest.CaptureFixture[str]) -> None:
    """A '%' in node.name made every log line a 'Logging error' traceback (the name went
    into the format string), and '%(…)s' in it was expanded."""
    setup_logging("info", "text", name)
    logging.getLogger("senim.test").info("started at height %d", 7)
    err = capsys.readouterr().err
    assert "Logging error" not in err and "Traceback" not in err, err
    assert err.rstrip("\n").endswith(f"INFO    [{name}] senim.test: started at height 7"), err
