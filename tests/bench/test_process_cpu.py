"""The bench splits a node's CPU into its own and its children's (the signature workers),
so that `--only consortium-growth` shows which part grows with the state."""

from __future__ import annotations

import select
import subprocess
import sys
import time

from bench.single_node import process_cpu_s, process_cpu_split_s

BURN_S = 0.3  # CPU a child spends, enough to be read in /proc's clock ticks


def _burn(seconds: float) -> str:
    return (f"import time\nend = time.process_time() + {seconds}\n"
            "while time.process_time() < end:\n    pass\n")


def test_a_childs_cpu_counts_as_the_childs_while_it_runs_and_once_reaped() -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c",
         "import subprocess, sys\n"
         f"child = subprocess.Popen([sys.executable, '-c', {_burn(BURN_S)!r} "
         "+ 'import sys; sys.stdin.read()'], stdin=subprocess.PIPE)\n"
         "sys.stdin.readline()\n"  # the test reads the live child's CPU meanwhile
         "child.stdin.close(); child.wait()\n"
         "print('reaped', flush=True)\n"
         "sys.stdin.readline()\n"],  # the test reads the reaped child's CPU
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert parent.stdin is not None and parent.stdout is not None
    try:
        deadline = time.monotonic() + 30
        while process_cpu_split_s(parent.pid)[1] < BURN_S * 0.8:
            assert time.monotonic() < deadline, "the child's CPU never showed"
            time.sleep(0.05)
        own, children = process_cpu_split_s(parent.pid)
        assert own < BURN_S / 2 < children
        parent.stdin.write("\n")
        parent.stdin.flush()
        ready, _, _ = select.select([parent.stdout], [], [],
                                    max(0.0, deadline - time.monotonic()))
        assert ready, "the parent never said it reaped its child"
        assert parent.stdout.readline() == "reaped\n"  # its CPU is in the parent's cutime
        own, reaped = process_cpu_split_s(parent.pid)
        assert reaped >= children and own < BURN_S / 2
        assert abs(process_cpu_s(parent.pid) - (own + reaped)) < 0.05
    finally:
        parent.stdin.close()
        if parent.poll() is None:
            parent.kill()  # its child's stdin closes with it, and the child ends
        parent.wait(30)
        parent.stdout.close()
