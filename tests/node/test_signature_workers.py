"""Signature checks in child processes (node.signature_workers.SignatureWorkers) and the
admission path that hands them a submission's signatures in one batch."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

import ledger.identity
import ledger.rules
import node.signature_child
import node.signature_workers
from ledger.payloads import AnchorPayload
from node.mempool import MempoolLimits
from node.metrics import NodeMetrics
from node.orphan_guard import gone
from node.public_work import INVALID_SIGNATURES_PER_SUBMISSION_MAX, ForgedSubmission
from node.service import NodeCore
from node.signature_workers import (
    SIGNATURE_WORKERS_MAX,
    WORKER_BATCH_MIN,
    InTurn,
    SignatureWorkers,
    check_in_turn,
    usable_cores,
)
from node.submission_body import FIRST_PART_TXS
from node.validators import SignatureCheck
from storage.kv import MemoryStore
from tests.node.conftest import Consortium, commit, make_tx

DEADLINE_S = 20.0


def mixed_checks(net: Consortium, count: int) -> list[SignatureCheck]:
    """`count` checks, every 7th bad: a wrong key or a changed message."""
    message = b"a batch's signature %d"
    checks = [(net.ministry.public_key, message % i, net.ministry.sign_raw(message % i))
              for i in range(count)]
    for i in range(0, count, 7):
        key, signed, signature = checks[i]
        checks[i] = ((net.university.public_key, signed, signature) if i % 2
                     else (key, signed + b"!", signature))
    return checks


def children_of(pid: int) -> set[int]:
    """The signature workers running as children of `pid`."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                command = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if (int(fields[1]) == pid and fields[0] != "Z"
                    and b"node.signature_child" in command):
                found.add(int(entry.name))
    return found


UNEXPLAINED = "an error no child failure explains"


def raise_once(monkeypatch: pytest.MonkeyPatch, method: str) -> None:
    """Make the first call of `_Child.<method>` ("send" or "receive") raise UNEXPLAINED
    (a RuntimeError, which no child's failure gives), and every later call work."""
    original = getattr(node.signature_workers._Child, method)
    raised: list[bool] = []

    def once(child: node.signature_workers._Child, batch: Sequence[SignatureCheck],
             failures_max: int) -> object:
        if not raised:
            raised.append(True)
            raise RuntimeError(UNEXPLAINED)
        return original(child, batch, failures_max)

    monkeypatch.setattr(node.signature_workers._Child, method, once)


def wait_until(condition: object, what: str) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not callable(condition) or not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {DEADLINE_S} s: {what}")
        time.sleep(0.02)


def test_workers_answer_as_checking_in_turn(net: Consortium) -> None:
    checks = mixed_checks(net, 200)
    workers = SignatureWorkers()
    try:
        assert workers(checks) == check_in_turn(checks)
        assert len(workers(checks)) == 200
        assert workers(checks).count(False) == len(range(0, 200, 7))
        good = [check for i, check in enumerate(checks) if i % 7]
        assert workers(good) == [True] * len(good)
        assert len(children_of(os.getpid())) == 1, children_of(os.getpid())
        # Stopping after some failures, as a submission's batch does.
        assert workers(checks, 5) == check_in_turn(checks, 5)
        assert len(workers(checks, 5)) == 29 and workers(checks, 5).count(False) == 5
        assert workers(checks[:5]) == check_in_turn(checks[:5])
        assert workers([]) == []
    finally:
        workers.close()
    wait_until(lambda: not children_of(os.getpid()), "the child stops with close()")


def answers_on_threads(workers: SignatureWorkers, checks: list[SignatureCheck],
                       threads: int = 4, calls: int = 3) -> list[list[bool]]:
    """Each answer to `checks` made by `calls` calls on each of `threads` threads at once."""
    answers: list[list[bool]] = []
    started = [threading.Thread(target=lambda: answers.extend(
        workers(checks) for _ in range(calls))) for _ in range(threads)]
    for thread in started:
        thread.start()
    for thread in started:
        thread.join(DEADLINE_S)
    return answers


