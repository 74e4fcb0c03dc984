"""The VC pool's workers (and multiprocessing's fork server behind them) end with the
daemon that started them, even when it is killed with kill -9."""

from __future__ import annotations

import gc
import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from aiohttp import web

from node.orphan_guard import gone
from node.vc_api import warm_workers_on_start
from node.vc_common import FORK_SERVER_PRELOAD, VC, VcSettings, _new_pool

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


def test_a_daemon_killed_with_kill_9_leaves_no_line_in_its_log() -> None:
    """multiprocessing's resource tracker, which outlives the daemon to unlink the pool's
    semaphores, wrote 'UserWarning: resource_tracker: There appear to be 5 leaked
    semaphore objects…' and the line of source it came from into the daemon's log: two
    lines of Python in a log of JSON lines, about a clean-up it does by itself."""
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              cwd=Path(__file__).parents[2])
    try:
        assert parent.stdout is not None
        json.loads(parent.stdout.readline())  # the pool is running
        parent.send_signal(signal.SIGKILL)
        # the tracker holds the log (stderr) open until it is done: read it to the end
        _, err = parent.communicate(timeout=DEADLINE_S)
        assert err.decode() == ""
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
        del pool  # its queues' semaphores go now, not as leaks reported at exit
        gc.collect()


PROBED = """
from node.vc_common import _FORKSERVER, FORK_SERVER_PRELOAD, _new_pool
_FORKSERVER.set_forkserver_preload([*FORK_SERVER_PRELOAD, "sigint_probe"])
pool = _new_pool()
assert pool.submit(abs, -1).result() == 1
pool.shutdown()
"""
PROBE = """
import os, signal
with open(os.path.join(os.path.dirname(__file__), "seen"), "w") as out:
    out.write(repr(signal.getsignal(signal.SIGINT)))
"""


def test_the_fork_server_ignores_ctrl_c_while_it_starts(tmp_path: Path) -> None:
    """It is in the daemon's process group too: a Ctrl-C while it imported its preloaded
    modules, in a node's first seconds, ended it with a KeyboardInterrupt traceback. A
    probe preloaded last says how SIGINT is handled then; the module that ignores it is
    imported before the slow ones."""
    assert FORK_SERVER_PRELOAD[0] == "node.sigint_ignored"
    (tmp_path / "sigint_probe.py").write_text(PROBE)
    # on PYTHONPATH: the fork server imports its preload on its own path, not its parent's
    subprocess.run([sys.executable, "-c", PROBED], check=True, cwd=Path(__file__).parents[2],
                   env={**os.environ, "PYTHONPATH": str(tmp_path)}, timeout=DEADLINE_S)
    assert (tmp_path / "seen").read_text() == repr(signal.SIG_IGN)


class _DeadForkServer(ThreadPoolExecutor):
    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
        raise EOFError("unexpected EOF")  # as multiprocessing.forkserver.read_signed


async def test_a_warm_up_that_meets_a_dead_fork_server_does_not_stop_the_start() -> None:
    """systemd stops a service by signalling its whole process group: in a node's first
    seconds the fork server could die first, and the warm-up's EOFError left the app's
    start-up, so the node exited 1 with click's 'Aborted!' instead of stopping cleanly."""
    app = web.Application()
    app[VC] = VcSettings(pool=_DeadForkServer(1))
    warm_workers_on_start(app)
    runner = web.AppRunner(app)
    await runner.setup()  # runs the app's start-up
    await runner.cleanup()
