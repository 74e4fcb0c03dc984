"""A bench network's wait for a node gives up as soon as the node's process has exited."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.network import BenchNetwork

DEADLINE_S = 60.0


def test_a_node_that_exited_is_reported_at_once(tmp_path: Path) -> None:
    network = BenchNetwork(tmp_path, 1)
    member = network.members[0]
    member.process = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    member.process.wait(timeout=30)
    started = time.monotonic()
    with pytest.raises(RuntimeError, match=r"node v0 exited with code 3 while starting"):
        network.wait_ready(member, DEADLINE_S)
    # Nothing listens on its port, so the old loop would have retried until DEADLINE_S.
    assert time.monotonic() - started < DEADLINE_S / 2
