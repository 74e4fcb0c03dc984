"""Files a node or a command reads at start: what a mistaken path gives it (/dev/zero, a
named pipe, a 50 MB file) is refused unread with one line and exit 2, and a refused start
is logged as the node logs; a key file another user owns is refused too.

Each process runs under a memory limit and a deadline: before the limits, a node given
/dev/zero read until memory ran out, and one given a named pipe waited for a writer."""

from __future__ import annotations

import json
import os
import re
import resource
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

import node.files
from ledger.errors import ConfigError
from ledger.identity import KeyPair
from node.config import ConfigValue, render_config
from node.files import KEY_FILE_BYTES_MAX, load_key, save_key
from tests.node.node_folders import write_lone_validator

PROCESS_TIMEOUT_S = 60
PROCESS_MEMORY_BYTES = 2 << 30  # address space: far more than a refusal needs
REPO = Path(__file__).parents[2]
TEXT_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} ERROR   \[(?P<name>[^]]*)\] "
                       r"senim\.daemon: (?P<msg>.*)$")


def _limited() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (PROCESS_MEMORY_BYTES, PROCESS_MEMORY_BYTES))


def senim(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", "from cli.main import main; main()", *args],
                          capture_output=True, text=True, timeout=PROCESS_TIMEOUT_S,
                          check=False, cwd=REPO, preexec_fn=_limited)


