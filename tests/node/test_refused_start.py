"""A node that cannot listen where its config says refuses to start before it writes
anything: one log line naming the field and the address, exit 2, and no data directory
or chain store made (a state-sync join would otherwise copy a snapshot first)."""

from __future__ import annotations

import asyncio
import errno
import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from cli.main import main
from ledger.chain import Chain
from ledger.errors import ConfigError
from node.config import Address, load_config, render_config
from node.files import load_genesis
from node.start_checks import check_before_start, listeners_clash
from storage.kv import LevelDBStore
from tests.node.node_folders import store_held_by_another_process, write_lone_validator

PROCESS_TIMEOUT_S = 60


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A loopback port another program listens on."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


def node_folder(root: Path, api: str, p2p: str, state_sync: bool = False) -> Path:
    write_lone_validator(root)
    config = root / "node.toml"
    config.write_text(render_config(
        "n1", "node.key", "genesis.json", "data", api, p2p, [],
        overrides={"sync": {"state_sync": state_sync}}))
    return config


def run_node(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", "from cli.main import main; main()", "node",
                           "--config", str(config)], capture_output=True, text=True,
                          timeout=PROCESS_TIMEOUT_S, check=False)


def refusal(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if "ERROR" in line]
    assert len(errors) == 1, done.stderr
    return errors[0]


@pytest.mark.parametrize("state_sync", [False, True])
def test_a_taken_api_port_is_named_and_nothing_is_written(tmp_path: Path, taken_port: int,
                                                          state_sync: bool) -> None:
    config = node_folder(tmp_path, f"127.0.0.1:{taken_port}", "127.0.0.1:0", state_sync)
    line = refusal(run_node(config))
    assert f"api.listen: cannot listen on 127.0.0.1:{taken_port}" in line
    assert not (tmp_path / "data").exists()


def test_a_taken_p2p_port_is_named(tmp_path: Path, taken_port: int) -> None:
    config = node_folder(tmp_path, "127.0.0.1:0", f"127.0.0.1:{taken_port}")
    assert f"p2p.listen: cannot listen on 127.0.0.1:{taken_port}" in refusal(run_node(config))
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize("api, p2p", [("127.0.0.1:23987", "127.0.0.1:23987"),
                                      ("0.0.0.0:23987", "127.0.0.1:23987")])
def test_api_and_p2p_on_one_port_is_refused_naming_both(tmp_path: Path, api: str, p2p: str
                                                        ) -> None:
    """Every address and one of them on one port clash too: that was said only once both
    were bound, as 'api.listen/p2p.listen', after the P2P port had started."""
    config = node_folder(tmp_path, api, p2p)
    line = refusal(run_node(config))
    assert (f"p2p.listen: cannot listen on {p2p}: api.listen listens on {api}, which takes "
            "that port too") in line, line
    assert not (tmp_path / "data").exists()


