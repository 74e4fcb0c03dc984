"""A second node started on this machine with a key another running node already signs
with (its config copied with the key, or the key file copied) is refused before it writes
anything, naming the process: two signers of one validator key sign two different votes
for a block, and the others record that as equivocation against its ministry. The lock is
the kernel's and goes with the first node's process, kill -9 included."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from ledger.errors import ConfigError
from node.config import render_config
from node.signer_lock import hold_signer_lock
from tests.node.node_folders import write_lone_validator
from tests.node.test_refused_start import refusal, run_node

READY_S = 60.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _config(folder: Path, api_port: int) -> Path:
    config = folder / "node.toml"
    config.write_text(render_config("n1", "node.key", "genesis.json", "data",
                                    f"127.0.0.1:{api_port}", "127.0.0.1:0", []))
    return config


def _wait_ready(api_port: int, node: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + READY_S
    while time.monotonic() < deadline:
        assert node.poll() is None, "the first node stopped"
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{api_port}/v1/status", timeout=2):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("the first node did not start")


def test_a_second_node_with_a_running_nodes_key_is_refused(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    keys = write_lone_validator(first)
    api_port = _free_port()
    node = subprocess.Popen([sys.executable, "-c", "from cli.main import main; main()", "node",
                             "--config", str(_config(first, api_port))],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_ready(api_port, node)
        shutil.copytree(first, second, ignore=shutil.ignore_patterns("data"))  # a copy
        # Each time an operator tries again, the refusal still names the process (the
        # holder's listen queue kept every probe once, and the third named "another
        # process" after waiting a second).
        for _ in range(4):
            line = refusal(run_node(_config(second, _free_port())))
            assert f"node.key_file: process {node.pid} (" in line, line
            assert f"runs a node with this key (member {keys.member_id.hex()[:16]}…)" in line
            assert "equivocation" in line
        assert not (second / "data").exists()
        node.send_signal(signal.SIGKILL)
        node.wait(30)
        # The kernel freed the name with the process: the key may be run again.
        lock = hold_signer_lock(keys.member_id)
        assert lock is not None
        lock.close()
    finally:
        if node.poll() is None:
            node.kill()
            node.wait(30)


def test_a_closed_lock_frees_its_name_and_each_refusal_names_the_holder() -> None:
    member = b"\x5a" * 32
    lock = hold_signer_lock(member)
    assert lock is not None
    try:
        for _ in range(4):  # each probe is turned away, so none waits out its timeout
            try:
                hold_signer_lock(member)
            except ConfigError as exc:
                assert f"process {os.getpid()} (" in str(exc), exc
            else:
                raise AssertionError("a second holder was let in")
    finally:
        lock.close()
    # The thread that turns probes away held the socket until it was shut down.
    again = hold_signer_lock(member)
    assert again is not None
    again.close()
