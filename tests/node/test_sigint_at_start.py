"""A Ctrl-C in the moment a child interpreter of the daemon starts (the VC pool's fork
server, a signature child), before any of its own code runs.

A sitecustomize module, on the path of the child only, holds the child inside its
interpreter's start (site is imported before `-c` or `-m` code runs) until a SIGINT is
pending for it, with a deadline; the test sends a real SIGINT to the daemon stand-in's
whole process group, as a terminal's Ctrl-C does, once the child says it is held. Before
children started with SIGINT blocked, the signal came as a KeyboardInterrupt there: the
fork server printed a traceback and died, the signature child died.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

DEADLINE_S = 60.0
REPO = Path(__file__).parents[2]
HOLD = """
import os, signal, sys, time
if os.environ["HOLD_ARGV"] in " ".join(sys.orig_argv):
    with open(os.environ["HOLD_MARKER"] + ".tmp", "w") as marker:
        marker.write(str(os.getpid()))
    os.rename(os.environ["HOLD_MARKER"] + ".tmp", os.environ["HOLD_MARKER"])
    deadline = time.monotonic() + float(os.environ["HOLD_S"])
    while signal.SIGINT not in signal.sigpending() and time.monotonic() < deadline:
        time.sleep(0.002)
"""
# The daemon stand-ins: each starts its child as the daemon does, and takes its own
# SIGINT as the daemon's loop does (a handler that asks it to stop).
FORK_SERVER = """
import signal
stops = []
signal.signal(signal.SIGINT, lambda *_: stops.append(1))
from node.vc_common import _new_pool
pool = _new_pool()
answer = pool.submit(abs, -1).result(timeout=60)
again = pool.submit(abs, -2).result(timeout=60)
pool.shutdown()
print(answer, again, len(stops), flush=True)
"""
SIGNATURE_CHILD = """
import os, signal
stops = []
signal.signal(signal.SIGINT, lambda *_: stops.append(1))
from ledger.identity import KeyPair
from node.signature_workers import WORKER_BATCH_MIN, SignatureWorkers, check_in_turn
keys = KeyPair.generate()
checks = [(keys.public_key, b"m%d" % i, keys.sign_raw(b"m%d" % i)) for i in range(WORKER_BATCH_MIN)]
workers = SignatureWorkers(1)
first = workers(checks) == check_in_turn(checks)
(child,) = [c for c in workers._idle]
second = workers(checks) == check_in_turn(checks)
alive = child.process.poll() is None and [c for c in workers._idle] == [child]
workers.close()
print(first, second and alive, len(stops), flush=True)
"""


FORK_SERVER_ARGV = "multiprocessing.forkserver import main"  # its `python -c` code
SIGNATURE_CHILD_ARGV = "-m node.signature_child"


@pytest.mark.parametrize("stand_in,argv", [(FORK_SERVER, FORK_SERVER_ARGV),
                                           (SIGNATURE_CHILD, SIGNATURE_CHILD_ARGV)],
                         ids=["fork-server", "signature-child"])
def test_a_ctrl_c_while_a_child_interpreter_starts_prints_nothing_and_ends_nothing(
        tmp_path: Path, stand_in: str, argv: str) -> None:
    (tmp_path / "sitecustomize.py").write_text(HOLD)
    marker = tmp_path / "held"
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "HOLD_MARKER": str(marker),
           "HOLD_S": str(DEADLINE_S / 2), "HOLD_ARGV": argv}
    daemon = subprocess.Popen([sys.executable, "-c", stand_in], cwd=REPO, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              start_new_session=True)
    try:
        deadline = time.monotonic() + DEADLINE_S
        while not marker.exists():
            assert daemon.poll() is None, daemon.communicate()
            assert time.monotonic() < deadline, "the child never started"
            time.sleep(0.01)
        os.killpg(daemon.pid, signal.SIGINT)  # Ctrl-C: the daemon and its children
        out, err = daemon.communicate(timeout=DEADLINE_S)
    finally:
        if daemon.poll() is None:
            os.killpg(daemon.pid, signal.SIGKILL)
            daemon.wait()
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert daemon.returncode == 0, err
    # the child did its work and lives on; the daemon heard its Ctrl-C once
    worked = ["1", "2"] if stand_in == FORK_SERVER else ["True", "True"]
    assert out.split() == [*worked, "1"], out