def test_callers_on_several_threads_share_at_most_the_workers(net: Consortium) -> None:
    checks = mixed_checks(net, 300)
    expected = check_in_turn(checks)
    workers = SignatureWorkers(2)
    try:
        assert answers_on_threads(workers, checks) == [expected] * 12
        assert 1 <= len(children_of(os.getpid())) <= 2
    finally:
        workers.close()


def test_children_started_at_once_take_the_first_batches(
        net: Consortium, monkeypatch: pytest.MonkeyPatch) -> None:
    checks = mixed_checks(net, WORKER_BATCH_MIN * 2)
    expected = check_in_turn(checks)
    workers = SignatureWorkers(2)
    try:
        workers.start_children()
        workers.start_children()  # a set full already starts no more
        started = children_of(os.getpid())
        assert len(started) == 2
        # From here the first batches, two at once, must find the started children: a
        # child started on need, or a batch checked in turn, is recorded (and refused).
        missed: list[str] = []

        def refused(what: str) -> Callable[..., None]:
            def call(*_: object) -> None:
                missed.append(what)
                raise RuntimeError(what)
            return call
        monkeypatch.setattr(node.signature_workers, "_Child", refused("a child started"))
        monkeypatch.setattr(node.signature_workers, "check_in_turn",
                            refused("a batch checked in turn"))
        assert answers_on_threads(workers, checks, threads=2, calls=2) == [expected] * 4
        assert missed == []
        assert children_of(os.getpid()) == started
    finally:
        workers.close()
    wait_until(lambda: not children_of(os.getpid()), "the children stop with close()")


