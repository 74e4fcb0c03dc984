"""`senim issue` stopped by a real SIGINT (Ctrl-C) at every step, against a real node.

The step is chosen with the test hook SENIM_ISSUE_PAUSE_AT (cli/job_folder.py): the
process says "paused at <point>" on stderr and waits there; the test waits for that
line (with a deadline) and sends SIGINT, so the KeyboardInterrupt is raised at that
point of the real process. Each stop must be one line and exit 130, leave no
credential on chain without its file on disk, and the re-run it names must finish
the job with one batch.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli.errors import EXIT_INTERRUPTED
from cli.job_folder import CRASH_ENV, PAUSE_ENV, PAUSE_POINTS
from tests.e2e.harness import Consortium, NodeProcess, senim_executable, wait_until
from tests.e2e.test_cli_lifecycle import write_graduates_csv
from tests.e2e.test_issue_job import accredited_solo, issue_batches_on_chain, run_senim

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

ROWS = 6
DEADLINE_S = 60.0


@pytest.fixture(scope="module")
def solo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Consortium, NodeProcess]]:
    yield from accredited_solo(tmp_path_factory.mktemp("issue-interrupted"))


def interrupt(net: Consortium, node: NodeProcess, args: list[str], name: str,
              pause_at: str | None) -> tuple[int, list[str]]:
    """Run senim with `args`, SIGINT it once it is paused at `pause_at` (or, with None,
    once it is importing the project: the modules take most of a second); returns
    the exit code and its stderr lines other than the hook's own."""
    env = dict(os.environ, NO_COLOR="1", PYTHONUTF8="1", SENIM_NODE=node.url)
    env.pop(CRASH_ENV, None)
    env.pop(PAUSE_ENV, None)
    if pause_at is not None:
        env[PAUSE_ENV] = pause_at
    err_path = net.root / f"{name}.stderr"
    with err_path.open("w") as err:
        # Whatever ran pytest may have SIGINT ignored, which a child would inherit.
        process = subprocess.Popen([senim_executable(), *args], cwd=net.root, env=env,
                                   stdout=subprocess.DEVNULL, stderr=err,
                                   stdin=subprocess.DEVNULL,
                                   preexec_fn=lambda: signal.signal(signal.SIGINT,
                                                                    signal.SIG_DFL))
    try:
        if pause_at is None:
            wait_until(lambda: importing(process.pid), DEADLINE_S,
                       "senim to import the project", interval_s=0.002)
        else:
            wait_until(lambda: f"paused at {pause_at}" in err_path.read_text(), DEADLINE_S,
                       f"senim issue to pause at {pause_at}")
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=DEADLINE_S)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    lines = [line for line in err_path.read_text().splitlines()
             if line.strip() and not line.startswith("paused at ")
             and not line.startswith("writing credentials:")]  # tqdm's bar, cut short
    return code, lines


def importing(pid: int) -> bool:
    """msgpack's C module is loaded: the ledger's codec, among the first of the
    project's imports (Python's own start, before that, is no business of ours)."""
    try:
        return "_cmsgpack" in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False


def files_of(out: Path) -> list[Path]:
    return sorted((out / "credentials").rglob("*.json")) if (out / "credentials").is_dir() \
        else []


def state_of(out: Path) -> str | None:
    path = out / "manifest.json"
    return str(json.loads(path.read_text())["state"]) if path.exists() else None


def check_finished(net: Consortium, node: NodeProcess, out: Path, batches_before: int) -> None:
    """One batch more on chain, and it is this folder's: every credential of it on disk."""
    enu = net.member_id("enu")
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["state"] == "committed" and manifest["registered"]
    files = files_of(out)
    assert len(files) == ROWS
    assert sorted(json.loads(f.read_text())["target_hash"] for f in files) == sorted(
        manifest["target_hashes"])
    batches = issue_batches_on_chain(node, enu)
    assert len(batches) == batches_before + 1
    on_chain = node.get_json(f"/v1/batches/{enu}/{manifest['batch_root']}")
    assert on_chain["count"] == ROWS and on_chain["tx_id"] == manifest["issuance"]["tx_id"]


