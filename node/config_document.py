"""A node config file read as a TOML document, unchecked, and the log settings it gives.

Apart from `node.config` (which checks the document into a `NodeConfig`) because a Ctrl-C
while `senim node` starts is logged from here too (`node.start_interrupt`), before the
heavy imports are done: this imports only the standard library, `ledger.errors` and
`storage.bounded_read`.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from pathlib import Path
from typing import Any

from ledger.errors import ConfigError
from storage.bounded_read import UnfitFile, read_bounded

# A path given by mistake (/dev/zero, a log) was read whole before it was judged; 1 MiB
# lists ~15,000 observer keys.
CONFIG_FILE_BYTES_MAX = 1 << 20
LOG_FORMATS = ("text", "json")
NODE_NAME_CHARS_MAX = 128
TOML_PLACE = re.compile(r"\(at line (\d+), column (\d+)\)")


def read_config_text(path: Path) -> str:
    """The config file's text: ConfigError if it cannot be read."""
    try:
        data = read_bounded(path, CONFIG_FILE_BYTES_MAX, "node config").data
    except FileNotFoundError as exc:
        raise ConfigError("config", f"file not found: {path}", "missing",
                          path=str(path)) from exc
    except UnfitFile as exc:  # it names the path
        raise ConfigError("config", str(exc), "unfit", path=str(path),
                          most=CONFIG_FILE_BYTES_MAX) from exc
    except OSError as exc:
        raise ConfigError("config", f"cannot read {path}: {exc}", "unreadable",
                          path=str(path)) from exc
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        # Notepad's 'Unicode': refused as "'utf-8' codec can't decode byte 0xff in
        # position 0", which named no cure
        raise ConfigError("config", f"{path} is saved as UTF-16 ('Unicode' in Notepad); "
                          "save it as UTF-8", "encoding", path=str(path))
    try:
        # TOML is UTF-8; Windows Notepad puts a byte order mark before it, which tomllib
        # called an 'Invalid statement (at line 1, column 1)' the operator cannot see
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ConfigError("config", f"{path} is not UTF-8 text (byte 0x{data[exc.start]:02x} "
                          f"on line {line}: saved in another encoding, Windows-1251 say); "
                          "save it as UTF-8", "encoding", path=str(path)) from exc


def read_config_document(path: Path) -> dict[str, Any]:
    """The config file's TOML, unchecked: ConfigError if it cannot be read or parsed."""
    text = read_config_text(path)
    try:
        return tomllib.loads(text)
    except (tomllib.TOMLDecodeError, RecursionError) as exc:
        at = TOML_PLACE.search(str(exc))  # tomllib names the place only in its message
        raise ConfigError("config", f"cannot parse {path}: {exc}", "toml" if at else "deep",
                          path=str(path), **({"line": int(at[1]), "column": int(at[2])}
                                             if at else {})) from exc  # a = [[[[…


def name_fault(name: object) -> ConfigError | None:
    """Why `name` cannot be a node's name (None if it can). It is on every log line and in
    every status answer: one short line. A newline in it forged a line of its own in a
    text log, and a refused config's line was logged under it too."""
    if not isinstance(name, str) or not name.strip():
        return ConfigError("node.name", "is required (text)", "required_text")
    if len(name) > NODE_NAME_CHARS_MAX or any(
            unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp") for char in name):
        return ConfigError("node.name", f"must be one line of at most {NODE_NAME_CHARS_MAX} "
                           "characters, with no control characters", "one_line",
                           max=NODE_NAME_CHARS_MAX)
    return None


def log_settings_in(document: dict[str, Any]) -> tuple[str | None, str | None]:
    """The log format and node name a config document gives, each None unless valid: a
    config refused for another key still has its refusal logged as the node logs."""
    log, node = document.get("log"), document.get("node")
    log_format = log.get("format", "text") if isinstance(log, dict) else "text"
    name = node.get("name") if isinstance(node, dict) else None
    return (log_format if log_format in LOG_FORMATS else None,
            name if isinstance(name, str) and not name_fault(name) else None)


# A table header line: `[log]`, `[ node ]  # comment`. Any other line opening with '['
# (an array of tables, a quoted or dotted name) starts a table this reading does not follow.
_TABLE_HEADER = re.compile(r"\s*\[\s*([A-Za-z0-9_-]+)\s*\]\s*(?:#.*)?$")
_SALVAGED = {"log": "format", "node": "name"}


def salvaged_document(text: str) -> dict[str, Any]:
    """`[log] format` and `[node] name` read line by line from a config whose TOML does
    not parse as a whole, as far as their own lines parse. A node whose config asks for
    JSON logged the refusal of a stray bracket elsewhere in the file as a text line, the
    one line its log shipper could not parse. A line inside a multi-line string can be
    taken for what it looks like: this only picks the refusal's log format and name."""
    found: dict[str, Any] = {}
    table = ""
    for line in text.splitlines():  # bounded: the file is at most CONFIG_FILE_BYTES_MAX
        if line.lstrip().startswith("["):
            header = _TABLE_HEADER.match(line)
            table = header[1] if header else "?"
            continue
        if not any(key in line for key in _SALVAGED.values()):
            continue
        try:
            value = tomllib.loads(f"[{table}]\n{line}" if table else line)
        except (tomllib.TOMLDecodeError, RecursionError):
            continue
        for section, key in _SALVAGED.items():
            given = value.get(section)
            if isinstance(given, dict) and key in given:
                found.setdefault(section, {}).setdefault(key, given[key])
    return found


def log_settings_of(path: Path) -> tuple[str | None, str | None]:
    """`log_settings_in` of the config file at `path`, or of what `salvaged_document`
    reads of it when it does not parse; (None, None) when it cannot be read."""
    try:
        text = read_config_text(path)
    except ConfigError:
        return None, None
    try:
        return log_settings_in(tomllib.loads(text))
    except (tomllib.TOMLDecodeError, RecursionError):
        return log_settings_in(salvaged_document(text))
