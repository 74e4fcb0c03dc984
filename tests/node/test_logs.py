"""The node's log lines carry its name as the operator wrote it."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from node.logs import log_member, setup_logging


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


def test_each_json_line_names_the_node_and_then_its_member(
        restored_logging: None, capsys: pytest.CaptureFixture[str]) -> None:
    """JSON lines carried no name: the lines of several nodes gathered in one collector
    could not be told apart. The member id comes once the node's key is read."""
    setup_logging("info", "json", "kaznu-1")
    logging.getLogger("senim.test").info("reading the key")
    log_member("ab" * 20)
    logging.getLogger("senim.test").info("started")
    first, second = (json.loads(line) for line in capsys.readouterr().err.splitlines())
    assert (first["node"], first["member"], first["msg"]) == ("kaznu-1", None,
                                                              "reading the key")
    assert (second["node"], second["member"], second["msg"]) == ("kaznu-1", "ab" * 20,
                                                                 "started")


def test_a_json_line_of_a_node_not_yet_named_says_null(
        restored_logging: None, capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging("info", "json", None)
    logging.getLogger("senim.test").error("bad config")
    entry = json.loads(capsys.readouterr().err)
    assert (entry["node"], entry["member"]) == (None, None)
