"""Structured logs: one line per event, as text for people or JSON for collectors."""

from __future__ import annotations

import json
import logging
import sys
import time


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {"ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
                 + f".{int(record.msecs):03d}Z", "level": record.levelname.lower(),
                 "logger": record.name, "msg": record.getMessage()}
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


# The node's name on a line logged before its config gave one (a config that cannot be
# read, or names none): said outright, rather than left blank or guessed.
NAME_UNKNOWN = "name unknown"


def setup_logging(level: str, fmt: str, node_name: str | None) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        # 'ENU 100%' is a name, not a format field
        name = (NAME_UNKNOWN if node_name is None else node_name).replace("%", "%%")
        handler.setFormatter(logging.Formatter(
            f"%(asctime)s %(levelname)-7s [{name}] %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
