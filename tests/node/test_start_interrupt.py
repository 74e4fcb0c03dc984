"""A Ctrl-C while `senim node` starts, before the daemon's loop takes SIGINT as its stop,
in a node that logs JSON: one JSON line naming the node, and exit 130.

Each run sends the process its own SIGINT at one point of the start (an import, or the
checks before the loop), as a terminal's Ctrl-C would land there: an import hook sends it
when the named module is first imported. Before, each of these printed the plain line
'interrupted: the node stopped while starting', the one line a collector could not parse.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from node.config import render_config
from tests.node.node_folders import write_lone_validator

PROCESS_TIMEOUT_S = 60
REPO = Path(__file__).parents[2]
# Sends the signal named by sys.argv[2] (SIGINT unless given) when sys.argv[1] is imported
# ('check_before_start': when the daemon's checks run), then runs the console script on the
# rest of the arguments.
STARTER = """
import os, signal, sys
where = sys.argv.pop(1)
sig = getattr(signal, sys.argv.pop(1)) if sys.argv[1].startswith("SIG") else signal.SIGINT
class CtrlC:
    def find_spec(self, name, path=None, target=None):
        if name == where:
            os.kill(os.getpid(), sig)
        return None
sys.meta_path.insert(0, CtrlC())
if where == "check_before_start":
    import node.daemon
    node.daemon.check_before_start = lambda config, resync: os.kill(os.getpid(), sig)
from cli.entry import run
run()
"""


@pytest.mark.parametrize("where", ["cli.main", "cli.node_info", "node.daemon",
                                   "check_before_start"])
@pytest.mark.parametrize("how", ["flag", "config"])
def test_a_ctrl_c_while_the_node_starts_is_one_json_line(tmp_path: Path, where: str,
                                                         how: str) -> None:
    write_lone_validator(tmp_path)
    config = tmp_path / "node.toml"
    config.write_text(render_config(
        "kaznu-1", "node.key", "genesis.json", "data", "127.0.0.1:0", "127.0.0.1:0", [],
        overrides={"log": {"format": "json"}} if how == "config" else None))
    flag = ["--log-format", "json"] if how == "flag" else []
    done = subprocess.run([sys.executable, "-c", STARTER, where, "node", "--config",
                           str(config), *flag], capture_output=True, text=True,
                          timeout=PROCESS_TIMEOUT_S, cwd=REPO, check=False)
    assert done.returncode == 130, done.stderr
    (line,) = done.stderr.splitlines()
    entry = json.loads(line)
    assert (entry["level"], entry["node"], entry["msg"]) == (
        "warning", "kaznu-1", "interrupted: the node stopped while starting"), entry
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize("where", ["cli.main", "cli.node_info", "node.daemon",
                                   "check_before_start"])
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_sigterm_or_sighup_while_the_node_starts_is_one_line_naming_it(
        tmp_path: Path, where: str, sig: signal.Signals) -> None:
    """systemd's stop (SIGTERM) or a closed terminal (SIGHUP) before the loop took them:
    the node ended at once, exit 143 or 129, with no line at all in its log."""
    write_lone_validator(tmp_path)
    config = tmp_path / "node.toml"
    config.write_text(render_config(
        "kaznu-1", "node.key", "genesis.json", "data", "127.0.0.1:0", "127.0.0.1:0", [],
        overrides={"log": {"format": "json"}}))
    done = subprocess.run([sys.executable, "-c", STARTER, where, sig.name, "node", "--config",
                           str(config)], capture_output=True, text=True,
                          timeout=PROCESS_TIMEOUT_S, cwd=REPO, check=False,
                          # SIGHUP at its default, as in a terminal (not nohup's ignored)
                          preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_DFL))
    assert done.returncode == 128 + sig, (done.returncode, done.stderr)
    (line,) = done.stderr.splitlines()
    entry = json.loads(line)
    assert (entry["level"], entry["node"], entry["msg"]) == (
        "warning", "kaznu-1", f"interrupted: the node stopped while starting ({sig.name} "
        "received)"), entry
    assert not (tmp_path / "data").exists()
