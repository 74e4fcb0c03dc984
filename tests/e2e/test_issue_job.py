"""`senim issue` killed at every step, then `senim issue --resume`, against real node processes.

The kill is the documented test hook SENIM_ISSUE_CRASH_AT (cli/job_folder.py): the
process leaves with os._exit at that point, as SIGKILL would, flushing nothing.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cli.errors import EXIT_PENDING
from cli.job_folder import CRASH_ENV, CRASH_EXIT, CRASH_POINTS
from tests.e2e.harness import Consortium, Member, NodeProcess, senim_executable
from tests.e2e.test_cli_lifecycle import write_graduates_csv

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

ROWS = 6


def run_senim(net: Consortium, node: NodeProcess, *args: str, crash_at: str | None = None,
              ) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, NO_COLOR="1", PYTHONUTF8="1", SENIM_NODE=node.url)
    env.pop(CRASH_ENV, None)
    if crash_at is not None:
        env[CRASH_ENV] = crash_at
    return subprocess.run([senim_executable(), *args], cwd=net.root, env=env,
                          capture_output=True, text=True, timeout=90, stdin=subprocess.DEVNULL)


def issue_batches_on_chain(node: NodeProcess, sender: str) -> list[dict[str, Any]]:
    found = []
    for height in range(1, node.height() + 1):
        block = node.get_json(f"/v1/blocks/{height}")
        found += [tx for tx in block["transactions"]
                  if tx["kind"] == "issue_batch" and tx["sender"] == sender]
    return found


def accredited_solo(root: Path) -> Iterator[tuple[Consortium, NodeProcess]]:
    """One validator (the ministry) running, ENU accredited for diplomas; for a module
    fixture to yield from."""
    members = [Member("mshe", "Ministry", "ministry", validator=True, runs_node=True),
               Member("enu", "ENU", "university")]
    with Consortium(root, members) as net:
        node = net.start("mshe")
        net.cli("accredit", "--key", str(net.key_path("mshe")), "--issuer",
                net.member_id("enu"), "--types", "diploma", node=node)
        yield net, node
        assert node.stop() == 0, node.log_tail()


@pytest.fixture(scope="module")
def solo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Consortium, NodeProcess]]:
    yield from accredited_solo(tmp_path_factory.mktemp("issue-job"))


def test_killed_at_every_step_resume_puts_every_credential_on_chain_and_disk_once(
        solo: tuple[Consortium, NodeProcess]) -> None:
    net, node = solo
    enu = net.member_id("enu")
    before = len(issue_batches_on_chain(node, enu))
    manifests = []
    for number, point in enumerate(CRASH_POINTS):
        rows = write_graduates_csv(net.root / f"class-{point}.csv", ROWS, seed=number)
        out = net.root / f"job-{point}"
        killed = run_senim(net, node, "issue", "--key", str(net.key_path("enu")), "--type",
                           "diploma", "--input", str(net.root / f"class-{point}.csv"),
                           "--out", str(out), crash_at=point)
        assert killed.returncode == CRASH_EXIT, (point, killed.stdout, killed.stderr)
        resumed = run_senim(net, node, "issue", "--resume", str(out))
        assert resumed.returncode == 0, (point, resumed.stdout, resumed.stderr)
        assert f"issued {ROWS} diploma(s)" in resumed.stdout, resumed.stdout
        manifest = json.loads((out / "manifest.json").read_text())
        assert manifest["state"] == "committed", point
        files = sorted((out / "credentials").rglob("*.json"))
        assert len(files) == ROWS, (point, files)
        assert all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in files)
        assert stat.S_IMODE(out.stat().st_mode) == 0o700
        names = {json.loads(f.read_text())["fields"]["full_name"]["value"] for f in files}
        assert names == {row["full_name"] for row in rows}
        assert sorted(json.loads(f.read_text())["target_hash"] for f in files) == sorted(
            manifest["target_hashes"])
        on_chain = node.get_json(f"/v1/batches/{manifest['issuer']}/{manifest['batch_root']}")
        assert on_chain["count"] == ROWS and on_chain["tx_id"] == manifest["issuance"]["tx_id"]
        assert on_chain["height"] == manifest["issuance"]["height"]
        again = run_senim(net, node, "issue", "--resume", str(out))
        assert again.returncode == 0 and "nothing to do" in again.stdout
        manifests.append(manifest)
    batches = issue_batches_on_chain(node, enu)[before:]
    assert sorted(tx["tx_id"] for tx in batches) == sorted(
        m["issuance"]["tx_id"] for m in manifests)  # one transaction per job, no more
    last = sorted((net.root / f"job-{CRASH_POINTS[-1]}" / "credentials").rglob("*.json"))[0]
    verdict = run_senim(net, node, "verify", str(last))
    assert verdict.returncode == 0 and "VALID" in verdict.stdout, verdict.stdout


def test_out_that_is_a_file_or_a_non_empty_directory_is_refused_before_any_work(
        solo: tuple[Consortium, NodeProcess]) -> None:
    net, node = solo
    write_graduates_csv(net.root / "refused.csv", 3, seed=99)
    height = node.height()
    a_file = net.root / "not-a-dir.txt"
    a_file.write_text("keep me\n")
    busy = net.root / "busy"
    busy.mkdir()
    (busy / "manifest.json").write_text("{\"earlier\": true}\n")
    for out in (a_file, busy):
        done = run_senim(net, node, "issue", "--key", str(net.key_path("enu")), "--type",
                         "diploma", "--input", str(net.root / "refused.csv"), "--out", str(out))
        assert done.returncode == 2, done.stderr
        assert done.stderr.startswith("error: ") and len(done.stderr.strip().splitlines()) == 1
        assert "Traceback" not in done.stderr
    for not_a_job in (busy, net.root / "no-such-job"):
        done = run_senim(net, node, "issue", "--resume", str(not_a_job))
        assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
        assert len(done.stderr.strip().splitlines()) == 1
    assert a_file.read_text() == "keep me\n"
    assert (busy / "manifest.json").read_text() == "{\"earlier\": true}\n"
    assert node.height() == height  # nothing submitted


def test_lost_quorum_is_reported_times_out_pending_and_resume_commits(
        tmp_path: Path) -> None:
    members = [Member("mshe", "Ministry", "ministry", validator=True, runs_node=True),
               Member("mon", "Ministry of Enlightenment", "ministry", validator=True,
                      runs_node=True),
               Member("enu", "ENU", "university")]
    with Consortium(tmp_path, members) as net:  # 2 validators: both are needed to commit
        mshe, mon = net.start_all()
        net.cli("accredit", "--key", str(net.key_path("mshe")), "--issuer",
                net.member_id("enu"), "--types", "diploma", node=mshe)
        write_graduates_csv(tmp_path / "class.csv", ROWS, seed=5)
        assert mon.stop() == 0
        out = tmp_path / "job"
        pending = run_senim(net, mshe, "issue", "--key", str(net.key_path("enu")), "--type",
                            "diploma", "--input", str(tmp_path / "class.csv"), "--out",
                            str(out), "--timeout", "6")
        assert pending.returncode == EXIT_PENDING, pending.stdout + pending.stderr
        assert "1 of 2 validators unreachable" in pending.stdout, pending.stdout
        assert "Ministry of Enlightenment" in pending.stdout
        assert "will commit when they return" in pending.stdout
        assert f"senim issue --resume {out}" in pending.stderr and "pending:" in pending.stderr
        assert json.loads((out / "manifest.json").read_text())["state"] == "submitted"
        assert len(list((out / "credentials").rglob("*.json"))) == ROWS
        net.start("mon")
        resumed = run_senim(net, mshe, "issue", "--resume", str(out), "--timeout", "60")
        assert resumed.returncode == 0, resumed.stdout + resumed.stderr
        manifest = json.loads((out / "manifest.json").read_text())
        assert manifest["state"] == "committed"
        assert len(issue_batches_on_chain(mshe, net.member_id("enu"))) == 1
        net.stop_all()


def test_killed_after_sending_then_run_again_into_a_new_folder_issues_nothing_twice(
        solo: tuple[Consortium, NodeProcess]) -> None:
    # A registrar who does not know --resume runs the same command again.
    net, node = solo
    enu = net.member_id("enu")
    before = len(issue_batches_on_chain(node, enu))
    write_graduates_csv(net.root / "again.csv", ROWS, seed=77)
    first, second = net.root / "again-1", net.root / "again-2"
    command = ["issue", "--key", str(net.key_path("enu")), "--type", "diploma", "--input",
               str(net.root / "again.csv")]
    killed = run_senim(net, node, *command, "--out", str(first), crash_at="submitted")
    assert killed.returncode == CRASH_EXIT, killed.stdout + killed.stderr
    again = run_senim(net, node, *command, "--out", str(second))
    assert again.returncode == 2, again.stdout + again.stderr
    assert "row 2, column 'iin'" in again.stderr and "Traceback" not in again.stderr
    assert f"senim issue --resume {first}" in again.stderr
    assert not second.exists()
    resumed = run_senim(net, node, "issue", "--resume", str(first))
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert len(issue_batches_on_chain(node, enu)) == before + 1


def test_the_same_class_issued_twice_at_once_goes_on_chain_once(
        solo: tuple[Consortium, NodeProcess]) -> None:
    # Two registrars (or two terminals) issue one class file in one working area.
    net, node = solo
    enu = net.member_id("enu")
    before = len(issue_batches_on_chain(node, enu))
    write_graduates_csv(net.root / "twice.csv", 200, seed=78)
    env = dict(os.environ, NO_COLOR="1", PYTHONUTF8="1", SENIM_NODE=node.url)
    env.pop(CRASH_ENV, None)
    runs = [subprocess.Popen(
        [senim_executable(), "issue", "--key", str(net.key_path("enu")), "--type", "diploma",
         "--input", str(net.root / "twice.csv"), "--out", str(net.root / f"twice-{n}")],
        cwd=net.root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        stdin=subprocess.DEVNULL) for n in (1, 2)]
    done = [(run.wait(timeout=120), *run.communicate()) for run in runs]
    assert sorted(code for code, _, _ in done) == [0, 2], done
    refused = next(err for code, _, err in done if code == 2)
    assert "row 2, column 'iin'" in refused and "Traceback" not in refused
    assert len(issue_batches_on_chain(node, enu)) == before + 1