# What each stop says it left, and what it leaves: the manifest's state (None: no job
# folder) and whether the batch is on chain.
EXPECTED = {
    "hashing": ("nothing was issued or sent, and running the same command again is safe",
                None, False),
    "preparing": ("none of them is issued; finish with senim issue --resume", "preparing",
                  False),
    "writing": ("none of them is issued; finish with senim issue --resume", "preparing",
                False),
    "prepared": ("none is issued yet; finish with senim issue --resume", "prepared", False),
    "submitting": ("may be on chain or commit later", "submitted", False),
    "submitted": ("may be on chain or commit later", "submitted", None),
    "seen-committed": ("may be on chain or commit later", "submitted", True),
    "committed": ("all 6 diploma credentials are issued", "committed", True),
}


@pytest.mark.parametrize("point", PAUSE_POINTS)
def test_ctrl_c_at_every_step_is_one_line_and_the_named_rerun_finishes_the_job(
        solo: tuple[Consortium, NodeProcess], point: str) -> None:
    net, node = solo
    enu = net.member_id("enu")
    before = len(issue_batches_on_chain(node, enu))
    number = PAUSE_POINTS.index(point)
    write_graduates_csv(net.root / f"class-{point}.csv", ROWS, seed=1000 + number)
    out = net.root / f"job-{point}"
    command = ["issue", "--key", str(net.key_path("enu")), "--type", "diploma", "--input",
               str(net.root / f"class-{point}.csv"), "--out", str(out)]
    code, lines = interrupt(net, node, command, point, point)
    said, state, on_chain = EXPECTED[point]
    assert code == EXIT_INTERRUPTED, lines
    assert len(lines) == 1 and lines[0].startswith("interrupted: "), lines
    assert said in lines[0], lines
    assert state_of(out) == state
    if state is None:
        assert not out.exists()
    if on_chain is not None:  # "submitted": the node may have committed it meanwhile
        node_has_it = len(issue_batches_on_chain(node, enu)) > before
        if not on_chain:
            assert not node_has_it
        else:
            wait_until(lambda: len(issue_batches_on_chain(node, enu)) > before, DEADLINE_S,
                       "the batch to commit")
    if len(issue_batches_on_chain(node, enu)) > before:
        assert len(files_of(out)) == ROWS  # never on chain without its files on disk
    rerun = command if state is None else ["issue", "--resume", str(out)]
    done = run_senim(net, node, *rerun)
    assert done.returncode == 0, done.stdout + done.stderr
    check_finished(net, node, out, before)


def test_ctrl_c_while_a_resume_writes_the_files_again_leaves_a_job_to_resume(
        solo: tuple[Consortium, NodeProcess]) -> None:
    net, node = solo
    before = len(issue_batches_on_chain(node, net.member_id("enu")))
    write_graduates_csv(net.root / "class-twice.csv", ROWS, seed=2000)
    out = net.root / "job-twice"
    code, _ = interrupt(net, node, ["issue", "--key", str(net.key_path("enu")), "--type",
                                    "diploma", "--input", str(net.root / "class-twice.csv"),
                                    "--out", str(out)], "twice-1", "writing")
    assert code == EXIT_INTERRUPTED and state_of(out) == "preparing"
    # The resume reads and hashes the export again: stopped there, the folder must
    # still be a job that --resume finishes (not an empty folder that is no job).
    code, lines = interrupt(net, node, ["issue", "--resume", str(out)], "twice-2", "hashing")
    assert code == EXIT_INTERRUPTED, lines
    assert len(lines) == 1 and lines[0].startswith("interrupted: "), lines
    assert "--resume" in lines[0], lines
    assert state_of(out) == "preparing"
    done = run_senim(net, node, "issue", "--resume", str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    check_finished(net, node, out, before)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc")
def test_ctrl_c_while_senim_is_still_starting_is_one_line(
        solo: tuple[Consortium, NodeProcess]) -> None:
    net, node = solo
    write_graduates_csv(net.root / "class-starting.csv", ROWS, seed=3000)
    code, lines = interrupt(net, node, ["issue", "--dry-run", "--type", "diploma", "--input",
                                        str(net.root / "class-starting.csv")],
                            "starting", None)
    assert code == EXIT_INTERRUPTED, lines
    assert len(lines) == 1 and lines[0].startswith("interrupted: "), lines
