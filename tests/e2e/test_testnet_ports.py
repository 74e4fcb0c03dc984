"""scripts/testnet_init.py lays out the pilot network (keys, a genesis `senim consortium
create` writes, node configs) on the ports SENIM_TESTNET_PORTS gives, so that a testnet
can run beside another on the same machine; a range it cannot use is refused with one
line before anything is made. The genesis states this release's newest rules version."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from ledger.rules_version import MAX_KNOWN_RULES_VERSION
from tests.e2e.processes import senim_executable

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

ROOT = Path(__file__).resolve().parents[2]


def _init(net: Path, ports: str) -> subprocess.CompletedProcess[str]:
    path = f"{Path(senim_executable()).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    return subprocess.run([sys.executable, str(ROOT / "scripts" / "testnet_init.py"),
                           str(ROOT / "configs" / "pilot"), str(net)], capture_output=True,
                          text=True, timeout=90, stdin=subprocess.DEVNULL,
                          env=dict(os.environ, SENIM_TESTNET_PORTS=ports, PATH=path,
                                   PYTHONPATH=str(ROOT)))


@pytest.mark.parametrize("ports", ["27000-27008", "27000", "80-100", "27010-27000"])
def test_a_range_it_cannot_use_is_refused_and_nothing_is_made(tmp_path: Path,
                                                               ports: str) -> None:
    done = _init(tmp_path / "net", ports)
    assert done.returncode != 0 and done.stdout == "", done
    assert done.stderr.strip() == (f"SENIM_TESTNET_PORTS={ports!r}: give a range LOW-HIGH of "
                                   "ports from 1024 to 65535 holding at least 10 (two for "
                                   "each of the 5 nodes)"), done.stderr
    assert not (tmp_path / "net").exists()


def test_the_nodes_take_their_ports_from_the_range(tmp_path: Path) -> None:
    net = tmp_path / "net"
    done = _init(net, "27100-27109")
    assert done.returncode == 0, done.stderr
    listed = [line.split() for line in done.stdout.splitlines()]
    assert listed == [[slug, f"127.0.0.1:{27100 + 2 * i}"] for i, slug in
                      enumerate(("mshe", "moe", "enu", "kaznu", "employer"))]
    config = tomllib.loads((net / "moe.toml").read_text())
    assert config["p2p"]["listen"] == "127.0.0.1:27103"
    assert sorted(config["p2p"]["peers"]) == [f"127.0.0.1:{p}" for p in (27101, 27105, 27107,
                                                                         27109)]
    assert json.loads((net / "genesis.json").read_text())["rules_version"] == \
        MAX_KNOWN_RULES_VERSION
