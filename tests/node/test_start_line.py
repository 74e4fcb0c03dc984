"""A node's start says what it is: name, member id, role, ports, the peers it was given
(an operator whose node connects to no one checks them first), chain and genesis; a node
joining by state sync says so before it waits for a snapshot."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from ledger.identity import KeyPair
from node.config import render_config
from tests.e2e.harness import wait_until
from tests.node.node_folders import write_lone_validator

PROCESS_TIMEOUT_S = 60


def _unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _first_lines(root: Path, peers: list[str], state_sync: bool, until: str) -> str:
    config = root / "node.toml"
    config.write_text(render_config("n1", "node.key", "genesis.json", "data", "127.0.0.1:0",
                                    "127.0.0.1:0", peers,
                                    overrides={"sync": {"state_sync": state_sync}}))
    log_path = root / "node.log"
    with log_path.open("wb") as log:
        node = subprocess.Popen([sys.executable, "-c", "from cli.main import main; main()",
                                 "node", "--config", str(config)],
                                stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: node.poll() is not None or until in log_path.read_text(),
                   PROCESS_TIMEOUT_S, f"the node to log {until!r}")
        assert node.poll() is None, log_path.read_text()
    finally:
        node.send_signal(signal.SIGTERM)
        node.wait(timeout=PROCESS_TIMEOUT_S)
    return log_path.read_text()


@pytest.mark.parametrize("peers", [0, 2])
def test_the_start_line_names_role_ports_and_peers(tmp_path: Path, peers: int) -> None:
    keys: KeyPair = write_lone_validator(tmp_path)
    addresses = [f"127.0.0.1:{_unused_port()}" for _ in range(peers)]
    text = _first_lines(tmp_path, addresses, False, "serving API")
    [line] = [x for x in text.splitlines() if "serving API" in x]
    assert f"node n1 ({keys.member_id.hex()}, validator) serving API on http://127.0.0.1:" \
        in line
    # Configured as port 0 (any), each is named by the port the system chose: the line
    # named port 0, which no one can connect to.
    ports = re.search(r"serving API on http://127\.0\.0\.1:(\d+), P2P on 127\.0\.0\.1:(\d+) ",
                      line)
    assert ports is not None and 0 not in {int(ports[1]), int(ports[2])}, line
    said = (f"with 2 peers configured ({', '.join(addresses)}), chain t" if peers else
            "with no peers configured (it waits for others to dial it), chain t")
    assert said in line, line


def test_a_joining_node_says_what_it_waits_for(tmp_path: Path) -> None:
    write_lone_validator(tmp_path)
    peer = f"127.0.0.1:{_unused_port()}"
    text = _first_lines(tmp_path, [peer], True, "copies a recent certified snapshot")
    assert (f"the store is empty, so it first copies a recent certified snapshot from its "
            f"peers; P2P on 127.0.0.1:0 with 1 peer configured ({peer}), chain t") in text
