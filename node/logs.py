"""Structured logs: one line per event, as text for people or JSON for collectors.

Every line names the node it came from: an operator who gathers the lines of several
nodes in one place (a collector, one journal) must tell them apart. Text lines carry the
node's name in brackets; JSON lines carry `node` (its name) and `member` (the hex id of
its key, unique where names may repeat), each null until known.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from types import TracebackType


class JsonFormatter(logging.Formatter):
    def __init__(self, node_name: str | None) -> None:
        super().__init__()
        self.node_name = node_name
        self.member: str | None = None  # set once the node's key is read

    def format(self, record: logging.LogRecord) -> str:
        entry = {"ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
                 + f".{int(record.msecs):03d}Z", "level": record.levelname.lower(),
                 "node": self.node_name, "member": self.member,
                 "logger": record.name, "msg": record.getMessage()}
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


# The node's name on a line logged before its config gave one (a config that cannot be
# read, or names none): said outright, rather than left blank or guessed.
NAME_UNKNOWN = "name unknown"


_HANDLER_NAME = "senim"  # the handler setup_logging installs


def logging_configured() -> bool:
    """Whether setup_logging has set up this process's lines."""
    return any(handler.get_name() == _HANDLER_NAME for handler in logging.getLogger().handlers)


def setup_logging(level: str, fmt: str, node_name: str | None) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter(node_name))  # JSON says unknown as null
    else:
        # 'ENU 100%' is a name, not a format field
        name = (NAME_UNKNOWN if node_name is None else node_name).replace("%", "%%")
        handler.setFormatter(logging.Formatter(
            f"%(asctime)s %(levelname)-7s [{name}] %(name)s: %(message)s"))
    handler.set_name(_HANDLER_NAME)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    # What Python itself writes to stderr (a warning, an exception nothing caught, in any
    # thread) is a line of the node's too: in its format, or a collector reading JSON
    # lines meets a bare traceback, the one report it most needs and cannot parse.
    logging.captureWarnings(True)
    sys.excepthook = _log_uncaught
    threading.excepthook = _log_uncaught_in_thread


def _log_uncaught(kind: type[BaseException], exc: BaseException,
                  traceback: TracebackType | None) -> None:
    if issubclass(kind, KeyboardInterrupt):  # not a failure; Python's own exit 130
        sys.__excepthook__(kind, exc, traceback)
        return
    logging.getLogger("senim.daemon").critical("the node failed: %r", exc,
                                               exc_info=(kind, exc, traceback))


def _log_uncaught_in_thread(args: threading.ExceptHookArgs) -> None:
    if args.exc_value is None or issubclass(args.exc_type, SystemExit):
        return  # as threading's own hook
    logging.getLogger("senim.daemon").critical(
        "thread %s failed: %r", args.thread.name if args.thread else "?", args.exc_value,
        exc_info=(args.exc_type, args.exc_value, args.exc_traceback))


def log_member(member_hex: str) -> None:
    """From now on JSON lines name the node's member id too. (Text lines keep to the
    name, which the operator chose to read: the start line says the id once.)"""
    for handler in logging.getLogger().handlers:
        if isinstance(handler.formatter, JsonFormatter):
            handler.formatter.member = member_hex
