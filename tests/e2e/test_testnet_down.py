"""`scripts/testnet down` stops the nodes all at once: SIGTERM to each, then one deadline
for all of them, then SIGKILL. It stopped them one after another, each waiting for its
own exit, so a testnet of five took five times as long as its slowest node.

Stand-in nodes (a process whose command line names `senim node --config SLUG.toml`, as
`down` checks, pid files reused are not its to kill) stop on SIGTERM only once every one
of them has had its SIGTERM: stopped one at a time, the first waits for the others' until
`down` kills it."""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.e2e.processes import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

ROOT = Path(__file__).resolve().parents[2]
SLUGS = ("mshe", "moe", "enu")
DOWN_TIMEOUT_S = 60.0

# argv[1]: the folder of markers; argv[2:]: the slugs. Waits (bounded) for SIGTERM, marks
# it, then waits for every slug's mark before it exits.
STAND_IN = """
import signal, sys, time
from pathlib import Path
marks, slugs, me = Path(sys.argv[1]), sys.argv[2].split(","), sys.argv[4].split(".")[0]
termed = []
signal.signal(signal.SIGTERM, lambda *_: termed.append(1))
(marks / f"{me}.ready").touch()
deadline = time.monotonic() + 60
while not termed and time.monotonic() < deadline:
    time.sleep(0.02)
(marks / f"{me}.term").touch()
while time.monotonic() < deadline and not all((marks / f"{s}.term").exists() for s in slugs):
    time.sleep(0.02)
"""


def _stand_in(net: Path, slug: str) -> subprocess.Popen[bytes]:
    marks = net / "marks"
    process = subprocess.Popen(
        [sys.executable, "-c", STAND_IN, str(marks), ",".join(SLUGS), "senim node --config",
         f"{slug}.toml"], cwd=net, stdin=subprocess.DEVNULL, start_new_session=True)
    # reaped as soon as it exits, as a node started by an earlier `scripts/testnet` is by init
    threading.Thread(target=process.wait, daemon=True).start()
    (net / "run" / f"{slug}.pid").write_text(f"{process.pid}\n")
    return process


def _down(net: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(ROOT / "scripts" / "testnet"), "down"], capture_output=True,
                          text=True, timeout=DOWN_TIMEOUT_S, stdin=subprocess.DEVNULL,
                          env=dict(os.environ, SENIM_TESTNET_DIR=str(net)))


def test_down_signals_every_node_before_it_waits_for_any(tmp_path: Path) -> None:
    (tmp_path / "run").mkdir()
    (tmp_path / "marks").mkdir()
    nodes = [_stand_in(tmp_path, slug) for slug in SLUGS]
    # the command line names `senim node`, as `down` checks, only once Python runs the script
    wait_until(lambda: all((tmp_path / "marks" / f"{s}.ready").exists() for s in SLUGS),
               30, "the stand-in nodes to start")
    # a pid file naming a process that is no node (its pid reused): left running
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"],
                             stdin=subprocess.DEVNULL)
    (tmp_path / "run" / "kaznu.pid").write_text(f"{other.pid}\n")
    try:
        done = _down(tmp_path)
        assert done.returncode == 0, done.stderr
        assert sorted(done.stdout.splitlines()) == sorted(f"{s}: stopped" for s in SLUGS), (
            done.stdout)
        assert [node.wait(10) for node in nodes] == [0] * len(SLUGS)
        assert other.poll() is None
        assert list((tmp_path / "run").glob("*.pid")) == []
        assert _down(tmp_path).stdout == "no testnet nodes running\n"
    finally:
        for process in (*nodes, other):
            if process.poll() is None:
                os.kill(process.pid, signal.SIGKILL)
                process.wait(10)


def test_down_while_another_run_changes_the_network_is_refused_touching_nothing(
        tmp_path: Path) -> None:
    """Two scripts/testnet at once (two terminals) both made the keys, or both started a
    node, its pid file then naming the copy that lost the port. One holds the folder's
    lock (as a running `up` does); another is refused with one line and exit 1."""
    (tmp_path / "run").mkdir()
    (tmp_path / "marks").mkdir()
    node = _stand_in(tmp_path, "mshe")
    wait_until(lambda: (tmp_path / "marks" / "mshe.ready").exists(), 30, "the stand-in")
    try:
        with (tmp_path / "run" / "lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            done = _down(tmp_path)
        assert done.returncode == 1, done
        assert done.stderr.startswith("another scripts/testnet is changing "), done.stderr
        assert node.poll() is None and (tmp_path / "run" / "mshe.pid").exists()
        assert not (tmp_path / "marks" / "mshe.term").exists()
    finally:
        if node.poll() is None:
            os.kill(node.pid, signal.SIGKILL)
            node.wait(10)