def _kernel_lets_both_bind(one: Address, other: Address) -> bool:
    """Whether asyncio's listeners on both addresses start together on this machine."""
    async def both() -> bool:
        async def answer(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.close()
        first = await asyncio.start_server(answer, one.host, one.port)
        try:
            second = await asyncio.start_server(answer, other.host, other.port)
        except OSError as exc:
            assert exc.errno == errno.EADDRINUSE, exc
            return False
        finally:
            first.close()
        second.close()
        return True
    return asyncio.run(both())


@pytest.mark.parametrize("one, other", [
    ("0.0.0.0", "::1"), ("0.0.0.0", "::"), ("127.0.0.1", "::"), ("::", "::1"),
    ("0.0.0.0", "127.0.0.1"), ("", "::1"), ("", "127.0.0.1"), ("127.0.0.2", "127.0.0.1"),
    ("::1", "0:0:0:0:0:0:0:1"), ("127.0.0.1", "127.0.0.1")])
def test_listeners_said_to_clash_are_those_the_kernel_refuses(one: str, other: str) -> None:
    """0.0.0.0 and :: each take a port for their own family (asyncio binds IPv6 alone): a node
    listening on 0.0.0.0 for the API and on [::1] for P2P was refused a start it could make."""
    with socket.socket() as probe:  # a port free on both families, as far as one can tell
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    first, second = Address(one, port), Address(other, port)
    assert listeners_clash(first, second) == listeners_clash(second, first)
    assert listeners_clash(first, second) == (not _kernel_lets_both_bind(first, second))


def test_a_second_node_on_one_data_dir_is_told_which_process_holds_it(tmp_path: Path) -> None:
    """The same config started twice: the store's lock says why, not the taken port. It
    said 'a node is running on it' whatever held it (senim fsck, a node of another config
    naming the same data_dir): the refusal names the process the kernel says holds it."""
    config = node_folder(tmp_path, "127.0.0.1:0", "127.0.0.1:0")
    store = tmp_path / "data" / "chain.ldb"
    (tmp_path / "data").mkdir(mode=0o700)
    with store_held_by_another_process(store) as holder:
        line = refusal(run_node(config))
        assert f"node.data_dir: {store} is in use by process {holder} (-c " in line, line
        assert line.endswith("; stop it first"), line
        checked = CliRunner().invoke(main, ["fsck", "--config", str(config)])
        assert checked.exit_code == 2, checked.output
        assert f"is in use by process {holder} (-c " in checked.output, checked.output


def test_a_data_dir_that_is_a_store_itself_is_refused(tmp_path: Path) -> None:
    """data_dir naming a chain.ldb (a restored backup, say) would grow a new, empty store
    inside it and sync from peers, never reading the one named."""
    config = node_folder(tmp_path, "127.0.0.1:0", "127.0.0.1:0")
    store = tmp_path / "backup" / "chain.ldb"
    store.parent.mkdir()
    LevelDBStore(str(store)).close()
    config.write_text(config.read_text().replace('data_dir = "data"',
                                                 'data_dir = "backup/chain.ldb"'))
    before = sorted(p.name for p in store.iterdir())
    line = refusal(run_node(config))
    assert f"node.data_dir: {store} is a chain store itself" in line
    assert "data_dir is the folder that holds the store, as chain.ldb" in line
    assert sorted(p.name for p in store.iterdir()) == before


@pytest.fixture
def read_only_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A lone validator's config whose store is on a disk mounted read-only (or in a
    folder another user owns): the disk's refusal is simulated, since the tests may run
    as root, whom modes do not stop."""
    config = node_folder(tmp_path, "127.0.0.1:0", "127.0.0.1:0")
    store = tmp_path / "data" / "chain.ldb"
    store.mkdir(parents=True)
    used = LevelDBStore(str(store))
    used.write({b"k": b"v"})
    used.close()
    real_open = os.open

    def read_only_disk(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if Path(path) == store / "LOCK" and flags & (os.O_RDWR | os.O_WRONLY):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", read_only_disk)
    return config


def test_a_data_dir_on_a_read_only_disk_is_one_line(read_only_store: Path) -> None:
    """It cannot take the store's lock: refused naming the field and the reason, not an
    OSError traceback."""
    store = read_only_store.parent / "data" / "chain.ldb"
    with pytest.raises(ConfigError) as refused:
        check_before_start(load_config(read_only_store))
    assert str(refused.value) == (
        f"node.data_dir: cannot use {store}: {store / 'LOCK'}: Read-only file system; the "
        "node writes its chain there, so the folder must be writable by the user running it")


def test_fsck_of_a_store_on_a_read_only_disk_does_not_blame_a_running_node(
        read_only_store: Path) -> None:
    checked = CliRunner().invoke(main, ["fsck", "--config", str(read_only_store)])
    assert checked.exit_code == 2, checked.output
    assert "Read-only file system" in checked.output
    assert "stop the node" not in checked.output and "b'" not in checked.output


def test_fsck_of_a_store_of_another_genesis_names_the_config_not_damage(
        tmp_path: Path) -> None:
    """The node refuses such a store as a config mistake; fsck called it damaged and
    advised --resync, which sets the sound store aside."""
    config = node_folder(tmp_path, "127.0.0.1:0", "127.0.0.1:0")
    (tmp_path / "data").mkdir()
    kv = LevelDBStore(str(tmp_path / "data" / "chain.ldb"))
    Chain(kv, load_genesis(tmp_path / "genesis.json"))
    kv.close()
    held = load_genesis(tmp_path / "genesis.json").fingerprint
    genesis = json.loads((tmp_path / "genesis.json").read_text())
    (tmp_path / "genesis.json").write_text(json.dumps({**genesis, "genesis_time_ms": 1}))
    given = load_genesis(tmp_path / "genesis.json").fingerprint
    checked = CliRunner().invoke(main, ["fsck", "--config", str(config)])
    assert checked.exit_code == 2, checked.output
    assert checked.output == (  # both fingerprints, as the node names them
        f"error: the store holds the chain of another genesis file (fingerprint {held}) than "
        f"{tmp_path / 'genesis.json'} (node.genesis in {config}; fingerprint {given}): point "
        "node.genesis at the genesis file of that fingerprint (`senim consortium fingerprint "
        "FILE` prints a file's), or node.data_dir elsewhere; nothing was checked\n")
    for lang, word in (("kk", "цифрлық ізі"), ("ru", "отпечаток")):
        checked = CliRunner().invoke(main, ["fsck", "--config", str(config), "--lang", lang])
        assert checked.exit_code == 2, checked.output
        assert f"{word} {held}" in checked.output or f"{word}: {held}" in checked.output, \
            checked.output
        assert given in checked.output and "senim consortium fingerprint" in checked.output


def test_a_store_of_another_genesis_names_both_fingerprints(tmp_path: Path) -> None:
    """It said "use that genesis" and named none: the operator finds the file by the
    store's fingerprint, as `senim consortium fingerprint` prints it."""
    config = node_folder(tmp_path, "127.0.0.1:0", "127.0.0.1:0")
    (tmp_path / "data").mkdir()
    kv = LevelDBStore(str(tmp_path / "data" / "chain.ldb"))
    Chain(kv, load_genesis(tmp_path / "genesis.json"))
    kv.close()
    first = load_genesis(tmp_path / "genesis.json")
    # the operator's copy of the genesis the store was made with, among others
    shutil.copyfile(tmp_path / "genesis.json", tmp_path / "first-genesis.json")
    genesis = json.loads((tmp_path / "genesis.json").read_text())
    (tmp_path / "genesis.json").write_text(json.dumps({**genesis, "genesis_time_ms": 1}))
    given = load_genesis(tmp_path / "genesis.json")
    line = refusal(run_node(config))
    assert line.endswith(
        f"cannot start: node.data_dir: this data directory holds the chain of another genesis "
        f"file (fingerprint {first.fingerprint}) than node.genesis (fingerprint "
        f"{given.fingerprint}): point node.genesis at the genesis file of that fingerprint "
        "(`senim consortium fingerprint FILE` prints a file's), or data_dir elsewhere"), line
    for path, genesis_of in (("genesis.json", given), ("first-genesis.json", first)):
        # how the operator finds the store's file: the fingerprint the line names for it
        fingerprinted = CliRunner().invoke(main, ["consortium", "fingerprint",
                                                  str(tmp_path / path)])
        assert fingerprinted.exit_code == 0, fingerprinted.output
        assert genesis_of.fingerprint in fingerprinted.output, fingerprinted.output
    assert first.fingerprint != given.fingerprint
