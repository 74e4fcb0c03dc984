"""`senim node --resync`: the chain store is moved aside (never deleted) before a fresh
start, and nothing is moved when the config, key or genesis is bad or the move cannot
be made safely."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.main import main
from ledger.chain_layout import GENESIS_KEY
from ledger.errors import ConfigError
from node.config import load_config, render_config
from node.files import load_genesis
from node.start_checks import STORE_NAME
from node.store_setup import set_store_aside
from storage.kv import LevelDBStore
from tests.e2e.harness import wait_until
from tests.node.node_folders import store_held_by_another_process, write_lone_validator

WHEN = datetime(2026, 11, 30, 14, 5, 9, tzinfo=UTC)
PROCESS_TIMEOUT_S = 60


def node_folder(root: Path) -> Path:
    """A key, a config and a data dir holding a used store; returns the config's path."""
    root.mkdir(parents=True, exist_ok=True)
    write_lone_validator(root)
    data = root / "data"
    data.mkdir(mode=0o700)
    store = LevelDBStore(str(data / STORE_NAME))
    store.write({b"head": b"something stored"}, sync=True)
    store.close()
    config = root / "node.toml"
    config.write_text(render_config("n1", "node.key", "genesis.json", "data", "127.0.0.1:0",
                                    "127.0.0.1:0", []))
    return config


