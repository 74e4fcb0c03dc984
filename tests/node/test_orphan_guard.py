"""The VC pool's workers (and multiprocessing's fork server behind them) end with the
daemon that started them, even when it is killed with kill -9."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from node.orphan_guard import gone

DEADLINE_S = 20.0
PARENT = """
import json, multiprocessing.forkserver, sys
from node.vc_common import _new_pool
pool = _new_pool()
assert pool.submit(abs, -1).result() == 1
workers = list(pool._processes)
server = multiprocessing.forkserver._forkserver._forkserver_pid
print(json.dumps(workers + [server]), flush=True)
sys.stdin.read()
"""


def test_the_vc_pool_does_not_outlive_its_daemon_killed_with_kill_9() -> None:
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, cwd=Path(__file__).parents[2])
    try:
        assert parent.stdout is not None
        pids = json.loads(parent.stdout.readline())
        assert len(pids) >= 2 and not any(gone(pid) for pid in pids)
        parent.send_signal(signal.SIGKILL)
        parent.wait(DEADLINE_S)
        deadline = time.monotonic() + DEADLINE_S
        while not all(gone(pid) for pid in pids):
            assert time.monotonic() < deadline, [pid for pid in pids if not gone(pid)]
            time.sleep(0.05)
    finally:
        parent.kill()
        parent.wait()