def one_error(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and "MemoryError" not in done.stderr, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


def messy(root: Path, kind: str) -> Path:
    """A path an operator might give by mistake."""
    if kind == "dev-zero":
        return Path("/dev/zero")
    path = root / f"messy-{kind}"
    if kind == "fifo":
        os.mkfifo(path)  # no writer: reading it waits for ever
    else:  # 50 MB (sparse: made at once, and takes no disk)
        with path.open("wb") as out:
            out.truncate(50_000_000)
    os.chmod(path, 0o600)  # a key file is judged unread, not refused for its mode
    return path


REFUSED = {"dev-zero": "is a character device, not a regular file",
           "fifo": "is a named pipe, not a regular file", "50MB": "holds 50,000,000 bytes, more"}
KINDS = list(REFUSED)


def node_folder(root: Path, key: str = "node.key", genesis: str = "genesis.json",
                log: dict[str, ConfigValue] | None = None) -> Path:
    write_lone_validator(root)
    config = root / "node.toml"
    config.write_text(render_config("kaznu-1", key, genesis, "data", "127.0.0.1:0",
                                    "127.0.0.1:0", [], overrides={"log": log or {}}))
    return config


@pytest.mark.parametrize("kind", KINDS)
def test_a_config_that_is_no_config_file_is_refused_unread(tmp_path: Path, kind: str) -> None:
    path = messy(tmp_path, kind)
    line = one_error(senim("node", "--config", str(path)))
    found = TEXT_LINE.match(line)
    assert found, line  # the node's own format, not Python's 'ERROR:senim.daemon:'
    assert found["name"] == "name unknown"
    assert found["msg"] == f"bad config {path}: config: {path} {REFUSED[kind]}" + (
        " than a node config may (1,048,576 bytes at most): is it the right file?"
        if kind == "50MB" else "; give the path of the node config itself")
    assert not (tmp_path / "data").exists()
    assert REFUSED[kind] in one_error(senim("fsck", "--config", str(path)))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("field", ["key", "genesis"])
def test_a_key_or_genesis_that_is_no_such_file_is_refused_unread(
        tmp_path: Path, kind: str, field: str) -> None:
    path = messy(tmp_path, kind)
    config = (node_folder(tmp_path, key=str(path)) if field == "key"
              else node_folder(tmp_path, genesis=str(path)))
    found = TEXT_LINE.match(one_error(senim("node", "--config", str(config))))
    assert found and found["name"] == "kaznu-1", found
    what = "key file" if field == "key" else "genesis"
    assert found["msg"].startswith(f"cannot start: {what}: {path} {REFUSED[kind]}"), found
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize("kind", KINDS)
def test_a_members_file_that_is_no_such_file_is_refused_unread(tmp_path: Path,
                                                              kind: str) -> None:
    path = messy(tmp_path, kind)
    line = one_error(senim("consortium", "create", "--members", str(path), "--out",
                           str(tmp_path / "genesis.json")))
    assert line.startswith(f"error: {path} {REFUSED[kind]}"), line
    assert not (tmp_path / "genesis.json").exists()


@pytest.mark.parametrize("field", ["config", "key", "genesis", "members"])
def test_a_file_nested_too_deep_to_parse_is_one_line(tmp_path: Path, field: str) -> None:
    """Within its limit, but nested deeper than the parsers recurse: a traceback before."""
    deep = tmp_path / "deep"
    deep.write_text(("a = " if field in ("config", "members") else "") + "[" * 60_000)
    os.chmod(deep, 0o600)
    if field == "members":
        line = one_error(senim("consortium", "create", "--members", str(deep), "--out",
                               str(tmp_path / "genesis.json")))
        assert line.startswith(f"error: cannot read {deep}: maximum recursion depth"), line
        return
    config = (deep if field == "config" else node_folder(tmp_path, key=str(deep))
              if field == "key" else node_folder(tmp_path, genesis=str(deep)))
    found = TEXT_LINE.match(one_error(senim("node", "--config", str(config))))
    assert found and "maximum recursion depth exceeded" in found["msg"], found


VC_FILES = """
import sys
from pathlib import Path
from ledger.errors import ConfigError
from node.tls import server_context
from node.vc_api import load_vc_issuing
key, token, cert, tls_key = map(Path, sys.argv[1:])
for load in (lambda: load_vc_issuing(key, token), lambda: server_context(cert, tls_key),
             lambda: server_context(tls_key, cert)):
    try:
        load()
    except ConfigError as exc:
        print(exc)
"""


@pytest.mark.parametrize("kind", KINDS)
def test_the_vc_token_and_tls_files_are_bounded_too(tmp_path: Path, kind: str) -> None:
    """[vc]'s token file is read by the node, its TLS files by OpenSSL (each tried first)."""
    path = messy(tmp_path, kind)
    save_key(tmp_path / "issuer.key", KeyPair.generate())
    done = subprocess.run([sys.executable, "-c", VC_FILES, str(tmp_path / "issuer.key"),
                           str(path), str(path), str(tmp_path / "absent.pem")],
                          capture_output=True, text=True, timeout=PROCESS_TIMEOUT_S,
                          cwd=REPO, preexec_fn=_limited, check=False)
    assert done.returncode == 0, done.stderr
    token, cert, tls_key = done.stdout.splitlines()
    assert token.startswith(f"vc.issue_token_file: cannot read: {path} {REFUSED[kind]}")
    assert cert.startswith(f"vc.tls_cert: cannot read: {path} {REFUSED[kind]}")
    assert tls_key.startswith(f"vc.tls_key: cannot read: {path} {REFUSED[kind]}")


def test_a_key_file_at_its_limit_loads_and_one_byte_more_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "node.key"
    keys = KeyPair.generate()
    save_key(path, keys)
    text = path.read_text()
    path.write_text(text + " " * (KEY_FILE_BYTES_MAX - len(text)))
    assert load_key(path) == keys
    path.write_text(text + " " * (KEY_FILE_BYTES_MAX + 1 - len(text)))
    with pytest.raises(ConfigError, match=f"holds {KEY_FILE_BYTES_MAX + 1:,} bytes, more "
                       f"than a key file may \\({KEY_FILE_BYTES_MAX:,} bytes at most\\)"):
        load_key(path)


def test_a_file_of_no_stated_size_is_read_to_its_limit_and_one_byte_more(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """/proc's files say they are empty: what is read is bounded, not only what is said."""
    asked: list[int] = []
    real_read: Callable[[int, int], bytes] = os.read

    def counted(fd: int, size: int) -> bytes:
        asked.append(size)
        return real_read(fd, size)

    monkeypatch.setattr(os, "read", counted)
    monkeypatch.setattr(node.files, "GENESIS_FILE_BYTES_MAX", 100)
    maps = Path("/proc/self/maps")
    assert maps.stat().st_size == 0
    with pytest.raises(ConfigError, match="maps holds more than a genesis file may"):
        node.files.load_genesis(maps)
    assert sum(asked) <= 101


@pytest.mark.parametrize("how", ["flag", "config", "unparsed"])
def test_a_refused_start_in_json_mode_is_a_json_line(tmp_path: Path, how: str) -> None:
    """A collector parses each line as JSON: the refusal of a config it cannot read too
    (with --log-format json), or of one that asks for JSON and is wrong elsewhere, its
    TOML included (a stray bracket made that refusal a text line)."""
    if how == "flag":
        args = ["--config", "/dev/zero", "--log-format", "json"]
    else:
        config = node_folder(tmp_path, log={"format": "json", "levle": "info"})
        if how == "unparsed":
            text = config.read_text()
            config.write_text(text.replace("peers = []", "peers = ["))
        args = ["--config", str(config)]
    entry = json.loads(one_error(senim("node", *args)))
    assert entry["level"] == "error" and entry["logger"] == "senim.daemon", entry
    assert entry["msg"].startswith("bad config "), entry
    said = {"flag": "character device", "config": "log.levle: unknown key",
            "unparsed": "cannot parse"}[how]
    assert said in entry["msg"], entry
    assert entry["node"] == (None if how == "flag" else "kaznu-1"), entry


def test_a_config_wrong_after_its_name_is_refused_under_that_name(tmp_path: Path) -> None:
    config = node_folder(tmp_path, log={"level": "loud"})
    found = TEXT_LINE.match(one_error(senim("node", "--config", str(config))))
    assert found and found["name"] == "kaznu-1", found
    assert found["msg"] == f"bad config {config}: log.level: must be debug, info, warning or error"


ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="only root gives a file away")
ANOTHER_UID = 65534  # nobody


@ROOT_ONLY
def test_a_node_key_another_user_owns_is_refused_with_the_chown(tmp_path: Path) -> None:
    """As root every mode is open: a key another account owns (and may rewrite, or open
    up, whatever its mode says now) was loaded as the node's own."""
    config = node_folder(tmp_path)
    key = tmp_path / "node.key"
    os.chown(key, ANOTHER_UID, -1)
    with pytest.raises(ConfigError) as refused:
        load_key(key)
    said = ("key file is owned by nobody (uid 65534), not by root (uid 0) who runs this, so "
            f"that account could replace it; chown root {key} (or run this as nobody)")
    assert str(refused.value) == f"{key}: {said}"
    found = TEXT_LINE.match(one_error(senim("node", "--config", str(config))))
    assert found and found["msg"] == f"cannot start: {key}: {said}", found
    assert not (tmp_path / "data").exists()
    os.chown(key, 0, -1)
    load_key(key)


@ROOT_ONLY
def test_vc_secrets_another_user_owns_are_refused(tmp_path: Path) -> None:
    save_key(tmp_path / "issuer.key", KeyPair.generate())
    token = tmp_path / "token"
    token.write_text("t" * 32)
    tls_key = tmp_path / "tls.key"
    tls_key.write_text("not read")
    for path in (token, tls_key):
        os.chmod(path, 0o600)
        os.chown(path, ANOTHER_UID, -1)
    done = subprocess.run([sys.executable, "-c", VC_FILES, str(tmp_path / "issuer.key"),
                           str(token), str(tmp_path / "absent.pem"), str(tls_key)],
                          capture_output=True, text=True, timeout=PROCESS_TIMEOUT_S,
                          cwd=REPO, check=False)
    assert done.returncode == 0, done.stderr
    token_line, tls_line, _ = done.stdout.splitlines()
    assert token_line == (f"vc.issue_token_file: the token file is owned by nobody (uid "
                          f"65534), not by root (uid 0) who runs this, so that account "
                          f"could replace it; chown root {token} (or run this as nobody)")
    assert tls_line.startswith("vc.tls_key: the key file is owned by nobody (uid 65534)")
