"""The VC pool's workers (and multiprocessing's fork server behind them) end with the
daemon that started them, even when it is killed with kill -9."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from node.orphan_guard import gone
from node.vc_common import _new_pool

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


def test_a_vc_worker_ignores_ctrl_c_at_the_daemons_terminal() -> None:
    """Ctrl-C reaches the terminal's whole process group, the fork server's children too:
    the daemon stops in its own time, and its workers must not die under it with a
    KeyboardInterrupt traceback each."""
    pool = _new_pool()
    assert isinstance(pool, ProcessPoolExecutor)
    try:
        assert pool.submit(abs, -1).result(DEADLINE_S) == 1
        workers = set(pool._processes)
        for pid in workers:
            os.kill(pid, signal.SIGINT)
        for pid in workers:
            ignored = next(line for line in Path(f"/proc/{pid}/status").read_text()
                           .splitlines() if line.startswith("SigIgn:"))
            assert int(ignored.split()[1], 16) >> (signal.SIGINT - 1) & 1
        assert pool.submit(abs, -2).result(DEADLINE_S) == 2
        assert set(pool._processes) == workers
    finally:
        pool.shutdown(wait=True)