def files_of(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_the_store_moves_to_a_name_with_the_utc_time(tmp_path: Path) -> None:
    config = load_config(node_folder(tmp_path))
    store = config.data_dir / STORE_NAME
    before = files_of(store)
    # The name is in UTC whatever zone the time is given in.
    moved = set_store_aside(config, WHEN.astimezone(timezone(timedelta(hours=5))))
    assert moved == config.data_dir / "chain.ldb.set-aside-20261130T140509Z"
    assert not store.exists()
    assert files_of(moved) == before  # moved whole, not copied or rewritten
    assert (config.data_dir.stat().st_mode & 0o777) == 0o700
    assert (tmp_path / "node.key").exists() and (tmp_path / "genesis.json").exists()
    reopened = LevelDBStore(str(moved))
    assert reopened.get(b"head") == b"something stored"
    reopened.close()


def test_no_store_means_nothing_to_move(tmp_path: Path) -> None:
    config = load_config(node_folder(tmp_path))
    assert set_store_aside(config, WHEN) is not None
    assert set_store_aside(config, WHEN + timedelta(seconds=1)) is None
    assert [p.name for p in config.data_dir.iterdir()] == ["chain.ldb.set-aside-20261130T140509Z"]


def test_a_taken_name_is_refused_and_nothing_moves(tmp_path: Path) -> None:
    config = load_config(node_folder(tmp_path))
    taken = config.data_dir / "chain.ldb.set-aside-20261130T140509Z"
    taken.mkdir()
    (taken / "earlier").write_text("an earlier set-aside store")
    before = files_of(config.data_dir)
    with pytest.raises(ConfigError, match="already exists"):
        set_store_aside(config, WHEN)
    assert files_of(config.data_dir) == before


def test_a_store_a_running_node_holds_is_refused(tmp_path: Path) -> None:
    """LevelDB's lock is a POSIX lock, held per process: another process holds it here."""
    config = load_config(node_folder(tmp_path))
    store = config.data_dir / STORE_NAME
    with store_held_by_another_process(store):
        with pytest.raises(ConfigError, match="in use"):
            set_store_aside(config, WHEN)
        assert store.is_dir()
    assert set_store_aside(config, WHEN) is not None  # stopped: now it moves


def run_node(config: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """`senim node` as its own process: the daemon logs rather than prints."""
    return subprocess.run([sys.executable, "-c", "from cli.main import main; main()", "node",
                           "--config", str(config), *extra], capture_output=True, text=True,
                          timeout=PROCESS_TIMEOUT_S, check=False)


@pytest.mark.parametrize("damage", ["garbage config", "unknown key in config",
                                    "genesis missing", "key readable by others"])
def test_a_bad_config_with_resync_exits_2_and_moves_nothing(tmp_path: Path,
                                                             damage: str) -> None:
    config = node_folder(tmp_path)
    if damage == "garbage config":
        config.write_text("[node\nbroken")
    elif damage == "unknown key in config":
        config.write_text(config.read_text() + "\n[sync]\nstate_sinc = true\n")
    elif damage == "genesis missing":
        (tmp_path / "genesis.json").unlink()
    else:
        (tmp_path / "node.key").chmod(0o644)
    before = files_of(tmp_path)
    done = run_node(config, "--resync")
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if "ERROR" in line]
    assert len(errors) == 1, done.stderr
    assert files_of(tmp_path) == before
    assert (tmp_path / "data" / STORE_NAME).is_dir()


def test_a_taken_name_exits_2_with_one_line(tmp_path: Path) -> None:
    """The CLI refuses in one line; the moment's name is made taken for every second the
    run might take, so the refusal cannot be dodged by the clock ticking over."""
    config = node_folder(tmp_path)
    data = tmp_path / "data"
    now = datetime.now(UTC)
    for second in range(PROCESS_TIMEOUT_S + 5):
        stamp = (now + timedelta(seconds=second)).strftime("%Y%m%dT%H%M%SZ")
        (data / f"chain.ldb.set-aside-{stamp}").mkdir()
    before = files_of(tmp_path)
    done = run_node(config, "--resync")
    assert done.returncode == 2, done.stderr
    assert "already exists" in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert files_of(tmp_path) == before


def test_a_damaged_store_names_resync_and_resync_starts_the_node_afresh(tmp_path: Path) -> None:
    config = node_folder(tmp_path)
    store = tmp_path / "data" / STORE_NAME
    (store / "CURRENT").unlink()  # a used store that lost CURRENT: refused at start-up
    damaged = run_node(config)
    assert damaged.returncode == 3, damaged.stderr
    # the operator's own config path, to paste as it is
    assert f"`senim fsck --config {config}` lists the damage" in damaged.stderr
    assert f"`senim node --config {config} --resync`: it moves {store} aside" \
        in damaged.stderr
    checked = CliRunner().invoke(main, ["fsck", "--config", str(config)])
    assert checked.exit_code == 1, checked.output
    assert f"`senim node --config {config} --resync` moves {store} aside" in checked.output

    log_path = tmp_path / "node.log"
    with log_path.open("wb") as log:
        node = subprocess.Popen([sys.executable, "-c", "from cli.main import main; main()",
                                 "node", "--config", str(config), "--resync"],
                                stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: node.poll() is not None or "serving API" in log_path.read_text(),
                   PROCESS_TIMEOUT_S, "the resynced node to serve")
        text = log_path.read_text()
        assert node.poll() is None, text
        [aside] = (tmp_path / "data").glob("chain.ldb.set-aside-*")
        assert f"moved the chain store aside to {aside}" in text
        assert "starting as a fresh node, syncing blocks from genesis" in text
        assert "at height 0" in text and not (aside / "CURRENT").exists()
        # the fingerprint operators compare (`senim consortium fingerprint`)
        genesis = load_genesis(tmp_path / "genesis.json")
        assert f"chain t (genesis {genesis.fingerprint}) at height 0" in text
    finally:
        node.send_signal(signal.SIGTERM)
        assert node.wait(timeout=PROCESS_TIMEOUT_S) == 0, log_path.read_text()


def store_with_a_damaged_genesis_record(root: Path, state_sync: bool) -> Path:
    """A node folder whose store holds its genesis record in a table with a byte flipped
    in that record's block, as a failing disk leaves it (the store's write count, in a
    block of its own, reads well, so the store opens); returns the config's path."""
    config = node_folder(root)
    config.write_text(config.read_text() + f"[sync]\nstate_sync = {str(state_sync).lower()}\n")
    store = root / "data" / STORE_NAME
    record = os.urandom(4096)  # incompressible: found in the table as written
    written = LevelDBStore(str(store))
    # a key between them fills the write count's 4 KiB block, so the record starts another
    written.write({GENESIS_KEY: record, b"\x01": os.urandom(4096)}, sync=True)
    written.close()
    LevelDBStore(str(store)).close()  # reopened, LevelDB writes its log out as a table
    [table] = [table for table in store.glob("*.ldb") if record in table.read_bytes()]
    damaged = bytearray(table.read_bytes())
    damaged[damaged.index(record) + len(record) // 2] ^= 0xFF
    table.write_bytes(bytes(damaged))
    return config


@pytest.mark.parametrize("state_sync", [False, True])
def test_a_damaged_table_is_refused_saying_what_to_do(tmp_path: Path, state_sync: bool) -> None:
    """With state sync on, the first read (whether the store holds a chain at all) met the
    damage, and the line gave LevelDB's error alone, not fsck and --resync."""
    config = store_with_a_damaged_genesis_record(tmp_path, state_sync)
    damaged = run_node(config)
    assert damaged.returncode == 3, damaged.stderr
    assert "Traceback" not in damaged.stderr
    [line] = [line for line in damaged.stderr.splitlines() if "ERROR" in line]
    assert "the chain database is damaged: LevelDB refuses a read" in line
    assert f"`senim fsck --config {config}` lists the damage" in line
    assert f"`senim node --config {config} --resync`" in line
