"""`[node] cpus`: the node process, every thread of it and every signature worker it starts
run on the CPUs named, and a CPU the machine does not give it stops the start in one line."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from ledger.codec import encode
from ledger.payloads import AnchorPayload
from ledger.transactions import build_transaction
from node.signature_workers import WORKER_BATCH_MIN
from tests.e2e.harness import Consortium, Member, http
from tests.node.test_signature_workers import children_of

pytestmark = [pytest.mark.slow, pytest.mark.timeout(90)]

MEMBERS = [Member("mshe", "Ministry", "ministry", validator=True, runs_node=True)]
DEADLINE_S = 30.0


def with_cpus(config: Path, cpus: str) -> None:
    text = config.read_text("utf-8")
    config.write_text(text.replace("[node]\n", f"[node]\ncpus = {cpus}\n", 1), "utf-8")


def allowed_cpus(pid: int, task: str | None = None) -> str:
    status = Path(f"/proc/{pid}" + (f"/task/{task}" if task else "") + "/status")
    for line in status.read_text().splitlines():
        if line.startswith("Cpus_allowed_list:"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"no Cpus_allowed_list in {status}")


def test_the_node_and_its_signature_workers_run_on_the_cpus_named(tmp_path: Path) -> None:
    cpu = min(os.sched_getaffinity(0))
    with Consortium(tmp_path, MEMBERS, genesis_via_cli=False) as net:
        with_cpus(net.write_config("mshe"), f"[{cpu}]")
        node = net.start("mshe")
        assert node.pid is not None
        # Started with the node, before any batch needs them: one per CPU named for each
        # of its two sets (admission's and the engine's).
        deadline = time.monotonic() + DEADLINE_S
        while len(workers := children_of(node.pid)) < 2:
            assert time.monotonic() < deadline, f"signature workers started: {workers}"
            time.sleep(0.05)
        assert len(workers) == 2, workers
        # A batch this large goes to a signature worker; the node starts none beyond those.
        keys = net.keys("mshe")
        txs = [build_transaction(keys, net.chain_id, AnchorPayload(os.urandom(32)), 1000)
               for _ in range(WORKER_BATCH_MIN + 8)]
        status, _, answer = http("POST", node.url + "/v1/transactions",
                                 encode([tx.encode() for tx in txs]), "application/msgpack")
        assert status == 202, answer[:300]
        assert children_of(node.pid) == workers
        threads = os.listdir(f"/proc/{node.pid}/task")
        assert len(threads) > 3
        for task in threads:
            assert allowed_cpus(node.pid, task) == str(cpu), task
        for child in workers:
            assert allowed_cpus(child) == str(cpu), child
        assert f"running on CPU {cpu}" in node.log_text()


def test_a_cpu_the_machine_does_not_give_stops_the_start(tmp_path: Path) -> None:
    missing = 4095
    assert missing not in os.sched_getaffinity(0)
    with Consortium(tmp_path, MEMBERS, genesis_via_cli=False) as net:
        with_cpus(net.write_config("mshe"), f"[{missing}]")
        node = net.node("mshe")
        node.spawn()
        assert node.process is not None
        assert node.process.wait(timeout=DEADLINE_S) == 2
        log = node.log_text()
        assert f"node.cpus: this machine gives the node no CPU {missing}" in log, log
        assert "Traceback" not in log