def test_a_child_that_cannot_start_at_once_costs_only_the_start(
        net: Consortium, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    checks = mixed_checks(net, WORKER_BATCH_MIN)
    real_child = node.signature_workers._Child

    def cannot_start() -> node.signature_workers._Child:
        raise OSError("no more processes")
    monkeypatch.setattr(node.signature_workers, "_Child", cannot_start)
    workers = SignatureWorkers(1)
    try:
        workers.start_children()  # no exception: the start is logged and counted
        assert not children_of(os.getpid())
        assert any("cannot start a signature worker" in r.getMessage() for r in caplog.records)
        assert workers._failures == 1
        monkeypatch.setattr(node.signature_workers, "_Child", real_child)
        assert workers(checks) == check_in_turn(checks)  # a child started on need
        assert len(children_of(os.getpid())) == 1
    finally:
        workers.close()


def test_a_killed_worker_is_dropped_and_its_batch_still_answered(net: Consortium) -> None:
    checks = mixed_checks(net, WORKER_BATCH_MIN * 2)
    workers = SignatureWorkers(1)
    try:
        assert workers(checks) == check_in_turn(checks)
        (child,) = children_of(os.getpid())
        os.kill(child, signal.SIGKILL)
        wait_until(lambda: gone(child), "the child is killed")
        assert workers(checks) == check_in_turn(checks)  # checked here, child dropped
        assert workers(checks) == check_in_turn(checks)  # in a new child
        assert len(children_of(os.getpid())) == 1
    finally:
        workers.close()


def test_after_too_many_failures_no_worker_is_started_and_the_log_says_so(
        net: Consortium, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(node.signature_workers, "WORKER_FAILURES_MAX", 2)
    checks = mixed_checks(net, WORKER_BATCH_MIN)
    workers = SignatureWorkers(1)
    try:
        for _ in range(2):
            assert workers(checks) == check_in_turn(checks)
            (child,) = children_of(os.getpid())
            os.kill(child, signal.SIGKILL)
            wait_until(lambda child=child: gone(child), "the child is killed")
            assert workers(checks) == check_in_turn(checks)  # dropped: a failure counted
        assert workers(checks) == check_in_turn(checks)
        assert not children_of(os.getpid())  # none started after the second failure
        assert [r.getMessage() for r in caplog.records
                if "no more are started" in r.getMessage()] == [
            "signature workers failed 2 times: no more are started, and this node checks "
            "signatures on its own threads until it restarts"]
    finally:
        workers.close()


PARENT = """
import sys
from ledger.identity import KeyPair
from node.signature_workers import SignatureWorkers
keys = KeyPair.from_seed(bytes(32))
checks = [(keys.public_key, b"m%d" % i, keys.sign_raw(b"m%d" % i)) for i in range(64)]
workers = SignatureWorkers(1)
assert all(workers(checks))
print("checked", flush=True)
sys.stdin.read()
"""


def test_a_worker_does_not_outlive_its_parent_killed_with_kill_9() -> None:
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, cwd=Path(__file__).parents[2])
    try:
        assert parent.stdout is not None
        assert parent.stdout.readline() == b"checked\n"
        (child,) = children_of(parent.pid)
        parent.send_signal(signal.SIGKILL)
        parent.wait(DEADLINE_S)
        wait_until(lambda: gone(child), "the orphaned worker exits")
    finally:
        parent.kill()
        parent.wait()


class CountedChecks(InTurn):
    def __init__(self) -> None:
        super().__init__()
        self.batches: list[tuple[int, int]] = []

    def __call__(self, checks: Sequence[SignatureCheck], failures_max: int = 0) -> list[bool]:
        self.batches.append((len(checks), failures_max))
        return super().__call__(checks, failures_max)


@pytest.fixture
def core(net: Consortium) -> NodeCore:
    node = NodeCore(net.ministry, net.genesis, MemoryStore(),
                    MempoolLimits(max_txs=1_000, max_bytes=1 << 22, max_per_sender=1_000),
                    NodeMetrics())
    node.check_signatures = CountedChecks()
    return node


async def test_a_submission_has_its_signatures_checked_once_in_one_batch(
        core: NodeCore, net: Consortium, monkeypatch: pytest.MonkeyPatch) -> None:
    txs = [make_tx(net.university, AnchorPayload(os.urandom(32))) for _ in range(40)]
    forged = make_tx(net.university, AnchorPayload(os.urandom(32))).encode()[:-64] + bytes(64)
    stranger = make_tx(net.outsider, AnchorPayload(os.urandom(32)))
    checked_again: list[bytes] = []
    real = ledger.identity.verify_signature

    def counted(key: bytes, message: bytes, signature: bytes) -> bool:
        checked_again.append(signature)
        return real(key, message, signature)

    monkeypatch.setattr(ledger.rules, "verify_signature", counted)
    try:
        results = await core.submit([tx.encode() for tx in txs]
                                    + [forged, stranger.encode()])
        assert [refusal.code if refusal else None for _, refusal in results] == (
            [None] * 40 + ["bad_signature", "unknown_sender"])
        assert len(core.mempool) == 40
        # One batch of the known senders' signatures; only the bad one is checked again.
        assert core.check_signatures.batches == [  # type: ignore[attr-defined]
            (41, INVALID_SIGNATURES_PER_SUBMISSION_MAX)]
        assert checked_again == [bytes(64)]
    finally:
        core.worker.shutdown(wait=True)


async def test_a_forged_submission_costs_a_batch_cut_short(
        core: NodeCore, net: Consortium, monkeypatch: pytest.MonkeyPatch) -> None:
    forged = [make_tx(net.university, AnchorPayload(os.urandom(32))).encode()[:-64]
              + os.urandom(64) for _ in range(500)]
    checked: list[bytes] = []
    real = ledger.identity.verify_signature

    def counted(key: bytes, message: bytes, signature: bytes) -> bool:
        checked.append(signature)
        return real(key, message, signature)

    for module in (ledger.rules, node.signature_child):  # the envelope's, the batch's
        monkeypatch.setattr(module, "verify_signature", counted)
    try:
        with pytest.raises(ForgedSubmission):
            await core.submit(forged)
        assert len(core.mempool) == 0
        (batch,) = core.check_signatures.batches  # type: ignore[attr-defined]
        assert batch == (FIRST_PART_TXS, INVALID_SIGNATURES_PER_SUBMISSION_MAX)  # of 500
        # The batch's bad ones, then the envelope's own check of each before it refuses.
        assert len(checked) == 2 * INVALID_SIGNATURES_PER_SUBMISSION_MAX
    finally:
        core.worker.shutdown(wait=True)


async def test_what_is_refused_before_its_signature_costs_no_check(
        core: NodeCore, net: Consortium) -> None:
    """A replay (anyone can copy committed transactions off the chain) or an expired
    transaction is refused before its signature is checked: it must not cost one in
    the batch either."""
    committed = [make_tx(net.university, AnchorPayload(os.urandom(32))) for _ in range(40)]
    await asyncio.get_running_loop().run_in_executor(None, commit, core.chain, committed)
    expired = [make_tx(net.university, AnchorPayload(os.urandom(32)), expires_at=1)
               for _ in range(40)]
    try:
        results = await core.submit([tx.encode() for tx in committed + expired])
        assert [refusal.code if refusal else None for _, refusal in results] == (
            ["replayed"] * 40 + ["expired"] * 40)
        assert core.check_signatures.batches == []  # type: ignore[attr-defined]
    finally:
        core.worker.shutdown(wait=True)


def test_a_worker_imports_nothing_from_the_daemons_working_directory(
        net: Consortium, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The daemon (the `senim` script) does not import from its working directory; nor
    may its workers, or a stray msgpack.py there would check the daemon's signatures."""
    (tmp_path / "msgpack.py").write_text(
        "import pathlib\npathlib.Path(__file__).with_name('imported').touch()\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).parents[2]))
    checks = mixed_checks(net, WORKER_BATCH_MIN)
    workers = SignatureWorkers(1)
    try:
        assert workers(checks) == check_in_turn(checks)
        assert not (tmp_path / "imported").exists()
    finally:
        workers.close()


def test_a_hung_worker_is_killed_and_its_batch_checked_by_the_caller(
        net: Consortium, monkeypatch: pytest.MonkeyPatch) -> None:
    """A child that stops answering (here: stopped) must not hold its caller for ever:
    not a public thread, nor the engine thread, nor the daemon's shutdown behind them."""
    checks = mixed_checks(net, WORKER_BATCH_MIN * 2)
    workers = SignatureWorkers(1)
    answers: list[list[bool]] = []
    stopped: list[int] = []
    try:
        # The child's first batch (it starts, imports and checks) under the daemon's own
        # limit: on a loaded machine it took over the short one below, and was killed.
        assert workers(checks) == check_in_turn(checks)
        monkeypatch.setattr(node.signature_workers, "WORKER_BATCH_S_MAX", 0.5)
        (child,) = children_of(os.getpid())
        os.kill(child, signal.SIGSTOP)
        stopped.append(child)
        caller = threading.Thread(target=lambda: answers.append(workers(checks)), daemon=True)
        caller.start()
        caller.join(DEADLINE_S)
        assert answers == [check_in_turn(checks)]
        assert gone(child)
    finally:
        for pid in stopped:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
        workers.close()


def test_a_worker_ignores_ctrl_c_at_the_daemons_terminal(net: Consortium) -> None:
    """Ctrl-C reaches the terminal's whole process group: the daemon stops in its own
    time, and its workers must not die under it meanwhile."""
    checks = mixed_checks(net, WORKER_BATCH_MIN)
    workers = SignatureWorkers(1)
    try:
        assert workers(checks) == check_in_turn(checks)
        (child,) = children_of(os.getpid())
        ignored = next(line for line in Path(f"/proc/{child}/status").read_text().splitlines()
                       if line.startswith("SigIgn:"))
        assert int(ignored.split()[1], 16) >> (signal.SIGINT - 1) & 1
        os.kill(child, signal.SIGINT)
        assert workers(checks) == check_in_turn(checks)
        assert children_of(os.getpid()) == {child}
    finally:
        workers.close()


def test_a_set_has_a_child_per_core_the_daemon_may_use_up_to_the_limit(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    no_quota = tmp_path / "cpu.max"
    no_quota.write_text("max 100000\n")
    monkeypatch.setattr(node.signature_workers, "CGROUP_CPU_MAX", no_quota)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 3, 5})
    assert SignatureWorkers()._workers == 3
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(64)))
    assert SignatureWorkers()._workers == SIGNATURE_WORKERS_MAX
    assert SignatureWorkers(1)._workers == 1
    # a container allowed 2.5 CPUs of those 64 cores: 3 children
    no_quota.write_text("250000 100000\n")
    assert SignatureWorkers()._workers == 3
    for unreadable in ("", "garbage", "0 0"):
        no_quota.write_text(unreadable)
        assert usable_cores(no_quota) == 64
    assert usable_cores(tmp_path / "absent") == 64
