"""The node's log lines carry its name as the operator wrote it."""

from __future__ import annotations

import json
import logging
import sys
import threading
import warnings
from collections.abc import Iterator

import pytest

from node.logs import log_member, setup_logging


@pytest.fixture
def restored_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    hooks = sys.excepthook, threading.excepthook
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    sys.excepthook, threading.excepthook = hooks
    logging.captureWarnings(False)


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


def test_what_python_itself_writes_is_a_json_line_too(
        restored_logging: None, capsys: pytest.CaptureFixture[str]) -> None:
    """A warning, and an exception nothing caught (on the main thread or another), were
    written by Python as bare text and tracebacks: lines a collector of the node's JSON
    lines could not parse, the crash's the one it most needed."""
    setup_logging("info", "json", "kaznu-1")
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        logging.captureWarnings(True)  # catch_warnings put Python's own display back
        warnings.warn("a library's warning", UserWarning, stacklevel=1)
    try:
        raise RuntimeError("a bug")
    except RuntimeError as exc:
        sys.excepthook(type(exc), exc, exc.__traceback__)

    def fails() -> None:
        raise ValueError("a bug on a thread")

    thread = threading.Thread(target=fails, name="worker-1")
    thread.start()
    thread.join()
    entries = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [(e["level"], e["node"]) for e in entries] == [("warning", "kaznu-1")] + [
        ("critical", "kaznu-1")] * 2, entries
    assert "a library's warning" in entries[0]["msg"]
    assert entries[1]["msg"] == "the node failed: RuntimeError('a bug')"
    assert entries[2]["msg"] == "thread worker-1 failed: ValueError('a bug on a thread')"
    assert all("Traceback" in e["exc"] for e in entries[1:])
